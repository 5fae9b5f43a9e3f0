/**
 * A reference model of the Lockstep rollout, written from the rules of the issue (not from the contract's code),
 * used by the stateful property test. It holds the stake token (balances, delegation, so votes), the registry
 * (operators, attesters, cohorts), the guardian and every upgrade with its snapshot roster, its stages and one
 * record per (upgrade, validator). Stage tallies are never kept as running sums: they are recomputed from the
 * distinct validators' records, so "the chain's tally equals the model's" also means "no validator counted twice".
 *
 * It also holds the restart budget: governance's settings, each upgrade's budget (two epoch counters) and each
 * attester key's lease, with the expiry rule written as the design states it (a lease granted in epoch e counts
 * until the end of epoch e + 1).
 *
 * Every operation takes `t`, the timestamp of the block the transaction runs in, and returns the expected outcome:
 * success with the coordinator events it must emit, or the exact custom error. A failing operation changes nothing.
 */
import type { StageRules } from "../../lib/manifest";
import { PauseReason, RollbackReason, SkipReason, StageState, Status, UpgradeState } from "../../lib/coordinator";

export const MAX_UINT96 = (1n << 96n) - 1n;
/** How far ahead of the chain's clock a relayed attestation may be issued (5 minutes). */
export const MAX_CLOCK_SKEW = 300n;
export const ZERO = "0x0000000000000000000000000000000000000000";
/** Lease amounts are whole units of 10^10 wei: weights rounded up, budgets down. */
export const LEASE_UNIT = 10_000_000_000n;
/** The longest lease duration governance may set (2^24 - 1 seconds). */
export const MAX_LEASE_DURATION = (1n << 24n) - 1n;

/** CoordinatorUnexpectedState's `expectedStates`: a bitmap with bit `i` set for UpgradeState `i`, as bytes32. */
export function stateBitmap(...states: UpgradeState[]): string {
  const bits = states.reduce((acc, s) => acc | (1n << BigInt(s)), 0n);
  return "0x" + bits.toString(16).padStart(64, "0");
}
/** Where a rollout may move (activate, verify, pause): open and not paused. */
export const MOVING_STATES = stateBitmap(UpgradeState.Scheduled, UpgradeState.Rolling);
/** Where an upgrade has not ended: it may be withdrawn, rolled back and attested to. */
export const OPEN_STATES = stateBitmap(UpgradeState.Scheduled, UpgradeState.Rolling, UpgradeState.Paused);
/** Where it may be resumed. */
export const PAUSED_STATES = stateBitmap(UpgradeState.Paused);

export { SkipReason };

export type Arg = bigint | string | boolean;
/** Success with the coordinator events (name, or name:detail) it emits, or the exact custom error. */
export type Outcome = { ok: true; events: string[] } | { ok: false; error: string; args: Arg[] };

/** A stage's rules: lib/manifest's one StageRules type. */
export type Rules = StageRules;

export type Phase = "Scheduled" | "Rolling" | "Completed" | "Withdrawn" | "RolledBack";

export interface StageModel {
  rules: Rules;
  cohortStake: bigint;
  readyNeeded: bigint;
  healthyNeeded: bigint;
  unhealthyLimit: bigint;
  rollbackLimit: bigint;
  activatedAt: bigint; // 0: not activated
  verifiedAt: bigint; // 0: not verified
  /** Not-healthy stake counted when governance last resumed: accepted, so it is no new evidence. */
  unhealthyAtResume: bigint;
}

/** What one validator has said in one upgrade, as far as the tallies go. */
export interface ValidatorRecord {
  ready: boolean; // counted in its stage's ready stake
  counted: Status; // the health status counted in its stage's tallies (None: not counted)
  restored: boolean; // counted in the upgrade's restored stake
}

export interface UpgradeModel {
  id: number;
  name: string;
  snapshot: number;
  scheduledAt: bigint;
  pausedAt: bigint;
  endedAt: bigint;
  /** When governance last resumed it: the participation deadline counts from here too. */
  resumedAt: bigint;
  phase: Phase;
  pauseReason: PauseReason;
  currentStage: number;
  stages: StageModel[];
  /** Every registered validator at the snapshot: its cohort and its delegated stake then. */
  roster: Record<string, { cohort: number; weight: bigint }>;
  records: Record<string, ValidatorRecord>;
}

/** An upgrade's restart budget, in lease units: `current` granted this epoch, `previous` the epoch before. */
export interface BudgetModel {
  budget: bigint;
  current: bigint;
  previous: bigint;
  epoch: bigint;
  duration: bigint;
  live: boolean;
}

/** An attester key's lease slot: its validator's snapshot weight once its Ready cached it, and its grant. */
export interface LeaseModel {
  weight: bigint;
  upgradeId: number;
  stage: number;
  epoch: bigint;
  leased: boolean;
}

const NO_LEASE: LeaseModel = { weight: 0n, upgradeId: 0, stage: 0, epoch: 0n, leased: false };

export interface ValidatorModel {
  attester: string; // ZERO when deregistered
  registered: boolean;
  cohort: number; // 0 when not registered
}

interface State {
  now: bigint; // timestamp of the latest block
  block: number; // number of the latest block
  balances: Record<string, bigint>;
  delegates: Record<string, string>;
  validators: Record<string, ValidatorModel>;
  operatorOf: Record<string, string>; // attester => operator
  lastIssuedAt: Record<string, bigint>; // operator => time of its last accepted attestation
  /** operator => the cohort governance gave it (or the default of its first registration); kept when it leaves. */
  assignedCohort: Record<string, number>;
  /** operator => the nonce its next attester proof carries (each register and rotateAttester uses one). */
  nonces: Record<string, number>;
  /** operator => the upgrade its last accepted attestation was for. */
  lastUpgrade: Record<string, number>;
  /** operator => its key's lease slot holds the weight for lastUpgrade (cleared when it attests to another). */
  leaseCached: Record<string, boolean>;
  restartBudgetBps: number;
  leaseDuration: bigint;
  budgets: Record<number, BudgetModel>;
  /** attester key => its lease slot (absent: empty, as after rotation or deregistration). */
  leases: Record<string, LeaseModel>;
  guardian: string;
  defaultCohort: number;
  upgrades: UpgradeModel[];
  openId: number;
}

export interface ModelInit {
  now: bigint;
  block: number;
  governance: string;
  guardian: string;
  defaultCohort: number;
  balances: Record<string, bigint>;
  delegates: Record<string, string>;
  validators: { operator: string; attester: string; cohort: number }[];
}

/** The parts of IUpgradeCoordinator.UpgradeView the model predicts. */
export interface UpgradeExpect {
  state: number;
  pauseReason: number;
  stageCount: number;
  currentStage: number;
  snapshot: bigint;
  scheduledAt: bigint;
  pausedAt: bigint;
  endedAt: bigint;
  restoredStake: bigint;
  restoredCount: bigint;
}

/** The parts of IUpgradeCoordinator.StageView the model predicts. */
export interface StageExpect {
  state: number;
  cohort: number;
  cohortStake: bigint;
  readyStake: bigint;
  readyNeeded: bigint;
  readyCount: bigint;
  healthyStake: bigint;
  healthyNeeded: bigint;
  unhealthyStake: bigint;
  attestedStake: bigint;
  unhealthyLimit: bigint;
  rollbackLimit: bigint;
  notBefore: bigint;
  activatedAt: bigint;
  verifiedAt: bigint;
}

export interface RelayItem {
  operator: string;
  upgradeId: number;
  stage: number;
  status: number; // may be out of the enum's range
  issuedAt: bigint;
  deadline: bigint;
  signer: string;
}

/** The refusals a relayed item is skipped for (any other refusal reverts the batch), by the direct path's error. */
const SKIPPED_FOR: Record<string, SkipReason> = {
  CoordinatorSignatureExpired: SkipReason.Expired,
  CoordinatorFutureAttestation: SkipReason.Future,
  CoordinatorStaleAttestation: SkipReason.Stale,
  CoordinatorNotAttester: SkipReason.NotAttester,
  CoordinatorNotInCohort: SkipReason.NotInCohort,
  CoordinatorUnknownStage: SkipReason.UnknownStage,
  CoordinatorStageNotPending: SkipReason.StageNotPending,
  CoordinatorStageNotActivated: SkipReason.StageNotActivated,
  CoordinatorVersionMismatch: SkipReason.VersionMismatch,
  CoordinatorUnexpectedState: SkipReason.UpgradeEnded,
};

const lc = (a: string) => a.toLowerCase();
const ok = (...events: string[]): Outcome => ({ ok: true, events });
const fail = (error: string, ...args: Arg[]): Outcome => ({ ok: false, error, args });

/** `bps` of `stake`, rounded up: a threshold of "at least 67%" is never met by 66.99%. */
export function share(stake: bigint, bps: number): bigint {
  return (stake * BigInt(bps) + 9_999n) / 10_000n;
}

function notHealthy(s: Status): boolean {
  return s === Status.Unhealthy || s === Status.FailedToUpgrade || s === Status.RolledBack;
}

export class LockstepModel {
  readonly governance: string;
  private s: State;

  constructor(init: ModelInit) {
    this.governance = lc(init.governance);
    const validators: Record<string, ValidatorModel> = {};
    const operatorOf: Record<string, string> = {};
    const assignedCohort: Record<string, number> = {};
    const nonces: Record<string, number> = {};
    for (const v of init.validators) {
      nonces[lc(v.operator)] = 1;
      validators[lc(v.operator)] = { attester: lc(v.attester), registered: true, cohort: v.cohort };
      operatorOf[lc(v.attester)] = lc(v.operator);
      assignedCohort[lc(v.operator)] = v.cohort;
    }
    const balances: Record<string, bigint> = {};
    for (const [a, b] of Object.entries(init.balances)) balances[lc(a)] = b;
    const delegates: Record<string, string> = {};
    for (const [a, b] of Object.entries(init.delegates)) delegates[lc(a)] = lc(b);
    this.s = {
      now: init.now,
      block: init.block,
      balances,
      delegates,
      validators,
      operatorOf,
      lastIssuedAt: {},
      assignedCohort,
      nonces,
      lastUpgrade: {},
      leaseCached: {},
      restartBudgetBps: 0,
      leaseDuration: 3600n,
      budgets: {},
      leases: {},
      guardian: lc(init.guardian),
      defaultCohort: init.defaultCohort,
      upgrades: [],
      openId: 0,
    };
  }

  // ------------------------------------------------------------------ clock

  get now(): bigint {
    return this.s.now;
  }
  get block(): number {
    return this.s.block;
  }
  /** A transaction was mined (whatever its outcome) in a block at `t`. */
  mined(t: bigint): void {
    this.s.now = t;
    this.s.block += 1;
  }
  /** `blocks` empty blocks ending at `t`. */
  minedEmpty(blocks: number, t: bigint): void {
    this.s.now = t;
    this.s.block += blocks;
  }

  // ------------------------------------------------------------------ reads used to pick operations

  get upgradeCount(): number {
    return this.s.upgrades.length;
  }
  get openId(): number {
    return this.s.openId;
  }
  get guardian(): string {
    return this.s.guardian;
  }
  get defaultCohort(): number {
    return this.s.defaultCohort;
  }
  names(): string[] {
    return this.s.upgrades.map((u) => u.name);
  }
  balanceOf(a: string): bigint {
    return this.s.balances[lc(a)] ?? 0n;
  }
  votesOf(a: string): bigint {
    const who = lc(a);
    let votes = 0n;
    for (const [holder, to] of Object.entries(this.s.delegates)) if (to === who) votes += this.s.balances[holder] ?? 0n;
    return votes;
  }
  /** Whom `holder` delegates its votes to (ZERO: nobody). */
  delegateOf(holder: string): string {
    return this.s.delegates[lc(holder)] ?? ZERO;
  }
  validator(op: string): ValidatorModel {
    return this.s.validators[lc(op)] ?? { attester: ZERO, registered: false, cohort: 0 };
  }
  operatorOfAttester(attester: string): string {
    return this.s.operatorOf[lc(attester)] ?? ZERO;
  }
  lastIssuedAt(op: string): bigint {
    return this.s.lastIssuedAt[lc(op)] ?? 0n;
  }
  upgrade(id: number): UpgradeModel | undefined {
    return id >= 1 && id <= this.s.upgrades.length ? this.s.upgrades[id - 1] : undefined;
  }
  /** The operator's cohort and weight in upgrade `id` (cohort 0 when it was not in the roster). */
  rosterOf(id: number, op: string): { cohort: number; weight: bigint } {
    return this.upgrade(id)?.roster[lc(op)] ?? { cohort: 0, weight: 0n };
  }
  /** The operators of `cohort` in upgrade `id`'s roster. */
  rosterMembers(id: number, cohort: number): string[] {
    const u = this.upgrade(id);
    return u ? Object.keys(u.roster).filter((op) => u.roster[op].cohort === cohort) : [];
  }
  stageOfCohort(id: number, cohort: number): number | undefined {
    const i = this.upgrade(id)?.stages.findIndex((st) => st.rules.cohort === cohort) ?? -1;
    return i < 0 ? undefined : i;
  }
  state(id: number): UpgradeState {
    const u = this.upgrade(id);
    if (!u) return UpgradeState.None;
    if (u.phase === "Completed") return UpgradeState.Completed;
    if (u.phase === "Withdrawn") return UpgradeState.Withdrawn;
    if (u.phase === "RolledBack") return UpgradeState.RolledBack;
    if (u.pauseReason !== PauseReason.None) return UpgradeState.Paused;
    return u.phase === "Scheduled" ? UpgradeState.Scheduled : UpgradeState.Rolling;
  }
  stageState(id: number, i: number): StageState {
    const st = this.upgrade(id)!.stages[i];
    if (st.activatedAt === 0n) return StageState.Pending;
    return st.verifiedAt === 0n ? StageState.Active : StageState.Verified;
  }

  /** Tallies of stage `i`, summed over the distinct validators of its cohort by their records. */
  tallies(id: number, i: number) {
    const u = this.upgrade(id)!;
    const cohort = u.stages[i].rules.cohort;
    let readyStake = 0n;
    let readyCount = 0n;
    let healthyStake = 0n;
    let unhealthyStake = 0n;
    for (const [op, rec] of Object.entries(u.records)) {
      const r = u.roster[op];
      if (!r || r.cohort !== cohort) continue;
      if (rec.ready) {
        readyStake += r.weight;
        readyCount += 1n;
      }
      if (rec.counted === Status.Healthy) healthyStake += r.weight;
      else if (notHealthy(rec.counted)) unhealthyStake += r.weight;
    }
    return { readyStake, readyCount, healthyStake, unhealthyStake };
  }

  restored(id: number): { stake: bigint; count: bigint } {
    const u = this.upgrade(id)!;
    let stake = 0n;
    let count = 0n;
    for (const [op, rec] of Object.entries(u.records)) {
      if (!rec.restored) continue;
      stake += u.roster[op].weight;
      count += 1n;
    }
    return { stake, count };
  }

  expectUpgrade(id: number): UpgradeExpect {
    const u = this.upgrade(id)!;
    const r = this.restored(id);
    return {
      state: this.state(id),
      pauseReason: u.pauseReason,
      stageCount: u.stages.length,
      currentStage: u.currentStage,
      snapshot: BigInt(u.snapshot),
      scheduledAt: u.scheduledAt,
      pausedAt: u.pausedAt,
      endedAt: u.endedAt,
      restoredStake: r.stake,
      restoredCount: r.count,
    };
  }

  expectStage(id: number, i: number): StageExpect {
    const u = this.upgrade(id)!;
    const st = u.stages[i];
    const t = this.tallies(id, i);
    return {
      state: this.stageState(id, i),
      cohort: st.rules.cohort,
      cohortStake: st.cohortStake,
      readyStake: t.readyStake,
      readyNeeded: st.readyNeeded,
      readyCount: t.readyCount,
      healthyStake: t.healthyStake,
      healthyNeeded: st.healthyNeeded,
      unhealthyStake: t.unhealthyStake,
      attestedStake: t.healthyStake + t.unhealthyStake,
      unhealthyLimit: st.unhealthyLimit,
      rollbackLimit: st.rollbackLimit,
      notBefore: this.notBefore(u, i),
      activatedAt: st.activatedAt,
      verifiedAt: st.verifiedAt,
    };
  }

  /** Earliest activation: the first stage's time lock runs from scheduling, the others' from the previous stage's
   * verification (0 while it is not verified). */
  private notBefore(u: UpgradeModel, i: number): bigint {
    const timelock = BigInt(u.stages[i].rules.timelock);
    if (i === 0) return u.scheduledAt + timelock;
    const previous = u.stages[i - 1].verifiedAt;
    return previous === 0n ? 0n : previous + timelock;
  }

  private inFlight(u: UpgradeModel | undefined): u is UpgradeModel {
    return !!u && this.flying(u);
  }

  /** Scheduled or rolling, paused or not. */
  private flying(u: UpgradeModel): boolean {
    return u.phase === "Scheduled" || u.phase === "Rolling";
  }

  private isGuardianOrGovernance(sender: string): boolean {
    const who = lc(sender);
    return who === this.governance || (this.s.guardian !== ZERO && who === this.s.guardian);
  }

  // ------------------------------------------------------------------ stake token

  transfer(from: string, to: string, amount: bigint): Outcome {
    const f = lc(from);
    const t = lc(to);
    if ((this.s.balances[f] ?? 0n) < amount) throw new Error("the generator only transfers what the holder has");
    this.s.balances[f] -= amount;
    this.s.balances[t] = (this.s.balances[t] ?? 0n) + amount;
    return ok();
  }

  delegate(holder: string, to: string): Outcome {
    if (lc(to) === ZERO) delete this.s.delegates[lc(holder)];
    else this.s.delegates[lc(holder)] = lc(to);
    return ok();
  }

  // ------------------------------------------------------------------ registry

  /** The nonce `operator`'s next attester proof must carry. */
  nonceOf(operator: string): number {
    return this.s.nonces[lc(operator)] ?? 0;
  }

  /**
   * `proofBy` is the key that signed AttesterProof(operator, nonceOf(operator)): only the attester itself proves
   * possession; anyone else (a squatter) is refused.
   */
  register(operator: string, attester: string, proofBy: string): Outcome {
    const op = lc(operator);
    const att = lc(attester);
    if (this.validator(op).registered) return fail("RegistryAlreadyRegistered", op);
    const holder = this.operatorOfAttester(att);
    if (att === ZERO || holder !== ZERO) return fail("RegistryAttesterUnavailable", att, holder);
    if (lc(proofBy) !== att) return fail("RegistryInvalidAttesterProof", op, att);
    this.s.nonces[op] = this.nonceOf(op) + 1;
    // A cohort sticks to the operator: only its first registration takes the default.
    const cohort = this.s.assignedCohort[op] ?? this.s.defaultCohort;
    this.s.assignedCohort[op] = cohort;
    this.s.validators[op] = { attester: att, registered: true, cohort };
    this.s.operatorOf[att] = op;
    this.s.leases[att] = { ...NO_LEASE };
    return ok("ValidatorRegistered");
  }

  deregister(operator: string): Outcome {
    const op = lc(operator);
    const v = this.validator(op);
    if (!v.registered) return fail("RegistryNotRegistered", op);
    delete this.s.operatorOf[v.attester];
    delete this.s.leases[v.attester]; // a lease it held still counts until it expires
    this.s.validators[op] = { attester: ZERO, registered: false, cohort: 0 };
    return ok("ValidatorDeregistered");
  }

  rotateAttester(operator: string, newAttester: string, proofBy: string): Outcome {
    const op = lc(operator);
    const att = lc(newAttester);
    const v = this.validator(op);
    if (!v.registered) return fail("RegistryNotRegistered", op);
    const holder = this.operatorOfAttester(att);
    if (att === ZERO || holder !== ZERO) return fail("RegistryAttesterUnavailable", att, holder);
    if (lc(proofBy) !== att) return fail("RegistryInvalidAttesterProof", op, att);
    this.s.nonces[op] = this.nonceOf(op) + 1;
    delete this.s.operatorOf[v.attester];
    delete this.s.leases[v.attester]; // the old key can't take leases; one it held counts until it expires
    this.s.operatorOf[att] = op;
    this.s.leases[att] = { ...NO_LEASE };
    this.s.validators[op] = { ...v, attester: att };
    return ok("AttesterRotated");
  }

  setCohort(sender: string, operator: string, cohort: number): Outcome {
    if (lc(sender) !== this.governance) return fail("CoordinatorUnauthorized", lc(sender));
    if (cohort === 0) return fail("RegistryInvalidCohort", 0n);
    const op = lc(operator);
    const v = this.validator(op);
    if (!v.registered) return fail("RegistryNotRegistered", op);
    this.s.validators[op] = { ...v, cohort };
    this.s.assignedCohort[op] = cohort;
    return ok("CohortAssigned");
  }

  setDefaultCohort(sender: string, cohort: number): Outcome {
    if (lc(sender) !== this.governance) return fail("CoordinatorUnauthorized", lc(sender));
    if (cohort === 0) return fail("RegistryInvalidCohort", 0n);
    this.s.defaultCohort = cohort;
    return ok("DefaultCohortSet");
  }

  // ------------------------------------------------------------------ guardian

  setGuardian(sender: string, newGuardian: string): Outcome {
    if (lc(sender) !== this.governance) return fail("CoordinatorUnauthorized", lc(sender));
    if (lc(newGuardian) === this.governance) return fail("CoordinatorRoleConflict", this.governance, lc(newGuardian));
    this.s.guardian = lc(newGuardian);
    return ok("GuardianSet");
  }

  renounceGuardian(sender: string): Outcome {
    if (this.s.guardian === ZERO || lc(sender) !== this.s.guardian) return fail("CoordinatorUnauthorized", lc(sender));
    this.s.guardian = ZERO;
    return ok("GuardianSet");
  }

  // ------------------------------------------------------------------ upgrades

  /** Governance schedules `stages` under `name`; weights and cohorts are this model's own state at the previous
   * block (the state before this transaction). */
  schedule(t: bigint, sender: string, name: string, stages: Rules[]): Outcome {
    if (lc(sender) !== this.governance) return fail("CoordinatorUnauthorized", lc(sender));
    if (this.s.openId !== 0) return fail("CoordinatorUpgradeInFlight", BigInt(this.s.openId));
    const existing = this.s.upgrades.find((u) => u.name === name);
    if (existing) return fail("CoordinatorDuplicateName", name, BigInt(existing.id));

    const roster: UpgradeModel["roster"] = {};
    const cohortStakes: Record<number, bigint> = {};
    for (const [op, v] of Object.entries(this.s.validators)) {
      if (!v.registered) continue;
      const weight = this.votesOf(op);
      roster[op] = { cohort: v.cohort, weight };
      cohortStakes[v.cohort] = (cohortStakes[v.cohort] ?? 0n) + weight;
    }
    const laidOut: StageModel[] = [];
    for (let i = 0; i < stages.length; i++) {
      const rules = stages[i];
      const cohortStake = cohortStakes[rules.cohort] ?? 0n;
      if (cohortStake === 0n) return fail("CoordinatorEmptyCohort", BigInt(i), BigInt(rules.cohort));
      laidOut.push({
        rules: { ...rules },
        cohortStake,
        readyNeeded: share(cohortStake, rules.readinessBps),
        healthyNeeded: share(cohortStake, rules.healthyBps),
        unhealthyLimit: share(cohortStake, rules.unhealthyBps),
        rollbackLimit: rules.rollbackBps === 0 ? MAX_UINT96 : share(cohortStake, rules.rollbackBps),
        activatedAt: 0n,
        verifiedAt: 0n,
        unhealthyAtResume: 0n,
      });
    }
    const id = this.s.upgrades.length + 1;
    // The restart budget: a share of all registered stake at the snapshot, floored to whole lease units. One budget
    // is live at a time: opening this one closes the previous upgrade's.
    const total = Object.values(roster).reduce((sum, r) => sum + r.weight, 0n);
    if (this.s.budgets[id - 1]) this.s.budgets[id - 1].live = false;
    this.s.budgets[id] = {
      budget: (total * BigInt(this.s.restartBudgetBps)) / 10_000n / LEASE_UNIT,
      current: 0n,
      previous: 0n,
      epoch: t / this.s.leaseDuration,
      duration: this.s.leaseDuration,
      live: true,
    };
    this.s.upgrades.push({
      id,
      name,
      snapshot: this.s.block, // the transaction runs in the next block; its snapshot is this one
      scheduledAt: t,
      pausedAt: 0n,
      resumedAt: 0n,
      endedAt: 0n,
      phase: "Scheduled",
      pauseReason: PauseReason.None,
      currentStage: 0,
      stages: laidOut,
      roster,
      records: {},
    });
    this.s.openId = id;
    return ok("UpgradeScheduled", "LeaseBudgetOpened");
  }

  pause(t: bigint, sender: string, id: number): Outcome {
    if (!this.isGuardianOrGovernance(sender)) return fail("CoordinatorUnauthorized", lc(sender));
    const u = this.upgrade(id);
    if (!this.inFlight(u) || u.pauseReason !== PauseReason.None) {
      return fail("CoordinatorUnexpectedState", BigInt(id), BigInt(this.state(id)), MOVING_STATES);
    }
    this.doPause(u, t, PauseReason.Manual);
    return ok(`UpgradePaused:${PauseReason.Manual}`);
  }

  resume(t: bigint, sender: string, id: number): Outcome {
    if (lc(sender) !== this.governance) return fail("CoordinatorUnauthorized", lc(sender));
    const u = this.upgrade(id);
    if (!this.inFlight(u) || u.pauseReason === PauseReason.None) {
      return fail("CoordinatorUnexpectedState", BigInt(id), BigInt(this.state(id)), PAUSED_STATES);
    }
    u.pauseReason = PauseReason.None;
    u.pausedAt = 0n;
    u.resumedAt = t;
    // What each activated stage counts not healthy now is accepted: only more than that can pause again.
    for (let i = 0; i <= u.currentStage; i++) u.stages[i].unhealthyAtResume = this.tallies(id, i).unhealthyStake;
    return ok("UpgradeResumed");
  }

  withdraw(t: bigint, sender: string, id: number): Outcome {
    if (lc(sender) !== this.governance) return fail("CoordinatorUnauthorized", lc(sender));
    const u = this.upgrade(id);
    if (!this.inFlight(u)) return fail("CoordinatorUnexpectedState", BigInt(id), BigInt(this.state(id)), OPEN_STATES);
    this.end(u, t, "Withdrawn");
    return ok("UpgradeWithdrawn");
  }

  orderRollback(t: bigint, sender: string, id: number): Outcome {
    if (!this.isGuardianOrGovernance(sender)) return fail("CoordinatorUnauthorized", lc(sender));
    const u = this.upgrade(id);
    if (!this.inFlight(u)) return fail("CoordinatorUnexpectedState", BigInt(id), BigInt(this.state(id)), OPEN_STATES);
    if (u.phase !== "Rolling") return fail("CoordinatorNothingActivated", BigInt(id));
    this.end(u, t, "RolledBack");
    return ok(`RollbackOrdered:${RollbackReason.Manual}`);
  }

  advance(t: bigint, id: number): Outcome {
    const u = this.upgrade(id);
    if (!this.inFlight(u) || u.pauseReason !== PauseReason.None) {
      return fail("CoordinatorUnexpectedState", BigInt(id), BigInt(this.state(id)), MOVING_STATES);
    }
    const i = u.currentStage;
    const st = u.stages[i];
    if (st.activatedAt === 0n) {
      const notBefore = this.notBefore(u, i);
      if (t < notBefore) return fail("CoordinatorTimelockActive", BigInt(id), BigInt(i), notBefore);
      const { readyStake } = this.tallies(id, i);
      if (readyStake < st.readyNeeded) {
        return fail("CoordinatorNotReady", BigInt(id), BigInt(i), readyStake, st.readyNeeded);
      }
      this.activate(u, t);
      return ok(`StageActivated:${i}`);
    }
    const endsAt = st.activatedAt + BigInt(st.rules.observationWindow);
    if (t < endsAt) return fail("CoordinatorObservationActive", BigInt(id), BigInt(i), endsAt);
    const { healthyStake, unhealthyStake } = this.tallies(id, i);
    if (healthyStake < st.healthyNeeded) {
      return fail("CoordinatorBelowThreshold", BigInt(id), BigInt(i), healthyStake, st.healthyNeeded);
    }
    if (unhealthyStake >= st.unhealthyLimit) {
      return fail("CoordinatorUnhealthy", BigInt(id), BigInt(i), unhealthyStake, st.unhealthyLimit);
    }
    st.verifiedAt = t;
    const events = [`StageVerified:${i}`];
    if (i + 1 === u.stages.length) {
      this.end(u, t, "Completed");
      events.push("UpgradeCompleted");
      return ok(...events);
    }
    u.currentStage = i + 1;
    const next = u.stages[i + 1];
    // A next stage without time lock whose cohort is already ready activates at once.
    if (next.rules.timelock === 0 && this.tallies(id, i + 1).readyStake >= next.readyNeeded) {
      this.activate(u, t);
      events.push(`StageActivated:${i + 1}`);
    }
    return ok(...events);
  }

  pauseForMissingParticipation(t: bigint, id: number): Outcome {
    const u = this.upgrade(id);
    if (!this.inFlight(u) || u.pauseReason !== PauseReason.None) {
      return fail("CoordinatorUnexpectedState", BigInt(id), BigInt(this.state(id)), MOVING_STATES);
    }
    const i = u.currentStage;
    const st = u.stages[i];
    if (st.activatedAt === 0n) return fail("CoordinatorNoActiveStage", BigInt(id));
    // A resume gives the cohort a fresh deadline.
    const from = u.resumedAt > st.activatedAt ? u.resumedAt : st.activatedAt;
    const deadlineAt = from + BigInt(st.rules.attestationDeadline);
    if (t <= deadlineAt) return fail("CoordinatorDeadlineNotPassed", BigInt(id), BigInt(i), deadlineAt);
    const { healthyStake } = this.tallies(id, i);
    if (healthyStake >= st.healthyNeeded) {
      return fail("CoordinatorParticipationMet", BigInt(id), BigInt(i), healthyStake, st.healthyNeeded);
    }
    this.doPause(u, t, PauseReason.ParticipationDeadline);
    return ok(`UpgradePaused:${PauseReason.ParticipationDeadline}`);
  }

  /** A direct attestation sent by `sender` (issuedAt undefined), or one relayed item signed by `sender`. */
  attest(
    t: bigint,
    sender: string,
    a: { operator: string; upgradeId: number; stage: number; status: number; issuedAt?: bigint },
  ): Outcome {
    const op = lc(a.operator);
    const id = a.upgradeId;
    const v = this.validator(op);
    const attester = v.registered ? v.attester : ZERO;
    if (lc(sender) !== attester) return fail("CoordinatorNotAttester", op, lc(sender));
    const u = this.upgrade(id);
    if (!u || a.stage >= u.stages.length) return fail("CoordinatorUnknownStage", BigInt(id), BigInt(a.stage));
    const st = u.stages[a.stage];
    const place = this.rosterOf(id, op);
    if (place.cohort !== st.rules.cohort) {
      return fail("CoordinatorNotInCohort", op, BigInt(place.cohort), BigInt(st.rules.cohort));
    }
    const last = this.lastIssuedAt(op);
    let issuedAt: bigint;
    if (a.issuedAt === undefined) {
      issuedAt = t > last ? t : last; // a direct statement is as new as the block, never older than the last one
    } else {
      if (a.issuedAt <= last) return fail("CoordinatorStaleAttestation", op, a.issuedAt, last);
      issuedAt = a.issuedAt;
    }
    const rec: ValidatorRecord = u.records[op] ?? { ready: false, counted: Status.None, restored: false };
    const events: string[] = [];

    if (a.status === Status.Ready) {
      if (!this.flying(u)) return fail("CoordinatorUnexpectedState", BigInt(id), BigInt(this.state(id)), OPEN_STATES);
      if (st.activatedAt !== 0n) return fail("CoordinatorStageNotPending", BigInt(id), BigInt(a.stage));
      rec.ready = true;
    } else {
      if (a.status === Status.None) return fail("CoordinatorInvalidStatus", 0n);
      if (st.activatedAt === 0n) return fail("CoordinatorStageNotActivated", BigInt(id), BigInt(a.stage));
      if (this.flying(u)) {
        const wasNotHealthy = notHealthy(rec.counted);
        rec.counted = a.status;
        u.records[op] = rec;
        if (notHealthy(a.status) && !wasNotHealthy) {
          // Only new evidence acts: the limits apply when this attestation takes the stage's not-healthy stake
          // from below a limit to at or above it; after a resume, the pause limit is above what was accepted then.
          const after = this.tallies(id, a.stage).unhealthyStake;
          const before = after - place.weight;
          const pauseAt = st.unhealthyAtResume >= st.unhealthyLimit ? st.unhealthyAtResume + 1n : st.unhealthyLimit;
          if (before < st.rollbackLimit && after >= st.rollbackLimit) {
            this.end(u, t, "RolledBack");
            events.push(`RollbackOrdered:${RollbackReason.AutomaticThreshold}`);
          } else if (u.pauseReason === PauseReason.None && before < pauseAt && after >= pauseAt) {
            this.doPause(u, t, PauseReason.UnhealthyThreshold);
            events.push(`UpgradePaused:${PauseReason.UnhealthyThreshold}`);
          }
        }
      } else if (u.phase === "RolledBack" && a.status === Status.RolledBack && id === this.upgradeCount) {
        // After a rollback order the tallies are frozen; each validator back on the old version counts once,
        // and only until a newer upgrade is scheduled.
        rec.restored = true;
      } else {
        return fail("CoordinatorUnexpectedState", BigInt(id), BigInt(this.state(id)), OPEN_STATES);
      }
    }
    u.records[op] = rec;
    this.s.lastIssuedAt[op] = issuedAt;
    if (this.s.lastUpgrade[op] !== id) {
      this.s.lastUpgrade[op] = id;
      this.s.leaseCached[op] = false;
    }
    // A Ready caches the validator's snapshot weight in its key's lease slot (again after a rotation); Healthy,
    // FailedToUpgrade and RolledBack end the key's lease for this upgrade: its node is back, or is not coming back.
    const key = lc(sender);
    const cached = this.s.leaseCached[op];
    if (a.status === Status.Ready) {
      if (!cached || this.lease(key).upgradeId !== id) {
        this.s.leases[key] = { weight: place.weight, upgradeId: id, stage: a.stage, epoch: 0n, leased: false };
        this.s.leaseCached[op] = true;
      }
    } else if (cached && a.status !== Status.Unhealthy) {
      events.push(...this.releaseLease(t, key, id));
    }
    events.push("Attested");
    return ok(...events);
  }

  // ------------------------------------------------------------------ restart leases

  lease(attester: string): LeaseModel {
    return this.s.leases[lc(attester)] ?? NO_LEASE;
  }

  budget(id: number): BudgetModel | undefined {
    return this.s.budgets[id];
  }

  setRestartBudget(sender: string, bps: number, duration: bigint): Outcome {
    if (lc(sender) !== this.governance) return fail("CoordinatorUnauthorized", lc(sender));
    if (bps > 10_000 || duration === 0n || duration > MAX_LEASE_DURATION) {
      return fail("CoordinatorInvalidLeaseSettings", BigInt(bps), duration);
    }
    this.s.restartBudgetBps = bps;
    this.s.leaseDuration = duration;
    return ok("RestartBudgetSet");
  }

  /** The key `sender` takes a lease for its validator's cached weight. */
  takeLease(t: bigint, sender: string): Outcome {
    const key = lc(sender);
    const lease = this.lease(key);
    const stored = this.s.budgets[lease.upgradeId];
    if (!stored || !stored.live) return fail("CoordinatorLeaseRefused", key, BigInt(lease.upgradeId), 0n);
    const b = { ...stored };
    const events = this.shiftEpochs(t, b);
    const epoch = b.epoch;
    if (lease.leased && lease.epoch + 1n >= epoch) {
      return fail("CoordinatorLeaseRefused", key, BigInt(lease.upgradeId), (lease.epoch + 2n) * b.duration);
    }
    const units = (lease.weight + LEASE_UNIT - 1n) / LEASE_UNIT;
    const inUse = b.current + b.previous;
    if (inUse + units > b.budget) {
      return fail(
        "CoordinatorLeaseBudgetFull",
        BigInt(lease.upgradeId),
        inUse * LEASE_UNIT,
        b.budget * LEASE_UNIT,
        units * LEASE_UNIT,
      );
    }
    b.current += units;
    this.s.budgets[lease.upgradeId] = b;
    this.s.leases[key] = { ...lease, leased: true, epoch };
    return ok(...events, "LeaseGranted");
  }

  /** Ends `key`'s lease for upgrade `id`, if it holds one; its weight leaves the counter of its epoch if that still
   * counts (a lease past its expiry was already dropped). */
  private releaseLease(t: bigint, key: string, id: number): string[] {
    const lease = this.lease(key);
    if (!lease.leased || lease.upgradeId !== id) return [];
    this.s.leases[key] = { ...lease, leased: false };
    const b = this.s.budgets[id];
    const events = this.shiftEpochs(t, b);
    const units = (lease.weight + LEASE_UNIT - 1n) / LEASE_UNIT;
    if (lease.epoch === b.epoch) b.current -= units;
    else if (lease.epoch + 1n === b.epoch) b.previous -= units;
    else return events;
    return [...events, "LeaseReleased"];
  }

  /** Moves `b` to the epoch of `t`: leases granted two or more epochs ago expire (LeasesExpired). */
  private shiftEpochs(t: bigint, b: BudgetModel): string[] {
    const epoch = t / b.duration;
    if (epoch === b.epoch) return [];
    let expired = b.previous;
    if (epoch === b.epoch + 1n) {
      b.previous = b.current;
    } else {
      expired += b.current;
      b.previous = 0n;
    }
    b.current = 0n;
    b.epoch = epoch;
    return expired !== 0n ? ["LeasesExpired"] : [];
  }

  /**
   * A relayed batch, item by item. An item the chain's state or clock refuses is skipped (AttestationSkipped with
   * its reason) and the batch goes on; only a malformed batch (`malformedLength`) or an item whose status names no
   * reportable Status reverts it whole. Ends with AttestationsRelayed (accepted/skipped).
   */
  relay(t: bigint, items: RelayItem[], malformedLength?: number): Outcome {
    if (malformedLength !== undefined) return fail("CoordinatorMalformedBatch", BigInt(malformedLength));
    const saved = structuredClone(this.s);
    const events: string[] = [];
    let accepted = 0;
    for (const item of items) {
      let outcome: Outcome;
      if (t > item.deadline) outcome = fail("CoordinatorSignatureExpired");
      else if (item.issuedAt === 0n) outcome = fail("CoordinatorStaleAttestation");
      else if (item.issuedAt > t + MAX_CLOCK_SKEW) outcome = fail("CoordinatorFutureAttestation");
      else if (item.status > Status.RolledBack) outcome = fail("CoordinatorInvalidStatus", BigInt(item.status));
      else outcome = this.attest(t, item.signer, item);
      if (outcome.ok) {
        accepted++;
        events.push(...outcome.events);
        continue;
      }
      const reason = SKIPPED_FOR[outcome.error];
      if (reason === undefined) {
        this.s = saved;
        return outcome;
      }
      events.push(`AttestationSkipped:${reason}`);
    }
    events.push(`AttestationsRelayed:${accepted}/${items.length - accepted}`);
    return ok(...events);
  }

  private activate(u: UpgradeModel, t: bigint): void {
    u.stages[u.currentStage].activatedAt = t;
    u.phase = "Rolling";
  }

  private doPause(u: UpgradeModel, t: bigint, reason: PauseReason): void {
    u.pauseReason = reason;
    u.pausedAt = t;
  }

  private end(u: UpgradeModel, t: bigint, phase: Phase): void {
    u.phase = phase;
    u.endedAt = t;
    this.s.openId = 0;
  }
}
