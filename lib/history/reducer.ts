// The history of every upgrade, folded from the coordinator's events one at a time. The fold mirrors the
// coordinator's own accounting (UpgradeCoordinator.attest, advance, ManifestPlanner._share) so that its tallies
// equal the contract's views, event for event. It judges nothing: for each event the audit looks at, it keeps a
// step with what the logs said before that event, and the audit pass (./audit) turns those steps into checks.
import { byChainOrder, type CoordinatorEvent } from "../events";
import { PauseReason, RollbackReason, Status } from "../coordinator";
import { versionFromTag } from "../version";
import type {
  Actor,
  BuildOptions,
  History,
  ManifestRecord,
  RegistryRecord,
  StageHistory,
  Transition,
  TxRef,
  UpgradeHistory,
  ValidatorRecord,
} from "./model";
import { automaticStop, stageThresholds } from "./rules";

/** An upgrade's moving parts just before an event: what the audit compares that event with. */
export interface UpgradeBefore {
  state: UpgradeHistory["state"];
  pauseReason: UpgradeHistory["pauseReason"];
  currentStage: number;
  resumedAt: bigint;
  stages: Pick<StageHistory, "readyStake" | "healthyStake" | "unhealthyStake" | "activated" | "verified">[];
  /** It was the latest upgrade scheduled. */
  latest: boolean;
}

/** An automatic pause or rollback that an attestation set off: it must follow in the same transaction. */
export interface AutomaticCall {
  kind: "pause" | "rollback";
  stage: number;
  unhealthy: bigint;
  limit: bigint;
  /** The next event was that stop; undefined while no event has followed yet. */
  answered?: boolean;
}

/** One event the audit looks at, with what the logs said just before it. */
export interface FoldStep {
  event: CoordinatorEvent;
  ref: TxRef;
  /** The upgrade the event is about; undefined for one the scanned logs never scheduled, and for GuardianSet. */
  upgrade?: UpgradeHistory;
  before?: UpgradeBefore;
  /** Who sent it, in Lockstep's roles (pauses, resumes, withdrawals, rollbacks). */
  actor?: Actor;
  /** GuardianSet: the guardian the logs knew until then (lowercase; undefined when none). */
  guardianBefore?: string;
  /** UpgradeScheduled: the upgrade still open then, an earlier one of the same name, the id already used. */
  openBefore?: UpgradeHistory;
  sameName?: UpgradeHistory;
  idTaken?: boolean;
  /** Attested: the validator's record before, and its cohort at the snapshot (registry complete only). */
  previous?: ValidatorRecord;
  cohortAtSnapshot?: number;
  calls?: AutomaticCall;
  /** An automatic pause or rollback that an attestation of its own transaction called for. */
  justified?: boolean;
  /** A lease event: the stake leased after it by the replay and as the event reports it, against the budget
   * (undefined budget: no LeaseBudgetOpened was seen for the upgrade). */
  lease?: { replayed: bigint; reported: bigint; budget?: bigint };
}

/**
 * The fold so far. `apply` takes it over: it updates it in place and returns it, so hold no other reference to a
 * state once it is passed on (fold again from `initialState` to go back, as after a reorg).
 */
export interface HistoryState {
  history: History;
  steps: FoldStep[];
  readonly options: BuildOptions;
  /** Block timestamps: the options' map, or the one last given to `apply`. */
  times?: Map<bigint, bigint>;
  byId: Map<bigint, UpgradeHistory>;
  /** Lowercase addresses. */
  governance?: string;
  guardian?: string;
  open?: UpgradeHistory;
  /** The step whose attestation called for an automatic stop that the next event must be. */
  due?: FoldStep;
  /** An automatic stop kept back until the next event shows whether its attestation follows it. */
  held?: CoordinatorEvent;
}

export function initialState(o: BuildOptions = {}): HistoryState {
  return {
    history: {
      coordinator: o.coordinator,
      fromBlock: o.fromBlock,
      toBlock: o.toBlock,
      registryComplete: o.registryComplete ?? false,
      governance: o.governance,
      upgrades: [],
      registry: new Map(),
      guardians: [],
      checks: [],
      eventCount: 0,
    },
    steps: [],
    options: o,
    times: o.times,
    byId: new Map(),
    governance: o.governance ? lower(o.governance) : undefined,
  };
}

const lower = (a: string) => a.toLowerCase();
const isAutomaticPause = (e: CoordinatorEvent) =>
  e.eventName === "UpgradePaused" && Number(e.args.reason) === PauseReason.UnhealthyThreshold;
const isAutomaticRollback = (e: CoordinatorEvent) =>
  e.eventName === "RollbackOrdered" && Number(e.args.reason) === RollbackReason.AutomaticThreshold;
const isLeaseEvent = (e: CoordinatorEvent) =>
  e.eventName === "LeaseBudgetOpened" ||
  e.eventName === "LeaseGranted" ||
  e.eventName === "LeaseReleased" ||
  e.eventName === "LeasesExpired";
const upgradeIdOf = (e: CoordinatorEvent) => (e.args as { upgradeId?: bigint }).upgradeId;
export const inFlight = (state: UpgradeHistory["state"]) =>
  state === "Scheduled" || state === "Rolling" || state === "Paused";

/**
 * Folds `events`, which follow those already folded in chain order, into `state`, and returns it.
 *
 * The coordinator emits an automatic pause or rollback from inside the attestation that caused it, before that
 * attestation's own Attested event. For the fold, the cause goes first: such a stop is kept back until the next
 * event, and folded after it when that is the Attested event of the same transaction and upgrade. Call `settle`
 * once no event of the last block can follow (buildHistory does, after the last event; a follower that applies
 * whole blocks may after each apply). `times`, when given, replaces the block times the events are dated from.
 */
export function apply(
  state: HistoryState,
  events: readonly CoordinatorEvent[],
  times?: Map<bigint, bigint>,
): HistoryState {
  if (times) state.times = times;
  for (const e of events) {
    state.history.eventCount++;
    const held = state.held;
    // A lease ended by the attestation that also stopped the upgrade comes between the stop and that Attested.
    if (held && isLeaseEvent(e) && e.transactionHash === held.transactionHash) {
      foldEvent(state, e);
      continue;
    }
    state.held = undefined;
    if (held) {
      if (
        e.eventName === "Attested" &&
        e.transactionHash === held.transactionHash &&
        upgradeIdOf(e) === upgradeIdOf(held)
      ) {
        foldEvent(state, e);
        foldEvent(state, held);
        continue;
      }
      foldEvent(state, held);
    }
    if (isAutomaticPause(e) || isAutomaticRollback(e)) state.held = e;
    else foldEvent(state, e);
  }
  return state;
}

/** Folds an automatic stop kept back by `apply`: no attestation of its transaction is still to come. */
export function settle(state: HistoryState): HistoryState {
  const held = state.held;
  state.held = undefined;
  if (held) foldEvent(state, held);
  return state;
}

/** Folds events in any order: sorted into chain order, folded, settled. */
export function foldAll(events: readonly CoordinatorEvent[], o: BuildOptions = {}): HistoryState {
  return settle(apply(initialState(o), [...events].sort(byChainOrder)));
}

function refOf(state: HistoryState, e: CoordinatorEvent): TxRef {
  return {
    block: e.blockNumber,
    time: state.times?.get(e.blockNumber),
    tx: e.transactionHash,
    logIndex: e.logIndex,
  };
}

function actorOf(state: HistoryState, by: string): Actor {
  const { governance, guardian } = state;
  return governance && lower(by) === governance
    ? "governance"
    : guardian && lower(by) === guardian
      ? "guardian"
      : governance
        ? "anyone"
        : "unknown";
}

/** Whether `e` is the automatic stop that the last attestation called for; either way, that call is answered. */
function answerDue(state: HistoryState, e: CoordinatorEvent): boolean {
  const due = state.due;
  if (!due) return false;
  state.due = undefined;
  const call = due.calls!;
  const matches =
    e.transactionHash === due.ref.tx &&
    (call.kind === "rollback" ? isAutomaticRollback(e) : isAutomaticPause(e)) &&
    upgradeIdOf(e) === due.upgrade!.id;
  call.answered = matches;
  return matches;
}

function before(state: HistoryState, u: UpgradeHistory): UpgradeBefore {
  return {
    state: u.state,
    pauseReason: u.pauseReason,
    currentStage: u.currentStage,
    resumedAt: u.resumedAt,
    stages: u.stages.map((s) => ({
      readyStake: s.readyStake,
      healthyStake: s.healthyStake,
      unhealthyStake: s.unhealthyStake,
      activated: s.activated,
      verified: s.verified,
    })),
    latest: state.history.upgrades[state.history.upgrades.length - 1] === u,
  };
}

function foldEvent(state: HistoryState, e: CoordinatorEvent) {
  if (isLeaseEvent(e)) return foldLease(state, e);
  const h = state.history;
  const justified = answerDue(state, e);
  const ref = refOf(state, e);
  switch (e.eventName) {
    case "GuardianSet": {
      const { newGuardian } = e.args;
      state.steps.push({ event: e, ref, guardianBefore: state.guardian });
      state.guardian =
        lower(newGuardian) === "0x0000000000000000000000000000000000000000" ? undefined : lower(newGuardian);
      h.guardians.push({ guardian: newGuardian, ref });
      break;
    }
    case "ValidatorRegistered": {
      const { operator, attester, cohort } = e.args;
      const r = h.registry.get(lower(operator)) ?? { operator, attester, cohorts: [], ref };
      r.attester = attester;
      r.cohorts.push({ block: e.blockNumber, cohort: Number(cohort) });
      h.registry.set(lower(operator), r);
      break;
    }
    case "ValidatorDeregistered": {
      h.registry.get(lower(e.args.operator))?.cohorts.push({ block: e.blockNumber, cohort: 0 });
      break;
    }
    case "CohortAssigned": {
      h.registry.get(lower(e.args.operator))?.cohorts.push({ block: e.blockNumber, cohort: Number(e.args.newCohort) });
      break;
    }
    case "AttesterRotated": {
      const r = h.registry.get(lower(e.args.operator));
      if (r) r.attester = e.args.newAttester;
      break;
    }
    case "UpgradeScheduled": {
      const { upgradeId, nameHash, manifest: m, snapshot, cohortStakes } = e.args;
      const manifest: ManifestRecord = {
        name: m.name,
        version: m.version,
        previousVersion: m.previousVersion,
        artifacts: m.artifacts.map((a) => ({ platform: a.platform, uri: a.uri, sha256Digest: a.sha256Digest })),
        featureFlags: [...m.featureFlags],
        metadataURI: m.metadataURI,
        manifestHash: m.manifestHash,
        stateIncompatible: m.stateIncompatible,
        stages: m.stages.map((s) => ({
          cohort: Number(s.cohort),
          timelock: Number(s.timelock),
          observationWindow: Number(s.observationWindow),
          attestationDeadline: Number(s.attestationDeadline),
          readinessBps: Number(s.readinessBps),
          healthyBps: Number(s.healthyBps),
          unhealthyBps: Number(s.unhealthyBps),
          rollbackBps: Number(s.rollbackBps),
        })),
      };
      const u: UpgradeHistory = {
        id: upgradeId,
        name: m.name,
        nameHash,
        manifest,
        snapshot: BigInt(snapshot),
        scheduled: ref,
        state: "Scheduled",
        pauseReason: "None",
        currentStage: 0,
        pausedAt: 0n,
        endedAt: 0n,
        resumedAt: 0n,
        stages: manifest.stages.map((rules, index) => {
          const cohortStake = BigInt(cohortStakes[index] ?? 0n);
          return {
            index,
            cohort: rules.cohort,
            rules,
            cohortStake,
            ...stageThresholds(cohortStake, rules),
            readyStake: 0n,
            readyCount: 0,
            healthyStake: 0n,
            unhealthyStake: 0n,
            state: "Pending",
          };
        }),
        validators: new Map(),
        restoredStake: 0n,
        restoredCount: 0,
        transitions: [],
        attestationCount: 0,
      };
      state.steps.push({
        event: e,
        ref,
        upgrade: u,
        openBefore: state.open,
        sameName: h.upgrades.find((x) => x.name === u.name),
        idTaken: state.byId.has(upgradeId),
      });
      u.transitions.push({
        ...ref,
        kind: "UpgradeScheduled",
        figures: {
          version: manifest.version,
          previousVersion: manifest.previousVersion,
          snapshot: Number(snapshot),
          manifestHash: manifest.manifestHash,
          cohortStakes: cohortStakes.map(String).join("/"),
        },
      });
      state.byId.set(upgradeId, u);
      h.upgrades.push(u);
      state.open = u;
      break;
    }
    default: {
      const upgradeId = upgradeIdOf(e);
      if (upgradeId === undefined) break; // an event this history does not model
      const u = state.byId.get(upgradeId);
      // Possible when the scan starts after the upgrade was scheduled: the audit reports it.
      if (!u) state.steps.push({ event: e, ref });
      else foldUpgradeEvent(state, u, e, ref, justified);
    }
  }
}

const fig = (x: bigint) => x.toString();

function end(state: HistoryState, u: UpgradeHistory, to: UpgradeHistory["state"], ref: TxRef) {
  u.state = to;
  u.endedAt = ref.time ?? 0n;
  if (state.open === u) state.open = undefined;
}

function foldUpgradeEvent(state: HistoryState, u: UpgradeHistory, e: CoordinatorEvent, ref: TxRef, justified: boolean) {
  const step: FoldStep = { event: e, ref, upgrade: u, before: before(state, u), justified };
  state.steps.push(step);
  const ended = !inFlight(u.state);
  const transition = (t: Omit<Transition, keyof TxRef>) => u.transitions.push({ ...ref, ...t });
  switch (e.eventName) {
    case "Attested": {
      const { operator, stage, status: st, version, height, metricsDigest, weight } = e.args;
      const status = Number(st) as Status;
      const s = u.stages[Number(stage)];
      u.attestationCount++;
      if (!s) break;
      const key = lower(operator);
      const prev = u.validators.get(key);
      step.previous = prev;
      if (state.history.registryComplete) step.cohortAtSnapshot = cohortAt(state.history.registry.get(key), u.snapshot);
      const previous = prev?.status ?? Status.None;
      const restoring = u.state === "RolledBack" && status === Status.RolledBack && step.before!.latest;
      if (status === Status.Ready) {
        if (previous === Status.None) {
          s.readyStake += weight;
          s.readyCount++;
        }
      } else if (!s.activated) {
        // a health attestation before activation: the audit reports it
      } else if (!ended) {
        countHealth(state, step, u, s, previous, status, weight);
      } else if (restoring && !prev?.restored) {
        u.restoredStake += weight;
        u.restoredCount++;
      }
      u.validators.set(key, {
        operator,
        stage: s.index,
        status,
        weight,
        version: versionFromTag(version),
        height,
        metricsDigest,
        attestations: (prev?.attestations ?? 0) + 1,
        restored: (prev?.restored ?? false) || restoring,
        last: ref,
      });
      break;
    }
    case "StageActivated": {
      const { stage, cohort, readyStake, readyNeeded } = e.args;
      const i = Number(stage);
      const s = u.stages[i];
      transition({
        kind: "StageActivated",
        stage: i,
        figures: { cohort: Number(cohort), readyStake: fig(readyStake), readyNeeded: fig(readyNeeded) },
      });
      if (ended || !s) break;
      s.activated = ref;
      s.state = "Active";
      u.currentStage = i;
      if (u.state === "Scheduled") u.state = "Rolling";
      break;
    }
    case "StageVerified": {
      const { stage, healthyStake, healthyNeeded, unhealthyStake } = e.args;
      const i = Number(stage);
      const s = u.stages[i];
      transition({
        kind: "StageVerified",
        stage: i,
        figures: {
          healthyStake: fig(healthyStake),
          healthyNeeded: fig(healthyNeeded),
          unhealthyStake: fig(unhealthyStake),
        },
      });
      if (ended || !s) break;
      s.verified = ref;
      s.state = "Verified";
      if (i + 1 < u.stages.length) u.currentStage = i + 1;
      break;
    }
    case "UpgradePaused": {
      const { by, reason: r, stage, healthyStake, unhealthyStake } = e.args;
      const reason = PauseReason[Number(r)] as keyof typeof PauseReason;
      const automatic = Number(r) !== PauseReason.Manual;
      step.actor = automatic ? "automatic" : actorOf(state, by);
      transition({
        kind: "UpgradePaused",
        stage: Number(stage),
        by,
        actor: step.actor,
        reason,
        figures: { healthyStake: fig(healthyStake), unhealthyStake: fig(unhealthyStake) },
      });
      if (ended) break;
      u.state = "Paused";
      u.pauseReason = reason;
      u.pausedAt = ref.time ?? 0n;
      break;
    }
    case "UpgradeResumed": {
      const { by, stage } = e.args;
      step.actor = actorOf(state, by);
      transition({ kind: "UpgradeResumed", stage: Number(stage), by, actor: step.actor, figures: {} });
      if (ended) break;
      u.state = u.stages.some((s) => s.activated) ? "Rolling" : "Scheduled";
      u.pauseReason = "None";
      u.pausedAt = 0n;
      u.resumedAt = ref.time ?? 0n;
      break;
    }
    case "UpgradeWithdrawn": {
      const { by, stage, anyStageActivated } = e.args;
      step.actor = actorOf(state, by);
      transition({
        kind: "UpgradeWithdrawn",
        stage: Number(stage),
        by,
        actor: step.actor,
        figures: { anyStageActivated },
      });
      if (!ended) end(state, u, "Withdrawn", ref);
      break;
    }
    case "RollbackOrdered": {
      const { by, reason: r, stage, unhealthyStake } = e.args;
      const reason = RollbackReason[Number(r)] as keyof typeof RollbackReason;
      const automatic = Number(r) === RollbackReason.AutomaticThreshold;
      step.actor = automatic ? "automatic" : actorOf(state, by);
      transition({
        kind: "RollbackOrdered",
        stage: Number(stage),
        by,
        actor: step.actor,
        reason,
        figures: { unhealthyStake: fig(unhealthyStake) },
      });
      if (!ended) end(state, u, "RolledBack", ref); // the pause reason stays, as the contract keeps it
      break;
    }
    case "UpgradeCompleted": {
      transition({ kind: "UpgradeCompleted", figures: { stageCount: Number(e.args.stageCount) } });
      if (!ended) end(state, u, "Completed", ref);
      break;
    }
  }
}

/**
 * The restart budget's books (RolloutViews.noteLease, UpgradeCoordinator.takeLease): a grant adds its weight, a
 * release takes it off, an expiry takes off the stake it reports. The step keeps the replayed figure beside the one
 * the event reports; the fold then goes on from the reported one, so one disagreement is reported once.
 */
function foldLease(state: HistoryState, e: CoordinatorEvent) {
  const ref = refOf(state, e);
  const u = state.byId.get(upgradeIdOf(e)!);
  if (!u) {
    state.steps.push({ event: e, ref }); // the audit reports an upgrade the scanned logs never scheduled
    return;
  }
  const step: FoldStep = { event: e, ref, upgrade: u };
  state.steps.push(step);
  if (e.eventName === "LeaseBudgetOpened") {
    const { budget, duration } = e.args;
    u.leases = {
      budget,
      duration: Number(duration),
      opened: ref,
      inUse: 0n,
      peak: 0n,
      holders: new Map(),
      granted: 0,
      released: 0,
      expiredStake: 0n,
    };
    return;
  }
  const l = u.leases;
  let replayed = l?.inUse ?? 0n;
  let reported = 0n;
  switch (e.eventName) {
    case "LeaseGranted": {
      const { attester, weight, expiresAt, inUse } = e.args;
      replayed += weight;
      reported = inUse;
      l?.holders.set(lower(attester), { attester, weight, expiresAt, granted: ref });
      if (l) l.granted++;
      break;
    }
    case "LeaseReleased": {
      const { attester, weight, inUse } = e.args;
      replayed -= weight;
      reported = inUse;
      l?.holders.delete(lower(attester));
      if (l) l.released++;
      break;
    }
    case "LeasesExpired": {
      const { stake, inUse } = e.args;
      replayed -= stake;
      reported = inUse;
      if (l) {
        l.expiredStake += stake;
        // Leases expire in the order they were granted; the event does not name them, their expiry times do.
        if (ref.time !== undefined) for (const [k, h] of l.holders) if (h.expiresAt <= ref.time) l.holders.delete(k);
      }
      break;
    }
  }
  step.lease = { replayed, reported, budget: l?.budget };
  if (!l) return;
  const high = replayed > reported ? replayed : reported;
  if (high > l.peak) {
    l.peak = high;
    l.peakAt = ref;
  }
  l.inUse = reported;
}

/** UpgradeCoordinator.attest: moves the validator's weight between the tallies; notes an automatic stop it sets off. */
function countHealth(
  state: HistoryState,
  step: FoldStep,
  u: UpgradeHistory,
  s: StageHistory,
  previous: Status,
  status: Status,
  weight: bigint,
) {
  const wasHealthy = previous === Status.Healthy;
  const wasUnhealthy = previous > Status.Healthy;
  const isHealthy = status === Status.Healthy;
  if ((wasHealthy && isHealthy) || (wasUnhealthy && !isHealthy)) return;
  if (wasHealthy) s.healthyStake -= weight;
  else if (wasUnhealthy) s.unhealthyStake -= weight;
  if (isHealthy) {
    s.healthyStake += weight;
    return;
  }
  s.unhealthyStake += weight;
  const kind = automaticStop(s.unhealthyStake, s, u.state === "Paused");
  if (kind) {
    const limit = kind === "rollback" ? s.rollbackLimit : s.unhealthyLimit;
    step.calls = { kind, stage: s.index, unhealthy: s.unhealthyStake, limit };
    state.due = step;
  }
}

/** The cohort of a validator at the end of block `snapshot`, from the registry events (0: not registered). */
export function cohortAt(r: RegistryRecord | undefined, snapshot: bigint): number {
  let cohort = 0;
  for (const c of r?.cohorts ?? []) if (c.block <= snapshot) cohort = c.cohort;
  return cohort;
}
