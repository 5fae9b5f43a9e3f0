// Relays a batch of signed attestations (anyone may send it; the coordinator checks every signature).
import { parseEventLogs, type Account, type Address, type Chain, type Client, type Hex, type Transport } from "viem";
import { upgradeCoordinatorAbi } from "../abi/generated";
import { SkipReason } from "../coordinator";
import {
  sendContractCall,
  type SendContractCallErrorType,
  type SendContractCallReturnType,
  type SendOptions,
} from "./sendContractCall";

export type RelayAttestationsParameters = SendOptions & {
  coordinator: Address;
  /** Packed attestations (lib/actions/packAttestations.ts, or lib/actions/relayFile.ts relayBatch). */
  batch: Hex;
};
export type RelayAttestationsReturnType = SendContractCallReturnType & {
  /** Items the coordinator counted. */
  accepted: number;
  /** Items it skipped (stale, front-run, no longer applicable...), each with the reason, in batch order. */
  skipped: { operator: Address; upgradeId: bigint; reason: SkipReason }[];
};
export type RelayAttestationsErrorType = SendContractCallErrorType;

export async function relayAttestations(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  { coordinator, batch, ...options }: RelayAttestationsParameters,
): Promise<RelayAttestationsReturnType> {
  const sent = await sendContractCall(client, {
    ...options,
    address: coordinator,
    abi: upgradeCoordinatorAbi,
    functionName: "relayAttestations",
    args: [batch],
  });
  const logs = parseEventLogs({
    abi: upgradeCoordinatorAbi,
    logs: sent.receipt.logs.filter((l) => l.address.toLowerCase() === coordinator.toLowerCase()),
  });
  let accepted = 0;
  const skipped: RelayAttestationsReturnType["skipped"] = [];
  for (const log of logs) {
    if (log.eventName === "AttestationsRelayed") accepted = Number(log.args.accepted);
    if (log.eventName === "AttestationSkipped") {
      skipped.push({ operator: log.args.operator, upgradeId: log.args.upgradeId, reason: log.args.reason });
    }
  }
  return { ...sent, accepted, skipped };
}
