import { decodeEventLog, type Log, type DecodeEventLogReturnType } from "viem";
import { upgradeCoordinatorAbi } from "./abi/generated";

/** A coordinator event, decoded, with where it happened. */
export type CoordinatorEvent = DecodeEventLogReturnType<typeof upgradeCoordinatorAbi> & {
  blockNumber: bigint;
  blockHash: `0x${string}`;
  transactionHash: `0x${string}`;
  logIndex: number;
};

export type CoordinatorEventName = CoordinatorEvent["eventName"];

/** Decodes one coordinator log; returns undefined for a log the coordinator's ABI does not describe. */
export function decodeCoordinatorLog(log: Log): CoordinatorEvent | undefined {
  if (log.blockNumber == null || log.blockHash == null || log.transactionHash == null || log.logIndex == null) {
    throw new Error("cannot decode a pending log (no block, transaction or index yet)");
  }
  try {
    const decoded = decodeEventLog({ abi: upgradeCoordinatorAbi, data: log.data, topics: log.topics });
    return {
      ...decoded,
      blockNumber: log.blockNumber,
      blockHash: log.blockHash,
      transactionHash: log.transactionHash,
      logIndex: log.logIndex,
    } as CoordinatorEvent;
  } catch {
    return undefined;
  }
}

/** Orders events as the chain did: by block, then by position in the block. */
export function byChainOrder(
  a: { blockNumber: bigint; logIndex: number },
  b: { blockNumber: bigint; logIndex: number },
) {
  if (a.blockNumber !== b.blockNumber) return a.blockNumber < b.blockNumber ? -1 : 1;
  return a.logIndex - b.logIndex;
}
