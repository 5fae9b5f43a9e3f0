// The history of every upgrade, rebuilt from the coordinator's event logs alone (no contract views), and the
// checks an auditor runs over it. The fold mirrors the coordinator's own accounting (UpgradeCoordinator._attest,
// _countHealth, advance, ManifestPlanner._share) so that its tallies equal the contract's views, event for event.
import type { Log, PublicClient } from "viem";
import { byChainOrder, decodeCoordinatorLog, type CoordinatorEvent } from "./events";
import { PauseReason, RollbackReason, Status, UpgradeState } from "./coordinator";
import { versionFromTag } from "./version";
import type { DEFAULT_STAGE_RULES } from "./manifest";
import { getLogsPaged, viemSource } from "./sync";

export const MAX_UINT96 = (1n << 96n) - 1n;
const BPS = 10_000n;

/** `bps` of `stake`, rounded up, exactly as ManifestPlanner._share: "at least 67%" is never met by 66.99%. */
export function share(stake: bigint, bps: number): bigint {
  return (stake * BigInt(bps) + BPS - 1n) / BPS;
}

// ------------------------------------------------------------------ the model

/** Where something happened: every line of the report names one. */
export interface TxRef {
  block: bigint;
  /** Block timestamp (seconds); undefined when block times were not fetched. */
  time?: bigint;
  tx: `0x${string}`;
  logIndex: number;
}

export interface ManifestRecord {
  name: string;
  version: string;
  previousVersion: string;
  artifacts: { platform: string; uri: string; sha256Digest: string }[];
  featureFlags: string[];
  metadataURI: string;
  manifestHash: string;
  stateIncompatible: boolean;
  stages: StageRulesRecord[];
}

/** A stage's rules as the UpgradeScheduled event carries them: its cohort and every rule a manifest sets. */
export type StageRulesRecord = { cohort: number } & Record<keyof typeof DEFAULT_STAGE_RULES, number>;

export type StageStateName = "Pending" | "Active" | "Verified";

export interface StageHistory {
  index: number;
  cohort: number;
  rules: StageRulesRecord;
  cohortStake: bigint;
  readyNeeded: bigint;
  healthyNeeded: bigint;
  unhealthyLimit: bigint;
  /** MAX_UINT96 when automatic rollback is off (rollbackBps 0), as the contract stores it. */
  rollbackLimit: bigint;
  readyStake: bigint;
  readyCount: number;
  healthyStake: bigint;
  /** Unhealthy + FailedToUpgrade + RolledBack. */
  unhealthyStake: bigint;
  state: StageStateName;
  activated?: TxRef;
  verified?: TxRef;
}

export interface ValidatorRecord {
  operator: string;
  stage: number;
  status: Status;
  weight: bigint;
  version: string;
  height: bigint;
  metricsDigest: string;
  attestations: number;
  /** Counted in the restored tally (attested RolledBack after the rollback order). */
  restored: boolean;
  last: TxRef;
}

export type TransitionKind =
  | "UpgradeScheduled"
  | "StageActivated"
  | "StageVerified"
  | "UpgradePaused"
  | "UpgradeResumed"
  | "UpgradeWithdrawn"
  | "RollbackOrdered"
  | "UpgradeCompleted";

export type Actor = "governance" | "guardian" | "automatic" | "anyone" | "unknown";

export interface Transition extends TxRef {
  kind: TransitionKind;
  stage?: number;
  /** The sender the event names (pauses, resumes, withdrawals, rollbacks). */
  by?: string;
  /** Who that was in Lockstep's roles. */
  actor?: Actor;
  reason?: string;
  /** The figures the event carries. */
  figures: Record<string, string | number | boolean>;
}

export interface UpgradeHistory {
  id: bigint;
  name: string;
  nameHash: string;
  manifest: ManifestRecord;
  snapshot: bigint;
  scheduled: TxRef;
  state: keyof typeof UpgradeState;
  pauseReason: keyof typeof PauseReason;
  currentStage: number;
  pausedAt: bigint;
  endedAt: bigint;
  /** Last resume time: the participation deadline counts from here too. */
  resumedAt: bigint;
  stages: StageHistory[];
  validators: Map<string, ValidatorRecord>;
  restoredStake: bigint;
  restoredCount: number;
  transitions: Transition[];
  attestationCount: number;
}

export interface RegistryRecord {
  operator: string;
  attester: string;
  /** (block, cohort) in chain order; cohort 0 = not registered. */
  cohorts: { block: bigint; cohort: number }[];
  ref: TxRef;
}

export type CheckKind =
  | "scheduled"
  | "stage-order"
  | "activation-readiness"
  | "verification-health"
  | "automatic-stop"
  | "authority"
  | "terminal"
  | "completion"
  | "attestations"
  | "guardian"
  | "manifest-hash";

export interface Check extends Partial<TxRef> {
  kind: CheckKind;
  ok: boolean;
  upgradeId?: bigint;
  name?: string;
  detail: string;
}

export interface History {
  coordinator?: string;
  fromBlock?: bigint;
  toBlock?: bigint;
  /** The registry events from deployment on are included, so cohorts at each snapshot are known. */
  registryComplete: boolean;
  governance?: string;
  upgrades: UpgradeHistory[];
  registry: Map<string, RegistryRecord>;
  guardians: { guardian: string; ref: TxRef }[];
  /** Checks found while folding (ordering, thresholds, automatic stops, authority, terminal states). */
  checks: Check[];
  eventCount: number;
}

// ------------------------------------------------------------------ fetching

export interface FetchOptions {
  address: `0x${string}`;
  fromBlock: bigint;
  toBlock?: bigint;
  /** Blocks per eth_getLogs request (halved on a refused request; lib/sync DEFAULT_PAGE_SIZE when not given). */
  pageSize?: bigint;
}

/** Every log of the contract at `address` from `fromBlock` to `toBlock` (default: the head), fetched page by page
 * with lib/sync's paging (a refused page is asked for in halves). */
export async function fetchLogs(client: PublicClient, o: FetchOptions): Promise<{ logs: Log[]; toBlock: bigint }> {
  const toBlock = o.toBlock ?? (await client.getBlockNumber());
  const range = { addresses: [o.address], fromBlock: o.fromBlock, toBlock };
  return { logs: await getLogsPaged(viemSource(client), range, { pageSize: o.pageSize }), toBlock };
}

/** Timestamps of the given blocks, a few requests at a time. */
export async function fetchBlockTimes(
  client: PublicClient,
  blocks: Iterable<bigint>,
  concurrency = 8,
): Promise<Map<bigint, bigint>> {
  const todo = [...new Set(blocks)];
  const out = new Map<bigint, bigint>();
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const n = todo[next++];
      out.set(n, (await client.getBlock({ blockNumber: n })).timestamp);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
  return out;
}

export interface LoadOptions extends FetchOptions {
  governance?: string;
  /** The fetch starts at the deployment's first block, so every registry event is included. */
  fromDeployment?: boolean;
}

/** Fetches, decodes and folds: the whole history of the coordinator at `address`. */
export async function loadHistory(client: PublicClient, o: LoadOptions): Promise<History> {
  const { logs, toBlock } = await fetchLogs(client, o);
  const events = decodeLogs(logs);
  const times = await fetchBlockTimes(
    client,
    events.map((e) => e.blockNumber),
  );
  return buildHistory(events, {
    times,
    governance: o.governance,
    registryComplete: o.fromDeployment ?? false,
    coordinator: o.address,
    fromBlock: o.fromBlock,
    toBlock,
  });
}

/** Decodes coordinator logs (logs of other contracts or events are dropped), in chain order. */
export function decodeLogs(logs: Log[]): CoordinatorEvent[] {
  return logs
    .map((l) => decodeCoordinatorLog(l))
    .filter((e): e is CoordinatorEvent => e !== undefined)
    .sort(byChainOrder);
}

// ------------------------------------------------------------------ folding

export interface BuildOptions {
  times?: Map<bigint, bigint>;
  /** The timelock's address: the only account that may resume and withdraw. */
  governance?: string;
  registryComplete?: boolean;
  coordinator?: string;
  fromBlock?: bigint;
  toBlock?: bigint;
}

const lower = (a: string) => a.toLowerCase();
const isAutomaticPause = (e: CoordinatorEvent) =>
  e.eventName === "UpgradePaused" && Number(e.args.reason) === PauseReason.UnhealthyThreshold;
const isAutomaticRollback = (e: CoordinatorEvent) =>
  e.eventName === "RollbackOrdered" && Number(e.args.reason) === RollbackReason.AutomaticThreshold;

/**
 * The coordinator emits an automatic pause or rollback from inside the attestation that caused it, before that
 * attestation's own Attested event. For the fold, the cause goes first: each such stop is moved after the
 * Attested event that follows it in the same transaction.
 */
function causeFirst(events: CoordinatorEvent[]): CoordinatorEvent[] {
  const out = [...events];
  for (let i = 0; i < out.length - 1; i++) {
    const e = out[i];
    const next = out[i + 1];
    if (
      (isAutomaticPause(e) || isAutomaticRollback(e)) &&
      next.eventName === "Attested" &&
      next.transactionHash === e.transactionHash &&
      (next.args as { upgradeId: bigint }).upgradeId === (e.args as { upgradeId: bigint }).upgradeId
    ) {
      out[i] = next;
      out[i + 1] = e;
      i++;
    }
  }
  return out;
}

/** Folds decoded events, in chain order, into the history of every upgrade, checking as it goes. */
export function buildHistory(input: CoordinatorEvent[], o: BuildOptions = {}): History {
  const events = causeFirst([...input].sort(byChainOrder));
  const h: History = {
    coordinator: o.coordinator,
    fromBlock: o.fromBlock,
    toBlock: o.toBlock,
    registryComplete: o.registryComplete ?? false,
    governance: o.governance,
    upgrades: [],
    registry: new Map(),
    guardians: [],
    checks: [],
    eventCount: events.length,
  };
  const byId = new Map<bigint, UpgradeHistory>();
  const governance = o.governance ? lower(o.governance) : undefined;
  let guardian: string | undefined;
  let open: UpgradeHistory | undefined;
  /** An attestation whose not-healthy stake reached a limit: the matching stop must follow in its transaction. */
  /** Automatic stops that an attestation of their own transaction called for. */
  const justified = new WeakSet<CoordinatorEvent>();
  let due:
    | { u: UpgradeHistory; kind: "pause" | "rollback"; stage: number; ref: TxRef; unhealthy: bigint; limit: bigint }
    | undefined;

  const refOf = (e: CoordinatorEvent): TxRef => ({
    block: e.blockNumber,
    time: o.times?.get(e.blockNumber),
    tx: e.transactionHash,
    logIndex: e.logIndex,
  });
  const check = (kind: CheckKind, ok: boolean, detail: string, ref?: TxRef, u?: UpgradeHistory) =>
    h.checks.push({
      kind,
      ok,
      detail,
      block: ref?.block,
      time: ref?.time,
      tx: ref?.tx,
      logIndex: ref?.logIndex,
      upgradeId: u?.id,
      name: u?.name,
    });
  const actorOf = (by: string): Actor =>
    governance && lower(by) === governance
      ? "governance"
      : guardian && lower(by) === guardian
        ? "guardian"
        : governance
          ? "anyone"
          : "unknown";
  const inFlight = (u: UpgradeHistory) => u.state === "Scheduled" || u.state === "Rolling" || u.state === "Paused";
  const ended = (u: UpgradeHistory) => !inFlight(u);
  const fig = (x: bigint) => x.toString();
  const end = (u: UpgradeHistory, state: UpgradeHistory["state"], ref: TxRef) => {
    u.state = state;
    u.endedAt = ref.time ?? 0n;
    if (open === u) open = undefined;
  };

  const settleDue = (e: CoordinatorEvent | undefined) => {
    if (!due) return;
    const matches =
      e !== undefined &&
      e.transactionHash === due.ref.tx &&
      (due.kind === "rollback" ? isAutomaticRollback(e) : isAutomaticPause(e)) &&
      (e.args as { upgradeId: bigint }).upgradeId === due.u.id;
    if (matches) justified.add(e!);
    else {
      check(
        "automatic-stop",
        false,
        `stage ${due.stage}: not-healthy stake ${due.unhealthy} reached the ${due.kind} limit ${due.limit}, but no automatic ${due.kind} followed in that transaction`,
        due.ref,
        due.u,
      );
    }
    due = undefined;
  };

  /** A terminal upgrade must not move; returns false (after a failing line) when `u` has ended. */
  const stillOpen = (u: UpgradeHistory, what: string, ref: TxRef) => {
    if (!ended(u)) return true;
    check("terminal", false, `${what} after the upgrade ended ${u.state}`, ref, u);
    return false;
  };

  for (const e of events) {
    settleDue(e);
    const ref = refOf(e);
    switch (e.eventName) {
      case "GuardianSet": {
        const { previousGuardian, newGuardian } = e.args;
        if (guardian !== undefined && lower(previousGuardian) !== guardian) {
          check(
            "guardian",
            false,
            `GuardianSet names ${previousGuardian} as the previous guardian, the logs say ${guardian}`,
            ref,
          );
        }
        guardian = lower(newGuardian) === "0x0000000000000000000000000000000000000000" ? undefined : lower(newGuardian);
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
        h.registry
          .get(lower(e.args.operator))
          ?.cohorts.push({ block: e.blockNumber, cohort: Number(e.args.newCohort) });
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
              readyNeeded: share(cohortStake, rules.readinessBps),
              healthyNeeded: share(cohortStake, rules.healthyBps),
              unhealthyLimit: share(cohortStake, rules.unhealthyBps),
              rollbackLimit: rules.rollbackBps === 0 ? MAX_UINT96 : share(cohortStake, rules.rollbackBps),
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
        const problems: string[] = [];
        if (open) problems.push(`upgrade #${open.id} (${open.name}) was still open`);
        const dup = h.upgrades.find((x) => x.name === u.name);
        if (dup) problems.push(`the name was already used by upgrade #${dup.id}`);
        if (cohortStakes.length !== manifest.stages.length)
          problems.push(`${cohortStakes.length} cohort stakes for ${manifest.stages.length} stages`);
        if (u.stages.some((s) => s.cohortStake === 0n)) problems.push("a stage has an empty cohort");
        if (BigInt(snapshot) !== e.blockNumber - 1n)
          problems.push(`snapshot ${snapshot} is not the block before scheduling`);
        if (byId.has(upgradeId)) problems.push(`upgrade id ${upgradeId} was scheduled twice`);
        check(
          "scheduled",
          problems.length === 0,
          problems.length
            ? problems.join("; ")
            : `"${u.name}" ${manifest.previousVersion} -> ${manifest.version}, ${u.stages.length} stage(s), snapshot block ${snapshot}, manifest hash ${manifest.manifestHash}`,
          ref,
          u,
        );
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
        byId.set(upgradeId, u);
        h.upgrades.push(u);
        open = u;
        break;
      }
      default: {
        const upgradeId = (e.args as { upgradeId?: bigint }).upgradeId;
        if (upgradeId === undefined) break; // an event this audit does not model
        const u = byId.get(upgradeId);
        if (!u) {
          // Possible when the scan starts after the upgrade was scheduled.
          check(
            "scheduled",
            false,
            `${e.eventName} for upgrade #${upgradeId}, which the scanned logs never scheduled`,
            ref,
          );
          break;
        }
        foldUpgradeEvent(u, e, ref);
      }
    }
  }
  settleDue(undefined);

  // One pass line per upgrade for the checks that only report failures event by event.
  for (const u of h.upgrades) {
    const last = u.transitions[u.transitions.length - 1];
    const failed = (k: CheckKind) => h.checks.some((c) => c.kind === k && c.upgradeId === u.id && !c.ok);
    if (!failed("attestations")) {
      const lastAttestation = [...u.validators.values()].sort((a, b) =>
        byChainOrder(
          { blockNumber: b.last.block, logIndex: b.last.logIndex },
          { blockNumber: a.last.block, logIndex: a.last.logIndex },
        ),
      )[0];
      check(
        "attestations",
        true,
        `${u.attestationCount} attestation(s) from ${u.validators.size} validator(s), each from the stage of its cohort${h.registryComplete ? " at the snapshot" : ""}, one weight per validator${lastAttestation ? " (last attestation in this transaction)" : ""}`,
        lastAttestation?.last ?? u.scheduled,
        u,
      );
    }
    if (ended(u) && !failed("terminal")) {
      check(
        "terminal",
        true,
        `ended ${u.state}; nothing moved it afterwards${u.state === "RolledBack" ? ` except ${u.restoredCount} restoration(s)` : ""}`,
        last,
        u,
      );
    }
  }
  return h;

  function foldUpgradeEvent(u: UpgradeHistory, e: CoordinatorEvent, ref: TxRef) {
    switch (e.eventName) {
      case "Attested": {
        const { operator, stage, status: st, version, height, metricsDigest, weight } = e.args;
        const status = Number(st) as Status;
        const s = u.stages[Number(stage)];
        u.attestationCount++;
        const where = `${operator} stage ${stage} ${Status[status]}`;
        if (!s) {
          check("attestations", false, `${where}: the upgrade has no such stage`, ref, u);
          break;
        }
        const key = lower(operator);
        const prev = u.validators.get(key);
        if (prev && prev.weight !== weight)
          check("attestations", false, `${where}: weight ${weight}, earlier ${prev.weight}`, ref, u);
        if (prev && prev.stage !== s.index)
          check("attestations", false, `${where}: the validator attested stage ${prev.stage} before`, ref, u);
        if (h.registryComplete) {
          const cohort = cohortAt(h.registry.get(key), u.snapshot);
          if (cohort !== s.cohort) {
            check(
              "attestations",
              false,
              `${where}: the validator was in cohort ${cohort} at the snapshot, the stage is cohort ${s.cohort}`,
              ref,
              u,
            );
          }
        }
        const previous = prev?.status ?? Status.None;
        if (status === Status.Ready) {
          if (!inFlight(u)) check("terminal", false, `${where} after the upgrade ended ${u.state}`, ref, u);
          else if (s.activated) check("attestations", false, `${where}: Ready after the stage activated`, ref, u);
          if (previous === Status.None) {
            s.readyStake += weight;
            s.readyCount++;
          }
        } else if (!s.activated) {
          check("attestations", false, `${where}: a health attestation before the stage activated`, ref, u);
        } else if (inFlight(u)) {
          countHealth(u, s, previous, status, weight, ref);
        } else if (
          u.state === "RolledBack" &&
          status === Status.RolledBack &&
          h.upgrades[h.upgrades.length - 1] === u
        ) {
          if (!prev?.restored) {
            u.restoredStake += weight;
            u.restoredCount++;
          }
        } else {
          check("terminal", false, `${where} after the upgrade ended ${u.state}`, ref, u);
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
          restored:
            (prev?.restored ?? false) ||
            (u.state === "RolledBack" && status === Status.RolledBack && h.upgrades[h.upgrades.length - 1] === u),
          last: ref,
        });
        break;
      }
      case "StageActivated": {
        const { stage, cohort, readyStake, readyNeeded } = e.args;
        const i = Number(stage);
        const s = u.stages[i];
        const t: Transition = {
          ...ref,
          kind: "StageActivated",
          stage: i,
          figures: { cohort: Number(cohort), readyStake: fig(readyStake), readyNeeded: fig(readyNeeded) },
        };
        u.transitions.push(t);
        if (!stillOpen(u, `stage ${i} activated`, ref) || !s) {
          if (!s)
            check(
              "stage-order",
              false,
              `stage ${i} activated, but the manifest has ${u.stages.length} stage(s)`,
              ref,
              u,
            );
          break;
        }
        const order: string[] = [];
        if (i !== u.currentStage) order.push(`the current stage was ${u.currentStage}`);
        if (i > 0 && !u.stages[i - 1].verified) order.push(`stage ${i - 1} was not verified`);
        if (s.activated) order.push("it was already active");
        if (u.state === "Paused") order.push(`the upgrade was paused (${u.pauseReason})`);
        check(
          "stage-order",
          order.length === 0,
          order.length
            ? `stage ${i} activated although ${order.join(", ")}`
            : i === 0
              ? "stage 0 activated first"
              : `stage ${i} activated after stage ${i - 1} was verified (block ${u.stages[i - 1].verified!.block})`,
          ref,
          u,
        );
        const ready: string[] = [];
        if (s.readyStake < s.readyNeeded) ready.push(`ready stake ${s.readyStake} below the ${s.readyNeeded} needed`);
        if (readyStake !== s.readyStake)
          ready.push(`the event says ready ${readyStake}, the logs add up to ${s.readyStake}`);
        if (readyNeeded !== s.readyNeeded)
          ready.push(
            `the event says ${readyNeeded} needed, ceil(${s.cohortStake} x ${s.rules.readinessBps} / 10000) = ${s.readyNeeded}`,
          );
        if (Number(cohort) !== s.cohort) ready.push(`cohort ${cohort}, the manifest says ${s.cohort}`);
        const notBefore = i === 0 ? u.scheduled.time : u.stages[i - 1].verified?.time;
        if (notBefore !== undefined && ref.time !== undefined && ref.time < notBefore + BigInt(s.rules.timelock)) {
          ready.push(`activated at ${ref.time}, before its time lock ended at ${notBefore + BigInt(s.rules.timelock)}`);
        }
        check(
          "activation-readiness",
          ready.length === 0,
          ready.length
            ? `stage ${i}: ${ready.join("; ")}`
            : `stage ${i}: ready stake ${s.readyStake} >= ${s.readyNeeded} needed (${s.rules.readinessBps} bps of ${s.cohortStake}), time lock ${s.rules.timelock}s respected`,
          ref,
          u,
        );
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
        u.transitions.push({
          ...ref,
          kind: "StageVerified",
          stage: i,
          figures: {
            healthyStake: fig(healthyStake),
            healthyNeeded: fig(healthyNeeded),
            unhealthyStake: fig(unhealthyStake),
          },
        });
        if (!stillOpen(u, `stage ${i} verified`, ref) || !s) {
          if (!s)
            check(
              "stage-order",
              false,
              `stage ${i} verified, but the manifest has ${u.stages.length} stage(s)`,
              ref,
              u,
            );
          break;
        }
        const order: string[] = [];
        if (!s.activated) order.push("it never activated");
        if (s.verified) order.push("it was already verified");
        if (i !== u.currentStage) order.push(`the current stage was ${u.currentStage}`);
        if (u.state === "Paused") order.push(`the upgrade was paused (${u.pauseReason})`);
        check(
          "stage-order",
          order.length === 0,
          order.length ? `stage ${i} verified although ${order.join(", ")}` : `stage ${i} verified while active`,
          ref,
          u,
        );
        const health: string[] = [];
        if (s.healthyStake < s.healthyNeeded)
          health.push(`healthy stake ${s.healthyStake} below the ${s.healthyNeeded} needed`);
        if (s.unhealthyStake >= s.unhealthyLimit)
          health.push(`not-healthy stake ${s.unhealthyStake} at or over its limit ${s.unhealthyLimit}`);
        if (healthyStake !== s.healthyStake)
          health.push(`the event says healthy ${healthyStake}, the logs add up to ${s.healthyStake}`);
        if (healthyNeeded !== s.healthyNeeded)
          health.push(
            `the event says ${healthyNeeded} needed, ceil(${s.cohortStake} x ${s.rules.healthyBps} / 10000) = ${s.healthyNeeded}`,
          );
        if (unhealthyStake !== s.unhealthyStake)
          health.push(`the event says not-healthy ${unhealthyStake}, the logs add up to ${s.unhealthyStake}`);
        if (
          s.activated?.time !== undefined &&
          ref.time !== undefined &&
          ref.time < s.activated.time + BigInt(s.rules.observationWindow)
        ) {
          health.push(
            `verified at ${ref.time}, before its observation window ended at ${s.activated.time + BigInt(s.rules.observationWindow)}`,
          );
        }
        check(
          "verification-health",
          health.length === 0,
          health.length
            ? `stage ${i}: ${health.join("; ")}`
            : `stage ${i}: healthy ${s.healthyStake} >= ${s.healthyNeeded} needed, not-healthy ${s.unhealthyStake} < limit ${s.unhealthyLimit}, observed ${s.rules.observationWindow}s`,
          ref,
          u,
        );
        s.verified = ref;
        s.state = "Verified";
        if (i + 1 < u.stages.length) u.currentStage = i + 1;
        break;
      }
      case "UpgradePaused": {
        const { by, reason: r, stage, healthyStake, unhealthyStake } = e.args;
        const reason = PauseReason[Number(r)] as keyof typeof PauseReason;
        const i = Number(stage);
        const s = u.stages[i];
        const automatic = Number(r) !== PauseReason.Manual;
        const actor: Actor = automatic ? "automatic" : actorOf(by);
        u.transitions.push({
          ...ref,
          kind: "UpgradePaused",
          stage: i,
          by,
          actor,
          reason,
          figures: { healthyStake: fig(healthyStake), unhealthyStake: fig(unhealthyStake) },
        });
        if (!stillOpen(u, `a pause (${reason})`, ref)) break;
        const problems: string[] = [];
        if (u.state === "Paused") problems.push(`already paused (${u.pauseReason})`);
        if (s && healthyStake !== s.healthyStake)
          problems.push(`the event says healthy ${healthyStake}, the logs add up to ${s.healthyStake}`);
        if (s && unhealthyStake !== s.unhealthyStake)
          problems.push(`the event says not-healthy ${unhealthyStake}, the logs add up to ${s.unhealthyStake}`);
        if (Number(r) === PauseReason.UnhealthyThreshold) {
          // Reached here only when no attestation of this transaction called for it (settleDue consumes a due one).
          if (!justified.has(e))
            problems.push(
              `no attestation in this transaction took stage ${i}'s not-healthy stake to its limit ${s?.unhealthyLimit}`,
            );
        } else if (Number(r) === PauseReason.ParticipationDeadline) {
          if (!s?.activated) problems.push(`stage ${i} was not active`);
          else {
            const from = maxBig(s.activated.time ?? 0n, u.resumedAt);
            if (ref.time !== undefined && ref.time <= from + BigInt(s.rules.attestationDeadline))
              problems.push(`the attestation deadline ${from + BigInt(s.rules.attestationDeadline)} had not passed`);
            if (s.healthyStake >= s.healthyNeeded)
              problems.push(`healthy stake ${s.healthyStake} had met the ${s.healthyNeeded} needed`);
          }
        }
        check(
          "automatic-stop",
          problems.length === 0,
          problems.length
            ? `pause (${reason}) at stage ${i}: ${problems.join("; ")}`
            : reason === "UnhealthyThreshold"
              ? `stage ${i}: paused automatically when not-healthy stake ${s.unhealthyStake} reached its limit ${s.unhealthyLimit}`
              : reason === "ParticipationDeadline"
                ? `stage ${i}: paused for missing participation (healthy ${s.healthyStake} < ${s.healthyNeeded} past the deadline), triggered by ${by}`
                : `stage ${i}: paused by hand`,
          ref,
          u,
        );
        if (!automatic) {
          const ok = actor === "guardian" || actor === "governance" || actor === "unknown";
          check(
            "authority",
            ok,
            ok
              ? `paused by the ${actor === "unknown" ? "guardian or governance (roles not given)" : actor} ${by}`
              : `paused by ${by}, neither the guardian nor governance`,
            ref,
            u,
          );
        }
        u.state = "Paused";
        u.pauseReason = reason;
        u.pausedAt = ref.time ?? 0n;
        break;
      }
      case "UpgradeResumed": {
        const { by, stage } = e.args;
        const actor = actorOf(by);
        u.transitions.push({ ...ref, kind: "UpgradeResumed", stage: Number(stage), by, actor, figures: {} });
        if (!stillOpen(u, "a resume", ref)) break;
        const problems: string[] = [];
        if (u.state !== "Paused") problems.push("it was not paused");
        if (actor === "guardian") problems.push(`by the guardian ${by}: only governance resumes`);
        else if (actor === "anyone") problems.push(`by ${by}, not governance`);
        check(
          "authority",
          problems.length === 0,
          problems.length
            ? `resume: ${problems.join("; ")}`
            : `resumed by ${actor === "governance" ? "governance" : "an account that is not the guardian (governance not given)"} ${by} after a ${u.pauseReason} pause`,
          ref,
          u,
        );
        u.state = u.stages.some((s) => s.activated) ? "Rolling" : "Scheduled";
        u.pauseReason = "None";
        u.pausedAt = 0n;
        u.resumedAt = ref.time ?? 0n;
        break;
      }
      case "UpgradeWithdrawn": {
        const { by, stage, anyStageActivated } = e.args;
        const actor = actorOf(by);
        u.transitions.push({
          ...ref,
          kind: "UpgradeWithdrawn",
          stage: Number(stage),
          by,
          actor,
          figures: { anyStageActivated },
        });
        if (!stillOpen(u, "a withdrawal", ref)) break;
        const problems: string[] = [];
        if (actor === "guardian") problems.push(`by the guardian ${by}: only governance withdraws`);
        else if (actor === "anyone") problems.push(`by ${by}, not governance`);
        const activated = u.stages.some((s) => s.activated);
        if (anyStageActivated !== activated)
          problems.push(`the event says anyStageActivated=${anyStageActivated}, the logs say ${activated}`);
        check(
          "authority",
          problems.length === 0,
          problems.length
            ? `withdrawal: ${problems.join("; ")}`
            : `withdrawn by ${actor === "governance" ? "governance" : "an account that is not the guardian (governance not given)"} ${by}`,
          ref,
          u,
        );
        end(u, "Withdrawn", ref);
        break;
      }
      case "RollbackOrdered": {
        const { by, reason: r, stage, unhealthyStake } = e.args;
        const reason = RollbackReason[Number(r)] as keyof typeof RollbackReason;
        const i = Number(stage);
        const s = u.stages[i];
        const automatic = Number(r) === RollbackReason.AutomaticThreshold;
        const actor: Actor = automatic ? "automatic" : actorOf(by);
        u.transitions.push({
          ...ref,
          kind: "RollbackOrdered",
          stage: i,
          by,
          actor,
          reason,
          figures: { unhealthyStake: fig(unhealthyStake) },
        });
        if (!stillOpen(u, `a rollback order (${reason})`, ref)) break;
        const problems: string[] = [];
        if (!u.stages.some((x) => x.activated)) problems.push("no stage had activated");
        if (s && unhealthyStake !== s.unhealthyStake)
          problems.push(`the event says not-healthy ${unhealthyStake}, the logs add up to ${s.unhealthyStake}`);
        if (automatic && !justified.has(e))
          problems.push(
            `no attestation in this transaction took stage ${i}'s not-healthy stake to its rollback limit ${s?.rollbackLimit}`,
          );
        check(
          "automatic-stop",
          problems.length === 0,
          problems.length
            ? `rollback (${reason}) at stage ${i}: ${problems.join("; ")}`
            : automatic
              ? `stage ${i}: rollback ordered automatically when not-healthy stake ${s.unhealthyStake} reached its limit ${s.rollbackLimit}`
              : `stage ${i}: rollback ordered by hand`,
          ref,
          u,
        );
        if (!automatic) {
          const ok = actor === "guardian" || actor === "governance" || actor === "unknown";
          check(
            "authority",
            ok,
            ok
              ? `rollback ordered by the ${actor === "unknown" ? "guardian or governance (roles not given)" : actor} ${by}`
              : `rollback ordered by ${by}, neither the guardian nor governance`,
            ref,
            u,
          );
        }
        end(u, "RolledBack", ref); // the pause reason stays, as the contract keeps it
        break;
      }
      case "UpgradeCompleted": {
        const { stageCount } = e.args;
        u.transitions.push({ ...ref, kind: "UpgradeCompleted", figures: { stageCount: Number(stageCount) } });
        if (!stillOpen(u, "completion", ref)) break;
        const problems: string[] = [];
        const unverified = u.stages.filter((s) => !s.verified).map((s) => s.index);
        if (unverified.length) problems.push(`stage(s) ${unverified.join(", ")} never verified`);
        if (Number(stageCount) !== u.stages.length)
          problems.push(`the event says ${stageCount} stages, the manifest has ${u.stages.length}`);
        check(
          "completion",
          problems.length === 0,
          problems.length
            ? `completed although ${problems.join("; ")}`
            : `completed: all ${u.stages.length} stage(s) verified`,
          ref,
          u,
        );
        end(u, "Completed", ref);
        break;
      }
    }
  }

  function countHealth(
    u: UpgradeHistory,
    s: StageHistory,
    previous: Status,
    status: Status,
    weight: bigint,
    ref: TxRef,
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
    if (s.unhealthyStake >= s.rollbackLimit) {
      due = { u, kind: "rollback", stage: s.index, ref, unhealthy: s.unhealthyStake, limit: s.rollbackLimit };
    } else if (s.unhealthyStake >= s.unhealthyLimit && u.state !== "Paused") {
      due = { u, kind: "pause", stage: s.index, ref, unhealthy: s.unhealthyStake, limit: s.unhealthyLimit };
    }
  }
}

function maxBig(a: bigint, b: bigint) {
  return a > b ? a : b;
}

/** The cohort of a validator at the end of block `snapshot`, from the registry events (0: not registered). */
export function cohortAt(r: RegistryRecord | undefined, snapshot: bigint): number {
  let cohort = 0;
  for (const c of r?.cohorts ?? []) if (c.block <= snapshot) cohort = c.cohort;
  return cohort;
}
