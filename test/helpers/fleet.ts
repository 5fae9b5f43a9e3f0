// A fleet for end-to-end watcher tests: validators registered on a real chain, each with a data directory whose
// `current` points at the running version, a simulated node, and a watcher configuration.
import { copyFileSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { JsonRpcProvider, Wallet, parseEther, keccak256, toUtf8Bytes } from "ethers";
import { paths as pathsOf } from "../../watcher/src/config";
import { ProcessNodeController } from "../../watcher/src/adapters/processNode";
import type { Deployment } from "./e2e";
import { freePort } from "./e2e";

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
  await (await d.coordinator.connect(operator).register(attester.address, `ipfs://fleet/${spec.name}`)).wait();
  if (spec.cohort !== 3) await (await d.coordinator.connect(d.timelockSigner).setCohort(operator.address, spec.cohort)).wait();

  const dataDir = join(o.root, spec.name, "watcher");
  const stateDir = join(o.root, spec.name, "state");
  mkdirSync(stateDir, { recursive: true });
  const p = pathsOf({ dataDir });
  mkdirSync(join(p.version(o.initial.version), "bin"), { recursive: true });
  copyFileSync(o.initial.binary, p.binary(o.initial.version));
  symlinkSync(join("versions", o.initial.version), p.current);
  const port = await freePort();
  const metricsPort = await freePort();
  const nodeConfig = {
    adapter: "process" as const,
    statusUrl: `http://127.0.0.1:${port}/status`,
    stateDir,
    binaryName: "node",
    args: ["--port", String(port), "--state-dir", stateDir, "--tick-ms", "100", ...(o.extraNodeArgs ?? []), ...(spec.nodeArgs ?? [])],
    env: {},
  };
  const config = {
    chain: {
      rpcUrl: spec.rpcUrl ?? o.rpcUrl,
      chainId: 31337,
      coordinator: o.coordinator,
      startBlock: o.startBlock,
      confirmations: spec.confirmations ?? o.confirmations ?? 1,
      pollIntervalMs: 200,
      pageSize: 500,
    },
    validator: { operator: operator.address, attesterKey: { env: `LOCKSTEP_KEY_${spec.name.toUpperCase()}` } },
    dataDir,
    node: nodeConfig,
    health: spec.health ?? o.health ?? { deadlineMs: 15_000, probeIntervalMs: 200, minHeightGain: 2, observeIntervalMs: 500 },
    artifacts: { maxBytes: 10_000_000, allowInsecureHttp: true, ...(spec.manifestFile ? { manifestFile: spec.manifestFile } : {}) },
    metrics: { host: "127.0.0.1", port: metricsPort },
    log: { level: "debug" },
  };
  const configPath = join(o.root, spec.name, "watcher.json");
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const node = new ProcessNodeController(nodeConfig, p, { stopTimeoutMs: 5_000 });
  return { name: spec.name, cohort: spec.cohort, stake: spec.stake, operator, attester, dataDir, stateDir, port, metricsPort, configPath, node };
}

/** The environment a validator's watcher needs (its development attester key). */
export function watcherEnv(v: FleetValidator): Record<string, string> {
  return { [`LOCKSTEP_KEY_${v.name.toUpperCase()}`]: v.attester.privateKey };
}

export const stake = (n: number) => parseEther(String(n));

/** What the validator's (simulated) node reports now, or undefined when it does not answer. */
export async function nodeStatus(v: FleetValidator): Promise<{ version: string; height: number } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${v.port}/status`, { signal: AbortSignal.timeout(1_000) });
    return res.ok ? ((await res.json()) as { version: string; height: number }) : undefined;
  } catch {
    return undefined;
  }
}
