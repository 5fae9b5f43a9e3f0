// Scheduling a manifest: the Governor proposal whose execution calls `schedule(manifest)` on the coordinator,
// built once here for the task, the drill and the tests, and submitted by `scheduleUpgrade`.
import { encodeFunctionData, type Account, type Address, type Chain, type Client, type Transport } from "viem";
import { upgradeCoordinatorAbi } from "../abi/generated";
import { proposalFor, type Proposal } from "../governance";
import { manifestHash, toOnChain, type ManifestFile } from "../manifest";
import { propose, type ProposeErrorType, type ProposeReturnType } from "./propose";
import type { SendOptions } from "./sendContractCall";

export type ScheduleUpgradeProposalParameters = {
  coordinator: Address;
  manifest: ManifestFile;
  /** The proposal's text; default: made from the manifest (its first line is the title). */
  description?: string;
};

/** The proposal's default text: what it schedules, and the hash voters can check the file against. */
export function scheduleDescription(m: ManifestFile): string {
  return (
    `# Schedule ${m.name}: ${m.version} (replaces ${m.previousVersion})\n\n` +
    `Manifest hash ${manifestHash(m)}; ${m.stages.length} stages over cohorts ${m.stages.map((s) => s.cohort).join(", ")}.`
  );
}

/** The Governor proposal that schedules `manifest` (pure: nothing is sent). */
export function scheduleUpgradeProposal({
  coordinator,
  manifest,
  description = scheduleDescription(manifest),
}: ScheduleUpgradeProposalParameters): Proposal {
  const calldata = encodeFunctionData({
    abi: upgradeCoordinatorAbi,
    functionName: "schedule",
    args: [toOnChain(manifest)],
  });
  return proposalFor(coordinator, calldata, description);
}

export type ScheduleUpgradeParameters = SendOptions & ScheduleUpgradeProposalParameters & { governor: Address };
export type ScheduleUpgradeReturnType = ProposeReturnType & { proposal: Proposal };
export type ScheduleUpgradeErrorType = ProposeErrorType;

/** Proposes scheduling `manifest` through the Governor. */
export async function scheduleUpgrade(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  { governor, coordinator, manifest, description, ...options }: ScheduleUpgradeParameters,
): Promise<ScheduleUpgradeReturnType> {
  const proposal = scheduleUpgradeProposal({ coordinator, manifest, description });
  return { ...(await propose(client, { ...options, governor, proposal })), proposal };
}
