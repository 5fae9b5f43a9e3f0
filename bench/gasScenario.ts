import { ethers, network } from "hardhat";
import { reset, time } from "@nomicfoundation/hardhat-network-helpers";
import { Wallet, keccak256, toUtf8Bytes, parseEther, TransactionReceipt } from "ethers";
import { deploySystem, defaultParams } from "../lib/deploy";
import { createPublicClient, createWalletClient, custom, getAddress, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { packAttestations } from "../lib/actions/packAttestations";
import { signAttestation } from "../lib/actions/signAttestation";
import { fillerProofs } from "./gasFiller";
import { Status } from "../lib/coordinator";
import { stageRules } from "../lib/manifest";
import { versionTag } from "../lib/version";
import { RosterFiller__factory } from "../typechain-types";
import { contractsAt } from "../test/helpers/contracts";

export interface GasRow {
  operation: string;
  validators: number;
  gas: number;
  checkpoints?: number;
  /** Relayed rows: attestations in the batch, and gas per attestation once the 21,000 transaction base is
   * taken out (what the flatness check compares when batches differ in size). */
  batch?: number;
  marginal?: number;
}

/** Validators registered per transaction: keyed registrations (with an ECDSA proof each) must fit the 2^24 gas cap
 * a transaction has since EIP-7825. */
const FILL_CHUNK = 25;
const BATCH = 100;
const SMALL_BATCH = 8;
// One direct attester, a relayed batch of 100 and a relayed batch of 8: the small batch is what a
// 10-validator registry can relay, so comparing it across registry sizes isolates the registry's effect.
const MEASURED = 1 + BATCH + SMALL_BATCH;
/** The chain's clock at the start of every run, so signed attestations (which carry times) are the same bytes in
 * every run and the figures repeat exactly: a calldata byte costs 4 gas when zero and 16 when not. */
const START_TIME = 4_000_000_000;

/** The attester of the background validator that takes the measured restart lease. */
const LEASE_KEY = new Wallet(keccak256(toUtf8Bytes("lockstep-bench:lease")));
/** The longest lease duration: the budget's epoch cannot turn during a run, so the lease's figure repeats. */
const LEASE_DURATION = 2 ** 24 - 1;

function attesterKey(i: number): Wallet {
  return new Wallet(keccak256(toUtf8Bytes(`lockstep-bench:attester:${i}`)), ethers.provider);
}

async function gasOf(tx: Promise<{ wait(): Promise<TransactionReceipt | null> }>): Promise<number> {
  const receipt = await (await tx).wait();
  return Number(receipt!.gasUsed);
}

/**
 * Measures the hot operations on a fresh Hardhat network holding `validators` registered validators, each
 * operator (and each voter) with `checkpoints` vote checkpoints. The measured validators are registered last, so
 * their indices are the highest in the registry.
 */
export async function measureGas(validators: number, checkpoints = 1): Promise<GasRow[]> {
  await reset();
  await time.increaseTo(START_TIME);
  const [deployer, guardian, voterA, voterB, voterC] = await ethers.getSigners();
  const transport = custom(network.provider);
  const addresses = await deploySystem(
    createWalletClient({ account: getAddress(deployer.address), transport }),
    createPublicClient({ transport }),
    { ...defaultParams(deployer.address, guardian.address), votingPeriod: 20n },
  );
  const system = contractsAt(addresses, deployer);
  const { token, coordinator, governor, timelock } = system;
  const governance = await impersonate(await timelock.getAddress());
  const filler = await new RosterFiller__factory(deployer).deploy();
  const stake = parseEther("1000");
  await (await token.transfer(await filler.getAddress(), stake * BigInt(validators + 10) + parseEther("100"))).wait();

  const measured = Math.min(MEASURED, validators - 1);
  const background = validators - measured;

  // Background validators in cohort 2 (the stage after the measured one), measured ones in cohort 1. The last
  // background validator's attester is LEASE_KEY: it takes the measured lease.
  await (await coordinator.connect(governance).setDefaultCohort(2)).wait();
  let leaseOperator = "";
  const fillerAddress = await filler.getAddress();
  const coordinatorAddress = getAddress(await coordinator.getAddress());
  for (let done = 0; done < background; done += FILL_CHUNK) {
    const n = Math.min(FILL_CHUNK, background - done);
    const keys: (Hex | null)[] = new Array(n).fill(null);
    if (done + n === background) keys[n - 1] = LEASE_KEY.privateKey as Hex;
    const { attesters, proofs } = await fillerProofs(filler.runner!.provider!, fillerAddress, coordinatorAddress, keys);
    const receipt = await (await filler.fill(token, coordinator, attesters, proofs, stake, done)).wait();
    const event = receipt!.logs.map((l) => filler.interface.parseLog(l)).find((e) => e?.name === "Filled");
    if (done + n === background) leaseOperator = (event!.args.operators as string[])[n - 1];
  }
  await (await coordinator.connect(governance).setDefaultCohort(1)).wait();
  const keys = Array.from({ length: measured }, (_, i) => attesterKey(i));
  const operators: string[] = [];
  for (let done = 0; done < measured; done += FILL_CHUNK) {
    const batch = keys.slice(done, done + FILL_CHUNK).map((k) => k.privateKey as Hex);
    const { attesters, proofs } = await fillerProofs(
      filler.runner!.provider!,
      fillerAddress,
      coordinatorAddress,
      batch,
    );
    const receipt = await (await filler.fill(token, coordinator, attesters, proofs, stake, 1_000_000 + done)).wait();
    const event = receipt!.logs.map((l) => filler.interface.parseLog(l)).find((e) => e?.name === "Filled");
    operators.push(...(event!.args.operators as string[]));
  }

  // Voters: an earlier voter, then the measured castVote and castVoteBySig voters, all with delegated stake.
  for (const voter of [voterA, voterB, voterC]) {
    await (await token.transfer(voter.address, parseEther("10000000"))).wait();
    await (await token.connect(voter).delegate(voter.address)).wait();
  }
  // Extra checkpoints: one more per block.
  for (let c = 1; c < checkpoints; c++) {
    await (await filler.sprinkle(token, [...operators, voterA.address, voterB.address, voterC.address], 1n)).wait();
  }

  const rows: GasRow[] = [];
  const row = (operation: string, gas: number, extra: Partial<GasRow> = {}) =>
    rows.push({ operation, validators, gas, ...(checkpoints !== 1 ? { checkpoints } : {}), ...extra });

  // --- the rollout: measured cohort first (no time lock, no readiness, 1 bps to advance), background cohort after.
  const manifest = {
    name: `bench-${validators}-${checkpoints}`,
    version: "v2.0.0",
    previousVersion: "v1.0.0",
    artifacts: [{ platform: "linux-amd64", uri: "https://example.org/node", sha256Digest: keccak256("0x01") }],
    featureFlags: [],
    metadataURI: "",
    manifestHash: keccak256("0x02"),
    stateIncompatible: false,
    stages: [
      stageRules(1, { observationWindow: 0, healthyBps: 1, unhealthyBps: 10_000 }),
      stageRules(2, { timelock: 3600 }),
    ],
  };
  await (await coordinator.connect(governance).setRestartBudget(1000, LEASE_DURATION)).wait();
  await (await coordinator.connect(governance).schedule(manifest)).wait();
  const upgradeId = await coordinator.upgradeCount();
  row("activate", await gasOf(coordinator.advance(upgradeId)));

  const version = versionTag("v2.0.0");
  const digest = keccak256("0x03");
  const direct = keys[0].connect(ethers.provider);
  await network.provider.request({ method: "hardhat_setBalance", params: [direct.address, "0x56BC75E2D63100000"] });
  row(
    "attest",
    await gasOf(coordinator.connect(direct).attest(operators[0], upgradeId, 0, Status.Healthy, version, 123n, digest)),
  );

  const { chainId } = await ethers.provider.getNetwork();
  // Fixed times, not the latest block's: the set-up above takes longer on a busy machine.
  const now = START_TIME;
  const client = createWalletClient({ transport: custom(network.provider) });
  const sign = (i: number) =>
    signAttestation(client, {
      account: privateKeyToAccount(keys[i].privateKey as Hex),
      chainId,
      coordinator: coordinatorAddress,
      attestation: {
        operator: getAddress(operators[i]),
        upgradeId,
        stage: 0,
        status: Status.Healthy,
        version,
        height: 1234n,
        metricsDigest: digest as Hex,
        issuedAt: now,
        deadline: now + 86_400,
      },
    });
  // Validators 1..: a batch of 100 where the registry has them, then a batch of 8 (all that is left at 10).
  const sizes = measured > BATCH + SMALL_BATCH ? [BATCH, SMALL_BATCH] : [measured - 1];
  let next = 1;
  for (const size of sizes) {
    const batch = await Promise.all(Array.from({ length: size }, (_, k) => sign(next + k)));
    next += size;
    const relayGas = await gasOf(coordinator.relayAttestations(packAttestations(batch)));
    row("attestRelayedPerAttestation", Math.round(relayGas / size), {
      batch: size,
      marginal: Math.round((relayGas - 21_000) / size),
    });
  }

  row("advance", await gasOf(coordinator.advance(upgradeId)));

  // --- a restart lease: the background validator attests Ready to its (pending) stage, which caches its weight,
  // then takes a lease before it would stop its node.
  const leaser = LEASE_KEY.connect(ethers.provider);
  await network.provider.request({ method: "hardhat_setBalance", params: [leaser.address, "0x56BC75E2D63100000"] });
  await (
    await coordinator.connect(leaser).attest(leaseOperator, upgradeId, 1, Status.Ready, version, 1n, digest)
  ).wait();
  row("takeLease", await gasOf(coordinator.connect(leaser).takeLease()));

  // --- governance votes, measured the same run: a later voter's castVote, and castVoteBySig.
  const target = await coordinator.getAddress();
  const calldata = coordinator.interface.encodeFunctionData("setDefaultCohort", [3]);
  await (await governor.connect(voterA).propose([target], [0], [calldata], `bench ${validators}`)).wait();
  const proposalId = await governor.hashProposal(
    [target],
    [0],
    [calldata],
    keccak256(toUtf8Bytes(`bench ${validators}`)),
  );
  await network.provider.send("hardhat_mine", ["0x3"]);
  await (await governor.connect(voterA).castVote(proposalId, 1)).wait();
  row("castVote", await gasOf(governor.connect(voterB).castVote(proposalId, 1)));
  const nonce = await governor.nonces(voterC.address);
  const signature = await voterC.signTypedData(
    { name: "Lockstep Governor", version: "1", chainId, verifyingContract: await governor.getAddress() },
    {
      Ballot: [
        { name: "proposalId", type: "uint256" },
        { name: "support", type: "uint8" },
        { name: "voter", type: "address" },
        { name: "nonce", type: "uint256" },
      ],
    },
    { proposalId, support: 1, voter: voterC.address, nonce },
  );
  row("castVoteBySig", await gasOf(governor.connect(deployer).castVoteBySig(proposalId, 1, voterC.address, signature)));
  return rows;
}

async function impersonate(address: string) {
  await network.provider.request({ method: "hardhat_impersonateAccount", params: [address] });
  await network.provider.request({ method: "hardhat_setBalance", params: [address, "0x56BC75E2D63100000"] });
  return ethers.getSigner(address);
}

/** The registries `npm run bench:gas` measures, and whose rows bench/results/gas.json holds, in this order. */
export const GAS_RUNS: readonly { validators: number; checkpoints: number }[] = [
  { validators: 10, checkpoints: 1 },
  { validators: 1_000, checkpoints: 1 },
  { validators: 10_000, checkpoints: 1 },
  { validators: 1_000, checkpoints: 10 },
  { validators: 1_000, checkpoints: 100 },
];

/** A row's identity: everything but its figures. */
export function gasRowKey(r: GasRow): string {
  return (
    `${r.operation} at ${r.validators} validators, ${r.checkpoints ?? 1} checkpoint(s)` +
    (r.batch ? `, batch ${r.batch}` : "")
  );
}

/**
 * The rows where `committed` and `fresh` differ, one line each ("attest at 10 validators, 1 checkpoint(s): committed
 * 50001, fresh 50025"), including rows only one of them has. Empty when they are equal.
 */
export function diffGasRows(committed: GasRow[], fresh: GasRow[]): string[] {
  const figures = (r: GasRow | undefined) =>
    r ? `${r.gas}${r.marginal !== undefined ? ` (marginal ${r.marginal})` : ""}` : "none";
  const byKey = (rows: GasRow[]) => new Map(rows.map((r) => [gasRowKey(r), r]));
  const a = byKey(committed);
  const b = byKey(fresh);
  const differing: string[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const before = figures(a.get(key));
    const after = figures(b.get(key));
    if (before !== after) differing.push(`${key}: committed ${before}, fresh ${after}`);
  }
  return differing;
}
