// The governance lifecycle every contract test can share: give voters stake, propose through the Governor, vote,
// queue in the timelock, wait out its delay, execute. Everything goes through the deployed governor's own API
// (hashProposal, state, proposalSnapshot, proposalDeadline, proposalEta), so a test that uses it exercises the
// real path a stakeholder's wallet takes, not an impersonated timelock.
import { mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { BigNumberish, BytesLike, ContractTransactionReceipt, Interface, Signer, id } from "ethers";
import { ethers } from "hardhat";
import { PROPOSAL_STATES, type ProposalStateName } from "../../lib/governance";
import type { Deployed } from "./system";

/** GovernorCountingSimple's vote types. */
export enum VoteType {
  Against = 0,
  For = 1,
  Abstain = 2,
}

/** One voter's ballot; a reason makes it `castVoteWithReason`. */
export interface Ballot {
  voter: Signer;
  support: VoteType;
  reason?: string;
}

/** What a proposal executes. */
export interface ProposalCalls {
  targets: string[];
  values: BigNumberish[];
  calldatas: BytesLike[];
  description: string;
}

export interface Proposal extends ProposalCalls {
  proposalId: bigint;
  descriptionHash: string;
}

export interface GovernedProposal extends Proposal {
  receipts: {
    propose: ContractTransactionReceipt;
    votes: ContractTransactionReceipt[];
    queue: ContractTransactionReceipt;
    execute: ContractTransactionReceipt;
  };
}

/** The state of a proposal by name (e.g. "Succeeded"). */
export async function proposalState(d: Deployed, proposalId: bigint): Promise<ProposalStateName> {
  return PROPOSAL_STATES[Number(await d.governor.state(proposalId))];
}

function mustReceipt(r: ContractTransactionReceipt | null): ContractTransactionReceipt {
  if (r === null) throw new Error("transaction was not mined");
  return r;
}

/**
 * Gives each voter `amount` of stake from the deployer and has it delegate to itself, then mines a block so the
 * votes are checkpointed before any proposal made afterwards takes its snapshot.
 */
export async function delegateAll(d: Deployed, voters: Signer[], amount: bigint | bigint[]): Promise<void> {
  for (let i = 0; i < voters.length; i++) {
    const voter = voters[i];
    const address = await voter.getAddress();
    const value = Array.isArray(amount) ? amount[i] : amount;
    await (await d.token.connect(d.deployer).transfer(address, value)).wait();
    await (await d.token.connect(voter).delegate(address)).wait();
  }
  await mine(1);
}

/** Proposes `calls` from `proposer` and returns the proposal id, checked against the governor's hashProposal. */
export async function propose(
  d: Deployed,
  proposer: Signer,
  calls: ProposalCalls,
): Promise<Proposal & { receipt: ContractTransactionReceipt }> {
  const { targets, values, calldatas, description } = calls;
  const descriptionHash = id(description);
  const proposalId = await d.governor.hashProposal(targets, values, calldatas, descriptionHash);
  const receipt = mustReceipt(
    await (await d.governor.connect(proposer).propose(targets, values, calldatas, description)).wait(),
  );
  return { ...calls, proposalId, descriptionHash, receipt };
}

/** Mines until the proposal's voting has opened (past its snapshot, i.e. past the voting delay). */
export async function mineUntilVotingOpens(d: Deployed, proposalId: bigint): Promise<void> {
  const snapshot = await d.governor.proposalSnapshot(proposalId);
  const now = BigInt(await ethers.provider.getBlockNumber());
  // The vote is open once the clock is past the snapshot (views read the clock at the latest block).
  if (now <= snapshot) await mine(snapshot - now + 1n);
}

/** Casts every ballot, with its reason when it has one. */
export async function castVotes(
  d: Deployed,
  proposalId: bigint,
  ballots: Ballot[],
): Promise<ContractTransactionReceipt[]> {
  const receipts: ContractTransactionReceipt[] = [];
  for (const b of ballots) {
    const governor = d.governor.connect(b.voter);
    const tx =
      b.reason === undefined
        ? await governor.castVote(proposalId, b.support)
        : await governor.castVoteWithReason(proposalId, b.support, b.reason);
    receipts.push(mustReceipt(await tx.wait()));
  }
  return receipts;
}

/** Mines until the proposal's deadline (as extended by late-quorum protection) has passed. */
export async function mineUntilVotingEnds(d: Deployed, proposalId: bigint): Promise<void> {
  const deadline = await d.governor.proposalDeadline(proposalId);
  const now = BigInt(await ethers.provider.getBlockNumber());
  if (now <= deadline) await mine(deadline - now + 1n);
}

/** Queues a succeeded proposal in the timelock. */
export async function queue(d: Deployed, p: Proposal, by: Signer = d.deployer): Promise<ContractTransactionReceipt> {
  return mustReceipt(
    await (await d.governor.connect(by).queue(p.targets, p.values, p.calldatas, p.descriptionHash)).wait(),
  );
}

/** Moves the chain's clock to the proposal's eta, so the next transaction may execute it. */
export async function waitForEta(d: Deployed, proposalId: bigint): Promise<void> {
  const eta = await d.governor.proposalEta(proposalId);
  if (eta === 0n) throw new Error(`proposal ${proposalId} is not queued`);
  if (BigInt(await time.latest()) < eta) await time.increaseTo(eta);
}

/** Executes a queued proposal whose eta has come. */
export async function execute(d: Deployed, p: Proposal, by: Signer = d.deployer): Promise<ContractTransactionReceipt> {
  return mustReceipt(
    await (await d.governor.connect(by).execute(p.targets, p.values, p.calldatas, p.descriptionHash)).wait(),
  );
}

/**
 * The whole lifecycle: the first ballot's voter proposes (or `proposer`), the vote opens, every ballot is cast,
 * the vote closes, the proposal is queued, the timelock delay passes and it is executed. Throws, naming the
 * state, when the proposal did not succeed.
 */
export async function governAndExecute(
  d: Deployed,
  ballots: Ballot[],
  calls: ProposalCalls,
  proposer: Signer = ballots[0].voter,
): Promise<GovernedProposal> {
  const p = await propose(d, proposer, calls);
  await mineUntilVotingOpens(d, p.proposalId);
  const votes = await castVotes(d, p.proposalId, ballots);
  await mineUntilVotingEnds(d, p.proposalId);
  const state = await proposalState(d, p.proposalId);
  if (state !== "Succeeded") throw new Error(`proposal "${calls.description}" ended ${state}, not Succeeded`);
  const queued = await queue(d, p);
  await waitForEta(d, p.proposalId);
  const executed = await execute(d, p);
  const { receipt, ...proposal } = p;
  return { ...proposal, receipts: { propose: receipt, votes, queue: queued, execute: executed } };
}

/** `governAndExecute` for one call on the coordinator, e.g. `governCoordinator(d, ballots, "schedule", [m], "...")`. */
export async function governCoordinator(
  d: Deployed,
  ballots: Ballot[],
  fn: string,
  args: unknown[],
  description: string,
): Promise<GovernedProposal> {
  return governAndExecute(d, ballots, {
    targets: [await d.coordinator.getAddress()],
    values: [0n],
    calldatas: [(d.coordinator.interface as Interface).encodeFunctionData(fn, args)],
    description,
  });
}
