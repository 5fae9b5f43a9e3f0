// The governance path as stakeholders walk it: propose, stake-weighted vote, queue, time lock, execute.
// Time that only has to pass (voting period, timelock delay) is skipped on the local chain; every step is a
// real transaction through the Governor and the TimelockController.
import type { Signer } from "ethers";
import { SUPPORT, execute, proposalId, queue, stateName, type Proposal, type SupportName } from "../../lib/governance";
import type { Board } from "./display";
import { duration, pct } from "./display";
import { inBatches, type Net } from "./network";

export interface Voter {
  signer: Signer;
  support: SupportName;
  reason?: string;
}

export interface Passed {
  id: bigint;
  proposeTx: string;
  executeTx: string;
  forVotes: bigint;
  againstVotes: bigint;
  abstainVotes: bigint;
  quorum: bigint;
}

async function mineBlocks(net: Net, count: number) {
  if (count > 0) await net.chain.provider.send("hardhat_mine", [`0x${count.toString(16)}`]);
}

export async function chainTime(net: Net): Promise<number> {
  return (await net.chain.provider.getBlock("latest"))!.timestamp;
}

/** Moves chain time forward to at least `timestamp` and mines a block there. */
export async function skipTo(net: Net, timestamp: number) {
  const now = await chainTime(net);
  if (timestamp > now) await net.chain.provider.send("evm_increaseTime", [timestamp - now]);
  await net.chain.provider.send("evm_mine", []);
}

/** Takes `p` through the whole governance path, showing each step on `board`; throws if it does not pass. */
export async function passProposal(
  net: Net,
  board: Board,
  p: Proposal,
  proposer: Signer,
  voters: Voter[],
): Promise<Passed> {
  const governor = net.system.governor;
  board.set("proposal", `submitting: ${p.description.split("\n")[0]}`);
  const tx = await governor.connect(proposer).propose(p.targets, p.values, p.calldatas, p.description);
  const proposeTx = tx.hash;
  await tx.wait();
  const pid = await proposalId(governor, p);
  board.set("proposal", `#${short(pid)} "${p.description.split("\n")[0]}" tx ${proposeTx}`);

  // Voting opens after the voting delay (blocks).
  const snapshot = Number(await governor.proposalSnapshot(pid));
  await mineBlocks(net, snapshot - (await net.chain.provider.getBlockNumber()) + 1);
  const quorum = await governor.quorum(snapshot);
  const show = async (note = "") => {
    const v = await governor.proposalVotes(pid);
    const cast = v.forVotes + v.againstVotes + v.abstainVotes;
    board.set(
      "vote",
      `for ${pct(v.forVotes, cast)}  against ${pct(v.againstVotes, cast)}  abstain ${pct(v.abstainVotes, cast)}  ` +
        `quorum ${v.forVotes + v.abstainVotes >= quorum ? "reached" : "not yet reached"}${note}`,
    );
    return v;
  };
  await show();
  await inBatches(voters, 20, async (voter) => {
    // A fixed gas limit: votes sent side by side are estimated before one of them reaches quorum, and the one
    // that does pays for the late-quorum extension.
    const g = governor.connect(voter.signer);
    const tx = voter.reason
      ? await g.castVoteWithReason(pid, SUPPORT[voter.support], voter.reason, { gasLimit: 500_000 })
      : await g.castVote(pid, SUPPORT[voter.support], { gasLimit: 500_000 });
    await tx.wait();
    await show();
  });
  const deadline = Number(await governor.proposalDeadline(pid));
  await mineBlocks(net, deadline - (await net.chain.provider.getBlockNumber()) + 1);
  const final = await show(` · voting closed at block ${deadline}: ${await stateName(governor, pid)}`);
  if ((await stateName(governor, pid)) !== "Succeeded")
    throw new Error(`proposal ${short(pid)} did not pass: ${await stateName(governor, pid)}`);

  const queued = await queue(governor, proposer, p);
  const eta = Number(await governor.proposalEta(pid));
  board.set(
    "queue",
    `queued in the timelock, executable at ${new Date(eta * 1000).toISOString()} · tx ${queued!.hash}`,
  );
  const delay = Number(await net.system.timelock.getMinDelay());
  board.set("timelock", `waiting out ${duration(Math.max(delay, 0))} (chain time advanced)`);
  await skipTo(net, eta);
  board.set("timelock", `${duration(Math.max(delay, 0))} delay passed`);
  const executed = await execute(governor, proposer, p);
  board.set("execution", `executed · tx ${executed!.hash}`);
  return {
    id: pid,
    proposeTx,
    executeTx: executed!.hash,
    forVotes: final.forVotes,
    againstVotes: final.againstVotes,
    abstainVotes: final.abstainVotes,
    quorum,
  };
}

export const short = (id: bigint) => {
  const hex = id.toString(16);
  return `${hex.slice(0, 6)}…${hex.slice(-4)}`;
};
