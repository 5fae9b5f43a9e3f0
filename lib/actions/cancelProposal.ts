// Cancels a proposal while it is still Pending (only its proposer may).
import type { Account, Address, Chain, Client, Transport } from "viem";
import { lockstepGovernorAbi } from "../abi/generated";
import { proposalArgs, type Proposal } from "../governance";
import {
  sendContractCall,
  type SendContractCallErrorType,
  type SendContractCallReturnType,
  type SendOptions,
} from "./sendContractCall";

export type CancelProposalParameters = SendOptions & { governor: Address; proposal: Proposal };
export type CancelProposalReturnType = SendContractCallReturnType;
export type CancelProposalErrorType = SendContractCallErrorType;

export async function cancelProposal(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  { governor, proposal, ...options }: CancelProposalParameters,
): Promise<CancelProposalReturnType> {
  return sendContractCall(client, {
    ...options,
    address: governor,
    abi: lockstepGovernorAbi,
    functionName: "cancel",
    args: proposalArgs(proposal),
  });
}
