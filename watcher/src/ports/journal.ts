// The journal port: where the watcher keeps, durably, how far it followed the chain (a checkpoint per processed
// block, with the machine's state as of that block) and every step it takes. The runtime depends on this
// interface only; journal/sqlite.ts implements it.
import type { Effect, WatcherState } from "../machine/types";
import type { Hex } from "./index";

/** A processed block: the follower can rewind to it after a reorg. */
export interface Checkpoint<S> {
  block: bigint;
  hash: Hex;
  state: S;
}

/**
 * Where the follower keeps its progress. `commit` is atomic: the state, the cursor, the checkpoint and the
 * effects the page asked for are kept together or not at all.
 */
export interface CheckpointStore<S, E> {
  latest(): Checkpoint<S> | undefined;
  /** Checkpoints newest first. */
  recent(): Checkpoint<S>[];
  commit(checkpoint: Checkpoint<S>, effects: E[]): void;
  /** Forgets every checkpoint above `block` (and whatever was queued from them). */
  rewindTo(block: bigint): void;
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

export interface Journal extends CheckpointStore<WatcherState, Effect> {
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
  close(): void;
}
