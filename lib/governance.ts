// The governance path as code: propose through the Governor, vote, queue, execute. Used by the tasks and the drill.
import { AbiCoder, Signer, keccak256, toUtf8Bytes } from "ethers";
import type { LockstepGovernor } from "../typechain-types";

export const PROPOSAL_STATES = [
  "Pending",
  "Active",
  "Canceled",
  "Defeated",
  "Succeeded",
  "Queued",
  "Expired",
  "Executed",
] as const;
export type ProposalStateName = (typeof PROPOSAL_STATES)[number];
export const SUPPORT = { against: 0, for: 1, abstain: 2 } as const;
export type SupportName = keyof typeof SUPPORT;

export interface Proposal {
  targets: string[];
  values: bigint[];
  calldatas: string[];
  description: string;
}

export function descriptionHash(description: string): string {
  return keccak256(toUtf8Bytes(description));
}

export async function proposalId(governor: LockstepGovernor, p: Proposal): Promise<bigint> {
  return governor.hashProposal(p.targets, p.values, p.calldatas, descriptionHash(p.description));
}

export async function stateName(governor: LockstepGovernor, id: bigint): Promise<ProposalStateName> {
  return PROPOSAL_STATES[Number(await governor.state(id))];
}

/** Submits `p`; returns its id. */
export async function propose(governor: LockstepGovernor, proposer: Signer, p: Proposal): Promise<bigint> {
  await (await governor.connect(proposer).propose(p.targets, p.values, p.calldatas, p.description)).wait();
  return proposalId(governor, p);
}

/**
 * Casts `voter`'s vote, with a quarter more gas than estimated: a vote that reaches quorum late pays for extending
 * the deadline, and one estimated just before another vote landed would run short.
 */
export async function vote(governor: LockstepGovernor, voter: Signer, id: bigint, support: SupportName, reason = "") {
  const g = governor.connect(voter);
  const headroom = (gas: bigint) => ({ gasLimit: (gas * 5n) / 4n });
  const tx = reason
    ? await g.castVoteWithReason(
        id,
        SUPPORT[support],
        reason,
        headroom(await g.castVoteWithReason.estimateGas(id, SUPPORT[support], reason)),
      )
    : await g.castVote(id, SUPPORT[support], headroom(await g.castVote.estimateGas(id, SUPPORT[support])));
  return tx.wait();
}

export async function queue(governor: LockstepGovernor, sender: Signer, p: Proposal) {
  return (
    await governor.connect(sender).queue(p.targets, p.values, p.calldatas, descriptionHash(p.description))
  ).wait();
}

export async function execute(governor: LockstepGovernor, sender: Signer, p: Proposal) {
  return (
    await governor.connect(sender).execute(p.targets, p.values, p.calldatas, descriptionHash(p.description))
  ).wait();
}

/** Where a proposal stands and the times that matter, in words. */
export async function describeProposal(governor: LockstepGovernor, id: bigint): Promise<Record<string, string>> {
  const [state, snapshot, deadline, eta, votes, clock] = await Promise.all([
    stateName(governor, id),
    governor.proposalSnapshot(id),
    governor.proposalDeadline(id),
    governor.proposalEta(id),
    governor.proposalVotes(id),
    governor.clock(),
  ]);
  const quorum = snapshot < clock ? await governor.quorum(snapshot) : undefined;
  return {
    proposal: id.toString(),
    state,
    "voting starts after block": snapshot.toString(),
    "voting ends at block": deadline.toString(),
    "current block": clock.toString(),
    "votes for / against / abstain": `${votes.forVotes} / ${votes.againstVotes} / ${votes.abstainVotes}`,
    quorum: quorum === undefined ? "known once voting starts" : quorum.toString(),
    "executable after": eta === 0n ? "not queued" : new Date(Number(eta) * 1000).toISOString(),
  };
}

/** Encodes a proposal's description with what it does, so voters can read it in any front end. */
export function proposalFor(target: string, calldata: string, description: string): Proposal {
  return { targets: [target], values: [0n], calldatas: [calldata], description };
}

export { AbiCoder };
