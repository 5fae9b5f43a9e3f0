// Relays a batch of signed attestations (anyone may send it; the coordinator checks every signature).
import type { Account, Address, Chain, Client, Hex, Transport } from "viem";
import { upgradeCoordinatorAbi } from "../abi/generated";
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
export type RelayAttestationsReturnType = SendContractCallReturnType;
export type RelayAttestationsErrorType = SendContractCallErrorType;

export async function relayAttestations(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  { coordinator, batch, ...options }: RelayAttestationsParameters,
): Promise<RelayAttestationsReturnType> {
  return sendContractCall(client, {
    ...options,
    address: coordinator,
    abi: upgradeCoordinatorAbi,
    functionName: "relayAttestations",
    args: [batch],
  });
}
