// The Governor's vocabulary: proposal states, support values, and the proposal (calls and description) that the
// governance actions (lib/actions/propose.ts, castVote.ts, queueProposal.ts ...) take. Pure: no client here.
import { encodeAbiParameters, keccak256, stringToBytes, type Address, type Hex } from "viem";

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
  targets: readonly Address[];
  values: readonly bigint[];
  calldatas: readonly Hex[];
  description: string;
}

export function descriptionHash(description: string): Hex {
  return keccak256(stringToBytes(description));
}

/** The proposal's id, as Governor.hashProposal computes it. */
export function hashProposal(p: Proposal): bigint {
  return BigInt(
    keccak256(
      encodeAbiParameters(
        [{ type: "address[]" }, { type: "uint256[]" }, { type: "bytes[]" }, { type: "bytes32" }],
        [p.targets, p.values, p.calldatas, descriptionHash(p.description)],
      ),
    ),
  );
}

/** A proposal of one call; the description says what it does, so voters can read it in any front end. */
export function proposalFor(target: Address, calldata: Hex, description: string): Proposal {
  return { targets: [target], values: [0n], calldatas: [calldata], description };
}

/** The arguments queue, execute and cancel take: the calls and the description's hash. */
export function proposalArgs(p: Proposal) {
  return [p.targets, p.values, p.calldatas, descriptionHash(p.description)] as const;
}
