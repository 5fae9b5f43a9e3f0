// The shapes lib/sync works with: the chain it reads (ChainSource), what it remembers (Checkpoint, kept in a
// CheckpointStore) and what it hands its consumer (Page, ReorgEvent).
import type { Log } from "viem";

export type Hex = `0x${string}`;
export type Awaitable<T> = T | Promise<T>;

/** A block header: all the follower needs to link blocks and date logs. */
export interface ChainBlock {
  number: bigint;
  hash: Hex;
  parentHash: Hex;
  timestamp: bigint;
}

export interface LogRange {
  fromBlock: bigint;
  toBlock: bigint;
  /** The contracts whose logs are wanted (one or more). */
  addresses: readonly Hex[];
}

/** The chain, as the follower reads it. `viemSource(client)` is the real one; tests use an in-memory fake. */
export interface ChainSource {
  /** The newest block the node knows. */
  head(): Promise<ChainBlock>;
  /** Block `number`, or undefined when the node has no such block (yet, or any more). */
  block(number: bigint): Promise<ChainBlock | undefined>;
  /** The logs of `addresses` in blocks [fromBlock, toBlock], in chain order. May throw when the range is too
   * large for the node: the follower then asks for smaller ranges. */
  logs(range: LogRange): Promise<Log[]>;
}

/**
 * A followed block the follower can rewind to: the cursor (block, hash), the link to its parent, and the state as
 * of that block. Checkpoints of consecutive commits are linked: a page ends at `block`, the next starts at
 * `block + 1`.
 */
export interface Checkpoint<S> {
  block: bigint;
  hash: Hex;
  parentHash: Hex;
  state: S;
  /** Ids (`blockHash:logIndex`) of logs already delivered from the last `reaskBlocks` blocks, so that asking for
   * those blocks again delivers only what a lagging node left out. Empty when `reaskBlocks` is 0. */
  recentLogs?: readonly string[];
}

/** What a page handler returns: at least the new state; a consumer may add more (the watcher adds effects), which
 * the store commits together with the checkpoint. */
export interface PageResult<S> {
  state: S;
}

/**
 * Where the follower keeps its progress. Methods may be synchronous (SQLite) or asynchronous.
 * `commit` must be atomic: the checkpoint (cursor, link and state) and the handler's whole result land together or
 * not at all, so that a restart resumes after the last committed page with no log missed or processed twice.
 */
export interface CheckpointStore<S, R extends PageResult<S> = PageResult<S>> {
  /** The newest checkpoint, or undefined before the first commit. */
  latest(): Awaitable<Checkpoint<S> | undefined>;
  /** Every checkpoint kept, newest first. The oldest one bounds how deep a reorg can be undone. */
  recent(): Awaitable<Checkpoint<S>[]>;
  /** Saves a checkpoint and the result of the handler that produced its state. `result` is undefined for the
   * anchor, the first checkpoint (the block before the start, with the initial state). */
  commit(checkpoint: Checkpoint<S>, result?: R): Awaitable<void>;
  /** Forgets every checkpoint above `block` (a reorg took those blocks away). */
  rewindTo(block: bigint): Awaitable<void>;
  /** Optional: `block` can no longer be reorganised; checkpoints below it may be forgotten. */
  finalize?(block: bigint): Awaitable<void>;
}

/** New confirmed logs, handed to the consumer's `block` handler. */
export interface Page {
  /** The blocks this page covers, [from, to]; the checkpoint after it is block `to`. */
  from: bigint;
  to: bigint;
  /** New logs, in chain order. With `reaskBlocks`, this can include logs of blocks just below `from` that a
   * lagging node had left out before. */
  logs: Log[];
  /** The header of every block a log in `logs` is in, and of block `to`. */
  blocks: ReadonlyMap<bigint, ChainBlock>;
  /** The head the page was read under. */
  head: ChainBlock;
}

/** A reorganisation was followed: the state is back at `ancestor`, the newest checkpoint still on the chain. */
export interface ReorgEvent<S> {
  /** The head at which it was noticed. */
  detectedAt: bigint;
  ancestor: Checkpoint<S>;
  /** The newest checkpoint before the rewind (on the abandoned branch). */
  orphaned: Checkpoint<S>;
}

/** What the consumer does. Only `block` is required: the store restores the state on a reorg by itself. */
export interface SyncHandlers<S, R extends PageResult<S> = PageResult<S>> {
  /** Folds a page into the state. Runs before the page is committed; its result is committed with the checkpoint.
   * It must not act irreversibly: a reorg may still take the page away (use `confirmations`). */
  block(state: S, page: Page): Awaitable<R>;
  /** Called after the store was rewound to `event.ancestor`. */
  reorg?(event: ReorgEvent<S>): Awaitable<void>;
  /** Called when a checkpoint is at least `finalityBlocks` below the head: no reorg will undo it. */
  finalize?(checkpoint: Checkpoint<S>): Awaitable<void>;
}
