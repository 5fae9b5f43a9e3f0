// Cancels a proposal while it is still Pending (only its proposer may).
import type { Account, Chain, Client, Transport } from "viem";
import {
  sendProposalStep,
  type SendProposalStepErrorType,
  type SendProposalStepParameters,
  type SendProposalStepReturnType,
} from "./sendProposalStep";

export type CancelProposalParameters = SendProposalStepParameters;
export type CancelProposalReturnType = SendProposalStepReturnType;
export type CancelProposalErrorType = SendProposalStepErrorType;

export function cancelProposal(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  parameters: CancelProposalParameters,
): Promise<CancelProposalReturnType> {
  return sendProposalStep(client, "cancel", parameters);
}
