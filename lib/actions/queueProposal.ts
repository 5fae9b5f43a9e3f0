// Queues a succeeded proposal in the timelock.
import type { Account, Chain, Client, Transport } from "viem";
import {
  sendProposalStep,
  type SendProposalStepErrorType,
  type SendProposalStepParameters,
  type SendProposalStepReturnType,
} from "./sendProposalStep";

export type QueueProposalParameters = SendProposalStepParameters;
export type QueueProposalReturnType = SendProposalStepReturnType;
export type QueueProposalErrorType = SendProposalStepErrorType;

export function queueProposal(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  parameters: QueueProposalParameters,
): Promise<QueueProposalReturnType> {
  return sendProposalStep(client, "queue", parameters);
}
