// The governance path: propose an upgrade (or any coordinator call), vote, queue, execute. Each step is a lib
// action; the tasks parse arguments, check what a person would get wrong, and print.
import { task } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import type { Hex } from "viem";
import { ManifestError, readManifest } from "../lib/manifest";
import { SUPPORT, type Proposal, type SupportName } from "../lib/governance";
import type { GetProposalReturnType } from "../lib/actions/getProposal";
import { Connected, TaskError, abis, action, connectDeployment, parseIntArg } from "./cli";

// The actions need the ABIs a compile generates, and the config loads this file first: loaded when a task runs.
const actions = () => ({
  ...(require("../lib/actions/castVote") as typeof import("../lib/actions/castVote")),
  ...(require("../lib/actions/executeProposal") as typeof import("../lib/actions/executeProposal")),
  ...(require("../lib/actions/getProposal") as typeof import("../lib/actions/getProposal")),
  ...(require("../lib/actions/listProposals") as typeof import("../lib/actions/listProposals")),
  ...(require("../lib/actions/propose") as typeof import("../lib/actions/propose")),
  ...(require("../lib/actions/queueProposal") as typeof import("../lib/actions/queueProposal")),
  ...(require("../lib/actions/scheduleUpgrade") as typeof import("../lib/actions/scheduleUpgrade")),
});

/** Finds a proposal's calls from its ProposalCreated log (the Governor stores only their hash). */
export async function findProposal(c: Connected, id: bigint): Promise<Proposal> {
  const proposals = await actions().listProposals(c.client, {
    governor: c.governor,
    fromBlock: BigInt(c.deployment.startBlock),
  });
  const found = proposals.find((p) => p.id === id);
  if (!found) throw new TaskError(`no proposal ${id} on this governor`);
  return found;
}

/** A proposal's state, or a one-line refusal when the Governor does not know it. */
async function readProposal(c: Connected, id: bigint): Promise<GetProposalReturnType> {
  try {
    return await actions().getProposal(c.client, { governor: c.governor, proposalId: id });
  } catch {
    throw new TaskError(`no proposal ${id} on this governor`);
  }
}

/** Where a proposal stands and the times that matter, in words. */
export function proposalInWords(p: GetProposalReturnType): Record<string, string> {
  return {
    proposal: p.id.toString(),
    state: p.state,
    "voting starts after block": p.snapshot.toString(),
    "voting ends at block": p.deadline.toString(),
    "current block": p.clock.toString(),
    "votes for / against / abstain": `${p.votes.for} / ${p.votes.against} / ${p.votes.abstain}`,
    quorum: p.quorum === undefined ? "known once voting starts" : p.quorum.toString(),
    "executable after": p.eta === 0n ? "not queued" : new Date(Number(p.eta) * 1000).toISOString(),
  };
}

export async function printProposal(c: Connected, id: bigint) {
  for (const [k, v] of Object.entries(proposalInWords(await readProposal(c, id)))) console.log(`${k.padEnd(30)} ${v}`);
}

/** Refuses a proposer below the Governor's proposal threshold, before anything is sent. */
async function checkThreshold(c: Connected) {
  const { lockstepGovernorAbi, stakeTokenAbi } = abis();
  const [votes, threshold] = await Promise.all([
    c.client.readContract({ address: c.token, abi: stakeTokenAbi, functionName: "getVotes", args: [c.account] }),
    c.client.readContract({ address: c.governor, abi: lockstepGovernorAbi, functionName: "proposalThreshold" }),
  ]);
  if (votes < threshold)
    throw new TaskError(`the proposer has ${votes} votes, below the proposal threshold ${threshold}`);
}

/** Proposes `calldatas` to the coordinator through the Governor and prints where it stands. */
export async function proposeCoordinatorCalls(c: Connected, calldatas: Hex[], description: string) {
  const proposal: Proposal = {
    targets: calldatas.map(() => c.coordinator),
    values: calldatas.map(() => 0n),
    calldatas,
    description,
  };
  await checkThreshold(c);
  const { proposalId } = await actions().propose(c.wallet, { governor: c.governor, proposal });
  console.log(`proposed: ${description.split("\n")[0]}`);
  await printProposal(c, proposalId);
  return proposalId;
}

function parseProposalId(value: string): bigint {
  if (!/^\d+$/.test(value)) throw new TaskError(`proposal id must be a number, not "${value}"`);
  return BigInt(value);
}

task("upgrade:propose", "Proposes scheduling the upgrade in a manifest file, through the Governor")
  .addPositionalParam("file", "the manifest file (JSON)")
  .addOptionalParam("description", "the proposal's text (default: made from the manifest)")
  .addOptionalParam("signer", "index of the proposing account", "0")
  .setAction(
    action(async (args: { file: string; description?: string; signer: string }, hre) => {
      let manifest;
      try {
        manifest = readManifest(args.file).manifest;
      } catch (e) {
        if (e instanceof ManifestError) throw new TaskError(e.message);
        throw e;
      }
      const c = await connectDeployment(hre, parseIntArg(args.signer, "--signer"));
      const existing = await c.client.readContract({
        address: c.coordinator,
        abi: abis().upgradeCoordinatorAbi,
        functionName: "upgradeIdOf",
        args: [manifest.name],
      });
      if (existing !== 0n) throw new TaskError(`an upgrade named "${manifest.name}" already exists (#${existing})`);
      await checkThreshold(c);
      const { proposalId, proposal } = await actions().scheduleUpgrade(c.wallet, {
        governor: c.governor,
        coordinator: c.coordinator,
        manifest,
        description: args.description,
      });
      console.log(`proposed: ${proposal.description.split("\n")[0]}`);
      await printProposal(c, proposalId);
    }),
  );

task("vote", "Casts the signer's vote on a proposal")
  .addPositionalParam("proposalId", "the proposal id")
  .addPositionalParam("support", "for, against or abstain")
  .addOptionalParam("reason", "a reason recorded on chain")
  .addOptionalParam("signer", "index of the voting account", "0")
  .setAction(
    action(async (args: { proposalId: string; support: string; reason?: string; signer: string }, hre) => {
      if (!(args.support in SUPPORT))
        throw new TaskError(`support must be for, against or abstain, not "${args.support}"`);
      const id = parseProposalId(args.proposalId);
      const c = await connectDeployment(hre, parseIntArg(args.signer, "--signer"));
      const p = await readProposal(c, id);
      if (p.state !== "Active") throw new TaskError(`proposal ${id} is ${p.state}, not open for votes`);
      const weight = await c.client.readContract({
        address: c.governor,
        abi: abis().lockstepGovernorAbi,
        functionName: "getVotes",
        args: [c.account, p.snapshot],
      });
      console.log(
        `voting ${args.support} with ${weight} votes (the voting power ${c.account} had at block ${p.snapshot})`,
      );
      await actions().castVote(c.wallet, {
        governor: c.governor,
        proposalId: id,
        support: args.support as SupportName,
        reason: args.reason,
      });
      await printProposal(c, id);
    }),
  );

async function governanceStep(
  hre: HardhatRuntimeEnvironment,
  args: { proposalId: string; signer: string },
  step: "queue" | "execute",
) {
  const id = parseProposalId(args.proposalId);
  const c = await connectDeployment(hre, parseIntArg(args.signer, "--signer"));
  const proposal = await findProposal(c, id);
  const { state, eta } = await readProposal(c, id);
  if (step === "queue" && state !== "Succeeded")
    throw new TaskError(`proposal ${id} is ${state}; only a Succeeded proposal can be queued`);
  if (step === "execute") {
    if (state !== "Queued") throw new TaskError(`proposal ${id} is ${state}; only a Queued proposal can be executed`);
    const now = (await c.client.getBlock()).timestamp;
    if (now < eta)
      throw new TaskError(`proposal ${id} is time-locked until ${new Date(Number(eta) * 1000).toISOString()}`);
  }
  const send = step === "queue" ? actions().queueProposal : actions().executeProposal;
  const { hash } = await send(c.wallet, { governor: c.governor, proposal });
  console.log(`${step === "queue" ? "queued" : "executed"} proposal ${id} (transaction ${hash})`);
  await printProposal(c, id);
}

task("queue", "Queues a succeeded proposal in the timelock")
  .addPositionalParam("proposalId", "the proposal id")
  .addOptionalParam("signer", "index of the sending account", "0")
  .setAction(action((args: { proposalId: string; signer: string }, hre) => governanceStep(hre, args, "queue")));

task("execute", "Executes a queued proposal once its time lock has passed")
  .addPositionalParam("proposalId", "the proposal id")
  .addOptionalParam("signer", "index of the sending account", "0")
  .setAction(action((args: { proposalId: string; signer: string }, hre) => governanceStep(hre, args, "execute")));
