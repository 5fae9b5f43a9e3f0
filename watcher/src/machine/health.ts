import type { Job } from "./types";

/** What the node reported when asked (undefined when it did not answer). */
export interface NodeReading {
  version: string;
  height: bigint;
}

/** The last health observation of one upgrade: when it was made, and the last height the node reported. */
export interface Observation {
  at: number;
  height?: bigint;
}

/**
 * Whether the node's health is due to be observed again for an upgraded job: at once after the upgrade (no
 * observation yet), then once `intervalMs` (health.observeIntervalMs) has passed since the last one.
 */
export function observationDue(last: Observation | undefined, now: number, intervalMs: number): boolean {
  return last === undefined || now - last.at >= intervalMs;
}

/**
 * The health rule while an upgrade is observed: the node answers, reports the upgrade's version, and its height
 * grew since the last observation (the first observation after a restart has nothing to compare with, so the
 * version alone decides it).
 */
export function judgeHealth(
  job: Pick<Job, "manifest">,
  reading: NodeReading | undefined,
  last: Observation | undefined,
): boolean {
  if (!reading || reading.version !== job.manifest.version) return false;
  return last?.height === undefined || reading.height > last.height;
}

/** The observation to remember after `reading` at `now`: a silent node keeps the last height it reported. */
export function nextObservation(
  last: Observation | undefined,
  reading: NodeReading | undefined,
  now: number,
): Observation {
  return { at: now, height: reading?.height ?? last?.height };
}

/** Whether the watcher watches this job's health: upgraded here, and the upgrade still in flight. */
export function underObservation(job: Job): boolean {
  return job.local === "upgraded" && !job.ended;
}
