// An upgrade from manifest to its end: the manifest file and its canonical hash, the schedule proposal through
// governance, and a keeper that calls `advance` whenever the coordinator allows it, showing every stage's
// stake-weighted tallies as it goes.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ReadContractReturnType } from "viem";
import { upgradeCoordinatorAbi } from "../../lib/abi/generated";
import { scheduleUpgradeProposal } from "../../lib/actions/scheduleUpgrade";
import { canonicalManifest, manifestHash, parseManifest, type ManifestFile } from "../../lib/manifest";
import { StageState, UpgradeState, PauseReason } from "../../lib/coordinator";
import { duration, pct, type Board } from "./display";
import { chainTime, passProposal, skipTo, type Passed, type Voter } from "./governance";
import { COHORT_NAMES, sendAs, type Net } from "./network";

/** Chain-time rules: the durations a real network would use; the keeper skips chain time once the watchers did the work. */
export const RULES = {
  stageTimelock: 3600,
  observationWindow: 1800,
  attestationDeadline: 7200,
  readinessBps: 8000,
  healthyBps: 8000,
  unhealthyBps: 3400,
  rollbackBps: 0,
};

export function buildManifest(o: {
  name: string;
  version: string;
  previousVersion: string;
  uri: string;
  sha256: string;
  notes: string;
}): ManifestFile {
  return parseManifest(
    JSON.stringify({
      name: o.name,
      version: o.version,
      previousVersion: o.previousVersion,
      artifacts: [{ platform: "linux-amd64", uri: o.uri, sha256: o.sha256 }],
      featureFlags: [],
      metadataURI: `ipfs://lockstep-drill/${o.name}`,
      stateIncompatible: false,
      stages: COHORT_NAMES.map((label, i) => ({
        cohort: i + 1,
        label,
        timelock: i === 0 ? 0 : RULES.stageTimelock,
        observationWindow: RULES.observationWindow,
        attestationDeadline: RULES.attestationDeadline,
        readinessBps: RULES.readinessBps,
        healthyBps: RULES.healthyBps,
        unhealthyBps: RULES.unhealthyBps,
        rollbackBps: RULES.rollbackBps,
      })),
    }),
    o.name,
  );
}

/** Writes the manifest file (canonical form) and returns its path and keccak256. */
export function writeManifest(dir: string, m: ManifestFile): { path: string; hash: string } {
  const path = join(dir, `${m.name}.manifest.json`);
  writeFileSync(path, canonicalManifest(m) + "\n");
  return { path, hash: manifestHash(m) };
}

/** Proposes `schedule(manifest)` through governance and takes it to execution; returns the upgrade id. */
export async function scheduleByVote(
  net: Net,
  board: Board,
  m: ManifestFile,
  proposer: Voter["signer"],
  voters: Voter[],
): Promise<{ upgradeId: bigint; passed: Passed }> {
  const description = `Upgrade validators to ${m.version} (${m.name})\n\nManifest keccak256 ${manifestHash(m)}; stages ${m.stages.map((s) => s.label).join(", ")}.`;
  const proposal = scheduleUpgradeProposal({
    coordinator: net.addresses.coordinator,
    manifest: m,
    description,
  });
  const passed = await passProposal(net, board, proposal, proposer, voters);
  const upgradeId = await readCoordinator(net, "upgradeIdOf", [m.name]);
  if (upgradeId === 0n) throw new Error(`the executed proposal did not schedule ${m.name}`);
  return { upgradeId, passed };
}

export interface KeeperResult {
  state: UpgradeState;
  pauseReason: PauseReason;
  advances: string[];
}

type StageView = ReadContractReturnType<typeof upgradeCoordinatorAbi, "getStage">;
type UpgradeView = ReadContractReturnType<typeof upgradeCoordinatorAbi, "getUpgrade">;

/** A view of the coordinator, read through the drill's chain client. */
export function readCoordinator(net: Net, functionName: "upgradeIdOf", args: [string]): Promise<bigint>;
export function readCoordinator(net: Net, functionName: "getUpgrade", args: [bigint]): Promise<UpgradeView>;
export function readCoordinator(net: Net, functionName: "getStage", args: [bigint, bigint]): Promise<StageView>;
export function readCoordinator(net: Net, functionName: string, args: readonly unknown[]): Promise<unknown> {
  return net.chain.client.readContract({
    address: net.addresses.coordinator,
    abi: upgradeCoordinatorAbi,
    functionName,
    args,
  } as Parameters<typeof net.chain.client.readContract>[0]);
}

export const getUpgrade = (net: Net, upgradeId: bigint) => readCoordinator(net, "getUpgrade", [upgradeId]);
export const getStage = (net: Net, upgradeId: bigint, stage: number) =>
  readCoordinator(net, "getStage", [upgradeId, BigInt(stage)]);

export function stageLine(
  s: StageView,
  validators: number,
  totalStake: bigint,
  ended: UpgradeState,
  current: boolean,
): string {
  const stake = s.cohortStake;
  const activated = s.activatedAt > 0;
  const missing = activated ? stake - s.attestedStake : stake - s.readyStake;
  let state: string;
  if (Number(s.state) === StageState.Verified) state = "verified";
  else if (activated)
    state =
      ended === UpgradeState.Paused
        ? "active, PAUSED"
        : ended >= UpgradeState.Completed
          ? "ended"
          : "active, observing";
  else if (ended >= UpgradeState.Completed) state = "never activated";
  else state = current ? (s.notBefore > 0 ? "ready check / time lock" : "preparing") : "pending";
  return (
    `cohort ${s.rules.cohort} · ${String(validators).padStart(3)} val · ${pct(stake, totalStake)} of stake │ ` +
    `ready ${pct(s.readyStake, stake)}  healthy ${pct(s.healthyStake, stake)}  unhealthy ${pct(s.unhealthyStake, stake)}  missing ${pct(missing, stake)} │ ${state}`
  );
}

/** What the keeper reads of a stage to decide whether it may act on it. */
export type StageFacts = Pick<
  StageView,
  | "activatedAt"
  | "readyStake"
  | "readyNeeded"
  | "cohortStake"
  | "attestedStake"
  | "healthyStake"
  | "healthyNeeded"
  | "unhealthyStake"
  | "unhealthyLimit"
>;

/** How long the keeper waits for a stage's stragglers, once nothing moves, before it goes on without them. */
export interface Patience {
  /** Before activation: the readiness threshold is met, and no further Ready arrived for this long. */
  readyGraceMs: number;
  /** After activation: some validators have not reported, and no report (nor restart lease) moved for this long. */
  reportGraceMs: number;
  /**
   * After activation, every validator reported: how long their health is watched before the keeper verifies. At
   * least as long as a watcher takes to find a node that went bad after its Healthy (the time without a new block
   * it allows, then its next attestation), or a binary that crashes soon after it came up would pass the stage.
   */
  observeMs: number;
}

/** The least patience, on a quick machine. */
export const FIXED_PATIENCE: Patience = { readyGraceMs: 10_000, reportGraceMs: 30_000, observeMs: 2_000 };

/** The health rules a fleet's watchers run with, as far as the keeper's patience depends on them. */
export interface FleetHealth {
  unhealthyAfterMs: number;
  reattestIntervalMs: number;
}

/**
 * The keeper's patience on this machine now, from measured start-ups: how long the drill process took to start
 * (three times over, as the other limits count it) and how long the fleet took to bring every watcher up. A cohort's
 * stragglers are late by the same pace, so a busy machine waits longer rather than leaving them behind.
 */
export function patienceFor(measured: {
  drillStartupMs: number;
  fleetStartupMs: number;
  health?: FleetHealth;
}): Patience {
  const paced = Math.max(3 * measured.drillStartupMs, measured.fleetStartupMs);
  const { health } = measured;
  return {
    readyGraceMs: Math.max(FIXED_PATIENCE.readyGraceMs, paced),
    reportGraceMs: Math.max(FIXED_PATIENCE.reportGraceMs, paced),
    observeMs: Math.max(FIXED_PATIENCE.observeMs, health ? health.unhealthyAfterMs + health.reattestIntervalMs : 0),
  };
}

/**
 * The keeper's decision, apart from the chain: fed what it reads of the current stage at each look, it says when the
 * keeper may act (skip the time lock and activate, or skip the rest of the observation window and verify). Before
 * activation the whole cohort is ready, or the threshold is met and readiness stopped growing for the patience; after
 * activation every validator reported and their health was watched long enough to see a node go bad, or reports stopped
 * coming (no restart lease held either) for the patience. While stragglers still arrive, it waits.
 */
export class StageWatch {
  /** Per stage and phase: what last changed (readiness, or reports and leases) and when. */
  private last = new Map<string, { value: string; at: number }>();
  constructor(private readonly patience: Patience) {}

  /** How long `value` has stood unchanged under `key` at `now` (0 when it just changed). */
  private quiet(key: string, value: string, now: number): number {
    const l = this.last.get(key);
    if (!l || l.value !== value) {
      this.last.set(key, { value, at: now });
      return 0;
    }
    return now - l.at;
  }

  /** Whether the keeper may act on stage `i`, read as `s` at `now` with `leased` stake under restart leases. */
  due(i: number, s: StageFacts, leased: bigint, now: number): boolean {
    if (s.activatedAt === 0) {
      const quiet = this.quiet(`ready:${i}`, String(s.readyStake), now);
      const allReady = s.readyStake === s.cohortStake;
      return s.readyStake >= s.readyNeeded && (allReady || quiet >= this.patience.readyGraceMs);
    }
    // A validator restarting under a restart lease has not reported yet, but is not missing: a lease moves the clock.
    const quiet = this.quiet(`reported:${i}`, `${s.attestedStake}:${leased}`, now);
    const allReported = s.attestedStake === s.cohortStake;
    const observed = allReported
      ? quiet >= this.patience.observeMs
      : leased === 0n && quiet >= this.patience.reportGraceMs;
    return observed && s.healthyStake >= s.healthyNeeded && s.unhealthyStake < s.unhealthyLimit;
  }
}

/**
 * Plays the keeper: calls `advance` as soon as the coordinator would accept it. Chain time that only has to
 * pass (a stage's time lock, the rest of an observation window) is skipped, but only once the watchers did
 * their part (StageWatch). Returns when the upgrade ends or pauses.
 */
export async function keep(
  net: Net,
  board: Board,
  upgradeId: bigint,
  counts: number[],
  options: { timeoutMs: number; label: string; patience?: Patience },
): Promise<KeeperResult> {
  const totalStake = await cohortTotal(net, upgradeId, counts.length);
  const watch = new StageWatch(options.patience ?? FIXED_PATIENCE);
  const advances: string[] = [];
  // A window without progress, not a deadline for the whole upgrade: a large cohort rolls through a small restart
  // budget in many waves, each one progress (readiness, reports, leases granted and released, a stage advanced).
  let until = Date.now() + options.timeoutMs;
  let seen = "";
  for (;;) {
    const u = await getUpgrade(net, upgradeId);
    const state = Number(u.state) as UpgradeState;
    const stages = await Promise.all(counts.map((_, i) => getStage(net, upgradeId, i)));
    const leased = await leasedNow(net, upgradeId);
    const progress = [
      u.currentStage,
      leased,
      ...stages.flatMap((s) => [s.readyStake, s.attestedStake, s.healthyStake, s.activatedAt]),
    ].join(":");
    if (progress !== seen) {
      seen = progress;
      until = Date.now() + options.timeoutMs;
    }
    stages.forEach((s, i) =>
      board.set(
        COHORT_NAMES[i] ?? `stage ${i}`,
        stageLine(s, counts[i], totalStake, state, i === Number(u.currentStage)),
      ),
    );
    if (state !== UpgradeState.Scheduled && state !== UpgradeState.Rolling) {
      return { state, pauseReason: Number(u.pauseReason) as PauseReason, advances };
    }
    if (Date.now() > until)
      throw new Error(`${options.label}: no progress within ${options.timeoutMs / 1000}s (stage ${u.currentStage})`);
    const i = Number(u.currentStage);
    const s = stages[i];
    let due = false;
    if (watch.due(i, s, leased, Date.now())) {
      if (s.activatedAt === 0) {
        if (s.notBefore > 0n && (await chainTime(net)) < Number(s.notBefore)) {
          board.set(
            COHORT_NAMES[i],
            stageLine(s, counts[i], totalStake, state, true).replace(
              /│ [^│]*$/,
              `│ time lock ${duration(Number(s.rules.timelock))} (chain time advanced)`,
            ),
          );
          await skipTo(net, Number(s.notBefore));
        }
        due = s.notBefore > 0;
      } else {
        if ((await chainTime(net)) < Number(s.observationEndsAt)) await skipTo(net, Number(s.observationEndsAt));
        due = true;
      }
    }
    if (due) {
      try {
        const { hash } = await sendAs(net, net.keeper, {
          address: net.addresses.coordinator,
          abi: upgradeCoordinatorAbi,
          functionName: "advance",
          args: [upgradeId],
        });
        advances.push(hash);
      } catch {
        // refused for now (a watcher's attestation landed in between, a pause): look again
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The stake under restart leases in the upgrade now. */
async function leasedNow(net: Net, upgradeId: bigint): Promise<bigint> {
  const lease = await net.chain.client.readContract({
    address: net.addresses.coordinator,
    abi: upgradeCoordinatorAbi,
    functionName: "getLease",
    args: [upgradeId, net.keeper],
  });
  return lease.inUse;
}

async function cohortTotal(net: Net, upgradeId: bigint, stages: number): Promise<bigint> {
  let total = 0n;
  for (let i = 0; i < stages; i++) total += (await getStage(net, upgradeId, i)).cohortStake;
  return total;
}
