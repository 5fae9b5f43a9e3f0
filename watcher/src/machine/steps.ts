import { reduce } from "./reduce";
import type { Effect, MachineEvent, Transition, WatcherState } from "./types";

/** What to do with a journaled step the runtime is about to run. */
export type StepVerdict =
  /** Carry it out. */
  | { action: "run" }
  /** Leave it queued: the upgrade is paused, and on pause the watcher starts nothing new on the node. */
  | { action: "hold" }
  /** Cancel it: no upgrade of this validator's is left for it (a rewind dropped it). */
  | { action: "cancel" }
  /** Close it without touching the node: the upgrade ended before its queued swap began, or before its
   * preparation finished. The fact and its transition are what the runtime journals as the step's outcome. */
  | { action: "skip"; fact: MachineEvent; transition: Transition }
  /** A swap under way (retrying, or interrupted by a crash) that an order (pause, rollback, withdrawal) now stands
   * against: the runtime keeps the node on the old version and closes the step, unless the swap happened. */
  | { action: "abandon" };

/**
 * Decides whether a journaled step runs now. Pure: the same state and step always give the same verdict. Orders
 * come first: a preparation for an upgrade withdrawn or rolled back is dropped; a queued swap waits on a pause and
 * is skipped once the upgrade ended; a swap already started is abandoned before it touched the binary. A completed
 * upgrade still swaps: the network runs that version, and a validator that missed its stage catches up. Every other
 * step started runs to its end, since its executor picks up where a crash left it.
 */
export function stepVerdict(state: WatcherState, effect: Effect, status: "queued" | "started"): StepVerdict {
  const job = state.jobs[String(effect.upgradeId)];
  if (!job) return { action: "cancel" };
  const ordered = job.ended === "withdrawn" || job.ended === "rolledBack";
  if (effect.kind === "prepare" && ordered) {
    const fact: MachineEvent = { type: "PrepareFailed", upgradeId: job.upgradeId, reason: `upgrade ${job.ended}` };
    return { action: "skip", fact, transition: reduce(state, fact) };
  }
  if (effect.kind !== "upgrade") return { action: "run" };
  if (status === "started") return ordered || job.paused ? { action: "abandon" } : { action: "run" };
  if (ordered) {
    const fact: MachineEvent = { type: "UpgradeNotStarted", upgradeId: job.upgradeId };
    return { action: "skip", fact, transition: reduce(state, fact) };
  }
  if (job.paused) return { action: "hold" };
  return { action: "run" };
}
