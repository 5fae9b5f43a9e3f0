// The ChainSource over a viem PublicClient.
import { BlockNotFoundError, type PublicClient } from "viem";
import type { ChainBlock, ChainSource, LogRange } from "./types";

/** Reads the chain through `client`. Requests made together are batched when the client's transport batches. */
export function viemSource(client: PublicClient): ChainSource {
  const header = (b: {
    number: bigint | null;
    hash: `0x${string}` | null;
    parentHash: `0x${string}`;
    timestamp: bigint;
  }) => {
    if (b.number === null || b.hash === null) throw new Error("the node returned a pending block");
    return { number: b.number, hash: b.hash, parentHash: b.parentHash, timestamp: b.timestamp } satisfies ChainBlock;
  };
  return {
    head: async () => header(await client.getBlock()),
    block: async (number) => {
      try {
        return header(await client.getBlock({ blockNumber: number }));
      } catch (e) {
        if (e instanceof BlockNotFoundError) return undefined;
        throw e;
      }
    },
    logs: ({ fromBlock, toBlock, addresses }: LogRange) =>
      client.getLogs({ address: [...addresses], fromBlock, toBlock }),
  };
}
