import type { Job, WatcherState } from "./types";

/** What the node reported when asked (undefined when it did not answer). */
export interface NodeReading {
  version: string;
  height: bigint;
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
 * The health rule while an upgrade is observed: the node answers, reports the upgrade's version, and its height
 * grew since the last height it reported (with none to compare, after a restart, the version alone decides).
 */
export function judgeHealth(
  job: Pick<Job, "manifest">,
  reading: NodeReading | undefined,
  lastHeight: bigint | undefined,
): boolean {
  if (!reading || reading.version !== job.manifest.version) return false;
  return lastHeight === undefined || reading.height > lastHeight;
}
