import { ContractFactory, Signer, ZeroAddress, parseEther } from "ethers";
import type { Deployment } from "./deployments";
import rolloutViewsArtifact from "../artifacts/contracts/rollout/RolloutViews.sol/RolloutViews.json";
import {
  LockstepGovernor,
  LockstepGovernor__factory,
  LockstepTimelock,
  LockstepTimelock__factory,
  ManifestPlanner__factory,
  StakeToken,
  StakeToken__factory,
  UpgradeCoordinator,
  UpgradeCoordinator__factory,
} from "../typechain-types";

/** Parameters of a Lockstep deployment. Clock units of the governor are blocks (EIP-6372 block clock). */
export interface SystemParams {
  tokenName: string;
  tokenSymbol: string;
  /** Receives the whole initial stake supply. */
  holder: string;
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
  guardian: string;
  /** The cohort new registrations land in. */
  defaultCohort: number;
}

export interface System {
  token: StakeToken;
  timelock: LockstepTimelock;
  governor: LockstepGovernor;
  coordinator: UpgradeCoordinator;
  libraries: { manifestPlanner: string; rolloutViews: string };
}

export function defaultParams(holder: string, guardian: string): SystemParams {
  return {
    tokenName: "Lockstep Stake",
    tokenSymbol: "LSTK",
    holder,
    supply: parseEther("1000000000"),
    timelockDelay: 3600n,
    votingDelay: 1n,
    votingPeriod: 50n,
    proposalThreshold: 0n,
    quorumPercent: 4n,
    voteExtension: 10n,
    guardian,
    defaultCohort: 3,
  };
}

/**
 * Deploys and wires the whole on-chain system: timelock, stake token, governor, the coordinator's libraries and
 * the coordinator. The governor becomes the timelock's only proposer and canceller, anyone may execute, and the
 * deployer's bootstrap admin right on the timelock is renounced, so afterwards nothing changes without a vote.
 */
export async function deploySystem(deployer: Signer, p: SystemParams): Promise<System> {
  const me = await deployer.getAddress();
  const timelock = await new LockstepTimelock__factory(deployer).deploy(p.timelockDelay, [], [ZeroAddress], me);
  const token = await new StakeToken__factory(deployer).deploy(p.tokenName, p.tokenSymbol, p.holder, p.supply);
  const governor = await new LockstepGovernor__factory(deployer).deploy(
    await token.getAddress(),
    await timelock.getAddress(),
    p.votingDelay,
    p.votingPeriod,
    p.proposalThreshold,
    p.quorumPercent,
    p.voteExtension,
  );
  const planner = await new ManifestPlanner__factory(deployer).deploy();
  // RolloutViews has no ABI of its own (its functions take storage references), so TypeChain makes no factory.
  const views = await new ContractFactory([], rolloutViewsArtifact.bytecode, deployer).deploy();
  const libraries = {
    manifestPlanner: await planner.getAddress(),
    rolloutViews: await views.getAddress(),
  };
  const coordinator = await new UpgradeCoordinator__factory(
    {
      "contracts/rollout/ManifestPlanner.sol:ManifestPlanner": libraries.manifestPlanner,
      "contracts/rollout/RolloutViews.sol:RolloutViews": libraries.rolloutViews,
    },
    deployer,
  ).deploy(await token.getAddress(), await timelock.getAddress(), p.guardian, p.defaultCohort);

  await (await token.bindRegistry(await coordinator.getAddress())).wait();
  const governorAddress = await governor.getAddress();
  await (await timelock.grantRole(await timelock.PROPOSER_ROLE(), governorAddress)).wait();
  await (await timelock.grantRole(await timelock.CANCELLER_ROLE(), governorAddress)).wait();
  await (await timelock.renounceRole(await timelock.DEFAULT_ADMIN_ROLE(), me)).wait();

  return { token, timelock, governor, coordinator, libraries };
}

/** The deployments-file record of a deployed system (see lib/deployments.ts). */
export async function deploymentRecord(
  system: System,
  where: { network: string; chainId: number; startBlock: number; guardian: string; params?: Partial<SystemParams> },
): Promise<Deployment> {
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
      StakeToken: await system.token.getAddress(),
      LockstepTimelock: await system.timelock.getAddress(),
      LockstepGovernor: await system.governor.getAddress(),
      UpgradeCoordinator: await system.coordinator.getAddress(),
      ManifestPlanner: system.libraries.manifestPlanner,
      RolloutViews: system.libraries.rolloutViews,
    },
    guardian: where.guardian,
    params,
  };
}
