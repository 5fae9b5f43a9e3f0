// The governance path: propose an upgrade (or any coordinator call), vote, queue, execute. Each step is a lib
// action; the tasks parse arguments, check what a person would get wrong, and print.
import { task } from "hardhat/config";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { zeroAddress, type Abi, type Address, type Hex } from "viem";
import { ManifestError, readManifest } from "../lib/manifest";
import { SUPPORT, descriptionHash, hashProposal, type Proposal, type SupportName } from "../lib/governance";
import {
  SafeBatchError,
  batchInWords,
  safeBatch,
  writeSafeBatch,
  type KnownContracts,
  type SafeCall,
} from "../lib/safeBatch";
import type { GetProposalReturnType } from "../lib/actions/getProposal";
import { Connected, TaskError, abis, action, connectDeployment, parseAddress, parseIntArg } from "./cli";

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

/** Where a task writes a Safe Transaction Builder batch instead of sending (`--safe-batch out.json`). */
export interface BatchTarget {
  out: string;
  /** The Safe that will sign: `--safe`, or for guardian actions the coordinator's guardian. */
  safe?: Address;
}

/** The arguments every task that can write a batch takes. */
export interface BatchArgs {
  signer: string;
  safeBatch?: string;
  safe?: string;
}

/**
 * The deployment, acting as the `--safe` when `--safe-batch` is given (nothing is sent then, so no local key is
 * needed), else as the `--signer`. `needSafe`: the task cannot find the Safe by itself.
 */
export async function connectFor(
  hre: HardhatRuntimeEnvironment,
  args: BatchArgs,
  needSafe: boolean,
): Promise<{ c: Connected; batch?: BatchTarget }> {
  if (!args.safeBatch) {
    if (args.safe) throw new TaskError("--safe goes with --safe-batch <out.json>");
    return { c: await connectDeployment(hre, parseIntArg(args.signer, "--signer")) };
  }
  const safe = args.safe ? parseAddress(args.safe, "--safe") : undefined;
  if (!safe && needSafe) throw new TaskError("--safe-batch needs --safe <the Safe's address>");
  const c = await connectDeployment(hre, 0, safe ?? zeroAddress);
  return { c, batch: { out: args.safeBatch, safe } };
}

/** The contracts a batch's calls are put into words with. */
export function knownContracts(c: Connected): KnownContracts {
  const { upgradeCoordinatorAbi, lockstepGovernorAbi, lockstepTimelockAbi, stakeTokenAbi } = abis();
  return {
    UpgradeCoordinator: { address: c.coordinator, abi: upgradeCoordinatorAbi as Abi },
    LockstepGovernor: { address: c.governor, abi: lockstepGovernorAbi as Abi },
    LockstepTimelock: { address: c.timelock, abi: lockstepTimelockAbi as Abi },
    StakeToken: { address: c.token, abi: stakeTokenAbi as Abi },
  };
}

/** Writes `calls` as a Safe Transaction Builder batch for `batch.safe` and prints them in words; sends nothing. */
export function writeBatch(c: Connected, batch: BatchTarget, name: string, calls: SafeCall[], description = "") {
  const safe = batch.safe ?? c.account;
  try {
    const file = safeBatch({ chainId: c.deployment.chainId, safe, name, description, calls });
    writeSafeBatch(batch.out, file);
    console.log(`wrote ${batch.out}: a Safe Transaction Builder batch for ${safe}; nothing was sent. It calls:`);
    for (const line of batchInWords(file, knownContracts(c))) console.log(`  ${line}`);
  } catch (e) {
    if (e instanceof SafeBatchError) throw new TaskError(e.message);
    throw e;
  }
}

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

/**
 * Proposes `calldatas` to the coordinator through the Governor and prints where it stands; with `batch`, writes the
 * proposal as a Safe batch instead (the Safe is the proposer, and must hold the threshold).
 */
export async function proposeCoordinatorCalls(
  c: Connected,
  calldatas: Hex[],
  description: string,
  batch?: BatchTarget,
) {
  const proposal: Proposal = {
    targets: calldatas.map(() => c.coordinator),
    values: calldatas.map(() => 0n),
    calldatas,
    description,
  };
  await checkThreshold(c);
  if (batch) return writeProposalBatch(c, batch, "propose", proposal);
  const { proposalId } = await actions().propose(c.wallet, { governor: c.governor, proposal });
  console.log(`proposed: ${description.split("\n")[0]}`);
  await printProposal(c, proposalId);
  return proposalId;
}

/** A Governor proposal step (propose, queue, execute, cancel) as a Safe batch of one call. */
function writeProposalBatch(
  c: Connected,
  batch: BatchTarget,
  step: "propose" | "queue" | "execute" | "cancel",
  p: Proposal,
) {
  const args =
    step === "propose"
      ? [p.targets, p.values, p.calldatas, p.description]
      : [p.targets, p.values, p.calldatas, descriptionHash(p.description)];
  const title = p.description.split("\n")[0].replace(/^#+\s*/, "");
  writeBatch(
    c,
    batch,
    `Lockstep: ${step} proposal ${hashProposal(p)}`,
    [{ to: c.governor, abi: abis().lockstepGovernorAbi as Abi, functionName: step, args }],
    title,
  );
  return hashProposal(p);
}

function parseProposalId(value: string): bigint {
  if (!/^\d+$/.test(value)) throw new TaskError(`proposal id must be a number, not "${value}"`);
  return BigInt(value);
}

task("upgrade:propose", "Proposes scheduling the upgrade in a manifest file, through the Governor")
  .addPositionalParam("file", "the manifest file (JSON)")
  .addOptionalParam("description", "the proposal's text (default: made from the manifest)")
  .addOptionalParam("signer", "index of the proposing account", "0")
  .addOptionalParam("safeBatch", "write a Safe Transaction Builder batch to this file instead of sending")
  .addOptionalParam("safe", "with --safe-batch: the Safe that proposes")
  .setAction(
    action(async (args: { file: string; description?: string } & BatchArgs, hre) => {
      let manifest;
      try {
        manifest = readManifest(args.file).manifest;
      } catch (e) {
        if (e instanceof ManifestError) throw new TaskError(e.message);
        throw e;
      }
      const { c, batch } = await connectFor(hre, args, true);
      const existing = await c.client.readContract({
        address: c.coordinator,
        abi: abis().upgradeCoordinatorAbi,
        functionName: "upgradeIdOf",
        args: [manifest.name],
      });
      if (existing !== 0n) throw new TaskError(`an upgrade named "${manifest.name}" already exists (#${existing})`);
      await checkThreshold(c);
      if (batch) {
        const { scheduleUpgradeProposal } =
          require("../lib/actions/scheduleUpgrade") as typeof import("../lib/actions/scheduleUpgrade");
        const proposal = scheduleUpgradeProposal({
          coordinator: c.coordinator,
          manifest,
          description: args.description,
        });
        const id = writeProposalBatch(c, batch, "propose", proposal);
        console.log(`proposal ${id} once the Safe has sent it`);
        return;
      }
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
  .addOptionalParam("safeBatch", "write a Safe Transaction Builder batch to this file instead of sending")
  .addOptionalParam("safe", "with --safe-batch: the Safe that votes (it must hold or be delegated votes)")
  .setAction(
    action(async (args: { proposalId: string; support: string; reason?: string } & BatchArgs, hre) => {
      if (!(args.support in SUPPORT))
        throw new TaskError(`support must be for, against or abstain, not "${args.support}"`);
      const id = parseProposalId(args.proposalId);
      const { c, batch } = await connectFor(hre, args, true);
      const p = await readProposal(c, id);
      if (p.state !== "Active") throw new TaskError(`proposal ${id} is ${p.state}, not open for votes`);
      const governor = { address: c.governor, abi: abis().lockstepGovernorAbi } as const;
      const weight = await c.client.readContract({
        ...governor,
        functionName: "getVotes",
        args: [c.account, p.snapshot],
      });
      if (batch) {
        // The Safe's owners sign later: refuse now what the Governor would refuse, or count as nothing, then.
        if (await c.client.readContract({ ...governor, functionName: "hasVoted", args: [id, c.account] }))
          throw new TaskError(`${c.account} has already voted on proposal ${id}`);
        if (weight === 0n)
          throw new TaskError(
            `${c.account} had no voting power at block ${p.snapshot}: tokens count only once delegated ` +
              "(the Safe delegates to itself, or a holder to it, before a proposal's snapshot)",
          );
        const support = SUPPORT[args.support as SupportName];
        const call = args.reason
          ? { functionName: "castVoteWithReason", args: [id, support, args.reason] }
          : { functionName: "castVote", args: [id, support] };
        writeBatch(c, batch, `Lockstep: vote ${args.support} on proposal ${id}`, [
          { to: c.governor, abi: abis().lockstepGovernorAbi as Abi, ...call },
        ]);
        console.log(`the Safe votes ${args.support} with ${weight} votes (its voting power at block ${p.snapshot})`);
        return;
      }
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

task(
  "delegate",
  "Delegates the signer's (or, with --safe-batch, a Safe's) voting power; tokens vote only once delegated",
)
  .addOptionalPositionalParam("delegatee", "who votes with the tokens (default: the holder itself)")
  .addOptionalParam("signer", "index of the holding account", "0")
  .addOptionalParam("safeBatch", "write a Safe Transaction Builder batch to this file instead of sending")
  .addOptionalParam("safe", "with --safe-batch: the Safe that holds the tokens")
  .setAction(
    action(async (args: { delegatee?: string } & BatchArgs, hre) => {
      const delegatee = args.delegatee ? parseAddress(args.delegatee, "delegatee") : undefined;
      const { c, batch } = await connectFor(hre, args, true);
      const to = delegatee ?? c.account;
      const token = { address: c.token, abi: abis().stakeTokenAbi } as const;
      const balance = await c.client.readContract({ ...token, functionName: "balanceOf", args: [c.account] });
      if (batch) {
        writeBatch(c, batch, `Lockstep: delegate the votes of ${c.account} to ${to}`, [
          { to: c.token, abi: abis().stakeTokenAbi as Abi, functionName: "delegate", args: [to] },
        ]);
      } else {
        const { sendContractCall } =
          require("../lib/actions/sendContractCall") as typeof import("../lib/actions/sendContractCall");
        const { hash } = await sendContractCall(c.wallet, { ...token, functionName: "delegate", args: [to] });
        console.log(`delegated (transaction ${hash})`);
      }
      console.log(`${to} votes with the ${balance} tokens of ${c.account} in proposals made from the next block on`);
    }),
  );

async function governanceStep(
  hre: HardhatRuntimeEnvironment,
  args: { proposalId: string } & BatchArgs,
  step: "queue" | "execute" | "cancel",
) {
  const id = parseProposalId(args.proposalId);
  const { c, batch } = await connectFor(hre, args, true);
  const proposal = await findProposal(c, id);
  const { state, eta } = await readProposal(c, id);
  if (step === "cancel") {
    if (state !== "Pending")
      throw new TaskError(`proposal ${id} is ${state}; only a Pending proposal can be cancelled`);
    if (batch) return void writeProposalBatch(c, batch, step, proposal);
    const { cancelProposal } =
      require("../lib/actions/cancelProposal") as typeof import("../lib/actions/cancelProposal");
    const { hash } = await cancelProposal(c.wallet, { governor: c.governor, proposal });
    console.log(`cancelled proposal ${id} (transaction ${hash})`);
    return printProposal(c, id);
  }
  if (step === "queue" && state !== "Succeeded")
    throw new TaskError(`proposal ${id} is ${state}; only a Succeeded proposal can be queued`);
  if (step === "execute") {
    if (state !== "Queued") throw new TaskError(`proposal ${id} is ${state}; only a Queued proposal can be executed`);
    const now = (await c.client.getBlock()).timestamp;
    if (now < eta)
      throw new TaskError(`proposal ${id} is time-locked until ${new Date(Number(eta) * 1000).toISOString()}`);
  }
  if (batch) return void writeProposalBatch(c, batch, step, proposal);
  const send = step === "queue" ? actions().queueProposal : actions().executeProposal;
  const { hash } = await send(c.wallet, { governor: c.governor, proposal });
  console.log(`${step === "queue" ? "queued" : "executed"} proposal ${id} (transaction ${hash})`);
  await printProposal(c, id);
}

for (const [step, description] of [
  ["queue", "Queues a succeeded proposal in the timelock"],
  ["execute", "Executes a queued proposal once its time lock has passed"],
  ["cancel", "Cancels a proposal while it is still Pending (only its proposer may)"],
] as const) {
  task(step, description)
    .addPositionalParam("proposalId", "the proposal id")
    .addOptionalParam("signer", "index of the sending account", "0")
    .addOptionalParam("safeBatch", "write a Safe Transaction Builder batch to this file instead of sending")
    .addOptionalParam("safe", "with --safe-batch: the Safe that sends (required for cancel: the proposer)")
    .setAction(action((args: { proposalId: string } & BatchArgs, hre) => governanceStep(hre, args, step)));
}
