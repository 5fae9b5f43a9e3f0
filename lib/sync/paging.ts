// eth_getLogs over a long range, page by page. Written once: the follower, the audit and the bench use it.
import type { Log } from "viem";
import type { ChainSource, LogRange } from "./types";

/** Blocks per eth_getLogs request when the caller does not say. */
export const DEFAULT_PAGE_SIZE = 5_000n;

export interface PagingOptions {
  /** The most blocks asked for at once (default DEFAULT_PAGE_SIZE). A refused request is asked again for half the
   * blocks, down to one block; the smaller size is kept for the rest of the range. */
  pageSize?: bigint;
}

/**
 * Every log of `range.addresses` in [fromBlock, toBlock], in the order the node returns them, asked for page by
 * page. Providers refuse ranges with too many results: a refused page is split in half until it passes; a one-block
 * page that is refused throws the node's error.
 */
export async function getLogsPaged(
  source: Pick<ChainSource, "logs">,
  range: LogRange,
  options: PagingOptions = {},
): Promise<Log[]> {
  let page = options.pageSize ?? DEFAULT_PAGE_SIZE;
  if (page < 1n) throw new RangeError(`page size must be at least 1 block, got ${page}`);
  const logs: Log[] = [];
  for (let from = range.fromBlock; from <= range.toBlock;) {
    const to = from + page - 1n > range.toBlock ? range.toBlock : from + page - 1n;
    try {
      logs.push(...(await source.logs({ fromBlock: from, toBlock: to, addresses: range.addresses })));
      from = to + 1n;
    } catch (e) {
      if (page === 1n) throw e;
      page = (to - from + 1n) / 2n || 1n;
    }
  }
  return logs;
}
