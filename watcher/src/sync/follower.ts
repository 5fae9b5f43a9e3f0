import type { Log } from "viem";
import type { ChainReader, Checkpoint, CheckpointStore } from "../ports";
import { WatcherError, fatal, retryable } from "../errors";

export interface FollowerOptions {
  /** Blocks a log must be buried under before the watcher acts on it. */
  confirmations: number;
  /** The most blocks asked of eth_getLogs at once. */
  pageSize: number;
  /** Where to begin when nothing was processed yet (the coordinator's deployment block). */
  startBlock: bigint;
}

/** A page's outcome: the new state and the effects it asks for, committed together with the page's checkpoint. */
export interface PageResult<S, E> {
  state: S;
  effects: E[];
}

/** Folds a page of logs into the state. Runs before the page is committed; nothing is kept unless it returns. */
export type PageHandler<S, E> = (
  state: S,
  logs: Log[],
  range: { from: bigint; to: bigint },
) => Promise<PageResult<S, E>>;

/**
 * The chain reorganised below the oldest checkpoint the journal keeps. Not retryable: the watcher cannot tell
 * what the orphaned logs changed, so it stops (exit 1) for an operator rather than guess or loop.
 */
export class ReorgTooDeepError extends WatcherError {
  constructor(readonly block: bigint) {
    super(`chain reorganised below block ${block}, deeper than the watcher's checkpoint history`, {
      retryable: false,
      code: "reorg-too-deep",
      details: { block: block.toString() },
    });
    this.name = "ReorgTooDeepError";
  }
}

/**
 * Follows the coordinator's logs from a persisted cursor. Only blocks at least `confirmations` deep are
 * processed; before each step the follower checks that the last processed block is still on the chain, and when
 * it is not (a reorg) it rewinds to the newest checkpoint that still is, dropping the state derived from orphaned
 * logs. A restart resumes after the last committed page: no log is missed or processed twice.
 */
export class Follower<S, E = never> {
  constructor(
    private readonly chain: ChainReader,
    private readonly store: CheckpointStore<S, E>,
    private readonly options: FollowerOptions,
    private readonly initial: () => S,
    private readonly handle: PageHandler<S, E>,
  ) {}

  /** The state as of the last processed block. */
  state(): S {
    return this.store.latest()?.state ?? this.initial();
  }

  /** Processes every confirmed block not processed yet; returns how far it got and whether it rewound. */
  async poll(): Promise<{ processedTo: bigint; rewoundTo?: bigint }> {
    if (!this.store.latest()) await this.anchor();
    const rewoundTo = await this.checkForReorg();
    const head = await this.chain.head();
    const target = head - BigInt(this.options.confirmations);
    let from = this.store.latest()!.block + 1n;
    while (from <= target) {
      const to = minBig(from + BigInt(this.options.pageSize) - 1n, target);
      const hash = await this.chain.blockHash(to);
      if (!hash) break; // the node has not got that far after all: try again next poll
      const logs = await this.chain.coordinatorLogs(from, to);
      const { state, effects } = await this.handle(this.state(), logs, { from, to });
      // The page's last block must still be the one we read logs from; otherwise a reorg raced us.
      if ((await this.chain.blockHash(to)) !== hash) break;
      this.store.commit({ block: to, hash, state }, effects);
      from = to + 1n;
    }
    return { processedTo: this.store.latest()!.block, rewoundTo };
  }

  /** The first checkpoint: the block before the start, with the initial state, so a reorg can always rewind. */
  private async anchor() {
    const block = this.options.startBlock - 1n;
    if (block < 0n) {
      throw fatal("start-block", "the start block must be at least 1 (the block the coordinator was deployed in)");
    }
    const hash = await this.chain.blockHash(block);
    if (!hash) {
      throw retryable("start-block", `the chain has no block ${block} yet: is the start block right?`, {
        block: block.toString(),
      });
    }
    this.store.commit({ block, hash, state: this.initial() }, []);
  }

  private async checkForReorg(): Promise<bigint | undefined> {
    const latest = this.store.latest();
    if (!latest) return undefined;
    if ((await this.chain.blockHash(latest.block)) === latest.hash) return undefined;
    for (const checkpoint of this.store.recent()) {
      if ((await this.chain.blockHash(checkpoint.block)) === checkpoint.hash) {
        this.store.rewindTo(checkpoint.block);
        return checkpoint.block;
      }
    }
    throw new ReorgTooDeepError(this.store.recent().at(-1)?.block ?? latest.block);
  }
}

/** An in-memory checkpoint store (tests). Keeps the newest `keep` checkpoints and the effects committed with them. */
export class MemoryCheckpointStore<S, E = never> implements CheckpointStore<S, E> {
  private checkpoints: Checkpoint<S>[] = [];
  readonly effects: E[] = [];
  constructor(private readonly keep = 256) {}
  latest() {
    return this.checkpoints.at(-1);
  }
  recent() {
    return [...this.checkpoints].reverse();
  }
  commit(checkpoint: Checkpoint<S>, effects: E[]) {
    this.checkpoints.push(checkpoint);
    this.effects.push(...effects);
    if (this.checkpoints.length > this.keep) this.checkpoints.shift();
  }
  rewindTo(block: bigint) {
    this.checkpoints = this.checkpoints.filter((c) => c.block <= block);
  }
}

function minBig(a: bigint, b: bigint) {
  return a < b ? a : b;
}
