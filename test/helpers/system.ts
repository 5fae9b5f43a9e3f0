import { ethers, network } from "hardhat";
import { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/signers";
import { BaseWallet, Wallet, keccak256, toUtf8Bytes, parseEther, Signer } from "ethers";
import {
  createPublicClient,
  createWalletClient,
  custom,
  getAddress,
  isHex,
  keccak256 as hash,
  stringToBytes,
  type Hex,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signAttestation as signAttestationAction } from "../../lib/actions/signAttestation";
import { signAttesterProof } from "../../lib/actions/signAttesterProof";
import { coordinatorDomain, type Attestation as LibAttestation, type SignedAttestation } from "../../lib/coordinator";
import { coordinatorLinks, deploySystem, defaultParams, type SystemParams } from "../../lib/deploy";
import { stageRules } from "../../lib/manifest";
import { contractsAt, type System } from "./contracts";
import type { IUpgradeCoordinator } from "../../typechain-types/contracts/rollout/IUpgradeCoordinator";
import { UpgradeCoordinator__factory, type UpgradeCoordinator } from "../../typechain-types";

export { stageRules, contractsAt, type System };

/** A manifest as the contract tests hand it to TypeChain (lib/manifest.ts OnChainManifest, with ethers' types). */
export type ManifestInput = IUpgradeCoordinator.ManifestStruct;

/** An attestation as the ethers-based tests write it: addresses and hashes as plain strings. */
export type Attestation = Omit<LibAttestation, "operator" | "version" | "metricsDigest"> & {
  operator: string;
  version: string;
  metricsDigest: string;
};

const hex = (value: string): Hex => {
  if (!isHex(value)) throw new Error(`"${value}" is not hex`);
  return value;
};

/**
 * Signs with lib's signAttestation action, as the watcher does, for an ethers signer of the tests: a Wallet signs
 * with its key, a Hardhat account through the node (eth_signTypedData_v4).
 */
export async function signAttestation(
  signer: Signer,
  domain: { chainId: number | bigint; verifyingContract: string },
  attestation: Attestation,
): Promise<SignedAttestation> {
  const account =
    signer instanceof BaseWallet ? privateKeyToAccount(hex(signer.privateKey)) : getAddress(await signer.getAddress());
  const client = createWalletClient({ transport: custom(network.provider) });
  return signAttestationAction(client, {
    account,
    chainId: domain.chainId,
    coordinator: getAddress(domain.verifyingContract),
    attestation: {
      ...attestation,
      operator: getAddress(attestation.operator),
      version: hex(attestation.version),
      metricsDigest: hex(attestation.metricsDigest),
    },
  });
}

/**
 * The proof of possession `attester` signs so `operator` may register with it or rotate to it (lib's
 * signAttesterProof action, at the coordinator's current nonce for `operator`): a Wallet signs with its key, a
 * Hardhat account through the node.
 */
export async function attesterProof(
  coordinator: UpgradeCoordinator,
  operator: string | { getAddress(): Promise<string> },
  attester: Signer,
): Promise<Hex> {
  const account =
    attester instanceof BaseWallet
      ? privateKeyToAccount(hex(attester.privateKey))
      : getAddress(await attester.getAddress());
  const operatorAddress = getAddress(typeof operator === "string" ? operator : await operator.getAddress());
  // The chain the coordinator's own runner talks to: tests against a separate node sign for that chain.
  const { chainId } = await coordinator.runner!.provider!.getNetwork();
  // A node account signs through the node its signer talks to (eth_signTypedData_v4); a Wallet signs locally.
  const node = attester.provider as unknown as { send(method: string, params: unknown[]): Promise<unknown> } | null;
  const client = createWalletClient({
    transport: node
      ? custom({ request: ({ method, params }) => node.send(method, params ?? []) })
      : custom(network.provider),
  });
  return signAttesterProof(client, {
    account,
    chainId,
    coordinator: getAddress(await coordinator.getAddress()),
    operator: operatorAddress,
    nonce: await coordinator.nonces(operatorAddress),
  });
}

export interface Validator {
  operator: Wallet;
  attester: Wallet;
  cohort: number;
  stake: bigint;
}

/** viem clients over Hardhat's in-process network, sending as `account` (one of its unlocked accounts). */
export function hardhatClients(account: string) {
  const transport = custom(network.provider);
  return {
    wallet: createWalletClient({ account: getAddress(account), transport }),
    client: createPublicClient({ transport }),
  };
}

export interface Deployed extends System {
  deployer: HardhatEthersSigner;
  guardian: HardhatEthersSigner;
  others: HardhatEthersSigner[];
  timelockSigner: Signer;
}

/** Deploys the system with the first signer as stake holder and the second as guardian. */
export async function deployLockstep(over: Partial<SystemParams> = {}): Promise<Deployed> {
  const [deployer, guardian, ...others] = await ethers.getSigners();
  const { wallet, client } = hardhatClients(deployer.address);
  const addresses = await deploySystem(wallet, client, {
    ...defaultParams(deployer.address, guardian.address),
    ...over,
  });
  const system = contractsAt(addresses, deployer);
  const timelockSigner = await impersonate(addresses.timelock);
  return { ...system, deployer, guardian, others, timelockSigner };
}

/** A funded signer for an address the tests do not hold a key for (used to act as the timelock in unit tests). */
export async function impersonate(address: string): Promise<Signer> {
  await network.provider.request({ method: "hardhat_impersonateAccount", params: [address] });
  await network.provider.request({ method: "hardhat_setBalance", params: [address, "0x56BC75E2D63100000"] });
  return ethers.getSigner(address);
}

/** A deterministic funded wallet, named by `label`. */
export async function fundedWallet(label: string): Promise<Wallet> {
  const wallet = new Wallet(keccak256(toUtf8Bytes(`lockstep-test:${label}`)), ethers.provider);
  await network.provider.request({ method: "hardhat_setBalance", params: [wallet.address, "0x56BC75E2D63100000"] });
  return wallet;
}

/**
 * Registers validators: each operator receives its stake, delegates it to itself, registers with its attester,
 * and governance (acting as the timelock) moves it to its cohort.
 */
export async function registerValidators(
  d: Deployed,
  specs: { cohort: number; stake: bigint }[],
  label = "v",
): Promise<Validator[]> {
  const out: Validator[] = [];
  for (let i = 0; i < specs.length; i++) {
    const operator = await fundedWallet(`${label}${i}:operator`);
    const attester = await fundedWallet(`${label}${i}:attester`);
    await (await d.token.connect(d.deployer).transfer(operator.address, specs[i].stake)).wait();
    await (await d.token.connect(operator).delegate(operator.address)).wait();
    const proof = await attesterProof(d.coordinator, operator, attester);
    await (
      await d.coordinator.connect(operator).register(attester.address, `ipfs://validator/${label}${i}`, proof)
    ).wait();
    if (specs[i].cohort !== Number(await d.coordinator.defaultCohort())) {
      await (await d.coordinator.connect(d.timelockSigner).setCohort(operator.address, specs[i].cohort)).wait();
    }
    out.push({ operator, attester, cohort: specs[i].cohort, stake: specs[i].stake });
  }
  return out;
}

/**
 * Validator specs for `registerValidators`, cohort by cohort in ascending order: `{ 1: [40, 30], 3: [10] }` is two
 * validators in cohort 1 and one in cohort 3, stakes in whole tokens.
 */
export function inCohorts(stakes: Record<number, number[]>): { cohort: number; stake: bigint }[] {
  return Object.entries(stakes).flatMap(([cohort, list]) =>
    list.map((s) => ({ cohort: Number(cohort), stake: STAKE(s) })),
  );
}

/**
 * The opening of a contract test's fixture: the system deployed, validators registered cohort by cohort (`inCohorts`
 * order), and the coordinator's EIP-712 domain on this chain.
 */
export async function deployWithCohorts(stakes: Record<number, number[]>) {
  const d = await deployLockstep();
  const validators = await registerValidators(d, inCohorts(stakes));
  const domain = coordinatorDomain((await ethers.provider.getNetwork()).chainId, await d.coordinator.getAddress());
  return { d, validators, domain };
}

/** A factory for further coordinators, linked against `d`'s libraries and sent by its deployer. */
export function coordinatorFactory(d: Deployed): UpgradeCoordinator__factory {
  return new UpgradeCoordinator__factory(coordinatorLinks(d.libraries), d.deployer);
}

/** A valid manifest with one stage per cohort given; `over` replaces any field. */
export function manifest(name: string, cohorts: number[], over: Partial<ManifestInput> = {}): ManifestInput {
  return {
    name,
    version: "v2.0.0",
    previousVersion: "v1.9.3",
    artifacts: [
      {
        platform: "linux-amd64",
        uri: "https://releases.example.org/node-v2.0.0-linux-amd64.tar.gz",
        sha256Digest: hash(stringToBytes(`${name}:artifact`)),
      },
    ],
    featureFlags: ["fast-sync"],
    metadataURI: `ipfs://manifests/${name}`,
    manifestHash: hash(stringToBytes(`${name}:manifest`)),
    stateIncompatible: false,
    stages: cohorts.map((c) => stageRules(c)),
    ...over,
  };
}

export const STAKE = (n: number | string) => parseEther(String(n));
