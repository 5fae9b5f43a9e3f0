// The dashboard's view of the chain: the coordinator's whole history, folded from logs with lib/history's reducer,
// then followed block by block with lib/sync's follower, which rewinds when the chain reorganises. New events are
// applied to the history; it is folded anew only when events went away or came in out of order (a reorg, a lagging
// node's late logs). Stake weights are the
// only contract reads (the logs carry weights only once attested).
import { createPublicClient, http, type PublicClient } from "viem";
import {
  apply,
  auditChecks,
  foldEventPage,
  initialState,
  settle,
  type BuildOptions,
  type FollowedEvents,
  type History,
  type HistoryState,
} from "../../lib/history";
import type { CoordinatorEvent } from "../../lib/events";
import { stakeTokenAbi } from "../../lib/abi/generated";
import {
  Follower,
  MemoryCheckpointStore,
  ReorgTooDeepError,
  viemSource,
  type ChainBlock,
  type ChainSource,
  type FollowerOptions,
  type Hex,
  type PollResult,
} from "../../lib/sync";
import type { DashboardConfig } from "./dashboardConfig";

export interface Snapshot {
  /** The live fold: the next refresh that brings new events applies them to it in place. */
  history: History;
  /** Every decoded coordinator event, in chain order. */
  events: CoordinatorEvent[];
  times: Map<bigint, bigint>;
  /** The block shown: every event up to it. Its hash and parent hash let the Governor view follow to the same block. */
  head: { number: bigint; timestamp: bigint; hash: Hex; parentHash: Hex };
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

/** What the follower keeps at each block it followed (lib/history): a snapshot handed out stays as it was, and a page
 * with no new event keeps the same arrays (so `revision` does not move). */
type Followed = FollowedEvents;

// JSON-RPC batches: a cold load asks for one block per event block and one weight per validator, hundreds or
// thousands of calls that would otherwise each be an HTTP round trip through the relay. Nodes cap a batch (geth
// at 1,000 calls, bor at 100 by default); batches of 100 load 3,000 events as fast as batches of 500 did
// (bench/dashboard.ts), since the browser sends several at once.
const BATCH_SIZE = 100;
/** How many heads a refresh reads while the chain keeps reorganising under it before it gives up. */
export const READS_PER_REFRESH = 3;
/** The last blocks' logs are asked for again on every refresh: a load-balanced RPC can answer from a node a block
 * or two behind, with no logs yet for blocks it has not seen; asking again later picks those up. */
export const LAGGING_BLOCKS = 12;

/**
 * A contract's logs as a dashboard view follows them (lib/sync's follower): from the deployment's start block, kept
 * in memory (`remember` blocks back, default 256), the last LAGGING_BLOCKS asked for again on every poll.
 */
export class LogFollower<S> {
  private follower!: Follower<S>;

  constructor(private readonly o: Omit<FollowerOptions<S>, "store" | "reaskBlocks"> & { remember?: number }) {
    this.restart();
  }

  private restart() {
    const { remember, ...options } = this.o;
    this.follower = new Follower<S>({
      ...options,
      store: new MemoryCheckpointStore<S>(remember),
      reaskBlocks: LAGGING_BLOCKS,
    });
  }

  /** The state as of the last block followed. */
  state(): Promise<S> {
    return this.follower.state();
  }

  /**
   * Follows the chain up to `head`. A reorg deeper than every block remembered starts again from the start block:
   * `reloaded` is then the state the follower held before.
   */
  async poll(head: ChainBlock): Promise<PollResult<S> & { reloaded?: S }> {
    try {
      return await this.follower.poll({ head });
    } catch (e) {
      if (!(e instanceof ReorgTooDeepError)) throw e;
      const reloaded = await this.follower.state();
      this.restart();
      return { ...(await this.follower.poll({ head })), reloaded };
    }
  }
}

/** The JSON-RPC calls in a request body: one, or a batch's length. */
function rpcCallsIn(body: unknown): number {
  if (typeof body !== "string") return 1;
  try {
    const parsed = JSON.parse(body) as unknown;
    return Array.isArray(parsed) ? parsed.length : 1;
  } catch {
    return 1;
  }
}

/** Multicall3, at the address it has on every chain it was deployed to. */
const MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11" as const;

export class ChainView {
  readonly client: PublicClient;
  /** JSON-RPC calls made so far (batched or not). */
  calls = 0;
  private readonly source: ChainSource;
  private readonly follower: LogFollower<Followed>;
  /** The events of the last snapshot handed out: `revision` moves when the follower's differ. */
  private shown: CoordinatorEvent[] = [];
  /** The history of `shown`, folded by lib/history's reducer. */
  private folded: HistoryState | undefined;
  private revision = 0;
  private lastReorg: Reorg | undefined;
  private weights = new Map<string, bigint>();
  private weightsRevision = -1;
  /** Votes at a past snapshot block never change: read once per operator and snapshot ("<snapshot>:<operator>"). */
  private pastVotes = new Map<string, bigint>();
  /** Whether Multicall3 is deployed on this chain (asked once): weights are then read in one call. */
  private multicall: Promise<boolean> | undefined;
  private chainId: number | undefined;
  /** The last snapshot handed out, handed out again while the RPC answers from behind it. */
  private last: Snapshot | undefined;

  /** `remember`: the blocks followed that a reorg can rewind to (default 256, one a refresh that moved); a reorg
   * deeper than those reloads everything from the start block. */
  constructor(
    private readonly config: DashboardConfig,
    private readonly options: { remember?: number } = {},
  ) {
    this.client = createPublicClient({
      transport: http(config.rpcRelay, {
        retryCount: 0,
        timeout: 8_000,
        batch: { batchSize: BATCH_SIZE },
        // Every JSON-RPC call this page makes goes through here: counted, so the page can hold to its budget.
        onFetchRequest: (_request, init) => {
          this.calls += rpcCallsIn(init.body);
        },
      }),
    }) as PublicClient;
    this.source = viemSource(this.client);
    this.follower = new LogFollower<Followed>({
      source: this.source,
      remember: this.options.remember,
      addresses: [this.config.deployment.contracts.UpgradeCoordinator as Hex],
      startBlock: this.startBlock,
      initial: () => ({ events: [], times: new Map() }),
      handlers: {
        block: foldEventPage,
        reorg: ({ detectedAt, ancestor, orphaned }) => {
          // Votes at a snapshot block the reorganisation may have replaced are read again.
          this.pastVotes.clear();
          this.lastReorg = {
            detectedAt,
            ancestor: ancestor.block,
            dropped: orphaned.state.events.length - ancestor.state.events.length,
          };
        },
      },
    });
  }

  private get startBlock() {
    return BigInt(this.config.deployment.startBlock);
  }

  /** Fetches whatever is new since the last call (everything on the first) and returns the rebuilt state. One call
   * at a time. */
  async refresh(): Promise<Snapshot> {
    const d = this.config.deployment;
    const [chainId, first] = await Promise.all([this.chainId ?? this.client.getChainId(), this.source.head()]);
    if (chainId !== d.chainId)
      throw new Error(`the RPC serves chain ${chainId}, the deployments file is for chain ${d.chainId}`);
    this.chainId = chainId;
    // The same head as last time: nothing can have changed, and one call was enough to know it.
    if (this.last && first.hash === this.last.head.hash) return this.last;
    let head = first;
    let followed = await this.follow(head);
    // A node behind the others (a load balancer's): keep showing what was known until it catches up.
    if (followed.status === "behind" && this.last) return this.last;
    for (let read = 1; followed.status === "raced"; read++) {
      if (read === READS_PER_REFRESH)
        throw new Error(`the chain kept reorganising while blocks up to ${head.number} were read`);
      head = await this.source.head();
      followed = await this.follow(head);
    }
    const { events, times } = followed.state;
    if (events !== this.shown || !this.folded) {
      this.revision++;
      this.folded = this.fold(events, times);
      this.shown = events;
    }
    const history = this.folded.history;
    history.toBlock = followed.processedTo;
    if (this.weightsRevision !== this.revision) {
      this.weights = await this.readWeights(history, head.number);
      this.weightsRevision = this.revision;
    }
    this.last = {
      history,
      events,
      times,
      head: { number: head.number, timestamp: head.timestamp, hash: head.hash, parentHash: head.parentHash },
      weights: this.weights,
      chainId,
      revision: this.revision,
      lastReorg: this.lastReorg,
    };
    return this.last;
  }

  /**
   * The history of `events`: those after the ones shown are applied to the last fold when the shown ones are still
   * their beginning (the follower only appends, and sorts), else everything is folded anew. The follower reads whole
   * blocks, so no automatic stop waits for an attestation of its transaction in a later page: each fold is settled.
   */
  private fold(events: CoordinatorEvent[], times: Map<bigint, bigint>): HistoryState {
    const d = this.config.deployment;
    const shown = this.shown;
    const n = shown.length;
    const appended = this.folded && events.length >= n && (n === 0 || events[n - 1] === shown[n - 1]);
    const options: BuildOptions = {
      times,
      governance: d.contracts.LockstepTimelock,
      registryComplete: true,
      coordinator: d.contracts.UpgradeCoordinator,
      fromBlock: this.startBlock,
    };
    const state = appended ? apply(this.folded!, events.slice(n), times) : apply(initialState(options), events);
    settle(state);
    state.history.checks = auditChecks(state);
    return state;
  }

  /** Follows the chain up to `head`; a reorg deeper than every block remembered reloads from the start block. */
  private async follow(head: ChainBlock): Promise<PollResult<Followed>> {
    const followed = await this.follower.poll(head);
    if (followed.reloaded) {
      const dropped = followed.reloaded.events.length;
      this.lastReorg = { detectedAt: head.number, ancestor: this.startBlock - 1n, dropped };
    }
    return followed;
  }

  private async readWeights(h: History, head: bigint): Promise<Map<string, bigint>> {
    const token = this.config.deployment.contracts.StakeToken as Hex;
    const latest = h.upgrades[h.upgrades.length - 1];
    const past = latest !== undefined && latest.snapshot < head;
    const key = (operator: string) => `${latest?.snapshot}:${operator.toLowerCase()}`;
    const out = new Map<string, bigint>();
    // Past votes already read are kept; current votes (before any upgrade) can change and are read again.
    const wanted = [...h.registry.values()].filter((r) => {
      const known = past ? this.pastVotes.get(key(r.operator)) : undefined;
      if (known !== undefined) out.set(r.operator.toLowerCase(), known);
      return known === undefined;
    });
    if (!wanted.length) return out;
    const contracts = wanted.map((r) =>
      past
        ? {
            address: token,
            abi: stakeTokenAbi,
            functionName: "getPastVotes" as const,
            args: [r.operator as Hex, latest.snapshot] as const,
          }
        : { address: token, abi: stakeTokenAbi, functionName: "getVotes" as const, args: [r.operator as Hex] as const },
    );
    this.multicall ??= this.client
      .getCode({ address: MULTICALL3 })
      .then((code) => !!code && code !== "0x")
      .catch(() => false);
    // One call for all through Multicall3 where the chain has it; else one each, all at once so the transport
    // batches them.
    const weights = (await this.multicall)
      ? await this.client.multicall({
          contracts,
          allowFailure: false,
          multicallAddress: MULTICALL3,
          batchSize: 8_192,
        })
      : await Promise.all(
          wanted.map((r) =>
            past
              ? this.client.readContract({
                  address: token,
                  abi: stakeTokenAbi,
                  functionName: "getPastVotes",
                  args: [r.operator as Hex, latest.snapshot],
                })
              : this.client.readContract({
                  address: token,
                  abi: stakeTokenAbi,
                  functionName: "getVotes",
                  args: [r.operator as Hex],
                }),
          ),
        );
    wanted.forEach((r, i) => {
      const w = weights[i] as bigint;
      out.set(r.operator.toLowerCase(), w);
      if (past) this.pastVotes.set(key(r.operator), w);
    });
    return out;
  }
}
