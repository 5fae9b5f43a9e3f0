// Queues a succeeded proposal in the timelock.
import type { Account, Address, Chain, Client, Transport } from "viem";
import { lockstepGovernorAbi } from "../abi/generated";
import { proposalArgs, type Proposal } from "../governance";
import {
  sendContractCall,
  type SendContractCallErrorType,
  type SendContractCallReturnType,
  type SendOptions,
} from "./sendContractCall";

export type QueueProposalParameters = SendOptions & { governor: Address; proposal: Proposal };
export type QueueProposalReturnType = SendContractCallReturnType;
export type QueueProposalErrorType = SendContractCallErrorType;

export async function queueProposal(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  { governor, proposal, ...options }: QueueProposalParameters,
): Promise<QueueProposalReturnType> {
  return sendContractCall(client, {
    ...options,
    address: governor,
    abi: lockstepGovernorAbi,
    functionName: "queue",
    args: proposalArgs(proposal),
  });
}
