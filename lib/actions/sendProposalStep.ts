// One step of a proposal's life sent to the Governor with the proposal as it was proposed: queue, execute or cancel.
// The actions queueProposal, executeProposal and cancelProposal are this step, named.
import type { Account, Address, Chain, Client, Transport } from "viem";
import { lockstepGovernorAbi } from "../abi/generated";
import { proposalArgs, type Proposal } from "../governance";
import {
  sendContractCall,
  type SendContractCallErrorType,
  type SendContractCallReturnType,
  type SendOptions,
} from "./sendContractCall";

export type ProposalStep = "queue" | "execute" | "cancel";
export type SendProposalStepParameters = SendOptions & { governor: Address; proposal: Proposal };
export type SendProposalStepReturnType = SendContractCallReturnType;
export type SendProposalStepErrorType = SendContractCallErrorType;

export async function sendProposalStep(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  step: ProposalStep,
  { governor, proposal, ...options }: SendProposalStepParameters,
): Promise<SendProposalStepReturnType> {
  return sendContractCall(client, {
    ...options,
    address: governor,
    abi: lockstepGovernorAbi,
    functionName: step,
    args: proposalArgs(proposal),
  });
}
