import type { Job, WatcherState } from "./types";

/** What the node reported when asked (undefined when it did not answer). */
export interface NodeReading {
  version: string;
  height: bigint;
  /** Syncing or catching up: running, but still starting. */
  syncing?: boolean;
  /** Other manifest versions this reading counts as, by the probe's version rule. */
  matches?: string[];
}

/** Whether the node runs the manifest's `version`: it reports exactly that, or its probe says it counts as that. */
export function runsVersion(reading: NodeReading, version: string): boolean {
  return reading.version === version || (reading.matches ?? []).includes(version);
}

/**
 * Where a node stands while it starts: not answering, on another version, on the version but still syncing
 * ("starting": not healthy yet, and not unhealthy while the start-up deadline runs), or running it.
 */
export function startupPhase(
  reading: NodeReading | undefined,
  version: string,
): "silent" | "other-version" | "starting" | "running" {
  if (!reading) return "silent";
  if (!runsVersion(reading, version)) return "other-version";
  return reading.syncing ? "starting" : "running";
}

/** Whether the watcher watches this job's health: upgraded here, and the upgrade still in flight. */
export function underObservation(job: Job): boolean {
  return job.local === "upgraded" && !job.ended;
}

/**
 * The time until the next round. Health is checked every round, so while an upgrade is observed rounds come at
 * least every `health.observeIntervalMs`, however long `chain.pollIntervalMs` is; otherwise every poll interval.
 */
export function roundIntervalMs(state: WatcherState, pollIntervalMs: number, observeIntervalMs: number): number {
  const observing = Object.values(state.jobs).some(underObservation);
  return observing ? Math.min(pollIntervalMs, observeIntervalMs) : pollIntervalMs;
}

/**
 * The health rule while an upgrade is observed: the node answers, runs the upgrade's version, is not syncing (once
 * past its start-up, a node that falls behind is not healthy), and its height grew since the last height it
 * reported (with none to compare, after a restart, the version alone decides).
 */
export function judgeHealth(
  job: Pick<Job, "manifest">,
  reading: NodeReading | undefined,
  lastHeight: bigint | undefined,
): boolean {
  if (startupPhase(reading, job.manifest.version) !== "running") return false;
  return lastHeight === undefined || reading!.height > lastHeight;
}
