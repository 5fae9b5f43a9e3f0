// One event follower for every consumer (the watcher, the dashboard's coordinator and Governor views), after
// Ponder's realtime sync: it follows the logs of a set of contracts, keeps the unfinalized blocks it followed
// (checkpoints, each linked to its parent by hash), and tells its consumer only three things: `block` (new logs),
// `reorg` (the state is back at a common ancestor) and `finalize` (a block no reorg will undo).
import type { Log } from "viem";
import { ReorgTooDeepError, SyncConfigError, SyncError } from "./errors";
import { DEFAULT_PAGE_SIZE, getLogsPaged } from "./paging";
import type {
  ChainBlock,
  ChainSource,
  Checkpoint,
  CheckpointStore,
  Hex,
  PageResult,
  ReorgEvent,
  SyncHandlers,
} from "./types";

export interface FollowerOptions<S, R extends PageResult<S> = PageResult<S>> {
  source: ChainSource;
  store: CheckpointStore<S, R>;
  /** The contracts whose logs are followed. */
  addresses: readonly Hex[];
  /** The first block whose logs matter (a deployment block); must be at least 1: block `startBlock - 1` is the
   * anchor, the first checkpoint, holding `initial()`. */
  startBlock: bigint;
  /** The state before any log. */
  initial: () => S;
  handlers: SyncHandlers<S, R>;
  /** Blocks a block must be buried under before its logs are delivered (default 0: up to the head). */
  confirmations?: number;
  /** The most blocks asked of eth_getLogs at once, and the most blocks one page (one commit) covers (default
   * DEFAULT_PAGE_SIZE). A node that refuses a range is asked for halves. */
  pageSize?: bigint;
  /** The last this many blocks below each page are asked for again, and logs not delivered yet are delivered
   * with the page: a load-balanced RPC can answer eth_getLogs from a node a block or two behind the one that gave
   * the head, with no logs yet for blocks it has not seen (default 0). */
  reaskBlocks?: number;
  /** Blocks below the head after which a checkpoint is final: `finalize` is called and the store may forget older
   * checkpoints (default: never; the store's own limit bounds how deep a reorg can be undone). */
  finalityBlocks?: number;
  /** Heads remembered to recognise a node that answers from behind (default 128). */
  rememberHeads?: number;
}

export interface PollResult<S> {
  /** "followed": every confirmed block up to the head was delivered. "behind": the node answered with a head
   * below the last block followed that was seen before (a node behind the others, not a reorg), or without a block
   * its head implied: nothing changed. "raced": the chain changed while a page was read; the page was dropped,
   * poll again. */
  status: "followed" | "behind" | "raced";
  head: ChainBlock;
  /** The last block followed (the latest checkpoint). */
  processedTo: bigint;
  /** The state as of `processedTo`. */
  state: S;
  /** Set when this poll followed a reorganisation. */
  reorg?: ReorgEvent<S>;
  /** The block rewound to, when this poll followed a reorganisation (`reorg.ancestor.block`). */
  rewoundTo?: bigint;
}

/** How a log is told apart from every other: its block (number and hash) and index. */
export const logId = (l: Log) => `${l.blockNumber}:${l.blockHash}:${l.logIndex}`;
const blockOfId = (id: string) => BigInt(id.slice(0, id.indexOf(":")));

/**
 * Follows logs from the store's latest checkpoint. Each `poll()`:
 * 1. reads the head; a head below the last block followed that was seen before is a node behind: nothing changes;
 * 2. checks that the last block followed is still on the chain (by parent hash when the head is its child), and
 *    when it is not, rewinds the store to the newest checkpoint still on the chain and calls `reorg`; a reorg below
 *    every checkpoint kept throws ReorgTooDeepError (not retryable);
 * 3. delivers every block at least `confirmations` deep in pages of at most `pageSize` blocks: the handler folds
 *    the page into the state and its result is committed with the page's checkpoint. A page whose blocks changed
 *    while it was read (a reorg racing the reads) is dropped and the poll ends "raced".
 * A restart with the same store resumes after the last committed page. One poll at a time.
 */
export class Follower<S, R extends PageResult<S> = PageResult<S>> {
  private readonly confirmations: bigint;
  private readonly pageSize: bigint;
  private readonly reask: bigint;
  private readonly heads = new Map<bigint, Hex>();
  private polling = false;
  private finalized: bigint | undefined;

  constructor(private readonly o: FollowerOptions<S, R>) {
    if (o.startBlock < 1n) throw new SyncConfigError("the start block must be at least 1", { start: o.startBlock });
    this.confirmations = BigInt(o.confirmations ?? 0);
    this.pageSize = o.pageSize ?? DEFAULT_PAGE_SIZE;
    this.reask = BigInt(o.reaskBlocks ?? 0);
    if (this.confirmations < 0n || this.pageSize < 1n || this.reask < 0n)
      throw new SyncConfigError("confirmations and reaskBlocks must be at least 0, pageSize at least 1", {
        confirmations: o.confirmations,
        pageSize: o.pageSize,
        reaskBlocks: o.reaskBlocks,
      });
  }

  /** The state as of the last block followed (`initial()` before the first poll). */
  async state(): Promise<S> {
    return (await this.o.store.latest())?.state ?? this.o.initial();
  }

  /** The last block followed, or undefined before the first poll. */
  async cursor(): Promise<{ block: bigint; hash: Hex } | undefined> {
    const c = await this.o.store.latest();
    return c && { block: c.block, hash: c.hash };
  }

  /** Follows the chain up to `head` (default: the node's head, read now). */
  async poll(options: { head?: ChainBlock } = {}): Promise<PollResult<S>> {
    if (this.polling) throw new SyncError("a poll is already running: poll one at a time", false);
    this.polling = true;
    try {
      return await this.step(options.head ?? (await this.o.source.head()));
    } finally {
      this.polling = false;
    }
  }

  private async step(head: ChainBlock): Promise<PollResult<S>> {
    const { store, source, handlers } = this.o;
    const stored = await store.latest();
    let latest = stored ?? (await this.anchor());
    const done = (status: PollResult<S>["status"], reorg?: ReorgEvent<S>): PollResult<S> => ({
      status,
      head,
      processedTo: latest.block,
      state: latest.state,
      reorg,
      rewoundTo: reorg?.ancestor.block,
    });
    // A head below the last block followed that is a block already seen, unchanged, is an RPC node behind the
    // others (a load balancer's), not a reorganisation: wait for it to catch up.
    if (head.number < latest.block && (await this.knownHash(head.number)) === head.hash) return done("behind");

    let reorg: ReorgEvent<S> | undefined;
    // A fresh anchor was just read from the chain: no need to ask again whether it is on it.
    if (stored && !(await this.onChain(latest, head))) {
      const ancestor = await this.newestOnChain(await store.recent(), head);
      await store.rewindTo(ancestor.block);
      for (const n of [...this.heads.keys()]) if (n > ancestor.block) this.heads.delete(n);
      reorg = { detectedAt: head.number, ancestor, orphaned: latest };
      latest = ancestor;
      await handlers.reorg?.(reorg);
    }
    this.rememberHead(head);

    const target = head.number - this.confirmations;
    for (let from = latest.block + 1n; from <= target;) {
      const to = from + this.pageSize - 1n < target ? from + this.pageSize - 1n : target;
      const end = to === head.number ? head : await source.block(to);
      if (!end) return done("behind", reorg); // the node has not got that far after all
      if (to === latest.block + 1n && end.parentHash !== latest.hash) return done("raced", reorg);
      const reaskFrom = from - this.reask < this.o.startBlock ? this.o.startBlock : from - this.reask;
      const logs = await getLogsPaged(
        source,
        { fromBlock: reaskFrom, toBlock: to, addresses: this.o.addresses },
        { pageSize: this.pageSize },
      );
      const seen = new Set(latest.recentLogs ?? []);
      // A log can come back twice (re-asked, or across split pages): keep the first.
      const fresh = logs.filter((l) => !seen.has(logId(l)) && seen.add(logId(l)));
      // The blocks the logs are in, and the page's end once more, read after the logs (all at once, so that the
      // transport batches them): a log from another branch, or an end block that changed, means a reorg raced us.
      const numbers = [...new Set(fresh.map((l) => l.blockNumber!))].filter((n) => n !== to);
      const [endAgain, ...read] = await Promise.all([to, ...numbers].map((n) => source.block(n)));
      if (endAgain?.hash !== end.hash) return done("raced", reorg);
      const blocks = new Map<bigint, ChainBlock>([[to, end]]);
      for (const b of read) if (b) blocks.set(b.number, b);
      if (fresh.some((l) => blocks.get(l.blockNumber!)?.hash !== l.blockHash)) return done("raced", reorg);

      const result = await handlers.block(latest.state, { from, to, logs: fresh, blocks, head });
      const keepAbove = to - this.reask;
      const recentLogs = this.reask === 0n ? [] : [...seen].filter((id) => blockOfId(id) > keepAbove);
      const checkpoint: Checkpoint<S> = {
        block: to,
        hash: end.hash,
        parentHash: end.parentHash,
        state: result.state,
        recentLogs,
      };
      await store.commit(checkpoint, result);
      latest = checkpoint;
      from = to + 1n;
    }
    await this.finalize(head);
    return done("followed", reorg);
  }

  /** The first checkpoint: the block before the start, with the initial state, so a reorg can always rewind. */
  private async anchor(): Promise<Checkpoint<S>> {
    const number = this.o.startBlock - 1n;
    const block = await this.o.source.block(number);
    if (!block) throw new SyncConfigError(`the chain has no block ${number} yet: is the start block right?`);
    const anchor: Checkpoint<S> = {
      block: number,
      hash: block.hash,
      parentHash: block.parentHash,
      state: this.o.initial(),
      recentLogs: [],
    };
    await this.o.store.commit(anchor);
    return anchor;
  }

  /** Whether checkpoint `c` is on the chain whose head is `head`: by the head's hash or parent hash when they
   * tell, otherwise by asking for the block. */
  private async onChain(c: Checkpoint<S>, head: ChainBlock): Promise<boolean> {
    if (c.block > head.number) return false;
    if (c.block === head.number) return c.hash === head.hash;
    if (c.block === head.number - 1n) return c.hash === head.parentHash;
    return (await this.o.source.block(c.block))?.hash === c.hash;
  }

  /**
   * The newest checkpoint still on the chain. A block on the chain has all its ancestors on it, so the checkpoints
   * on the chain are the oldest ones: gallop down from the newest (a shallow reorg, the usual kind, costs one or two
   * lookups), then bisect.
   */
  private async newestOnChain(newestFirst: Checkpoint<S>[], head: ChainBlock): Promise<Checkpoint<S>> {
    const cps = [...newestFirst].reverse();
    let off = cps.length; // known not on the chain (or past the end)
    let on = -1; // known on the chain (or before the start)
    for (let step = 1; off - step >= 0; step *= 2) {
      if (await this.onChain(cps[off - step], head)) {
        on = off - step;
        break;
      }
      off -= step;
    }
    while (off - on > 1) {
      const mid = (on + off) >> 1;
      if (await this.onChain(cps[mid], head)) on = mid;
      else off = mid;
    }
    if (on < 0) throw new ReorgTooDeepError(cps[0]?.block ?? this.o.startBlock - 1n, head.number);
    return cps[on];
  }

  private async knownHash(number: bigint): Promise<Hex | undefined> {
    return this.heads.get(number) ?? (await this.o.store.recent()).find((c) => c.block === number)?.hash;
  }

  private rememberHead(head: ChainBlock) {
    this.heads.delete(head.number); // re-inserted last, so insertion order stays block order
    this.heads.set(head.number, head.hash);
    const limit = this.o.rememberHeads ?? 128;
    for (const n of this.heads.keys()) {
      if (this.heads.size <= limit) break;
      this.heads.delete(n);
    }
  }

  private async finalize(head: ChainBlock) {
    if (this.o.finalityBlocks === undefined) return;
    const line = head.number - BigInt(this.o.finalityBlocks);
    const final = (await this.o.store.recent()).find((c) => c.block <= line);
    if (!final || (this.finalized !== undefined && final.block <= this.finalized)) return;
    this.finalized = final.block;
    await this.o.store.finalize?.(final.block);
    await this.o.handlers.finalize?.(final);
  }
}
