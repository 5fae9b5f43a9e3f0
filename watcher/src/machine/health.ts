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

/** The settings hysteresis works with (config `health`). */
export interface HealthSettings {
  /** A node is unhealthy only once it has made no progress for this long (consecutive failing probes). */
  unhealthyAfterMs: number;
  /** At most one change of health reported (re-attested) per this interval. */
  reattestIntervalMs: number;
  /** A node that reports the version but still syncs is "starting" for this long, not unhealthy. */
  deadlineMs: number;
}

/** What the watcher remembers of one upgrade's observation between rounds. */
export interface HealthTrack {
  /** The highest height seen while the node ran the version. */
  height?: bigint;
  /** When a probe last showed progress: the version running and the height above `height` (or first seen). */
  progressAt: number;
  /** When a change of health was last reported to the machine. */
  reportedAt?: number;
}

export type HealthVerdict = "healthy" | "starting" | "failing" | "unhealthy";

/**
 * Health with hysteresis. A probe is good when the node runs the version and its height grew since the best seen
 * (judgeHealth); the node is healthy while the last good probe is less than `unhealthyAfterMs` old, "failing"
 * (still counted healthy) until then, "starting" while it reports the version but syncs and is within
 * `deadlineMs`, and unhealthy only after that. Slow blocks (3 s) polled every second are not a failure.
 */
export function assessHealth(
  job: Pick<Job, "manifest">,
  reading: NodeReading | undefined,
  track: HealthTrack | undefined,
  now: number,
  s: HealthSettings,
): { verdict: HealthVerdict; track: HealthTrack } {
  // A watcher that (re)starts observing gives the node a full window before it may call it unhealthy.
  const t: HealthTrack = track ? { ...track } : { progressAt: now };
  if (judgeHealth(job, reading, t.height)) {
    t.height = reading!.height;
    t.progressAt = now;
    return { verdict: "healthy", track: t };
  }
  const stalled = now - t.progressAt;
  if (
    startupPhase(reading, job.manifest.version) === "starting" &&
    stalled < Math.max(s.deadlineMs, s.unhealthyAfterMs)
  )
    return { verdict: "starting", track: t };
  return { verdict: stalled < s.unhealthyAfterMs ? "failing" : "unhealthy", track: t };
}

/**
 * Whether to report `healthy` to the machine now: it differs from what the job last attested, and no change was
 * reported within `reattestIntervalMs` (the first change after a start is reported at once).
 */
export function shouldReport(
  job: Pick<Job, "health">,
  healthy: boolean,
  track: HealthTrack,
  now: number,
  s: Pick<HealthSettings, "reattestIntervalMs">,
): boolean {
  if ((healthy ? "healthy" : "unhealthy") === job.health) return false;
  return track.reportedAt === undefined || now - track.reportedAt >= s.reattestIntervalMs;
}
