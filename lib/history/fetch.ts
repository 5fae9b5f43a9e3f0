// Fetching a coordinator's logs and block times, and the whole history loaded in one call.
import type { Log, PublicClient } from "viem";
import { byChainOrder, decodeCoordinatorLog, type CoordinatorEvent } from "../events";
import { getLogsPaged, viemSource, type Page } from "../sync";
import { buildHistory } from "./build";
import type { History } from "./model";

export interface FetchOptions {
  address: `0x${string}`;
  fromBlock: bigint;
  toBlock?: bigint;
  /** Blocks per eth_getLogs request (halved on a refused request; lib/sync DEFAULT_PAGE_SIZE when not given). */
  pageSize?: bigint;
}

/** Every log of the contract at `address` from `fromBlock` to `toBlock` (default: the head), fetched page by page
 * with lib/sync's paging (a refused page is asked for in halves). */
export async function fetchLogs(client: PublicClient, o: FetchOptions): Promise<{ logs: Log[]; toBlock: bigint }> {
  const toBlock = o.toBlock ?? (await client.getBlockNumber());
  const range = { addresses: [o.address], fromBlock: o.fromBlock, toBlock };
  return { logs: await getLogsPaged(viemSource(client), range, { pageSize: o.pageSize }), toBlock };
}

/** Timestamps of the given blocks, a few requests at a time. */
export async function fetchBlockTimes(
  client: PublicClient,
  blocks: Iterable<bigint>,
  concurrency = 8,
): Promise<Map<bigint, bigint>> {
  const todo = [...new Set(blocks)];
  const out = new Map<bigint, bigint>();
  let next = 0;
  const worker = async () => {
    while (next < todo.length) {
      const n = todo[next++];
      out.set(n, (await client.getBlock({ blockNumber: n })).timestamp);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));
  return out;
}

export interface LoadOptions extends FetchOptions {
  governance?: string;
  /** The fetch starts at the deployment's first block, so every registry event is included. */
  fromDeployment?: boolean;
}

/** Fetches, decodes and folds: the whole history of the coordinator at `address`. */
export async function loadHistory(client: PublicClient, o: LoadOptions): Promise<History> {
  const { logs, toBlock } = await fetchLogs(client, o);
  const events = decodeLogs(logs);
  const times = await fetchBlockTimes(
    client,
    events.map((e) => e.blockNumber),
  );
  return buildHistory(events, {
    times,
    governance: o.governance,
    registryComplete: o.fromDeployment ?? false,
    coordinator: o.address,
    fromBlock: o.fromBlock,
    toBlock,
  });
}

/** What a follower of the coordinator's logs keeps at each block. Replaced, never changed in place: a page with no new
 * event keeps the same arrays. */
export interface FollowedEvents {
  /** Every coordinator event up to the block, in chain order. */
  events: CoordinatorEvent[];
  /** The time of every block in `events`. */
  times: Map<bigint, bigint>;
}

/** Folds a page of coordinator logs (lib/sync's follower hands them over) into what was followed before it. */
export function foldEventPage(before: FollowedEvents, page: Page): { state: FollowedEvents } {
  const fresh = decodeLogs(page.logs);
  if (fresh.length === 0) return { state: before };
  const times = new Map(before.times);
  for (const e of fresh) times.set(e.blockNumber, page.blocks.get(e.blockNumber)!.timestamp);
  return { state: { events: [...before.events, ...fresh].sort(byChainOrder), times } };
}

/** Decodes coordinator logs (logs of other contracts or events are dropped), in chain order. */
export function decodeLogs(logs: Log[]): CoordinatorEvent[] {
  return logs
    .map((l) => decodeCoordinatorLog(l))
    .filter((e): e is CoordinatorEvent => e !== undefined)
    .sort(byChainOrder);
}
