// Where a proposal stands and the numbers that matter, read from the Governor at the latest block.
import type { Address, Chain, Client, ReadContractErrorType, Transport } from "viem";
import { readContract } from "viem/actions";
import { lockstepGovernorAbi } from "../abi/generated";
import { PROPOSAL_STATES, type ProposalStateName } from "../governance";

export type GetProposalParameters = { governor: Address; proposalId: bigint };
export type GetProposalReturnType = {
  id: bigint;
  state: ProposalStateName;
  /** Voting power is counted at this block; voting opens after it. */
  snapshot: bigint;
  /** Voting ends at this block. */
  deadline: bigint;
  /** When a queued proposal becomes executable (seconds); 0 while not queued. */
  eta: bigint;
  votes: { for: bigint; against: bigint; abstain: bigint };
  /** The Governor's clock (block number) when read. */
  clock: bigint;
  /** Known once voting has started. */
  quorum?: bigint;
};
/** An unknown proposal fails with the Governor's GovernorNonexistentProposal. */
export type GetProposalErrorType = ReadContractErrorType;

export async function getProposal(
  client: Client<Transport, Chain | undefined>,
  { governor, proposalId }: GetProposalParameters,
): Promise<GetProposalReturnType> {
  const contract = { address: governor, abi: lockstepGovernorAbi } as const;
  const [state, snapshot, deadline, eta, [against, forVotes, abstain], clock] = await Promise.all([
    readContract(client, { ...contract, functionName: "state", args: [proposalId] }),
    readContract(client, { ...contract, functionName: "proposalSnapshot", args: [proposalId] }),
    readContract(client, { ...contract, functionName: "proposalDeadline", args: [proposalId] }),
    readContract(client, { ...contract, functionName: "proposalEta", args: [proposalId] }),
    readContract(client, {
      address: governor,
      abi: lockstepGovernorAbi,
      functionName: "proposalVotes",
      args: [proposalId],
    }),
    readContract(client, { address: governor, abi: lockstepGovernorAbi, functionName: "clock" }),
  ]);
  const quorum =
    snapshot < clock
      ? await readContract(client, {
          address: governor,
          abi: lockstepGovernorAbi,
          functionName: "quorum",
          args: [snapshot],
        })
      : undefined;
  return {
    id: proposalId,
    state: PROPOSAL_STATES[Number(state)],
    snapshot,
    deadline,
    eta,
    votes: { for: forVotes, against, abstain },
    clock: BigInt(clock),
    quorum,
  };
}
