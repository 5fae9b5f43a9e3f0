import type { Job } from "./types";

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
 * The health rule while an upgrade is observed: the node answers, reports the upgrade's version, is not syncing
 * (once past its start-up, a node that falls behind is not healthy), and its height grew since the last
 * observation (the first observation after a restart has nothing to compare with, so the version alone decides).
 */
export function judgeHealth(
  job: Pick<Job, "manifest">,
  reading: NodeReading | undefined,
  last: Observation | undefined,
): boolean {
  if (startupPhase(reading, job.manifest.version) !== "running") return false;
  return last?.height === undefined || reading!.height > last.height;
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
