// Executes a queued proposal once its time lock has passed (anyone may).
import type { Account, Chain, Client, Transport } from "viem";
import {
  sendProposalStep,
  type SendProposalStepErrorType,
  type SendProposalStepParameters,
  type SendProposalStepReturnType,
} from "./sendProposalStep";

export type ExecuteProposalParameters = SendProposalStepParameters;
export type ExecuteProposalReturnType = SendProposalStepReturnType;
export type ExecuteProposalErrorType = SendProposalStepErrorType;

export function executeProposal(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  parameters: ExecuteProposalParameters,
): Promise<ExecuteProposalReturnType> {
  return sendProposalStep(client, "execute", parameters);
}
