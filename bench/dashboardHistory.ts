// Writes a long coordinator history on a live node for the dashboard benchmark: validators registered a few per
// block, one upgrade scheduled and activated, then relayed attestation batches of 1 to 8 items, one batch per
// block, so events spread over hundreds of blocks the way a busy rollout spreads them (each event block costs the
// dashboard a block-time lookup).
import { Wallet, keccak256, parseEther, toBeHex, toUtf8Bytes } from "ethers";
import { createWalletClient, getAddress, http, keccak256 as hash, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { packAttestations } from "../lib/actions/packAttestations";
import { signAttestation } from "../lib/actions/signAttestation";
import { Status } from "../lib/coordinator";
import { stageRules } from "../lib/manifest";
import { versionTag } from "../lib/version";
import type { Chain } from "../test/helpers/e2e";
import type { Deployment } from "../test/helpers/e2e";
import { RosterFiller__factory } from "../typechain-types";
import { fillerProofs } from "./gasFiller";

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

/** Validators for a history of `events`: enough that attestations repeat a dozen times each, at most 256. */
const validatorsFor = (events: number) => Math.min(256, Math.max(4, Math.floor(events / 12)));

export async function writeHistory(chain: Chain, d: Deployment, events: number): Promise<HistoryShape> {
  const validators = validatorsFor(events);
  // Registrations, UpgradeScheduled, StageActivated, attestations; the deployment's own events come on top.
  const attestations = events - validators - 2;
  if (attestations < 0) throw new Error(`--events must be at least ${validators + 2}`);
  const coordinator = await d.coordinator.getAddress();
  const relayer = d.deployer.address;
  // Raw sends with a fixed gas limit: no estimate round trip per transaction. Automine rejects a reverting one.
  const send = (to: string, data: string, gas: number) =>
    chain.provider.send("eth_sendTransaction", [{ from: relayer, to, data, gas: toBeHex(gas) }]);

  const keys = Array.from(
    { length: validators },
    (_, i) => new Wallet(keccak256(toUtf8Bytes(`lockstep-bench:dashboard:${i}`))),
  );
  const filler = await new RosterFiller__factory(d.deployer).deploy();
  const fillerAddress = await filler.getAddress();
  const stakeEach = parseEther("1000");
  await (await d.token.connect(d.deployer).transfer(fillerAddress, stakeEach * BigInt(validators))).wait();
  const operators: string[] = [];
  for (let i = 0; i < validators; i += REGISTER_PER_TX) {
    const batch = keys.slice(i, i + REGISTER_PER_TX).map((k) => k.privateKey as Hex);
    const { attesters, proofs } = await fillerProofs(chain.provider, fillerAddress, coordinator, batch);
    const args: [string, string, string[], string[], bigint, number] = [
      await d.token.getAddress(),
      coordinator,
      attesters,
      proofs,
      stakeEach,
      i,
    ];
    operators.push(...((await filler.fill.staticCall(...args)) as string[]));
    await send(fillerAddress, filler.interface.encodeFunctionData("fill", args), 5_000_000);
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
  await (await d.coordinator.connect(d.timelockSigner).schedule(manifest)).wait();
  const upgradeId = await d.coordinator.upgradeCount();
  await (await d.coordinator.advance(upgradeId)).wait();

  const { chainId } = await chain.provider.getNetwork();
  const client = createWalletClient({ transport: http(chain.url) });
  const start = (await chain.provider.getBlock("latest"))!.timestamp;
  const version = versionTag(VERSION);
  // Validator i's r-th attestation is issued at start + r + 1: strictly later than its previous one, and never
  // ahead of the block that carries it (a round spans at least one block, and each block adds a second).
  const signed = await Promise.all(
    Array.from({ length: attestations }, (_, n) => {
      const i = n % validators;
      const round = Math.floor(n / validators);
      return signAttestation(client, {
        account: privateKeyToAccount(keys[i].privateKey as Hex),
        chainId,
        coordinator: getAddress(coordinator),
        attestation: {
          operator: getAddress(operators[i]),
          upgradeId,
          stage: 0,
          status: i % 5 === 4 ? Status.Unhealthy : Status.Healthy,
          version,
          height: BigInt(1_000 + round),
          metricsDigest: hash("0x03"),
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
      coordinator,
      d.coordinator.interface.encodeFunctionData("relayAttestations", [batch]),
      100_000 + 60_000 * size,
    );
    n += size;
  }

  const logs = await chain.provider.getLogs({ address: coordinator, fromBlock: d.startBlock, toBlock: "latest" });
  return {
    events: logs.length,
    validators,
    eventBlocks: new Set(logs.map((l) => l.blockNumber)).size,
    head: await chain.provider.getBlockNumber(),
  };
}

/**
 * `count` Governor proposals, each voted on with a reason: the first half run their course (passed or not), the
 * rest are open, so the page reads both finished and active proposals, as on a network a while into its life.
 */
export async function writeProposals(chain: Chain, d: Deployment, count: number): Promise<number> {
  if (count === 0) return 0;
  const coordinator = await d.coordinator.getAddress();
  await (await d.token.connect(d.deployer).delegate(d.deployer.address)).wait();
  const mine = (n: bigint) => chain.provider.send("hardhat_mine", [`0x${n.toString(16)}`]);
  const made: bigint[] = [];
  for (let i = 0; i < count; i++) {
    if (i === Math.ceil(count / 2)) await mine((await d.governor.votingPeriod()) + 20n); // the first half ends
    const calldata = d.coordinator.interface.encodeFunctionData("setDefaultCohort", [1 + (i % 5)]);
    const description = `# Bench proposal ${i}\n\nMoves new registrations to cohort ${1 + (i % 5)}.`;
    await (await d.governor.connect(d.deployer).propose([coordinator], [0n], [calldata], description)).wait();
    made.push(await d.governor.hashProposal([coordinator], [0n], [calldata], keccak256(toUtf8Bytes(description))));
    await mine(2n);
    await (
      await d.governor.connect(d.deployer).castVoteWithReason(made[i], i % 3, `bench vote ${i}`, { gasLimit: 300_000 })
    ).wait();
  }
  return made.length;
}
