// The watcher's follower: lib/sync over the watcher's ports. The ChainReader is the chain source, the journal
// the checkpoint store; lib/sync's errors become WatcherErrors so the loop knows whether to retry.
import type { Log } from "viem";
import {
  Follower,
  ReorgTooDeepError,
  SyncError,
  type ChainBlock,
  type ChainSource,
  type ReorgEvent,
} from "../../lib/sync";
import { WatcherError, asWatcherError, fatal } from "./errors";
import type { WatcherState } from "./machine/types";
import type { ChainReader, Journal, PageOutcome } from "./ports";

/** lib/sync's chain source over the ChainReader port: the coordinator's logs and the blocks they are in. */
export function chainSource(chain: ChainReader): ChainSource {
  return {
    head: async (): Promise<ChainBlock> => {
      const head = await chain.block();
      if (!head) throw new WatcherError("the RPC node has no latest block", { retryable: true, code: "rpc" });
      return head;
    },
    block: (number) => chain.block(number),
    logs: ({ fromBlock, toBlock }) => chain.coordinatorLogs(fromBlock, toBlock),
  };
}

export interface WatcherFollowerOptions {
  chain: ChainReader;
  journal: Journal;
  coordinator: `0x${string}`;
  startBlock: bigint;
  confirmations: number;
  pageSize: number;
  initial: () => WatcherState;
  /** Folds a page of the coordinator's logs into the state and the effects it asks for. */
  page(state: WatcherState, logs: Log[]): Promise<PageOutcome>;
  /** Told after the journal was rewound to the newest block still on the chain. */
  reorged(event: ReorgEvent<WatcherState>): void;
}

export function watcherFollower(o: WatcherFollowerOptions): Follower<WatcherState, PageOutcome> {
  return new Follower<WatcherState, PageOutcome>({
    source: chainSource(o.chain),
    store: o.journal,
    addresses: [o.coordinator],
    startBlock: o.startBlock,
    initial: o.initial,
    confirmations: o.confirmations,
    pageSize: BigInt(o.pageSize),
    handlers: {
      block: (state, page) => o.page(state, page.logs),
      reorg: (event) => o.reorged(event),
    },
  });
}

/** A failure of lib/sync as a WatcherError: a reorg deeper than the journal remembers is not retryable as such
 * (the runtime rebuilds its view from the start block instead of retrying the poll). */
export function syncError(error: unknown): WatcherError {
  if (error instanceof ReorgTooDeepError) {
    return fatal("reorg-too-deep", error.message, { block: error.block.toString() }, error);
  }
  if (error instanceof SyncError) {
    return new WatcherError(error.message, {
      retryable: error.retryable,
      code: "sync",
      details: Object.fromEntries(
        Object.entries(error.details).map(([k, v]) => [k, typeof v === "bigint" ? v.toString() : v]),
      ),
      cause: error,
    });
  }
  return asWatcherError(error);
}
