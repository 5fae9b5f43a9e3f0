/**
 * Stateful property test of the rollout: random sequences of operations (stake moves, registrations, cohort moves,
 * schedules, attestations sent directly or relayed, advance, pause, resume, withdraw, rollback, participation
 * pauses, guardian changes, time jumps, mined blocks) run against the deployed contracts and against the reference
 * model in test/helpers/model.ts. After every step the chain must equal the model, and a few invariants must hold
 * on the chain's own views.
 *
 * Reproduce a failure with the seed (and path) the failure prints:
 *   LOCKSTEP_PROPERTY_SEED=<seed> [LOCKSTEP_PROPERTY_PATH=<path>] npx hardhat test test/contracts/coordinator.property.test.ts
 * Scale with LOCKSTEP_PROPERTY_RUNS (default 40) and LOCKSTEP_PROPERTY_STEPS (default 256). LOCKSTEP_PROPERTY_SHRINK=1
 * lets fast-check shrink a failing run (slow: every attempt replays it on the chain); steps shrink towards "skip",
 * so what is left of the printed sequence is the part that matters. LOCKSTEP_PROPERTY_STATS=1 prints how often each
 * operation succeeded or failed with each error, to see what the runs exercised.
 */
import { expect } from "chai";
import fc from "fast-check";
import { ethers, network } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { Interface, Result, Wallet, keccak256, toUtf8Bytes } from "ethers";
import { attesterProof, deployLockstep, impersonate, manifest, stageRules, STAKE } from "../helpers/system";
import { createWalletClient, custom, getAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signAttesterProof } from "../../lib/actions/signAttesterProof";
import { defaultParams } from "../../lib/deploy";
import { Arg, LEASE_UNIT, LockstepModel, OPEN_STATES, Outcome, RelayItem, Rules, ZERO } from "../helpers/model";
import { StageState, Status, UpgradeState, coordinatorDomain } from "../../lib/coordinator";
import { packAttestations } from "../../lib/actions/packAttestations";
import { signAttestation } from "../helpers/system";
import { StakeToken__factory, UpgradeCoordinator__factory } from "../../typechain-types";
import { versionTag } from "../../lib/version";

const DEFAULT_RUNS = 40;
const DEFAULT_STEPS = 256;
const RUNS = Number(process.env.LOCKSTEP_PROPERTY_RUNS ?? DEFAULT_RUNS);
const STEPS = Number(process.env.LOCKSTEP_PROPERTY_STEPS ?? DEFAULT_STEPS);
const SEED = process.env.LOCKSTEP_PROPERTY_SEED
  ? Number(process.env.LOCKSTEP_PROPERTY_SEED)
  : Date.now() ^ (Math.random() * 0x7fffffff);
const PATH = process.env.LOCKSTEP_PROPERTY_PATH;
const SHRINK = process.env.LOCKSTEP_PROPERTY_SHRINK === "1";
const STATS = process.env.LOCKSTEP_PROPERTY_STATS === "1";
/** Outcome counts per operation (printed with LOCKSTEP_PROPERTY_STATS=1). */
const stats = new Map<string, number>();
/** Signs attester proofs with local keys: never reaches its transport. */
const LOCAL_SIGNER = createWalletClient({
  transport: custom({ request: () => Promise.reject(new Error("attester proofs are signed locally")) }),
});

const OPERATORS = 8;
const ATTESTERS = 12;
const HOLDERS = 3;
/** Cohorts of the operators registered by the fixture; the others start unregistered (but hold stake). */
const INITIAL_COHORTS = [1, 1, 2, 2, 3, 4];
const operatorStake = (i: number) => STAKE(100 + 37 * i) + BigInt(i) * 1_234_567_891n;
const HOLDER_STAKE = STAKE(400);
const INITIAL_BUDGET_BPS = 2500;
const INITIAL_LEASE_DURATION = 600;
const VERSION = versionTag("v2.0.0");

// ---------------------------------------------------------------------------------------------------- fixture

async function deployPropertyFixture() {
  const d = await deployLockstep();
  const [stranger, ...rest] = d.others;
  const holders = rest.slice(0, HOLDERS);
  const operators = rest.slice(HOLDERS, HOLDERS + OPERATORS);
  const secondGuardian = rest[HOLDERS + OPERATORS];
  const attesters: Wallet[] = [];
  for (let i = 0; i < ATTESTERS; i++) {
    const w = new Wallet(keccak256(toUtf8Bytes(`lockstep-property:attester:${i}`)));
    await impersonate(w.address); // direct attestations are sent from it without signing locally
    attesters.push(w);
  }
  for (const h of holders) await (await d.token.connect(d.deployer).transfer(h.address, HOLDER_STAKE)).wait();
  for (let i = 0; i < OPERATORS; i++) {
    await (await d.token.connect(d.deployer).transfer(operators[i].address, operatorStake(i))).wait();
    await (await d.token.connect(operators[i]).delegate(operators[i].address)).wait();
  }
  // The first holder backs the third validator from the start.
  await (await d.token.connect(holders[0]).delegate(operators[2].address)).wait();
  const defaultCohort = defaultParams(d.deployer.address, d.guardian.address).defaultCohort; // deployLockstep's
  for (let i = 0; i < INITIAL_COHORTS.length; i++) {
    const proof = await attesterProof(d.coordinator, operators[i], attesters[i]);
    await (
      await d.coordinator.connect(operators[i]).register(attesters[i].address, `ipfs://validator/${i}`, proof)
    ).wait();
    if (INITIAL_COHORTS[i] !== defaultCohort) {
      await (await d.coordinator.connect(d.timelockSigner).setCohort(operators[i].address, INITIAL_COHORTS[i])).wait();
    }
  }
  // A restart budget from the start, so leases are granted and refused from the first upgrade on.
  await (
    await d.coordinator.connect(d.timelockSigner).setRestartBudget(INITIAL_BUDGET_BPS, INITIAL_LEASE_DURATION)
  ).wait();
  return {
    d,
    defaultCohort,
    governance: await d.timelock.getAddress(),
    coordinator: await d.coordinator.getAddress(),
    token: await d.token.getAddress(),
    chainId: (await ethers.provider.getNetwork()).chainId,
    stranger: stranger.address,
    holders: holders.map((h) => h.address),
    operators: operators.map((o) => o.address),
    guardians: [d.guardian.address, secondGuardian.address],
    attesters,
  };
}
type Fixture = Awaited<ReturnType<typeof deployPropertyFixture>>;

/** The model of the fixture's state, written from the fixture's recipe (not read back from the chain). */
function initialModel(f: Fixture, now: bigint, block: number): LockstepModel {
  const balances: Record<string, bigint> = {};
  const delegates: Record<string, string> = {};
  f.holders.forEach((h) => (balances[h] = HOLDER_STAKE));
  f.operators.forEach((o, i) => {
    balances[o] = operatorStake(i);
    delegates[o] = o;
  });
  delegates[f.holders[0]] = f.operators[2];
  const model = new LockstepModel({
    now,
    block,
    governance: f.governance,
    guardian: f.guardians[0],
    defaultCohort: f.defaultCohort,
    balances,
    delegates,
    validators: INITIAL_COHORTS.map((cohort, i) => ({
      operator: f.operators[i],
      attester: f.attesters[i].address,
      cohort,
    })),
  });
  const set = model.setRestartBudget(f.governance, INITIAL_BUDGET_BPS, BigInt(INITIAL_LEASE_DURATION));
  if (!set.ok) throw new Error("the fixture's restart budget is one the model refuses");
  return model;
}

// ---------------------------------------------------------------------------------------------------- randomness

/** Every choice of a step comes from one 31-bit number fast-check generates (mulberry32). */
class Rand {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
}

/** Operation kinds and their weights (kind 0, "skip", is what shrinking turns an irrelevant step into). */
const WEIGHTS = {
  skip: 1,
  attest: 300,
  relay: 110,
  advance: 130,
  pauseForMissingParticipation: 30,
  timeJump: 100,
  mine: 15,
  transfer: 30,
  delegate: 30,
  register: 25,
  deregister: 10,
  rotateAttester: 25,
  setCohort: 30,
  setDefaultCohort: 5,
  schedule: 60,
  pause: 15,
  resume: 35,
  withdraw: 8,
  orderRollback: 10,
  guardian: 10,
  takeLease: 45,
  setRestartBudget: 6,
} as const;
type Kind = keyof typeof WEIGHTS;
const KIND_TABLE: Kind[] = Object.entries(WEIGHTS).flatMap(([k, w]) => Array<Kind>(w).fill(k as Kind));

const stepArb = fc.noBias(fc.tuple(fc.nat(KIND_TABLE.length - 1), fc.nat()));

// ---------------------------------------------------------------------------------------------------- chain access

interface TxPlan {
  label: string;
  from: string;
  to: string;
  data: string;
  gas: number;
  predict: (t: bigint) => Outcome;
}
type Plan =
  | { kind: "skip" }
  | { kind: "txs"; txs: TxPlan[]; upgradeId?: number; operators?: string[] }
  | { kind: "timeJump"; seconds: number }
  | { kind: "mine"; blocks: number };

type Actual = { ok: true; events: string[] } | { ok: false; error: string; args: Arg[] } | { ok: false; raw: string };

const coordinatorIface: Interface = UpgradeCoordinator__factory.createInterface();
const tokenIface: Interface = StakeToken__factory.createInterface();

const norm = (x: unknown): Arg => {
  if (typeof x === "string") return x.toLowerCase();
  if (typeof x === "number") return BigInt(x);
  return x as Arg;
};

async function rpc(method: string, params: unknown[]): Promise<any> {
  return network.provider.send(method, params);
}

async function sendTx(from: string, to: string, data: string, gas: number, coordinator: string): Promise<Actual> {
  let hash: string;
  try {
    hash = await rpc("eth_sendTransaction", [{ from, to, data, gas: "0x" + gas.toString(16) }]);
  } catch (e: any) {
    const revert = typeof e?.data === "string" ? e.data : e?.data?.data;
    if (typeof revert !== "string") return { ok: false, raw: String(e?.message ?? e) };
    for (const iface of [coordinatorIface, tokenIface]) {
      const parsed = iface.parseError(revert);
      if (parsed) return { ok: false, error: parsed.name, args: parsed.args.toArray().map(norm) };
    }
    return { ok: false, raw: `${e?.message} (${revert})` };
  }
  const receipt = await rpc("eth_getTransactionReceipt", [hash]);
  const events: string[] = [];
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== coordinator.toLowerCase()) continue;
    const ev = coordinatorIface.parseLog(log)!;
    const detail =
      ev.name === "UpgradePaused" || ev.name === "RollbackOrdered" || ev.name === "AttestationSkipped"
        ? `:${ev.args.reason}`
        : ev.name === "StageActivated" || ev.name === "StageVerified"
          ? `:${ev.args.stage}`
          : ev.name === "AttestationsRelayed"
            ? `:${ev.args.accepted}/${ev.args.skipped}`
            : "";
    events.push(ev.name + detail);
  }
  return { ok: true, events };
}

async function view(to: string, iface: Interface, fn: string, args: unknown[]): Promise<Result> {
  const ret = await rpc("eth_call", [{ to, data: iface.encodeFunctionData(fn, args) }, "latest"]);
  return iface.decodeFunctionResult(fn, ret);
}

const show = (o: Outcome | Actual): string => {
  if (o.ok) return `ok [${o.events.join(", ")}]`;
  if ("raw" in o) return `raw error: ${o.raw}`;
  return `${o.error}(${o.args.map(String).join(", ")})`;
};

function sameOutcome(expected: Outcome, actual: Actual): boolean {
  if (expected.ok !== actual.ok) return false;
  if (expected.ok && actual.ok) return [...expected.events].sort().join() === [...actual.events].sort().join();
  if (expected.ok || actual.ok || "raw" in actual) return false;
  return (
    expected.error === actual.error && expected.args.map(norm).map(String).join() === actual.args.map(String).join()
  );
}

// ---------------------------------------------------------------------------------------------------- one run

class Run {
  readonly log: string[] = [];
  /** Terminal state and frozen stage views of upgrades seen ended on the chain (chain-only invariant). */
  private readonly terminal = new Map<number, string>();
  private readonly attesterOf = new Map<string, Wallet>();
  ops = 0;

  constructor(
    private readonly f: Fixture,
    private readonly model: LockstepModel,
  ) {
    for (const w of f.attesters) this.attesterOf.set(w.address.toLowerCase(), w);
  }

  // ------------------------------------------------------------------ choices

  private get everyone(): string[] {
    return [...this.f.holders, ...this.f.operators];
  }

  private caller(rand: Rand, role: "governance" | "guardian" | "either"): string {
    const guardian = this.model.guardian === ZERO ? rand.pick(this.f.guardians) : this.model.guardian;
    const x = rand.int(100);
    if (x < 75) {
      if (role === "governance") return this.f.governance;
      if (role === "guardian") return guardian;
      return rand.chance(0.5) ? this.f.governance : guardian;
    }
    if (x < 85) return role === "governance" ? guardian : this.f.governance;
    if (x < 92) return this.f.stranger;
    if (x < 96) return this.f.guardians.find((g) => g.toLowerCase() !== this.model.guardian) ?? this.f.stranger;
    return rand.pick(this.f.operators);
  }

  private upgradeId(rand: Rand): number {
    const n = this.model.upgradeCount;
    if (n === 0) return rand.chance(0.5) ? 1 : 0;
    const x = rand.int(100);
    if (x < 84) return n;
    if (x < 95) return 1 + rand.int(n);
    return rand.chance(0.5) ? n + 1 : 0;
  }

  private status(rand: Rand, id: number, stage: number): number {
    const u = this.model.upgrade(id);
    if (!u || stage >= u.stages.length) return rand.pick([Status.Ready, Status.Healthy, Status.Unhealthy]);
    if (u.phase === "RolledBack" && rand.chance(0.7)) return Status.RolledBack;
    if (rand.chance(0.04)) return rand.int(6);
    if (u.stages[stage].activatedAt === 0n) {
      return rand.chance(0.85) ? Status.Ready : rand.pick([Status.Healthy, Status.Unhealthy, Status.None]);
    }
    const x = rand.int(100);
    if (x < 62) return Status.Healthy;
    if (x < 75) return Status.Unhealthy;
    if (x < 81) return Status.FailedToUpgrade;
    if (x < 88) return Status.RolledBack;
    if (x < 97) return Status.Ready;
    return Status.None;
  }

  private attestation(rand: Rand): { operator: string; upgradeId: number; stage: number; status: number } {
    const id = this.upgradeId(rand);
    const u = this.model.upgrade(id);
    let operator = rand.pick(this.f.operators);
    if (u && rand.chance(0.78)) {
      const cohort = rand.chance(0.7) ? u.stages[u.currentStage].rules.cohort : rand.pick(u.stages).rules.cohort;
      const members = this.model.rosterMembers(id, cohort);
      if (members.length > 0) {
        const chosen = rand.pick(members);
        operator = this.f.operators.find((o) => o.toLowerCase() === chosen)!;
      }
    }
    const own = u ? this.model.stageOfCohort(id, this.model.rosterOf(id, operator).cohort) : undefined;
    const x = rand.int(100);
    const stage = x < 82 && own !== undefined ? own : x < 91 && u ? u.currentStage : rand.int(4);
    return { operator, upgradeId: id, stage, status: this.status(rand, id, stage) };
  }

  private freeAttesters(): string[] {
    return this.f.attesters.map((w) => w.address).filter((a) => this.model.operatorOfAttester(a) === ZERO);
  }

  private newAttester(rand: Rand, operator: string): string {
    const x = rand.int(100);
    const free = this.freeAttesters();
    if (x < 75 && free.length > 0) return rand.pick(free);
    if (x < 90) return rand.pick(this.f.attesters).address;
    if (x < 95) return ZERO;
    const own = this.model.validator(operator).attester;
    return own === ZERO ? rand.pick(this.f.attesters).address : own;
  }

  /**
   * A proof of possession for `attester` and `operator` at the model's nonce: mostly signed by the attester key
   * itself, sometimes by another key (a squatter's attempt), which the coordinator must refuse.
   */
  private async proof(rand: Rand, operator: string, attester: string): Promise<{ proof: string; by: string }> {
    const own = this.f.attesters.find((w) => w.address.toLowerCase() === attester.toLowerCase());
    const signer = own && rand.chance(0.85) ? own : rand.pick(this.f.attesters);
    const proof = await signAttesterProof(LOCAL_SIGNER, {
      account: privateKeyToAccount(signer.privateKey as Hex),
      chainId: this.f.chainId,
      coordinator: getAddress(this.f.coordinator),
      operator: getAddress(operator),
      nonce: BigInt(this.model.nonceOf(operator)),
    });
    return { proof, by: signer.address };
  }

  private registered(rand: Rand, p: number): string {
    const regs = this.f.operators.filter((o) => this.model.validator(o).registered);
    return regs.length > 0 && rand.chance(p) ? rand.pick(regs) : rand.pick(this.f.operators);
  }

  private rules(rand: Rand, cohort: number): Rules {
    return {
      cohort,
      timelock: rand.pick([0, 0, 0, 15, 60, 240]),
      observationWindow: rand.pick([0, 10, 60, 300]),
      attestationDeadline: rand.pick([20, 120, 600, 1800]),
      readinessBps: rand.chance(0.3) ? 0 : rand.pick([2500, 5000, 6700, 9000, 10000, 1 + rand.int(10000)]),
      healthyBps: rand.pick([1, 3000, 5000, 6700, 8000, 10000, 1 + rand.int(10000)]),
      unhealthyBps: rand.pick([1, 2000, 3400, 5000, 10000, 1 + rand.int(10000)]),
      rollbackBps: rand.chance(0.55) ? 0 : rand.pick([1000, 5000, 6000, 10000, 1 + rand.int(10000)]),
    };
  }

  // ------------------------------------------------------------------ plans

  private coordinatorTx(
    label: string,
    from: string,
    fn: string,
    args: unknown[],
    predict: TxPlan["predict"],
    gas = 3_000_000,
  ): TxPlan {
    return { label, from, to: this.f.coordinator, data: coordinatorIface.encodeFunctionData(fn, args), gas, predict };
  }

  private tokenTx(label: string, from: string, fn: string, args: unknown[], predict: TxPlan["predict"]): TxPlan {
    return { label, from, to: this.f.token, data: tokenIface.encodeFunctionData(fn, args), gas: 1_000_000, predict };
  }

  async plan(kind: Kind, rand: Rand, step: number): Promise<Plan> {
    const m = this.model;
    const name = (a: string) => this.nameOf(a);
    switch (kind) {
      case "skip":
        return { kind: "skip" };
      case "timeJump": {
        const x = rand.int(100);
        const seconds =
          x < 40
            ? 1 + rand.int(30)
            : x < 70
              ? 30 + rand.int(170)
              : x < 90
                ? 200 + rand.int(800)
                : 1000 + rand.int(3000);
        return { kind: "timeJump", seconds };
      }
      case "mine":
        return { kind: "mine", blocks: 1 + rand.int(5) };
      case "transfer": {
        const holders = this.everyone.filter((a) => m.balanceOf(a) > 0n);
        const from = rand.pick(holders);
        const to = rand.pick(this.everyone);
        const balance = m.balanceOf(from);
        const amount = rand.chance(0.1) ? balance : (balance * BigInt(1 + rand.int(100))) / 100n;
        return {
          kind: "txs",
          operators: [from, to, m.delegateOf(from), m.delegateOf(to)],
          txs: [
            this.tokenTx(`transfer ${name(from)} -> ${name(to)} ${amount}`, from, "transfer", [to, amount], () =>
              m.transfer(from, to, amount),
            ),
          ],
        };
      }
      case "delegate": {
        const from = rand.pick(this.everyone);
        const x = rand.int(100);
        const to = x < 80 ? rand.pick(this.f.operators) : x < 90 ? rand.pick(this.f.holders) : ZERO;
        return {
          kind: "txs",
          operators: [from, to, m.delegateOf(from)],
          txs: [
            this.tokenTx(`delegate ${name(from)} -> ${name(to)}`, from, "delegate", [to], () => m.delegate(from, to)),
          ],
        };
      }
      case "register": {
        const unregistered = this.f.operators.filter((o) => !m.validator(o).registered);
        const operator =
          unregistered.length > 0 && rand.chance(0.85) ? rand.pick(unregistered) : rand.pick(this.f.operators);
        const attester = this.newAttester(rand, operator);
        const { proof, by } = await this.proof(rand, operator, attester);
        const txs = [
          this.coordinatorTx(
            `register ${name(operator)} attester ${name(attester)} proven by ${name(by)}`,
            operator,
            "register",
            [attester, `ipfs://v/${step}`, proof],
            () => m.register(operator, attester, by),
          ),
        ];
        if (rand.chance(0.5)) {
          const holder = rand.pick(this.f.holders);
          txs.push(
            this.tokenTx(`delegate ${name(holder)} -> ${name(operator)}`, holder, "delegate", [operator], () =>
              m.delegate(holder, operator),
            ),
          );
        }
        return { kind: "txs", operators: [operator], txs };
      }
      case "deregister": {
        const operator = this.registered(rand, 0.85);
        return {
          kind: "txs",
          operators: [operator],
          txs: [
            this.coordinatorTx(`deregister ${name(operator)}`, operator, "deregister", [], () =>
              m.deregister(operator),
            ),
          ],
        };
      }
      case "rotateAttester": {
        const operator = this.registered(rand, 0.85);
        const attester = this.newAttester(rand, operator);
        const { proof, by } = await this.proof(rand, operator, attester);
        return {
          kind: "txs",
          operators: [operator],
          txs: [
            this.coordinatorTx(
              `rotateAttester ${name(operator)} -> ${name(attester)} proven by ${name(by)}`,
              operator,
              "rotateAttester",
              [attester, proof],
              () => m.rotateAttester(operator, attester, by),
            ),
          ],
        };
      }
      case "setCohort": {
        const operator = this.registered(rand, 0.85);
        const cohort = rand.chance(0.05) ? 0 : 1 + rand.int(4);
        const from = this.caller(rand, "governance");
        return {
          kind: "txs",
          operators: [operator],
          txs: [
            this.coordinatorTx(
              `setCohort ${name(operator)} ${cohort} by ${name(from)}`,
              from,
              "setCohort",
              [operator, cohort],
              () => m.setCohort(from, operator, cohort),
            ),
          ],
        };
      }
      case "setDefaultCohort": {
        const cohort = rand.chance(0.1) ? 0 : 1 + rand.int(4);
        const from = this.caller(rand, "governance");
        return {
          kind: "txs",
          txs: [
            this.coordinatorTx(`setDefaultCohort ${cohort} by ${name(from)}`, from, "setDefaultCohort", [cohort], () =>
              m.setDefaultCohort(from, cohort),
            ),
          ],
        };
      }
      case "guardian": {
        if (rand.chance(0.6)) {
          const from = this.caller(rand, "governance");
          const x = rand.int(100);
          const g = x < 45 ? this.f.guardians[0] : x < 85 ? this.f.guardians[1] : x < 95 ? ZERO : this.f.governance;
          return {
            kind: "txs",
            txs: [
              this.coordinatorTx(`setGuardian ${name(g)} by ${name(from)}`, from, "setGuardian", [g], () =>
                m.setGuardian(from, g),
              ),
            ],
          };
        }
        const from = this.caller(rand, "guardian");
        return {
          kind: "txs",
          txs: [
            this.coordinatorTx(`renounceGuardian by ${name(from)}`, from, "renounceGuardian", [], () =>
              m.renounceGuardian(from),
            ),
          ],
        };
      }
      case "takeLease": {
        // Mostly a key whose Ready cached a weight for the latest upgrade; sometimes any key, or a stranger.
        const latest = m.upgradeCount;
        const cached = this.f.attesters
          .map((w) => w.address)
          .filter((a) => latest !== 0 && m.lease(a).upgradeId === latest);
        const x = rand.int(100);
        const from =
          x < 80 && cached.length > 0
            ? rand.pick(cached)
            : x < 95
              ? rand.pick(this.f.attesters).address
              : this.f.stranger;
        return {
          kind: "txs",
          txs: [this.coordinatorTx(`takeLease by ${name(from)}`, from, "takeLease", [], (t) => m.takeLease(t, from))],
        };
      }
      case "setRestartBudget": {
        const from = this.caller(rand, "governance");
        const bps = rand.pick([0, 500, 1000, 2500, 5000, 10_000, 10_001]);
        const duration = rand.pick([1, 30, 120, 600, 3600, 0, 2 ** 24]);
        return {
          kind: "txs",
          txs: [
            this.coordinatorTx(
              `setRestartBudget ${bps} bps ${duration}s by ${name(from)}`,
              from,
              "setRestartBudget",
              [bps, duration],
              () => m.setRestartBudget(from, bps, BigInt(duration)),
            ),
          ],
        };
      }
      case "schedule": {
        const from = this.caller(rand, "governance");
        const cohorts = [1, 2, 3, 4].sort(() => rand.next() - 0.5).slice(0, 1 + rand.int(3));
        const stages = cohorts.map((c) => this.rules(rand, c));
        const existing = m.names();
        const upgradeName = existing.length > 0 && rand.chance(0.06) ? rand.pick(existing) : `upgrade-${step}`;
        const text = stages
          .map(
            (r) =>
              `c${r.cohort}{tl ${r.timelock} obs ${r.observationWindow} dl ${r.attestationDeadline} rdy ${r.readinessBps} ok ${r.healthyBps} bad ${r.unhealthyBps} rb ${r.rollbackBps}}`,
          )
          .join(" ");
        return {
          kind: "txs",
          upgradeId: m.upgradeCount + 1,
          txs: [
            this.coordinatorTx(
              `schedule ${upgradeName} [${text}] by ${name(from)}`,
              from,
              "schedule",
              [manifest(upgradeName, cohorts, { stages })],
              (t) => m.schedule(t, from, upgradeName, stages),
              8_000_000,
            ),
          ],
        };
      }
      case "pause":
      case "orderRollback":
      case "resume":
      case "withdraw": {
        const id = this.upgradeId(rand);
        const from = this.caller(rand, kind === "pause" || kind === "orderRollback" ? "either" : "governance");
        const predict = (t: bigint) =>
          kind === "pause"
            ? m.pause(t, from, id)
            : kind === "orderRollback"
              ? m.orderRollback(t, from, id)
              : kind === "resume"
                ? m.resume(t, from, id)
                : m.withdraw(t, from, id);
        return {
          kind: "txs",
          upgradeId: id,
          txs: [this.coordinatorTx(`${kind} u${id} by ${name(from)}`, from, kind, [id], predict)],
        };
      }
      case "advance":
      case "pauseForMissingParticipation": {
        const id = this.upgradeId(rand);
        const from = rand.pick([this.f.stranger, ...this.f.holders]);
        const predict = (t: bigint) => (kind === "advance" ? m.advance(t, id) : m.pauseForMissingParticipation(t, id));
        return {
          kind: "txs",
          upgradeId: id,
          txs: [this.coordinatorTx(`${kind} u${id} by ${name(from)}`, from, kind, [id], predict)],
        };
      }
      case "attest": {
        const a = this.attestation(rand);
        const v = m.validator(a.operator);
        const x = rand.int(100);
        const from =
          x < 86 && v.registered
            ? v.attester
            : x < 93
              ? rand.pick(this.f.attesters).address
              : x < 97
                ? a.operator
                : this.f.stranger;
        const args = [
          a.operator,
          a.upgradeId,
          a.stage,
          a.status,
          VERSION,
          1000 + step,
          keccak256(toUtf8Bytes(`metrics:${step}`)),
        ];
        return {
          kind: "txs",
          upgradeId: a.upgradeId,
          operators: [a.operator],
          txs: [
            this.coordinatorTx(
              `attest ${name(a.operator)} u${a.upgradeId} s${a.stage} ${Status[a.status]} from ${name(from)}`,
              from,
              "attest",
              args,
              (t) => m.attest(t, from, a),
            ),
          ],
        };
      }
      case "relay": {
        const t = m.now + 1n; // the block the relay transaction will run in
        const from = rand.pick([this.f.stranger, ...this.f.holders]);
        if (rand.chance(0.03)) {
          const length = rand.pick([0, 171, 173]);
          const batch = "0x" + "ab".repeat(length);
          return {
            kind: "txs",
            txs: [
              this.coordinatorTx(`relay malformed batch of ${length} bytes`, from, "relayAttestations", [batch], () =>
                m.relay(t, [], length),
              ),
            ],
          };
        }
        const count = rand.chance(0.6) ? 1 : rand.chance(0.6) ? 2 : 3;
        const items: RelayItem[] = [];
        const signed = [];
        const texts: string[] = [];
        let upgradeId = 0;
        const issued = new Map<string, bigint>(); // what earlier items of this batch will have recorded
        for (let k = 0; k < count; k++) {
          const a = this.attestation(rand);
          upgradeId = a.upgradeId;
          const status = rand.chance(0.02) ? 6 : a.status;
          const v = m.validator(a.operator);
          const signer =
            rand.chance(0.86) && this.attesterOf.has(v.attester)
              ? this.attesterOf.get(v.attester)!
              : rand.pick(this.f.attesters);
          const last = issued.get(a.operator) ?? m.lastIssuedAt(a.operator);
          const x = rand.int(100);
          let issuedAt: bigint;
          if (x < 70) issuedAt = t > last ? t : last + 1n;
          else if (x < 80) issuedAt = last;
          else if (x < 88) issuedAt = t + 1n + BigInt(rand.int(300));
          else if (x < 93) issuedAt = t + 301n + BigInt(rand.int(100));
          else issuedAt = t - BigInt(rand.int(50));
          const y = rand.int(100);
          const deadline = y < 90 ? t + 600n : y < 95 ? t : t - 1n - BigInt(rand.int(100));
          if (issuedAt > last) issued.set(a.operator, issuedAt);
          const item: RelayItem = { ...a, status, issuedAt, deadline, signer: signer.address };
          items.push(item);
          signed.push(
            await signAttestation(signer, coordinatorDomain(this.f.chainId, this.f.coordinator), {
              operator: a.operator,
              upgradeId: a.upgradeId,
              stage: a.stage,
              status,
              version: VERSION,
              height: 1000 + step,
              metricsDigest: keccak256(toUtf8Bytes(`metrics:${step}:${k}`)),
              issuedAt,
              deadline,
            }),
          );
          texts.push(
            `${name(a.operator)} u${a.upgradeId} s${a.stage} ${Status[status] ?? status} signed ${name(signer.address)} issued t${issuedAt - t >= 0n ? "+" : ""}${issuedAt - t} (last t${last - t}) deadline t${deadline - t}`,
          );
        }
        return {
          kind: "txs",
          upgradeId,
          operators: items.map((i) => i.operator),
          txs: [
            this.coordinatorTx(
              `relay [${texts.join("; ")}] by ${name(from)}`,
              from,
              "relayAttestations",
              [packAttestations(signed)],
              (tt) => m.relay(tt, items),
            ),
          ],
        };
      }
    }
  }

  nameOf(address: string): string {
    const a = address.toLowerCase();
    if (a === ZERO) return "zero";
    if (a === this.f.governance.toLowerCase()) return "governance";
    if (a === this.f.stranger.toLowerCase()) return "stranger";
    const g = this.f.guardians.findIndex((x) => x.toLowerCase() === a);
    if (g >= 0) return `guardian${g}`;
    const h = this.f.holders.findIndex((x) => x.toLowerCase() === a);
    if (h >= 0) return `holder${h}`;
    const o = this.f.operators.findIndex((x) => x.toLowerCase() === a);
    if (o >= 0) return `op${o}`;
    const t = this.f.attesters.findIndex((x) => x.address.toLowerCase() === a);
    if (t >= 0) return `att${t}`;
    return address;
  }

  // ------------------------------------------------------------------ execution

  async step(index: number, raw: [number, number]): Promise<void> {
    const rand = new Rand(raw[1]);
    let kind = KIND_TABLE[raw[0]];
    // Fewer sure refusals, more progress: most schedules while an upgrade is open become attestations, most
    // resumes while nothing is paused become advances (and some advances of a paused upgrade become resumes), and
    // half the rollout calls made while no upgrade is open become schedules.
    const open = this.model.openId;
    if (kind === "schedule" && open !== 0 && rand.chance(0.75)) kind = "attest";
    if (kind === "resume" && this.model.state(open) !== UpgradeState.Paused && rand.chance(0.7)) kind = "advance";
    else if (kind === "advance" && this.model.state(open) === UpgradeState.Paused && rand.chance(0.3)) kind = "resume";
    if (
      open === 0 &&
      ["advance", "pauseForMissingParticipation", "pause", "resume", "withdraw", "orderRollback"].includes(kind) &&
      rand.chance(0.5)
    ) {
      kind = "schedule";
    }
    const plan = await this.plan(kind, rand, index);
    const m = this.model;
    if (plan.kind === "skip") return;
    this.ops++;
    if (plan.kind === "timeJump") {
      this.log.push(`#${index} time +${plan.seconds}s`);
      await time.increase(plan.seconds);
      m.minedEmpty(1, m.now + BigInt(plan.seconds));
      await this.checkClock(index);
    } else if (plan.kind === "mine") {
      this.log.push(`#${index} mine ${plan.blocks} blocks`);
      await rpc("evm_setNextBlockTimestamp", [Number(m.now + 1n)]);
      await mine(plan.blocks);
      m.minedEmpty(plan.blocks, m.now + BigInt(plan.blocks));
      await this.checkClock(index);
    } else {
      for (const tx of plan.txs) {
        const t = m.now + 1n;
        const expected = tx.predict(t);
        m.mined(t);
        await rpc("evm_setNextBlockTimestamp", [Number(t)]);
        const actual = await sendTx(tx.from, tx.to, tx.data, tx.gas, this.f.coordinator);
        this.log.push(`#${index} ${tx.label} -> ${show(actual)}`);
        const key = `${tx.label.split(" ")[0]} -> ${actual.ok ? `ok ${actual.events.filter((e) => e !== "Attested").join(" ")}` : "raw" in actual ? "raw" : actual.error}`;
        stats.set(key, (stats.get(key) ?? 0) + 1);
        if (!sameOutcome(expected, actual)) {
          throw new Error(`step ${index}: ${tx.label}\n  expected ${show(expected)}\n  actual   ${show(actual)}`);
        }
      }
      if (plan.operators) await this.checkAccounts(index, plan.operators);
    }
    const ids = new Set<number>();
    if (m.upgradeCount > 0) ids.add(m.upgradeCount);
    if (plan.kind === "txs" && plan.upgradeId && m.upgrade(plan.upgradeId)) ids.add(plan.upgradeId);
    if (index % 32 === 31) for (let id = 1; id <= m.upgradeCount; id++) ids.add(id);
    // Lease slots: the keys that sent this step's transactions, and every key every eighth step.
    const senders = plan.kind === "txs" ? plan.txs.map((tx) => tx.from) : [];
    await this.checkCoordinator(index, [...ids], index % 8 === 7 ? undefined : senders);
  }

  private fail(index: number, what: string, expected: unknown, actual: unknown): never {
    const j = (x: unknown) => JSON.stringify(x, (_, v) => (typeof v === "bigint" ? v.toString() : v));
    throw new Error(`step ${index}: ${what}\n  model ${j(expected)}\n  chain ${j(actual)}`);
  }

  private async checkClock(index: number): Promise<void> {
    const block = await rpc("eth_getBlockByNumber", ["latest", false]);
    const actual = { block: Number(block.number), now: BigInt(block.timestamp) };
    const expected = { block: this.model.block, now: this.model.now };
    if (actual.block !== expected.block || actual.now !== expected.now) this.fail(index, "clock", expected, actual);
  }

  /** Registry and stake of the validators a step touched. */
  async checkAccounts(index: number, accounts: string[]): Promise<void> {
    const wanted = new Set(accounts.map((x) => x.toLowerCase()));
    for (const a of this.f.operators) {
      if (!wanted.has(a.toLowerCase())) continue;
      const [info] = await view(this.f.coordinator, coordinatorIface, "getValidator", [a]);
      const [votes] = await view(this.f.token, tokenIface, "getVotes", [a]);
      const v = this.model.validator(a);
      const expected = {
        attester: v.attester,
        registered: v.registered,
        cohort: v.cohort,
        votes: this.model.votesOf(a),
      };
      const actual = {
        attester: String(info.attester).toLowerCase(),
        registered: info.registered,
        cohort: Number(info.cohort),
        votes: votes as bigint,
      };
      if (JSON.stringify(expected, big) !== JSON.stringify(actual, big))
        this.fail(index, `validator ${this.nameOf(a)}`, expected, actual);
    }
  }

  async checkCoordinator(index: number, ids: number[], leaseKeys?: string[]): Promise<void> {
    const m = this.model;
    const [open] = await view(this.f.coordinator, coordinatorIface, "openUpgrade", []);
    if (Number(open) !== m.openId) this.fail(index, "openUpgrade", m.openId, Number(open));
    await this.checkLeases(index, leaseKeys);
    for (const id of ids) {
      const [u] = await view(this.f.coordinator, coordinatorIface, "getUpgrade", [id]);
      const upgrade = {
        state: Number(u.state),
        pauseReason: Number(u.pauseReason),
        stageCount: Number(u.stageCount),
        currentStage: Number(u.currentStage),
        snapshot: u.snapshot as bigint,
        scheduledAt: u.scheduledAt as bigint,
        pausedAt: u.pausedAt as bigint,
        endedAt: u.endedAt as bigint,
        restoredStake: u.restoredStake as bigint,
        restoredCount: u.restoredCount as bigint,
      };
      const expectedUpgrade = m.expectUpgrade(id);
      if (JSON.stringify(upgrade, big) !== JSON.stringify(expectedUpgrade, big))
        this.fail(index, `getUpgrade(${id})`, expectedUpgrade, upgrade);
      const stages = [];
      for (let i = 0; i < upgrade.stageCount; i++) {
        const [s] = await view(this.f.coordinator, coordinatorIface, "getStage", [id, i]);
        const stage = {
          state: Number(s.state),
          cohort: Number(s.rules.cohort),
          cohortStake: s.cohortStake as bigint,
          readyStake: s.readyStake as bigint,
          readyNeeded: s.readyNeeded as bigint,
          readyCount: s.readyCount as bigint,
          healthyStake: s.healthyStake as bigint,
          healthyNeeded: s.healthyNeeded as bigint,
          unhealthyStake: s.unhealthyStake as bigint,
          attestedStake: s.attestedStake as bigint,
          unhealthyLimit: s.unhealthyLimit as bigint,
          rollbackLimit: s.rollbackLimit as bigint,
          notBefore: s.notBefore as bigint,
          activatedAt: s.activatedAt as bigint,
          verifiedAt: s.verifiedAt as bigint,
        };
        const expectedStage = m.expectStage(id, i);
        if (JSON.stringify(stage, big) !== JSON.stringify(expectedStage, big))
          this.fail(index, `getStage(${id}, ${i})`, expectedStage, stage);
        stages.push({ ...stage, timelock: BigInt(s.rules.timelock) });
      }
      this.chainInvariants(index, id, upgrade, stages);
    }
  }

  /**
   * The latest upgrade's budget and every key's lease slot, as getLease shows them (the figures that do not depend
   * on the clock of the call: the grants, releases and expiries themselves are checked event by event).
   */
  private async checkLeases(index: number, keys?: string[]): Promise<void> {
    const m = this.model;
    const id = m.upgradeCount;
    const b = m.budget(id);
    const only = keys?.map((k) => k.toLowerCase());
    for (const w of this.f.attesters) {
      if (only && !only.includes(w.address.toLowerCase())) continue;
      const [l] = await view(this.f.coordinator, coordinatorIface, "getLease", [id, w.address]);
      const lease = m.lease(w.address);
      const actual = {
        budget: l.budget as bigint,
        duration: BigInt(l.duration),
        live: l.live as boolean,
        weight: l.weight as bigint,
      };
      const expected = {
        budget: (b?.budget ?? 0n) * LEASE_UNIT,
        duration: b?.duration ?? 0n,
        live: b?.live ?? false,
        weight: b && lease.upgradeId === id ? lease.weight : 0n,
      };
      if (JSON.stringify(actual, big) !== JSON.stringify(expected, big))
        this.fail(index, `getLease(${id}, ${this.nameOf(w.address)})`, expected, actual);
    }
  }

  /** Invariants on the chain's own views, whatever the model says. */
  private chainInvariants(
    index: number,
    id: number,
    u: { state: number; currentStage: number; scheduledAt: bigint; endedAt: bigint },
    stages: {
      state: number;
      cohortStake: bigint;
      readyStake: bigint;
      healthyStake: bigint;
      unhealthyStake: bigint;
      attestedStake: bigint;
      activatedAt: bigint;
      verifiedAt: bigint;
      timelock: bigint;
    }[],
  ): void {
    const broken = (what: string) =>
      this.fail(index, `invariant of upgrade ${id}: ${what}`, "holds", { upgrade: u, stages });
    stages.forEach((s, i) => {
      if (i > 0 && s.state !== StageState.Pending && stages[i - 1].state !== StageState.Verified)
        broken(`stage ${i} active before stage ${i - 1} was verified`);
      if (s.state !== StageState.Pending) {
        const earliest = i === 0 ? u.scheduledAt + s.timelock : stages[i - 1].verifiedAt + s.timelock;
        if (s.activatedAt < earliest) broken(`stage ${i} activated before its time lock ran out`);
      }
      if (i < u.currentStage && s.state !== StageState.Verified)
        broken(`stage ${i} behind the current stage is not verified`);
      if (i > u.currentStage && s.state !== StageState.Pending)
        broken(`stage ${i} ahead of the current stage is not pending`);
      if (s.attestedStake !== s.healthyStake + s.unhealthyStake)
        broken(`stage ${i} attested stake is not healthy + not healthy`);
      if (s.healthyStake + s.unhealthyStake > s.cohortStake)
        broken(`stage ${i} counts more health stake than its cohort has`);
      if (s.readyStake > s.cohortStake) broken(`stage ${i} counts more ready stake than its cohort has`);
    });
    if (u.state === UpgradeState.Scheduled && stages.some((s) => s.state !== StageState.Pending))
      broken("scheduled with an activated stage");
    if (u.state === UpgradeState.Rolling && stages[0].state === StageState.Pending)
      broken("rolling with no stage activated");
    if (u.state === UpgradeState.Completed && stages.some((s) => s.state !== StageState.Verified))
      broken("completed with an unverified stage");
    const terminal =
      u.state === UpgradeState.Completed || u.state === UpgradeState.Withdrawn || u.state === UpgradeState.RolledBack;
    const seen = this.terminal.get(id);
    const now = JSON.stringify({ state: u.state, endedAt: u.endedAt, stages }, big);
    if (seen !== undefined && seen !== now)
      this.fail(index, `terminal upgrade ${id} changed`, JSON.parse(seen), JSON.parse(now));
    if (terminal) this.terminal.set(id, now);
  }
}

const big = (_: string, v: unknown) => (typeof v === "bigint" ? v.toString() : v);

// ---------------------------------------------------------------------------------------------------- the test

describe("UpgradeCoordinator stateful property", function () {
  this.timeout(SHRINK ? 0 : 600_000);

  it(`keeps tallies, states and refusals equal to the reference model over ${RUNS} random runs of ${STEPS} operations`, async function () {
    let ops = 0;
    const started = Date.now();
    const property = fc.asyncProperty(fc.array(stepArb, { minLength: STEPS, maxLength: STEPS }), async (steps) => {
      const f = await loadFixture(deployPropertyFixture); // reverts to the fixture's snapshot
      const latest = await rpc("eth_getBlockByNumber", ["latest", false]);
      const model = initialModel(f, BigInt(latest.timestamp), Number(latest.number));
      const run = new Run(f, model);
      await run.checkCoordinator(-1, []);
      try {
        for (let i = 0; i < steps.length; i++) await run.step(i, steps[i]);
      } catch (e: any) {
        const lines = run.log.length > 150 ? ["...", ...run.log.slice(-150)] : run.log;
        e.message = `${e.message}\n--- operations of this run (skipped steps omitted) ---\n${lines.join("\n")}`;
        throw e;
      } finally {
        ops += run.ops;
      }
    });
    const details = await fc.check(property, {
      seed: SEED,
      numRuns: RUNS,
      path: PATH,
      endOnFailure: !SHRINK,
      interruptAfterTimeLimit: SHRINK ? 30 * 60_000 : undefined,
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    if (details.failed) {
      const error = details.errorInstance as Error | undefined;
      throw new Error(
        `property failed (seed ${details.seed}, path "${details.counterexamplePath}", ${details.numShrinks} shrinks, ${ops} operations in ${seconds}s)\n` +
          `replay: LOCKSTEP_PROPERTY_SEED=${details.seed} LOCKSTEP_PROPERTY_PATH="${details.counterexamplePath}" npx hardhat test test/contracts/coordinator.property.test.ts\n` +
          `${error?.message ?? String(details.errorInstance)}`,
      );
    }
    if (STATS)
      console.log(
        [...stats.entries()]
          .sort()
          .map(([k, v]) => `      ${k}: ${v}`)
          .join("\n"),
      );
    console.log(`      ${ops} operations in ${details.numRuns} runs, ${seconds}s (seed ${details.seed})`);
    if (RUNS === DEFAULT_RUNS && STEPS === DEFAULT_STEPS && !PATH) expect(ops).to.be.at.least(10_000);
  });

  // The property test found this: a validator's attestation record is one slot keyed by operator that holds only
  // its last upgrade, so when a rolled-back upgrade still took `RolledBack` reports after a newer upgrade was
  // scheduled, alternating between the two reset the record and counted the validator again in each. Restorations
  // are now accepted only while the rolled-back upgrade is the latest one.
  describe("one validator counts once across upgrades", function () {
    async function rolledBackThenOpen() {
      const f = await loadFixture(deployPropertyFixture);
      const { d } = f;
      const governance = d.timelockSigner;
      // Upgrade 1 over cohort 1 activates at once, then is rolled back.
      await (await d.coordinator.connect(governance).schedule(manifest("first", [1]))).wait();
      await (await d.coordinator.advance(1)).wait();
      await (await d.coordinator.connect(d.guardian).orderRollback(1)).wait();
      const operator = f.operators[1];
      const attester = await ethers.getSigner(f.attesters[1].address);
      const attest = (upgradeId: number, status: Status) =>
        d.coordinator.connect(attester).attest(operator, upgradeId, 0, status, VERSION, 1, keccak256("0x01"));
      const openSecond = async () => {
        // Upgrade 2 over cohort 1 needs all of the cohort's stake healthy.
        const stages = [stageRules(1, { healthyBps: 10_000, observationWindow: 0 })];
        await (await d.coordinator.connect(governance).schedule(manifest("second", [1], { stages }))).wait();
        await (await d.coordinator.advance(2)).wait();
      };
      return { f, d, operator, attest, openSecond };
    }

    it("counts a validator's healthy stake once in the open upgrade: the rolled-back one no longer takes reports", async function () {
      const { d, operator, attest, openSecond } = await rolledBackThenOpen();
      await openSecond();
      const weight = await d.token.getVotes(operator);
      await (await attest(2, Status.Healthy)).wait();
      await expect(attest(1, Status.RolledBack))
        .to.be.revertedWithCustomError(d.coordinator, "CoordinatorUnexpectedState")
        .withArgs(1, UpgradeState.RolledBack, OPEN_STATES);
      await (await attest(2, Status.Healthy)).wait();
      // Counted twice, this validator alone (58% of the cohort) would prove a stage that needs 100% of it.
      expect((await d.coordinator.getStage(2, 0)).healthyStake).to.equal(weight);
    });

    it("counts a validator's restored stake once in a rolled-back upgrade", async function () {
      const { d, operator, attest, openSecond } = await rolledBackThenOpen();
      const weight = await d.token.getVotes(operator);
      await (await attest(1, Status.RolledBack)).wait();
      await (await attest(1, Status.RolledBack)).wait();
      await openSecond();
      await (await attest(2, Status.Healthy)).wait();
      await expect(attest(1, Status.RolledBack)).to.be.revertedWithCustomError(
        d.coordinator,
        "CoordinatorUnexpectedState",
      );
      const upgrade = await d.coordinator.getUpgrade(1);
      expect([upgrade.restoredStake, upgrade.restoredCount]).to.deep.equal([weight, 1n]);
    });
  });
});
