// The governance path as stakeholders walk it: propose, stake-weighted vote, queue, time lock, execute.
// Time that only has to pass (voting period, timelock delay) is skipped on the local chain; every step is a
// real transaction through the Governor and the TimelockController.
import { createWalletClient } from "viem";
import { castVote } from "../../lib/actions/castVote";
import { executeProposal } from "../../lib/actions/executeProposal";
import { getProposal } from "../../lib/actions/getProposal";
import { propose } from "../../lib/actions/propose";
import { queueProposal } from "../../lib/actions/queueProposal";
import { lockstepTimelockAbi } from "../../lib/abi/generated";
import type { Proposal, SupportName } from "../../lib/governance";
import type { Board } from "./display";
import { duration, pct } from "./display";
import { inBatches, type DrillKey, type Net } from "./network";

export interface Voter {
  signer: DrillKey;
  support: SupportName;
  reason?: string;
}

/** A viem wallet client on the drill's chain that signs with `signer`'s key. */
export function walletOf(net: Net, signer: DrillKey) {
  return createWalletClient({ account: signer, transport: net.chain.transport });
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
  if (count > 0) await net.chain.send("hardhat_mine", [`0x${count.toString(16)}`]);
}

const blockNumber = async (net: Net) => Number(await net.chain.client.getBlockNumber());

export async function chainTime(net: Net): Promise<number> {
  return Number((await net.chain.client.getBlock({ blockTag: "latest" })).timestamp);
}

/** Moves chain time forward to at least `timestamp` and mines a block there. */
export async function skipTo(net: Net, timestamp: number) {
  const now = await chainTime(net);
  if (timestamp > now) await net.chain.send("evm_increaseTime", [timestamp - now]);
  await net.chain.send("evm_mine", []);
}

/** Takes `p` through the whole governance path, showing each step on `board`; throws if it does not pass. */
export async function passProposal(
  net: Net,
  board: Board,
  p: Proposal,
  proposer: DrillKey,
  voters: Voter[],
): Promise<Passed> {
  const governor = net.addresses.governor;
  const client = net.chain.client;
  const sender = walletOf(net, proposer);
  board.set("proposal", `submitting: ${p.description.split("\n")[0]}`);
  const { proposalId: pid, hash: proposeTx } = await propose(sender, { governor, proposal: p });
  board.set("proposal", `#${short(pid)} "${p.description.split("\n")[0]}" tx ${proposeTx}`);

  // Voting opens after the voting delay (blocks).
  const opened = await getProposal(client, { governor, proposalId: pid });
  await mineBlocks(net, Number(opened.snapshot) - (await blockNumber(net)) + 1);
  const read = () => getProposal(client, { governor, proposalId: pid });
  const quorum = (await read()).quorum!;
  const show = async (note = "") => {
    const r = await read();
    const v = { forVotes: r.votes.for, againstVotes: r.votes.against, abstainVotes: r.votes.abstain, state: r.state };
    const cast = v.forVotes + v.againstVotes + v.abstainVotes;
    board.set(
      "vote",
      `for ${pct(v.forVotes, cast)}  against ${pct(v.againstVotes, cast)}  abstain ${pct(v.abstainVotes, cast)}  ` +
        `quorum ${v.forVotes + v.abstainVotes >= quorum ? "reached" : "not yet reached"}${note}`,
    );
    return v;
  };
  await show();
  // Votes go out side by side; castVote's gas headroom covers the one that reaches quorum and pays for the
  // late-quorum extension.
  await inBatches(voters, 20, async (voter) => {
    await castVote(walletOf(net, voter.signer), {
      governor,
      proposalId: pid,
      support: voter.support,
      reason: voter.reason,
    });
    await show();
  });
  const deadline = Number((await read()).deadline);
  await mineBlocks(net, deadline - (await blockNumber(net)) + 1);
  const closed = (await read()).state;
  const final = await show(` · voting closed at block ${deadline}: ${closed}`);
  if (closed !== "Succeeded") throw new Error(`proposal ${short(pid)} did not pass: ${closed}`);

  const queued = await queueProposal(sender, { governor, proposal: p });
  const eta = Number((await read()).eta);
  board.set("queue", `queued in the timelock, executable at ${new Date(eta * 1000).toISOString()} · tx ${queued.hash}`);
  const delay = Number(
    await client.readContract({
      address: net.addresses.timelock,
      abi: lockstepTimelockAbi,
      functionName: "getMinDelay",
    }),
  );
  board.set("timelock", `waiting out ${duration(Math.max(delay, 0))} (chain time advanced)`);
  await skipTo(net, eta);
  board.set("timelock", `${duration(Math.max(delay, 0))} delay passed`);
  const executed = await executeProposal(sender, { governor, proposal: p });
  board.set("execution", `executed · tx ${executed.hash}`);
  return {
    id: pid,
    proposeTx,
    executeTx: executed.hash,
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
