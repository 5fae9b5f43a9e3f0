// Casts a vote, with a reason when one is given; sent with the quarter of gas headroom every action has (a vote that
// reaches quorum late pays for extending the deadline).
import type { Account, Address, Chain, Client, Transport } from "viem";
import { lockstepGovernorAbi } from "../abi/generated";
import { SUPPORT, type SupportName } from "../governance";
import {
  sendContractCall,
  type SendContractCallErrorType,
  type SendContractCallReturnType,
  type SendOptions,
} from "./sendContractCall";

export type CastVoteParameters = SendOptions & {
  governor: Address;
  proposalId: bigint;
  /** for, against, abstain, or the Governor's number for it. */
  support: SupportName | number;
  /** Kept on chain with the vote; empty: none. */
  reason?: string;
};
export type CastVoteReturnType = SendContractCallReturnType;
export type CastVoteErrorType = SendContractCallErrorType;

export async function castVote(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  { governor, proposalId, support, reason, ...options }: CastVoteParameters,
): Promise<CastVoteReturnType> {
  const value = typeof support === "number" ? support : SUPPORT[support];
  return sendContractCall(client, {
    ...options,
    address: governor,
    abi: lockstepGovernorAbi,
    ...(reason
      ? { functionName: "castVoteWithReason", args: [proposalId, value, reason] }
      : { functionName: "castVote", args: [proposalId, value] }),
  });
}
