// Executes a queued proposal once its time lock has passed (anyone may).
import type { Account, Address, Chain, Client, Transport } from "viem";
import { lockstepGovernorAbi } from "../abi/generated";
import { proposalArgs, type Proposal } from "../governance";
import {
  sendContractCall,
  type SendContractCallErrorType,
  type SendContractCallReturnType,
  type SendOptions,
} from "./sendContractCall";

export type ExecuteProposalParameters = SendOptions & { governor: Address; proposal: Proposal };
export type ExecuteProposalReturnType = SendContractCallReturnType;
export type ExecuteProposalErrorType = SendContractCallErrorType;

export async function executeProposal(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  { governor, proposal, ...options }: ExecuteProposalParameters,
): Promise<ExecuteProposalReturnType> {
  return sendContractCall(client, {
    ...options,
    address: governor,
    abi: lockstepGovernorAbi,
    functionName: "execute",
    args: proposalArgs(proposal),
  });
}
