// Deploys the on-chain system from the Hardhat artifacts, with viem: the bytecode of each contract, the
// coordinator's external libraries linked in, and the wiring that hands the timelock to governance.
import {
  encodeDeployData,
  getAddress,
  parseEther,
  zeroAddress,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Client,
  type Hex,
  type Transport,
  type WalletClient,
} from "viem";
import { readContract, waitForTransactionReceipt } from "viem/actions";
import { sendContractCall } from "./actions/sendContractCall";
import { lockstepGovernorAbi, lockstepTimelockAbi, stakeTokenAbi, upgradeCoordinatorAbi } from "./abi/generated";
import type { Deployment } from "./deployments";
import timelockArtifact from "../artifacts/contracts/governance/LockstepTimelock.sol/LockstepTimelock.json";
import tokenArtifact from "../artifacts/contracts/governance/StakeToken.sol/StakeToken.json";
import governorArtifact from "../artifacts/contracts/governance/LockstepGovernor.sol/LockstepGovernor.json";
import plannerArtifact from "../artifacts/contracts/rollout/ManifestPlanner.sol/ManifestPlanner.json";
import viewsArtifact from "../artifacts/contracts/rollout/RolloutViews.sol/RolloutViews.json";
import registryLogicArtifact from "../artifacts/contracts/rollout/RegistryLogic.sol/RegistryLogic.json";
import governanceLogicArtifact from "../artifacts/contracts/rollout/GovernanceLogic.sol/GovernanceLogic.json";
import coordinatorArtifact from "../artifacts/contracts/rollout/UpgradeCoordinator.sol/UpgradeCoordinator.json";

/** Parameters of a Lockstep deployment. Clock units of the governor are blocks (EIP-6372 block clock). */
export interface SystemParams {
  tokenName: string;
  tokenSymbol: string;
  /** Receives the whole initial stake supply. */
  holder: Address;
  supply: bigint;
  /** Seconds between queueing and executing a passed proposal. */
  timelockDelay: bigint;
  votingDelay: bigint;
  votingPeriod: bigint;
  proposalThreshold: bigint;
  quorumPercent: bigint;
  /** Blocks a vote is extended by when quorum is reached late. */
  voteExtension: bigint;
  /** The incident commander; zero for none. */
  guardian: Address;
  /** The cohort new registrations land in. */
  defaultCohort: number;
}

/** Where a deployed system lives. */
export interface SystemAddresses {
  token: Address;
  timelock: Address;
  governor: Address;
  coordinator: Address;
  libraries: { manifestPlanner: Address; rolloutViews: Address; registryLogic: Address; governanceLogic: Address };
}

export function defaultParams(holder: string, guardian: string): SystemParams {
  return {
    tokenName: "Lockstep Stake",
    tokenSymbol: "LSTK",
    holder: getAddress(holder),
    supply: parseEther("1000000000"),
    timelockDelay: 3600n,
    votingDelay: 1n,
    votingPeriod: 50n,
    proposalThreshold: 0n,
    quorumPercent: 4n,
    voteExtension: 10n,
    guardian: getAddress(guardian),
    defaultCohort: 3,
  };
}

/** A Hardhat artifact as far as deploying it goes. */
interface Artifact {
  contractName: string;
  bytecode: string;
  linkReferences: Record<string, Record<string, { start: number; length: number }[]>>;
}

/** The artifact's creation code with each library's address written where the linker left room for it. */
export function linkBytecode(artifact: Artifact, libraries: Record<string, Address>): Hex {
  let code = artifact.bytecode;
  for (const [file, byName] of Object.entries(artifact.linkReferences)) {
    for (const [name, places] of Object.entries(byName)) {
      const address = libraries[`${file}:${name}`];
      if (!address) throw new Error(`${artifact.contractName} needs library ${file}:${name}, which was not given`);
      for (const { start, length } of places) {
        const at = 2 + start * 2; // past "0x", two hex digits a byte
        code = code.slice(0, at) + address.slice(2).toLowerCase() + code.slice(at + length * 2);
      }
    }
  }
  return code as Hex;
}

export type DeployWallet = WalletClient<Transport, Chain | undefined, Account>;

/** Sends the creation transaction of `artifact` and waits for the contract's address. */
async function deployArtifact(
  wallet: DeployWallet,
  reader: Client,
  artifact: Artifact,
  abi: Abi,
  args: readonly unknown[],
  libraries: Record<string, Address> = {},
): Promise<Address> {
  const data = encodeDeployData({ abi, bytecode: linkBytecode(artifact, libraries), args });
  const hash = await wallet.sendTransaction({ data, chain: wallet.chain ?? null });
  const receipt = await waitForTransactionReceipt(reader, { hash });
  if (receipt.status !== "success" || !receipt.contractAddress) {
    throw new Error(`deploying ${artifact.contractName} failed (transaction ${hash})`);
  }
  return getAddress(receipt.contractAddress);
}

/**
 * Deploys and wires the whole on-chain system: timelock, stake token, governor, the coordinator's libraries and
 * the coordinator. The governor becomes the timelock's only proposer and canceller, anyone may execute, and the
 * deployer's bootstrap admin right on the timelock is renounced, so afterwards nothing changes without a vote.
 * `wallet` signs and sends (its account is the deployer); `reader` reads receipts and state.
 */
export async function deploySystem(wallet: DeployWallet, reader: Client, p: SystemParams): Promise<SystemAddresses> {
  const me = wallet.account.address;
  const timelock = await deployArtifact(wallet, reader, timelockArtifact, lockstepTimelockAbi, [
    p.timelockDelay,
    [],
    [zeroAddress],
    me,
  ]);
  const token = await deployArtifact(wallet, reader, tokenArtifact, stakeTokenAbi, [
    p.tokenName,
    p.tokenSymbol,
    p.holder,
    p.supply,
  ]);
  const governor = await deployArtifact(wallet, reader, governorArtifact, lockstepGovernorAbi, [
    token,
    timelock,
    p.votingDelay,
    p.votingPeriod,
    p.proposalThreshold,
    p.quorumPercent,
    p.voteExtension,
  ]);
  // The libraries have no constructor; RolloutViews has no ABI of its own (its functions take storage references).
  const libraries = {
    manifestPlanner: await deployArtifact(wallet, reader, plannerArtifact, [], []),
    rolloutViews: await deployArtifact(wallet, reader, viewsArtifact, [], []),
    registryLogic: await deployArtifact(wallet, reader, registryLogicArtifact, [], []),
    governanceLogic: await deployArtifact(wallet, reader, governanceLogicArtifact, [], []),
  };
  const coordinator = await deployArtifact(
    wallet,
    reader,
    coordinatorArtifact,
    upgradeCoordinatorAbi,
    [token, timelock, p.guardian, p.defaultCohort],
    {
      "contracts/rollout/ManifestPlanner.sol:ManifestPlanner": libraries.manifestPlanner,
      "contracts/rollout/RolloutViews.sol:RolloutViews": libraries.rolloutViews,
      "contracts/rollout/RegistryLogic.sol:RegistryLogic": libraries.registryLogic,
      "contracts/rollout/GovernanceLogic.sol:GovernanceLogic": libraries.governanceLogic,
    },
  );

  const send = (address: Address, abi: Abi, functionName: string, args: readonly unknown[]) =>
    sendContractCall(wallet, { address, abi, functionName, args, reader });
  const role = (functionName: "PROPOSER_ROLE" | "CANCELLER_ROLE" | "DEFAULT_ADMIN_ROLE") =>
    readContract(reader, { address: timelock, abi: lockstepTimelockAbi, functionName });
  await send(token, stakeTokenAbi, "bindRegistry", [coordinator]);
  await send(timelock, lockstepTimelockAbi, "grantRole", [await role("PROPOSER_ROLE"), governor]);
  await send(timelock, lockstepTimelockAbi, "grantRole", [await role("CANCELLER_ROLE"), governor]);
  await send(timelock, lockstepTimelockAbi, "renounceRole", [await role("DEFAULT_ADMIN_ROLE"), me]);

  return { token, timelock, governor, coordinator, libraries };
}

/** The deployments-file record of a deployed system (see lib/deployments.ts). */
export function deploymentRecord(
  system: SystemAddresses,
  where: { network: string; chainId: number; startBlock: number; guardian: string; params?: Partial<SystemParams> },
): Deployment {
  const params = Object.fromEntries(
    Object.entries(where.params ?? {}).map(([k, v]) => [
      k,
      typeof v === "bigint" ? v.toString() : (v as string | number),
    ]),
  );
  return {
    network: where.network,
    chainId: where.chainId,
    startBlock: where.startBlock,
    deployedAt: new Date().toISOString(),
    contracts: {
      StakeToken: system.token,
      LockstepTimelock: system.timelock,
      LockstepGovernor: system.governor,
      UpgradeCoordinator: system.coordinator,
      ManifestPlanner: system.libraries.manifestPlanner,
      RolloutViews: system.libraries.rolloutViews,
      RegistryLogic: system.libraries.registryLogic,
      GovernanceLogic: system.libraries.governanceLogic,
    },
    guardian: where.guardian,
    params,
  };
}
