// The rehearsal network: a local chain, the system deployed on it, and a validator set with unequal stake in
// three cohorts, its delegators, and its cohorts assigned by a real governance proposal.
import {
  createWalletClient,
  encodeFunctionData,
  getAddress,
  keccak256,
  parseEther,
  stringToBytes,
  type Abi,
  type Account,
  type Address,
  type Hex,
  type PrivateKeyAccount,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { stakeTokenAbi, upgradeCoordinatorAbi } from "../../lib/abi/generated";
import { sendContractCall } from "../../lib/actions/sendContractCall";
import { signAttesterProof } from "../../lib/actions/signAttesterProof";
import { defaultParams, deploySystem, deploymentRecord } from "../../lib/deploy";
import { writeDeployment } from "../../lib/deployments";
import { DEFAULT_RPC_PORT, startChain, type Chain } from "../../rehearsal/localnet";

export const COHORT_NAMES = ["canary", "early", "main"] as const;

/** A key the drill holds: an account that signs locally, and its private key for the watcher's config. */
export type DrillKey = PrivateKeyAccount & { privateKey: Hex };

export function drillKey(privateKey: Hex): DrillKey {
  return Object.assign(privateKeyToAccount(privateKey), { privateKey });
}

export interface DrillValidator {
  name: string;
  /** 1 canary, 2 early, 3 main. */
  cohort: number;
  operator: DrillKey;
  attester: DrillKey;
  ownStake: bigint;
  delegators: { wallet: DrillKey; amount: bigint }[];
  /** Own stake plus what delegators delegated: the validator's weight. */
  weight: bigint;
}

export interface Net {
  chain: Chain;
  network: string;
  /** The node's unlocked accounts 0, 1 and 2. */
  deployer: Address;
  guardian: Address;
  keeper: Address;
  startBlock: number;
  deploymentsFile: string;
  addresses: { coordinator: Address; governor: Address; token: Address; timelock: Address };
}

/** Sends one contract call from `from` (a node account or a drill key): lib's sendContractCall. */
export function sendAs(
  net: Net,
  from: Address | Account,
  call: { address: Address; abi: Abi; functionName: string; args: readonly unknown[] },
) {
  const wallet = createWalletClient({ account: from, transport: net.chain.transport, pollingInterval: 100 });
  return sendContractCall(wallet, { ...call, reader: net.chain.client });
}

/** A deterministic number in [0, 1) from the seed and a label. */
export function seeded(seed: string, label: string): number {
  return Number(BigInt(keccak256(stringToBytes(`${seed}:${label}`))) % 1_000_000n) / 1_000_000;
}

const key = (seed: string, label: string) => drillKey(keccak256(stringToBytes(`lockstep-drill:${seed}:${label}`)));

/** The validator set: keys and stakes from the seed, unequal, a few delegators each. */
export function planValidators(seed: string, split: [number, number, number]): DrillValidator[] {
  const out: DrillValidator[] = [];
  const n = split[0] + split[1] + split[2];
  const width = String(n).length;
  let index = 0;
  split.forEach((count, c) => {
    for (let i = 0; i < count; i++) {
      index += 1;
      const name = `val-${String(index).padStart(width, "0")}`;
      // Own stake 100k..2.1M tokens, skewed so a few validators are large.
      const own = parseEther(String(Math.round(100_000 + 2_000_000 * seeded(seed, `${name}:stake`) ** 2)));
      const delegators: DrillValidator["delegators"] = [];
      const count = Math.floor(seeded(seed, `${name}:delegators`) * 3);
      for (let d = 0; d < count; d++) {
        delegators.push({
          wallet: key(seed, `${name}:delegator:${d}`),
          amount: parseEther(String(Math.round(20_000 + 800_000 * seeded(seed, `${name}:delegator:${d}`)))),
        });
      }
      out.push({
        name,
        cohort: c + 1,
        operator: key(seed, `${name}:operator`),
        attester: key(seed, `${name}:attester`),
        ownStake: own,
        delegators,
        weight: own + delegators.reduce((s, d) => s + d.amount, 0n),
      });
    }
  });
  return out;
}

/**
 * Starts the chain (Hardhat's default port when free: the `localhost` network), deploys, writes the deployments file.
 * `startupMs`, how long the drill itself took to start, sets how long the chain gets: hardhat starts the same way.
 */
export async function startNetwork(validators: DrillValidator[], deploymentsDir?: string, startupMs = 0): Promise<Net> {
  const chain = await startChain({ preferPort: DEFAULT_RPC_PORT, timeoutMs: Math.max(60_000, 10 * startupMs) });
  try {
    const network = chain.port === DEFAULT_RPC_PORT ? "localhost" : "drill";
    const [deployer, guardian, keeper] = await chain.accounts();
    const distributed = validators.reduce((s, v) => s + v.weight, 0n);
    // The treasury keeps a fifth of the supply, undelegated: it does not vote.
    // Every vote is a block on this chain: the voting period leaves room for the whole set to vote.
    const params = {
      ...defaultParams(deployer, guardian),
      supply: (distributed * 5n) / 4n,
      votingPeriod: BigInt(Math.max(50, validators.length * 2 + 20)),
    };
    const startBlock = Number(await chain.client.getBlockNumber()) + 1;
    const wallet = createWalletClient({ account: deployer, transport: chain.transport, pollingInterval: 100 });
    const system = await deploySystem(wallet, chain.client, params);
    const addresses = {
      coordinator: system.coordinator,
      governor: system.governor,
      token: system.token,
      timelock: system.timelock,
    };
    const deploymentsFile = writeDeployment(
      deploymentRecord(system, {
        network,
        chainId: await chain.client.getChainId(),
        startBlock,
        guardian,
        params,
      }),
      deploymentsDir,
    );
    return { chain, network, deployer, guardian, keeper, startBlock, deploymentsFile, addresses };
  } catch (e) {
    await chain.stop();
    throw e;
  }
}

/** Runs `work` over `items`, `width` at a time (different accounts, so their transactions do not race). */
export async function inBatches<T>(items: T[], width: number, work: (item: T) => Promise<void>) {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(work));
}

/**
 * Funds every account with gas, hands out stake from the treasury, has delegators delegate to their operator and
 * operators to themselves, and registers every validator (in the default cohort: governance assigns cohorts).
 */
export async function fundAndRegister(net: Net, validators: DrillValidator[]) {
  const token = { address: net.addresses.token, abi: stakeTokenAbi };
  const coordinator = { address: net.addresses.coordinator, abi: upgradeCoordinatorAbi };
  const gas = "0x56BC75E2D63100000"; // 100 ETH
  const accounts = validators.flatMap((v) => [v.operator, v.attester, ...v.delegators.map((d) => d.wallet)]);
  await inBatches(accounts, 50, async (w) => {
    await net.chain.send("hardhat_setBalance", [w.address, gas]);
  });
  // Stake transfers from the treasury (an unlocked node account: the node assigns nonces, so they may overlap).
  const transfers = validators.flatMap((v) => [
    { to: v.operator.address, amount: v.ownStake },
    ...v.delegators.map((d) => ({ to: d.wallet.address, amount: d.amount })),
  ]);
  await inBatches(transfers, 25, async (t) => {
    await sendAs(net, net.deployer, { ...token, functionName: "transfer", args: [t.to, t.amount] });
  });
  const chainId = await net.chain.client.getChainId();
  await inBatches(validators, 20, async (v) => {
    await sendAs(net, v.operator, { ...token, functionName: "delegate", args: [v.operator.address] });
    const proof = await signAttesterProof(net.chain.client, {
      account: v.attester,
      chainId,
      coordinator: coordinator.address,
      operator: v.operator.address,
    });
    await sendAs(net, v.operator, {
      ...coordinator,
      functionName: "register",
      args: [v.attester.address, `ipfs://lockstep-drill/${v.name}`, proof],
    });
    for (const d of v.delegators) {
      await sendAs(net, d.wallet, { ...token, functionName: "delegate", args: [v.operator.address] });
    }
  });
}

/**
 * Seconds a restart lease lasts in the drill (between one and two of these): a day, longer than the chain time the
 * keeper skips (time locks, observation windows), so no lease expires under a validator still restarting.
 */
export const LEASE_DURATION = 86_400;

/**
 * The drill's restart budget: 10% of the registered stake, or the share of its largest validator when that is more
 * (basis points, rounded up), so every validator can restart and the larger cohorts roll through in waves.
 */
export function restartBudgetBps(validators: DrillValidator[]): number {
  const total = validators.reduce((s, v) => s + v.weight, 0n);
  const largest = validators.reduce((m, v) => (v.weight > m ? v.weight : m), 0n);
  return Math.max(1000, Number((largest * 10_000n + total - 1n) / total));
}

/**
 * setCohort calls per proposal. One costs some 240,000 gas through the timelock, and a transaction may not use more
 * than 2^24 gas (EIP-7825, enforced by the local chain): 40 keep an execution near 10M, so 300 validators need two.
 */
export const COHORT_CALLS_PER_PROPOSAL = 40;

/**
 * Assigns cohorts the way a network would: governance proposals with batches of setCohort calls, as few as the
 * transaction gas cap allows (one for a small set). The last one also sets the restart budget (restartBudgetBps)
 * for the upgrades to come.
 */
export function cohortProposals(net: Net, validators: DrillValidator[]) {
  const moved = validators.filter((v) => v.cohort !== 3);
  const bps = restartBudgetBps(validators);
  const parts: DrillValidator[][] = [];
  for (let i = 0; i < moved.length; i += COHORT_CALLS_PER_PROPOSAL)
    parts.push(moved.slice(i, i + COHORT_CALLS_PER_PROPOSAL));
  if (parts.length === 0) parts.push([]);
  const budget = encodeFunctionData({
    abi: upgradeCoordinatorAbi,
    functionName: "setRestartBudget",
    args: [bps, LEASE_DURATION],
  });
  const summary = `${moved.filter((v) => v.cohort === 1).length} canary, ${moved.filter((v) => v.cohort === 2).length} early (the rest stay main)`;
  return {
    moved,
    bps,
    proposals: parts.map((part, i) => {
      const last = i === parts.length - 1;
      return {
        targets: [...part.map(() => net.addresses.coordinator), ...(last ? [net.addresses.coordinator] : [])],
        values: [...part.map(() => 0n), ...(last ? [0n] : [])],
        calldatas: [
          ...part.map((v) =>
            encodeFunctionData({
              abi: upgradeCoordinatorAbi,
              functionName: "setCohort",
              args: [getAddress(v.operator.address), v.cohort],
            }),
          ),
          ...(last ? [budget] : []),
        ],
        description: `Assign rollout cohorts: ${summary}${parts.length > 1 ? `, part ${i + 1} of ${parts.length}` : ""}\n\n${part.map((v) => `${v.name} ${v.operator.address} -> cohort ${v.cohort}`).join("\n")}${last ? `\nrestart budget ${bps} bps, leases of ${LEASE_DURATION} s` : ""}`,
      };
    }),
  };
}
