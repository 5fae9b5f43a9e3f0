// Deploys the on-chain system from the Hardhat artifacts, with viem: the bytecode of each contract, the
// coordinator's external libraries linked in, each contract created with its final roles so the deployer never
// holds any power over the system (see deploySystem).
import {
  createWalletClient,
  custom,
  encodeDeployData,
  getAddress,
  getContractAddress,
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
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  estimateFeesPerGas,
  estimateGas,
  getBalance,
  getChainId,
  getCode,
  getTransactionCount,
  readContract,
  simulateContract,
  waitForTransactionReceipt,
} from "viem/actions";
import { loadPreset, systemParams } from "./deployParams";
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
  /**
   * The restart budget governance should set (`setRestartBudget`): basis points of total stake, and the lease's
   * seconds. Only governance can set it, so the deploy records it and the first proposal puts it in place.
   */
  restartBudgetBps: number;
  leaseDuration: number;
}

/** Where a deployed system lives. */
export interface SystemAddresses {
  token: Address;
  timelock: Address;
  governor: Address;
  coordinator: Address;
  libraries: { manifestPlanner: Address; rolloutViews: Address; registryLogic: Address; governanceLogic: Address };
}

/** The `local` preset (deploy/presets/local.json): the fast values the drill and the tests use. */
export function defaultParams(holder: string, guardian: string): SystemParams {
  return systemParams(loadPreset("local"), getAddress(holder), getAddress(guardian));
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

/** Creation data of `artifact` with its constructor arguments and libraries. */
function creationData(artifact: Artifact, abi: Abi, args: readonly unknown[], libraries: Record<string, Address> = {}) {
  return encodeDeployData({ abi, bytecode: linkBytecode(artifact, libraries), args });
}

/** Sends a creation transaction and waits for the contract's address. */
async function create(
  wallet: DeployWallet,
  reader: Client,
  name: string,
  data: Hex,
  extra: { nonce?: number; gas?: bigint; maxFeePerGas?: bigint; maxPriorityFeePerGas?: bigint } = {},
): Promise<Address> {
  const hash = await wallet.sendTransaction({ data, chain: wallet.chain ?? null, ...extra });
  const receipt = await waitForTransactionReceipt(reader, { hash });
  if (receipt.status !== "success" || !receipt.contractAddress) {
    throw new DeployError(`deploying ${name} failed (transaction ${hash})`);
  }
  return getAddress(receipt.contractAddress);
}

/** A deploy that cannot go on: the deployer holds no power over what it left behind (see deploySystem). */
export class DeployError extends Error {}

/** The steps of a deploy, in order; `onStep` is called after each. */
export const DEPLOY_STEPS = [
  "manifestPlanner",
  "rolloutViews",
  "registryLogic",
  "governanceLogic",
  "fundBinder",
  "token",
  "governor",
  "timelock",
  "coordinator",
  "bind",
  "sweepBinder",
] as const;
export type DeployStep = (typeof DEPLOY_STEPS)[number];

/** What an interrupted deploy leaves that another run can reuse: the libraries, which hold nothing and no one. */
export interface DeployProgress {
  chainId: number;
  deployer: Address;
  libraries: { manifestPlanner?: Address; rolloutViews?: Address; registryLogic?: Address; governanceLogic?: Address };
}

export interface DeployOptions {
  /**
   * The binder's key, for a rehearsal that must recreate the same addresses on another branch of a local chain.
   * Never give one to a real deploy: whoever knows it could bind a half-built token. Default: a fresh random key.
   */
  binderKey?: Hex;
  /** The progress of an interrupted deploy from the same account on the same chain: its libraries are reused. */
  resume?: DeployProgress;
  /** Called after each step with what is done and where; the deploy task saves the progress. Throwing stops it. */
  onStep?: (step: DeployStep, progress: DeployProgress, done: Partial<SystemAddresses>) => void | Promise<void>;
}

/** Gas the binder key's `bindRegistry` call is sent with (it uses about 48,000). */
const BIND_GAS = 80_000n;

/** The coordinator's library links, by the libraries' fully qualified names, as its bytecode names them. */
export function coordinatorLinks(libraries: SystemAddresses["libraries"]) {
  return {
    "contracts/rollout/ManifestPlanner.sol:ManifestPlanner": libraries.manifestPlanner,
    "contracts/rollout/RolloutViews.sol:RolloutViews": libraries.rolloutViews,
    "contracts/rollout/RegistryLogic.sol:RegistryLogic": libraries.registryLogic,
    "contracts/rollout/GovernanceLogic.sol:GovernanceLogic": libraries.governanceLogic,
  };
}

/** The coordinator's linked libraries: their keys in SystemAddresses and their artifacts, in deploy order. */
const LIBRARIES = [
  ["manifestPlanner", plannerArtifact],
  ["rolloutViews", viewsArtifact],
  ["registryLogic", registryLogicArtifact],
  ["governanceLogic", governanceLogicArtifact],
] as const;

/** One deploy under way: who sends, what is done so far, and the report after each step. */
interface DeployRun {
  wallet: DeployWallet;
  reader: Client;
  me: Address;
  p: SystemParams;
  progress: DeployProgress;
  done: Partial<SystemAddresses>;
  /** Reports `name` done to options.onStep, with copies of the progress and the addresses so far. */
  step(name: DeployStep): Promise<void>;
}

/** The binder: a key nobody else ever sees, which creates the token and binds the coordinator to it. */
interface Binder {
  wallet: DeployWallet;
  fees: { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint };
  tokenData: Hex;
  tokenGas: bigint;
}

/**
 * Deploys and wires the whole on-chain system so that the deployer never holds any power over it, at any step:
 *
 * - The timelock is created with the governor as its only proposer and canceller, anyone as executor and no admin
 *   but itself. The governor is created first, naming the timelock's address computed from the deployer's next
 *   nonce; a governor whose timelock is missing has no power over anything.
 * - The token's one-time right to bind its registry belongs to whoever creates it. A fresh key that lives only in
 *   this process's memory creates it and binds the coordinator as the last wiring step. If the deploy stops before
 *   that, the key is gone and nobody, the deployer included, can ever bind that token: the half-built system is
 *   inert, not captured.
 * - The guardian is given, never the deployer.
 *
 * An interrupted deploy resumes from `options.resume`: the libraries are reused, the rest is created anew.
 * `wallet` signs and sends (its account is the deployer); `reader` reads receipts and state. The steps run in the
 * order of DEPLOY_STEPS, each reported to `options.onStep` once done.
 */
export async function deploySystem(
  wallet: DeployWallet,
  reader: Client,
  p: SystemParams,
  options: DeployOptions = {},
): Promise<SystemAddresses> {
  const me = getAddress(wallet.account.address);
  if (p.guardian === me) throw new DeployError("the guardian must not be the deploying account");
  const chainId = await getChainId(reader);
  checkResumable(options.resume, chainId, me);
  const progress: DeployProgress = { chainId, deployer: me, libraries: {} };
  const done: Partial<SystemAddresses> = {};
  const run: DeployRun = {
    wallet,
    reader,
    me,
    p,
    progress,
    done,
    step: async (name) => options.onStep?.(name, structuredClone(progress), { ...done }),
  };

  await deployLibraries(run, options.resume);
  const binder = await fundBinder(run, options.binderKey);
  await createToken(run, binder);
  await createGovernorAndTimelock(run);
  await createCoordinator(run);
  await bindCoordinator(run, binder);
  await sweepBinder(run, binder);

  const system = done as SystemAddresses;
  await checkNoDeployerPower(reader, system, me);
  return system;
}

/** Refuses progress left by another account or on another chain: its libraries are not this deploy's to reuse. */
function checkResumable(resume: DeployProgress | undefined, chainId: number, me: Address) {
  if (resume && (resume.chainId !== chainId || getAddress(resume.deployer) !== me)) {
    throw new DeployError(
      `the deploy to resume was made by ${resume.deployer} on chain ${resume.chainId}, not ${me} on chain ${chainId}`,
    );
  }
}

/**
 * Steps manifestPlanner … governanceLogic: the coordinator's libraries, each reused from `resume` where its code is
 * on chain (they have no constructor and no state; RolloutViews has no ABI of its own), else created.
 */
async function deployLibraries(run: DeployRun, resume: DeployProgress | undefined) {
  const { wallet, reader, progress } = run;
  for (const [key, artifact] of LIBRARIES) {
    const reused = resume?.libraries[key];
    progress.libraries[key] = (await hasCode(reader, reused))
      ? reused
      : await create(wallet, reader, artifact.contractName, creationData(artifact, [], []));
    await run.step(key);
  }
  run.done.libraries = progress.libraries as SystemAddresses["libraries"];
}

async function hasCode(reader: Client, address?: Address): Promise<boolean> {
  return address !== undefined && ((await getCode(reader, { address })) ?? "0x") !== "0x";
}

/** Step fundBinder: a fresh key (or options.binderKey), given just enough for its three transactions. */
async function fundBinder(run: DeployRun, binderKey: Hex | undefined): Promise<Binder> {
  const { wallet, reader, p } = run;
  const binder = createWalletClient({
    account: privateKeyToAccount(binderKey ?? generatePrivateKey()),
    chain: wallet.chain,
    transport: custom({ request: (args) => reader.request(args) }),
  });
  const tokenData = creationData(tokenArtifact, stakeTokenAbi, [p.tokenName, p.tokenSymbol, p.holder, p.supply]);
  const tokenGas = ((await estimateGas(reader, { account: binder.account.address, data: tokenData })) * 5n) / 4n;
  const estimated = await estimateFeesPerGas(reader);
  const fees = { maxFeePerGas: estimated.maxFeePerGas, maxPriorityFeePerGas: estimated.maxPriorityFeePerGas };
  const allowance = (tokenGas + BIND_GAS + 21_000n) * fees.maxFeePerGas;
  if (allowance > 0n) {
    const hash = await wallet.sendTransaction({
      to: binder.account.address,
      value: allowance,
      chain: wallet.chain ?? null,
    });
    await waitForTransactionReceipt(reader, { hash });
  }
  await run.step("fundBinder");
  return { wallet: binder, fees, tokenData, tokenGas };
}

/** Step token: created by the binder, which alone may then bind its registry. */
async function createToken(run: DeployRun, binder: Binder) {
  run.done.token = await create(binder.wallet, run.reader, tokenArtifact.contractName, binder.tokenData, {
    gas: binder.tokenGas,
    ...binder.fees,
  });
  await run.step("token");
}

/** Steps governor and timelock: the governor names the timelock the deployer's next creation makes, and it does. */
async function createGovernorAndTimelock(run: DeployRun) {
  const { wallet, reader, me, p, done } = run;
  const nonce = await getTransactionCount(reader, { address: me, blockTag: "pending" });
  const timelockAt = getContractAddress({ from: me, nonce: BigInt(nonce + 1) });
  done.governor = await create(
    wallet,
    reader,
    governorArtifact.contractName,
    creationData(governorArtifact, lockstepGovernorAbi, [
      done.token!,
      timelockAt,
      p.votingDelay,
      p.votingPeriod,
      p.proposalThreshold,
      p.quorumPercent,
      p.voteExtension,
    ]),
    { nonce },
  );
  await run.step("governor");
  done.timelock = await create(
    wallet,
    reader,
    timelockArtifact.contractName,
    creationData(timelockArtifact, lockstepTimelockAbi, [p.timelockDelay, [done.governor], [zeroAddress], zeroAddress]),
    { nonce: nonce + 1 },
  );
  if (done.timelock !== timelockAt) {
    throw new DeployError(`the timelock landed at ${done.timelock}, not ${timelockAt} where the governor expects it`);
  }
  await run.step("timelock");
}

/** Step coordinator: governed by the timelock, its libraries linked in. */
async function createCoordinator(run: DeployRun) {
  const { wallet, reader, p, done } = run;
  done.coordinator = await create(
    wallet,
    reader,
    coordinatorArtifact.contractName,
    creationData(
      coordinatorArtifact,
      upgradeCoordinatorAbi,
      [done.token!, done.timelock!, p.guardian, p.defaultCohort],
      coordinatorLinks(done.libraries!),
    ),
  );
  await run.step("coordinator");
}

/** Step bind: the binder binds the coordinator to the token, the last wiring step; its key is used up. */
async function bindCoordinator(run: DeployRun, binder: Binder) {
  const hash = await binder.wallet.writeContract({
    address: run.done.token!,
    abi: stakeTokenAbi,
    functionName: "bindRegistry",
    args: [run.done.coordinator!],
    gas: BIND_GAS,
    chain: run.wallet.chain ?? null,
    ...binder.fees,
  });
  if ((await waitForTransactionReceipt(run.reader, { hash })).status !== "success") {
    throw new DeployError(`binding the coordinator to the token failed (transaction ${hash})`);
  }
  await run.step("bind");
}

/** Step sweepBinder: what is left of the allowance goes back; at a price equal to the tip it costs 21,000 × it. */
async function sweepBinder(run: DeployRun, binder: Binder) {
  const { reader } = run;
  const left = await getBalance(reader, { address: binder.wallet.account.address });
  const price = (await estimateFeesPerGas(reader)).maxFeePerGas;
  if (left > 21_000n * price) {
    const hash = await binder.wallet.sendTransaction({
      to: run.me,
      value: left - 21_000n * price,
      gas: 21_000n,
      maxFeePerGas: price,
      maxPriorityFeePerGas: price,
      chain: run.wallet.chain ?? null,
    });
    await waitForTransactionReceipt(reader, { hash });
  }
  await run.step("sweepBinder");
}

/** The powers a deployer could keep, read from chain: throws if it holds any of them. */
export async function deployerPowers(reader: Client, system: Partial<SystemAddresses>, who: Address) {
  const held: string[] = [];
  if (system.timelock) {
    for (const role of ["DEFAULT_ADMIN_ROLE", "PROPOSER_ROLE", "CANCELLER_ROLE", "EXECUTOR_ROLE"] as const) {
      const id = await readContract(reader, { address: system.timelock, abi: lockstepTimelockAbi, functionName: role });
      const has = await readContract(reader, {
        address: system.timelock,
        abi: lockstepTimelockAbi,
        functionName: "hasRole",
        args: [id, who],
      });
      if (has) held.push(`timelock ${role}`);
    }
  }
  if (system.token) {
    const bindable = await simulateContract(reader, {
      account: who,
      address: system.token,
      abi: stakeTokenAbi,
      functionName: "bindRegistry",
      args: [who],
    }).then(
      () => true,
      () => false,
    );
    if (bindable) held.push("the token's registry binding");
  }
  if (system.coordinator) {
    const c = { address: system.coordinator, abi: upgradeCoordinatorAbi } as const;
    if (getAddress(await readContract(reader, { ...c, functionName: "guardian" })) === who) held.push("guardian");
    if (getAddress(await readContract(reader, { ...c, functionName: "governance" })) === who) held.push("governance");
  }
  return held;
}

async function checkNoDeployerPower(reader: Client, system: SystemAddresses, me: Address) {
  const held = await deployerPowers(reader, system, me);
  if (held.length) throw new DeployError(`the deployer still holds: ${held.join(", ")}`);
  const registry = await readContract(reader, { address: system.token, abi: stakeTokenAbi, functionName: "registry" });
  if (getAddress(registry) !== system.coordinator) {
    throw new DeployError(`the token's registry is ${registry}, not the coordinator ${system.coordinator}`);
  }
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
