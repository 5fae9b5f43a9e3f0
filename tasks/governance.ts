// The governance path: propose an upgrade (or any coordinator call), vote, queue, execute.
import { task } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { ManifestError, manifestHash, readManifest, toOnChain } from "../lib/manifest";
import {
  SUPPORT,
  SupportName,
  describeProposal,
  descriptionHash,
  propose,
  stateName,
  vote,
  type Proposal,
} from "../lib/governance";
import { Connected, TaskError, action, connectDeployment, parseIntArg } from "./cli";

/** Finds a proposal's calls from its ProposalCreated event (the Governor stores only their hash). */
export async function findProposal(c: Connected, id: bigint): Promise<Proposal> {
  const events = await c.governor.queryFilter(c.governor.filters.ProposalCreated(), c.deployment.startBlock);
  const created = events.find((e) => e.args.proposalId === id);
  if (!created) throw new TaskError(`no proposal ${id} on this governor`);
  // Positional: `values` would name the Result's own method.
  const [, , targets, values, , calldatas, , , description] = created.args;
  return { targets: [...targets], values: [...values], calldatas: [...calldatas], description };
}

export async function printProposal(c: Connected, id: bigint) {
  for (const [k, v] of Object.entries(await describeProposal(c.governor, id))) console.log(`${k.padEnd(30)} ${v}`);
}

/** Proposes `calls` to the coordinator through the Governor and prints where it stands. */
export async function proposeCoordinatorCalls(c: Connected, calldatas: string[], description: string) {
  const target = await c.coordinator.getAddress();
  const p: Proposal = { targets: calldatas.map(() => target), values: calldatas.map(() => 0n), calldatas, description };
  const votes = await c.token.getVotes(c.signer.address);
  const threshold = await c.governor.proposalThreshold();
  if (votes < threshold)
    throw new TaskError(`the proposer has ${votes} votes, below the proposal threshold ${threshold}`);
  const id = await propose(c.governor, c.signer, p);
  console.log(`proposed: ${description.split("\n")[0]}`);
  await printProposal(c, id);
  return id;
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
      const existing = await c.coordinator.upgradeIdOf(manifest.name);
      if (existing !== 0n) throw new TaskError(`an upgrade named "${manifest.name}" already exists (#${existing})`);
      const calldata = c.coordinator.interface.encodeFunctionData("schedule", [toOnChain(manifest)]);
      const description =
        args.description ??
        `# Schedule ${manifest.name}: ${manifest.version} (replaces ${manifest.previousVersion})\n\n` +
          `Manifest hash ${manifestHash(manifest)}; ${manifest.stages.length} stages over cohorts ${manifest.stages.map((s) => s.cohort).join(", ")}.`;
      await proposeCoordinatorCalls(c, [calldata], description);
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
      const state = await stateName(c.governor, id).catch(() => {
        throw new TaskError(`no proposal ${id} on this governor`);
      });
      if (state !== "Active") throw new TaskError(`proposal ${id} is ${state}, not open for votes`);
      const snapshot = await c.governor.proposalSnapshot(id);
      const weight = await c.governor.getVotes(c.signer.address, snapshot);
      console.log(
        `voting ${args.support} with ${weight} votes (the voting power ${c.signer.address} had at block ${snapshot})`,
      );
      await vote(c.governor, c.signer, id, args.support as SupportName, args.reason);
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
  const p = await findProposal(c, id);
  const state = await stateName(c.governor, id);
  if (step === "queue" && state !== "Succeeded")
    throw new TaskError(`proposal ${id} is ${state}; only a Succeeded proposal can be queued`);
  if (step === "execute") {
    if (state !== "Queued") throw new TaskError(`proposal ${id} is ${state}; only a Queued proposal can be executed`);
    const eta = await c.governor.proposalEta(id);
    const now = BigInt((await hre.ethers.provider.getBlock("latest"))!.timestamp);
    if (now < eta)
      throw new TaskError(`proposal ${id} is time-locked until ${new Date(Number(eta) * 1000).toISOString()}`);
  }
  const hash = descriptionHash(p.description);
  const tx =
    step === "queue"
      ? await c.governor.queue(p.targets, p.values, p.calldatas, hash)
      : await c.governor.execute(p.targets, p.values, p.calldatas, hash);
  await tx.wait();
  console.log(`${step === "queue" ? "queued" : "executed"} proposal ${id} (transaction ${tx.hash})`);
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
