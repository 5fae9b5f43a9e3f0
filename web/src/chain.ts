// The dashboard's view of the chain: the coordinator's whole history, rebuilt from logs with lib/history.ts, then
// followed block by block, rewinding when the chain reorganises. Stake weights are the only contract reads (the
// logs carry weights only once attested).
import { BlockNotFoundError, createPublicClient, http, type PublicClient } from "viem";
import { buildHistory, decodeLogs, fetchLogs, type History } from "../../lib/history";
import { byChainOrder, type CoordinatorEvent } from "../../lib/events";
import { stakeTokenAbi } from "../../lib/abi/generated";
import type { DashboardConfig } from "./dashboardConfig";
import { RecentHeads, newestOnChain, type BlockRef, type Hex } from "./reorg";

export interface Snapshot {
  history: History;
  /** Every decoded coordinator event, in chain order. */
  events: CoordinatorEvent[];
  times: Map<bigint, bigint>;
  head: { number: bigint; timestamp: bigint };
  /** Stake weight per operator (lower-case): votes at the latest upgrade's snapshot, or current votes before any. */
  weights: Map<string, bigint>;
  chainId: number;
  /** Changes whenever `events` does (new events, or events a reorg took away): a snapshot with the revision of
   * the one before shows the same events. */
  revision: number;
  /** The latest reorganisation followed, if any. */
  lastReorg?: Reorg;
}

export interface Reorg {
  /** The head at which it was noticed. */
  detectedAt: bigint;
  /** The newest block still on the chain; the deployment's start block minus one when the reorg went deeper than
   * every block remembered and the history was reloaded from the start. */
  ancestor: bigint;
  /** Events that were on the abandoned branch. */
  dropped: number;
}

type Block = BlockRef & { parentHash: Hex; timestamp: bigint };

// JSON-RPC batches: a cold load asks for one block per event block and one weight per validator, hundreds or
// thousands of calls that would otherwise each be an HTTP round trip through the relay. Nodes cap a batch (geth
// at 1,000 calls, bor at 100 by default); batches of 100 load 3,000 events as fast as batches of 500 did
// (bench/dashboard.ts), since the browser sends several at once.
const BATCH_SIZE = 100;
const READS_PER_REFRESH = 3;
const LAGGING_BLOCKS = 12n;
const eventKey = (e: CoordinatorEvent) => `${e.transactionHash}:${e.logIndex}`;

export class ChainView {
  readonly client: PublicClient;
  // Replaced, never changed in place: a snapshot handed out stays as it was.
  private events: CoordinatorEvent[] = [];
  private times = new Map<bigint, bigint>();
  private seen = new Set<string>();
  /** The last block followed: events up to it are known. */
  private cursor: BlockRef | undefined;
  private readonly heads = new RecentHeads();
  private revision = 0;
  private lastReorg: Reorg | undefined;
  private weights = new Map<string, bigint>();
  private weightsRevision = -1;
  private chainId: number | undefined;
  /** The last snapshot handed out, handed out again while the RPC answers from behind it. */
  private last: Snapshot | undefined;

  constructor(private readonly config: DashboardConfig) {
    this.client = createPublicClient({
      transport: http(config.rpcRelay, { retryCount: 0, timeout: 8_000, batch: { batchSize: BATCH_SIZE } }),
    }) as PublicClient;
  }

  private get startBlock() {
    return BigInt(this.config.deployment.startBlock);
  }

  /** Fetches whatever is new since the last call (everything on the first) and returns the rebuilt state. One call
   * at a time. */
  async refresh(): Promise<Snapshot> {
    const d = this.config.deployment;
    const [chainId, first] = await Promise.all([this.chainId ?? this.client.getChainId(), this.client.getBlock()]);
    if (chainId !== d.chainId)
      throw new Error(`the RPC serves chain ${chainId}, the deployments file is for chain ${d.chainId}`);
    this.chainId = chainId;
    // A head below the last one followed that is a block already seen, unchanged, is an RPC node behind the others
    // (a load balancer's), not a reorganisation: keep showing what was known until it catches up.
    if (this.last && this.cursor && first.number < this.cursor.number && this.heads.hashAt(first.number) === first.hash)
      return this.last;
    let head: Block = first;
    for (let read = 1; !(await this.follow(head)); read++) {
      if (read === READS_PER_REFRESH)
        throw new Error(`the chain kept reorganising while blocks up to ${head.number} were read`);
      head = await this.client.getBlock();
    }
    const history = buildHistory(this.events, {
      times: this.times,
      governance: d.contracts.LockstepTimelock,
      registryComplete: true,
      coordinator: d.contracts.UpgradeCoordinator,
      fromBlock: this.startBlock,
      toBlock: this.cursor?.number,
    });
    if (this.weightsRevision !== this.revision) {
      this.weights = await this.readWeights(history, head.number);
      this.weightsRevision = this.revision;
    }
    this.last = {
      history,
      events: this.events,
      times: this.times,
      head: { number: head.number, timestamp: head.timestamp },
      weights: this.weights,
      chainId,
      revision: this.revision,
      lastReorg: this.lastReorg,
    };
    return this.last;
  }

  /**
   * Brings the events up to `head`, first rewinding if the last block followed has left the chain. Returns false,
   * keeping nothing new, when the blocks read do not agree with the logs (a reorg between the reads).
   */
  private async follow(head: Block): Promise<boolean> {
    if (this.cursor && !(await this.onChain(this.cursor, head))) await this.rewind(head);
    // The last few blocks are asked for again: a load-balanced RPC can answer from a node a block or two behind,
    // with no logs yet for blocks it has not seen; asking again later picks those up.
    const overlap = this.cursor ? this.cursor.number + 1n - LAGGING_BLOCKS : this.startBlock;
    const from = overlap < this.startBlock ? this.startBlock : overlap;
    if (from <= head.number) {
      const address = this.config.deployment.contracts.UpgradeCoordinator as Hex;
      const { logs } = await fetchLogs(this.client, { address, fromBlock: from, toBlock: head.number });
      const keys = new Set<string>();
      // A log can come back twice across page boundaries: keep the first.
      const fresh = decodeLogs(logs).filter(
        (e) => !this.seen.has(eventKey(e)) && !keys.has(eventKey(e)) && keys.add(eventKey(e)),
      );
      const blocks = await this.blocks(
        fresh.map((e) => e.blockNumber),
        head,
      );
      if (fresh.some((e) => blocks.get(e.blockNumber)!.hash !== e.blockHash)) return false;
      if (fresh.length > 0) {
        this.events = [...this.events, ...fresh].sort(byChainOrder);
        this.times = new Map(this.times);
        for (const e of fresh) this.times.set(e.blockNumber, blocks.get(e.blockNumber)!.timestamp);
        for (const k of keys) this.seen.add(k);
        this.revision++;
      }
      this.cursor = { number: head.number, hash: head.hash };
    }
    this.heads.remember(head);
    return true;
  }

  /** Whether block `b` is still on the chain whose head is `head`. */
  private async onChain(b: BlockRef, head: Block): Promise<boolean> {
    if (b.number > head.number) return false;
    if (b.number === head.number) return b.hash === head.hash;
    if (b.number === head.number - 1n) return b.hash === head.parentHash;
    try {
      return (await this.client.getBlock({ blockNumber: b.number })).hash === b.hash;
    } catch (e) {
      if (e instanceof BlockNotFoundError) return false; // the chain shrank between the reads
      throw e;
    }
  }

  /** Drops what the chain no longer holds: everything above the newest remembered block still on it. */
  private async rewind(head: Block) {
    const byNumber = new Map<bigint, BlockRef>();
    for (const e of this.events) byNumber.set(e.blockNumber, { number: e.blockNumber, hash: e.blockHash });
    for (const b of this.heads.refs()) if (!byNumber.has(b.number)) byNumber.set(b.number, b);
    const remembered = [...byNumber.values()]
      .filter((b) => b.number <= head.number)
      .sort((a, b) => (a.number < b.number ? -1 : 1));
    const i = await newestOnChain(remembered, (b) => this.onChain(b, head));
    const ancestor = i >= 0 ? remembered[i] : undefined;
    const last = ancestor?.number ?? this.startBlock - 1n;
    const kept = this.events.filter((e) => e.blockNumber <= last);
    this.lastReorg = { detectedAt: head.number, ancestor: last, dropped: this.events.length - kept.length };
    if (kept.length !== this.events.length) this.revision++;
    this.events = kept;
    this.seen = new Set(kept.map(eventKey));
    this.times = new Map([...this.times].filter(([n]) => n <= last));
    this.heads.dropAbove(last);
    this.cursor = ancestor;
  }

  /** The given blocks (and `head`), asked for all at once so that the transport batches the requests. */
  private async blocks(numbers: bigint[], head: Block): Promise<Map<bigint, Block>> {
    const wanted = [...new Set(numbers)].filter((n) => n !== head.number);
    const read = await Promise.all(wanted.map((n) => this.client.getBlock({ blockNumber: n })));
    return new Map<bigint, Block>([[head.number, head], ...read.map((b) => [b.number, b] as const)]);
  }

  private async readWeights(h: History, head: bigint): Promise<Map<string, bigint>> {
    const token = this.config.deployment.contracts.StakeToken as Hex;
    const latest = h.upgrades[h.upgrades.length - 1];
    const out = new Map<string, bigint>();
    // All at once, so that the transport batches them.
    await Promise.all(
      [...h.registry.values()].map(async (r) => {
        const account = r.operator as Hex;
        const weight =
          latest && latest.snapshot < head
            ? await this.client.readContract({
                address: token,
                abi: stakeTokenAbi,
                functionName: "getPastVotes",
                args: [account, latest.snapshot],
              })
            : await this.client.readContract({
                address: token,
                abi: stakeTokenAbi,
                functionName: "getVotes",
                args: [account],
              });
        out.set(r.operator.toLowerCase(), weight as bigint);
      }),
    );
    return out;
  }
}
