// Writes a long coordinator history on a live node for the dashboard benchmark: validators registered a few per
// block, one upgrade scheduled and activated, then relayed attestation batches of 1 to 8 items, one batch per
// block, so events spread over hundreds of blocks the way a busy rollout spreads them (each event block costs the
// dashboard a block-time lookup). viem only, over rehearsal/localnet's chain and deployment, as the drill uses.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  createWalletClient,
  decodeEventLog,
  encodeFunctionData,
  getAddress,
  http,
  keccak256,
  parseAbi,
  parseEther,
  stringToHex,
  toHex,
  type Abi,
  type Address,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { lockstepGovernorAbi, stakeTokenAbi, upgradeCoordinatorAbi } from "../lib/abi/generated";
import { packAttestations } from "../lib/actions/packAttestations";
import { signAttestation } from "../lib/actions/signAttestation";
import { Status } from "../lib/coordinator";
import { stageRules } from "../lib/manifest";
import { versionTag } from "../lib/version";
import { ROOT, type Chain, type LocalDeployment } from "../rehearsal/localnet";
import { signFillerProofs } from "./gasFiller";

export interface HistoryShape {
  /** Coordinator events written (counted from the logs afterwards). */
  events: number;
  validators: number;
  /** Blocks holding at least one coordinator event. */
  eventBlocks: number;
  head: number;
}

const REGISTER_PER_TX = 10;
const COHORT = 3; // the default cohort: new registrations land in it
const VERSION = "v2.0.0";
const FILLER = join(ROOT, "artifacts", "contracts", "test", "RosterFiller.sol", "RosterFiller.json");
const filledEvent = parseAbi(["event Filled(uint256 first, address[] operators)"]);

/** Validators for a history of `events`: enough that attestations repeat a dozen times each, at most 256. */
const validatorsFor = (events: number) => Math.min(256, Math.max(4, Math.floor(events / 12)));

/** Sends a transaction from an unlocked (or impersonated) node account, with a fixed gas limit: no estimate round
 * trip. Automine mines it at once; a revert throws. */
async function send(chain: Chain, from: Address, to: Address, data: Hex, gas = 1_000_000): Promise<Hex> {
  const hash = (await chain.send("eth_sendTransaction", [{ from, to, data, gas: toHex(gas) }])) as Hex;
  const receipt = await chain.client.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`transaction ${hash} to ${to} reverted`);
  return hash;
}

export async function writeHistory(chain: Chain, d: LocalDeployment, events: number): Promise<HistoryShape> {
  const validators = validatorsFor(events);
  // Registrations, UpgradeScheduled, StageActivated, attestations; the deployment's own events come on top.
  const attestations = events - validators - 2;
  if (attestations < 0) throw new Error(`--events must be at least ${validators + 2}`);
  const { addresses } = d;
  const coordinator = getAddress(addresses.coordinator);
  const token = getAddress(addresses.token);

  const secrets = Array.from({ length: validators }, (_, i) => keccak256(stringToHex(`lockstep-bench:dashboard:${i}`)));
  const keys = secrets.map((secret) => privateKeyToAccount(secret));
  const artifact = JSON.parse(readFileSync(FILLER, "utf8")) as { abi: Abi; bytecode: Hex };
  const deployer = createWalletClient({ account: d.deployer, transport: http(chain.url) });
  const deployHash = await deployer.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, chain: null });
  const filler = (await chain.client.waitForTransactionReceipt({ hash: deployHash })).contractAddress!;
  const stakeEach = parseEther("1000");
  await send(
    chain,
    d.deployer,
    token,
    encodeFunctionData({
      abi: stakeTokenAbi,
      functionName: "transfer",
      args: [filler, stakeEach * BigInt(validators)],
    }),
  );
  const operators: Address[] = [];
  for (let i = 0; i < validators; i += REGISTER_PER_TX) {
    const batch = secrets.slice(i, i + REGISTER_PER_TX);
    const firstNonce = BigInt(await chain.client.getTransactionCount({ address: filler }));
    const { attesters, proofs } = await signFillerProofs(
      await chain.client.getChainId(),
      firstNonce,
      filler,
      coordinator,
      batch,
    );
    const data = encodeFunctionData({
      abi: artifact.abi,
      functionName: "fill",
      args: [token, coordinator, attesters, proofs, stakeEach, BigInt(i)],
    });
    const hash = await send(chain, d.deployer, filler, data, 5_000_000);
    const receipt = await chain.client.getTransactionReceipt({ hash });
    for (const log of receipt.logs) {
      if (getAddress(log.address) !== getAddress(filler)) continue;
      try {
        const e = decodeEventLog({ abi: filledEvent, data: log.data, topics: log.topics });
        operators.push(...e.args.operators);
      } catch {
        // another event of the filler's
      }
    }
  }

  const manifest = {
    name: `bench-${events}`,
    version: VERSION,
    previousVersion: "v1.0.0",
    artifacts: [{ platform: "linux-amd64", uri: "https://dl.example/node-v2.0.0", sha256Digest: keccak256("0x01") }],
    featureFlags: [],
    metadataURI: "",
    manifestHash: keccak256("0x02"),
    stateIncompatible: false,
    // Every fifth validator reports Unhealthy: 20% of the stake, under the 50% pause limit.
    stages: [stageRules(COHORT, { observationWindow: 3600, healthyBps: 9000, unhealthyBps: 5000 })],
  };
  await send(
    chain,
    d.timelock,
    coordinator,
    encodeFunctionData({ abi: upgradeCoordinatorAbi, functionName: "schedule", args: [manifest] }),
    3_000_000,
  );
  const upgradeId = (await chain.client.readContract({
    address: coordinator,
    abi: upgradeCoordinatorAbi,
    functionName: "upgradeCount",
  })) as bigint;
  await send(
    chain,
    d.deployer,
    coordinator,
    encodeFunctionData({ abi: upgradeCoordinatorAbi, functionName: "advance", args: [upgradeId] }),
  );

  const chainId = await chain.client.getChainId();
  const client = createWalletClient({ transport: http(chain.url) });
  const start = Number((await chain.client.getBlock()).timestamp);
  const version = versionTag(VERSION);
  // Validator i's r-th attestation is issued at start + r + 1: strictly later than its previous one, and never
  // ahead of the block that carries it (a round spans at least one block, and each block adds a second).
  const signed = await Promise.all(
    Array.from({ length: attestations }, (_, n) => {
      const i = n % validators;
      const round = Math.floor(n / validators);
      return signAttestation(client, {
        account: keys[i],
        chainId,
        coordinator,
        attestation: {
          operator: getAddress(operators[i]),
          upgradeId,
          stage: 0,
          status: i % 5 === 4 ? Status.Unhealthy : Status.Healthy,
          version,
          height: BigInt(1_000 + round),
          metricsDigest: keccak256("0x03"),
          issuedAt: start + round + 1,
          deadline: start + 10_000_000,
        },
      });
    }),
  );
  for (let n = 0, k = 0; n < signed.length; k++) {
    const size = Math.min(1 + ((k * 5) % 8), signed.length - n); // 1..8 items, mean 4.5
    const batch = packAttestations(signed.slice(n, n + size));
    await send(
      chain,
      d.deployer,
      coordinator,
      encodeFunctionData({ abi: upgradeCoordinatorAbi, functionName: "relayAttestations", args: [batch] }),
      100_000 + 60_000 * size,
    );
    n += size;
  }

  const logs = await chain.client.getLogs({ address: coordinator, fromBlock: BigInt(d.startBlock), toBlock: "latest" });
  return {
    events: logs.length,
    validators,
    eventBlocks: new Set(logs.map((l) => l.blockNumber)).size,
    head: Number(await chain.client.getBlockNumber()),
  };
}

/**
 * `count` Governor proposals, each voted on with a reason: the first half run their course (passed or not), the
 * rest are open, so the page reads both finished and active proposals, as on a network a while into its life.
 */
export async function writeProposals(chain: Chain, d: LocalDeployment, count: number): Promise<number> {
  if (count === 0) return 0;
  const coordinator = getAddress(d.addresses.coordinator);
  const governor = getAddress(d.addresses.governor);
  await send(
    chain,
    d.deployer,
    getAddress(d.addresses.token),
    encodeFunctionData({ abi: stakeTokenAbi, functionName: "delegate", args: [d.deployer] }),
  );
  const mine = (n: bigint) => chain.send("hardhat_mine", [`0x${n.toString(16)}`]);
  const votingPeriod = (await chain.client.readContract({
    address: governor,
    abi: lockstepGovernorAbi,
    functionName: "votingPeriod",
  })) as bigint;
  const made: bigint[] = [];
  for (let i = 0; i < count; i++) {
    if (i === Math.ceil(count / 2)) await mine(votingPeriod + 20n); // the first half ends
    const calldata = encodeFunctionData({
      abi: upgradeCoordinatorAbi,
      functionName: "setDefaultCohort",
      args: [1 + (i % 5)],
    });
    const description = `# Bench proposal ${i}\n\nMoves new registrations to cohort ${1 + (i % 5)}.`;
    await send(
      chain,
      d.deployer,
      governor,
      encodeFunctionData({
        abi: lockstepGovernorAbi,
        functionName: "propose",
        args: [[coordinator], [0n], [calldata], description],
      }),
    );
    made.push(
      (await chain.client.readContract({
        address: governor,
        abi: lockstepGovernorAbi,
        functionName: "hashProposal",
        args: [[coordinator], [0n], [calldata], keccak256(stringToHex(description))],
      })) as bigint,
    );
    await mine(2n);
    await send(
      chain,
      d.deployer,
      governor,
      encodeFunctionData({
        abi: lockstepGovernorAbi,
        functionName: "castVoteWithReason",
        args: [made[i], i % 3, `bench vote ${i}`],
      }),
      300_000,
    );
  }
  return made.length;
}
