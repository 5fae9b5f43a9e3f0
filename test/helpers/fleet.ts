// A fleet for end-to-end watcher tests: validators registered on a real chain, each with a data directory whose
// `current` points at the running version, a simulated node, and a watcher configuration.
import { JsonRpcProvider, Wallet, parseEther, keccak256, toUtf8Bytes } from "ethers";
import { createWalletClient, getAddress, http, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signAttesterProof } from "../../lib/actions/signAttesterProof";
import type { ProcessNodeController } from "../../watcher/src/adapters/processNode";
import { layoutWatcher, nodeStatusAt } from "../../rehearsal/localnet";
import { paced, recordStartup } from "../../rehearsal/pace";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { deployOn, startChain, tempDir, waitFor, type Chain, type Deployment } from "./e2e";

export interface FleetValidator {
  name: string;
  operator: Wallet;
  attester: Wallet;
  cohort: number;
  stake: bigint;
  dataDir: string;
  stateDir: string;
  port: number;
  metricsPort: number;
  configPath: string;
  node: ProcessNodeController;
}

export interface FleetOptions {
  rpcUrl: string;
  startBlock: number;
  coordinator: string;
  root: string;
  /** The version every node runs at first, and its binary. */
  initial: { version: string; binary: string };
  confirmations?: number;
  extraNodeArgs?: string[];
  health?: { deadlineMs: number; probeIntervalMs: number; minHeightGain: number; observeIntervalMs: number };
}

/** Registers a validator (own stake, self-delegated, cohort set by governance) and lays out its watcher. */
export async function addValidator(
  d: Deployment,
  provider: JsonRpcProvider,
  o: FleetOptions,
  spec: {
    name: string;
    cohort: number;
    stake: bigint;
    rpcUrl?: string;
    confirmations?: number;
    health?: FleetOptions["health"];
    nodeArgs?: string[];
    manifestFile?: string;
  },
): Promise<FleetValidator> {
  const operator = new Wallet(keccak256(toUtf8Bytes(`fleet:${spec.name}:operator`)), provider);
  const attester = new Wallet(keccak256(toUtf8Bytes(`fleet:${spec.name}:attester`)), provider);
  for (const w of [operator, attester]) await provider.send("hardhat_setBalance", [w.address, "0x56BC75E2D63100000"]);
  await (await d.token.connect(d.deployer).transfer(operator.address, spec.stake)).wait();
  await (await d.token.connect(operator).delegate(operator.address)).wait();
  const proof = await signAttesterProof(createWalletClient({ transport: http(o.rpcUrl) }), {
    account: privateKeyToAccount(attester.privateKey as Hex),
    chainId: (await provider.getNetwork()).chainId,
    coordinator: getAddress(await d.coordinator.getAddress()),
    operator: getAddress(operator.address),
  });
  await (await d.coordinator.connect(operator).register(attester.address, `ipfs://fleet/${spec.name}`, proof)).wait();
  if (spec.cohort !== 3)
    await (await d.coordinator.connect(d.timelockSigner).setCohort(operator.address, spec.cohort)).wait();

  // Health limits are written for a quiet machine: the deadline scales with the pace measured (rehearsal/pace.ts).
  const health = spec.health ?? o.health;
  const layout = await layoutWatcher({
    name: spec.name,
    root: o.root,
    rpcUrl: spec.rpcUrl ?? o.rpcUrl,
    coordinator: o.coordinator,
    startBlock: o.startBlock,
    operator: operator.address,
    initial: o.initial,
    confirmations: spec.confirmations ?? o.confirmations ?? 1,
    health: health && { ...health, deadlineMs: paced(health.deadlineMs) },
    nodeArgs: [...(o.extraNodeArgs ?? []), ...(spec.nodeArgs ?? [])],
    manifestFile: spec.manifestFile,
  });
  const { dataDir, stateDir, port, metricsPort, configPath, node } = layout;
  return {
    name: spec.name,
    cohort: spec.cohort,
    stake: spec.stake,
    operator,
    attester,
    dataDir,
    stateDir,
    port,
    metricsPort,
    configPath,
    node,
  };
}

/** The environment a validator's watcher needs (its development attester key). */
export function watcherEnv(v: FleetValidator): Record<string, string> {
  return { [`LOCKSTEP_KEY_${v.name.toUpperCase()}`]: v.attester.privateKey };
}

export const stake = (n: number) => parseEther(String(n));

/** What the validator's (simulated) node reports now, or undefined when it does not answer. */
export async function nodeStatus(v: FleetValidator): Promise<{ version: string; height: number } | undefined> {
  return nodeStatusAt(v.port);
}

/**
 * Starts `v`'s node and waits until it answers on `version`; how long that took is recorded as this machine's pace
 * (rehearsal/pace.ts), so the limits that follow (a swapped node's health deadline) grow with it.
 */
export async function startNode(v: FleetValidator, version: string): Promise<void> {
  const started = Date.now();
  await v.node.start();
  await waitFor(`${v.name}'s node on ${version}`, async () => (await nodeStatus(v))?.version === version);
  recordStartup("node", Date.now() - started);
}

/**
 * What a watcher end-to-end suite opens in `before`: a temporary directory and a chain with the system deployed
 * (mining a block every `intervalMiningMs` when given); `close()`, last in `after`, stops the chain and removes the
 * directory.
 */
export class FleetBench {
  chain!: Chain;
  d!: Deployment;
  dir!: ReturnType<typeof tempDir>;

  async open(o: { tempPrefix?: string; intervalMiningMs?: number } = {}): Promise<this> {
    this.dir = tempDir(o.tempPrefix);
    this.chain = await startChain();
    this.d = await deployOn(this.chain);
    if (o.intervalMiningMs !== undefined) await this.chain.provider.send("evm_setIntervalMining", [o.intervalMiningMs]);
    return this;
  }

  /** Where `addValidator` lays out validators on this chain, every node first running `initial`. */
  async options(initial: FleetOptions["initial"]): Promise<FleetOptions> {
    return {
      rpcUrl: this.chain.url,
      startBlock: this.d.startBlock,
      coordinator: await this.d.coordinator.getAddress(),
      root: this.dir.path,
      initial,
    };
  }

  async close(): Promise<void> {
    await this.chain?.stop();
    this.dir?.cleanup();
  }
}

/** A webhook on loopback (a watcher's `notify.webhooks`) that keeps every notice POSTed to it, in order. */
export async function noticeSink<T>(): Promise<{ url: string; notices: T[]; stop(): Promise<void> }> {
  const notices: T[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    notices.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as T);
    res.writeHead(200).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    notices,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
