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
  /** Close it without touching the node: the upgrade ended before its queued swap began. The fact and its
   * transition are what the runtime journals as the step's outcome. */
  | { action: "skip"; fact: MachineEvent; transition: Transition };

/**
 * Decides whether a journaled step runs now. Pure: the same state and step always give the same verdict. Only a
 * queued upgrade (the swap) waits or is skipped; a step already started runs to its end, since its executor
 * picks up where a crash left it.
 */
export function stepVerdict(state: WatcherState, effect: Effect, status: "queued" | "started"): StepVerdict {
  const job = state.jobs[String(effect.upgradeId)];
  if (!job) return { action: "cancel" };
  if (effect.kind !== "upgrade" || status !== "queued") return { action: "run" };
  if (job.ended) {
    const fact: MachineEvent = { type: "UpgradeNotStarted", upgradeId: job.upgradeId };
    return { action: "skip", fact, transition: reduce(state, fact) };
  }
  if (job.paused) return { action: "hold" };
  return { action: "run" };
}
