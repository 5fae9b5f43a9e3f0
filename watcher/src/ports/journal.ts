// The journal port: where the watcher keeps, durably, how far it followed the chain (a checkpoint per processed
// block, with the machine's state as of that block) and every step it takes. It is lib/sync's checkpoint store for
// the watcher's follower. The runtime depends on this interface only; journal/sqlite.ts implements it.
import type { Checkpoint, CheckpointStore, PageResult } from "../../../lib/sync";
import type { Effect, WatcherState } from "../machine/types";

/** What the watcher's page handler returns, committed with the page's checkpoint: the machine's state as of the
 * page's last block and the effects its events asked for. */
export interface PageOutcome extends PageResult<WatcherState> {
  effects: Effect[];
}

export type StepStatus = "queued" | "started" | "done" | "failed" | "cancelled";

/** One effect the machine asked for, as the journal tracks it. */
export interface Step {
  key: string;
  effect: Effect;
  status: StepStatus;
  attempts: number;
  result?: string;
  error?: string;
}

export interface Journal extends CheckpointStore<WatcherState, PageOutcome> {
  // Synchronous here: the runtime reads the state between steps.
  latest(): Checkpoint<WatcherState> | undefined;
  recent(): Checkpoint<WatcherState>[];
  /** Saves a checkpoint and, atomically with it, queues the effects of the page that produced it. */
  commit(checkpoint: Checkpoint<WatcherState>, outcome?: PageOutcome): void;
  /** Forgets checkpoints above `block`, cancels the steps queued from them, and starts a new epoch. */
  rewindTo(block: bigint): void;
  /** Binds the journal to one chain, coordinator and operator; refuses (not retryable) to serve another. */
  bind(identity: Record<string, string>): void;
  /** Steps still to run (queued, or started when a crash interrupted them), oldest first. */
  pending(): Step[];
  markStarted(key: string): void;
  markFailed(key: string, error: string): void;
  /** Marks a step done and keeps its outcome (the machine's new state and further effects), atomically. */
  finish(key: string, result: string, state: WatcherState, effects: Effect[]): void;
  /** Keeps the outcome of a fact that arose between blocks (an observation), atomically. */
  applyLocal(state: WatcherState, effects: Effect[]): void;
  /** Cancels queued steps that never started. */
  cancelQueued(keys: string[]): void;
  /** What is wrong that an operator must see on /healthz, by key: kept across restarts until cleared. */
  problems(): Record<string, string>;
  /** Records (a message) or clears (undefined) the problem named `key`. */
  setProblem(key: string, message: string | undefined): void;
  close(): void;
}
