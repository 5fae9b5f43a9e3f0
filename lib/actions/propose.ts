// Submits a proposal to the Governor.
import type { Account, Address, Chain, Client, Transport } from "viem";
import { lockstepGovernorAbi } from "../abi/generated";
import { hashProposal, type Proposal } from "../governance";
import {
  sendContractCall,
  type SendContractCallErrorType,
  type SendContractCallReturnType,
  type SendOptions,
} from "./sendContractCall";

export type ProposeParameters = SendOptions & { governor: Address; proposal: Proposal };
export type ProposeReturnType = SendContractCallReturnType & { proposalId: bigint };
export type ProposeErrorType = SendContractCallErrorType;

export async function propose(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  { governor, proposal: p, ...options }: ProposeParameters,
): Promise<ProposeReturnType> {
  const sent = await sendContractCall(client, {
    ...options,
    address: governor,
    abi: lockstepGovernorAbi,
    functionName: "propose",
    args: [p.targets, p.values, p.calldatas, p.description],
  });
  return { ...sent, proposalId: hashProposal(p) };
}
