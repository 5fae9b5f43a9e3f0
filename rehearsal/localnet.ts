// A local network for rehearsals and end-to-end tests: a real Hardhat JSON-RPC node in its own process, a local
// artifact server, simulated validator nodes as the "binaries", real watcher processes, and each validator's
// watcher laid out on disk (data directory, `current` symlink, config). The drill and the tests both use it.
import { ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer, Server } from "node:http";
import {
  chmodSync,
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { AddressInfo, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import {
  createPublicClient,
  createWalletClient,
  getAddress,
  http,
  keccak256,
  toHex,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { deploySystem, defaultParams, type SystemAddresses } from "../lib/deploy";
import type { StageRules } from "../lib/manifest";
import { paths as pathsOf } from "../watcher/src/config";
import { ProcessNodeController } from "../watcher/src/adapters/processNode";
import { builtWatcher } from "../packaging/build";
import { pace, paced, recordStartup } from "./pace";

export const ROOT = resolve(__dirname, "..");

/** Hardhat's default JSON-RPC port: the `localhost` network of hardhat.config.ts. */
export const DEFAULT_RPC_PORT = 8545;

/** Ports handed out by this process: never twice. */
const handedOut = new Set<number>();
/** Below Linux's ephemeral range (32768-60999 by default), where outgoing connections take their source ports. */
const PORT_RANGE = { from: 20_000, to: 32_000 };

/**
 * A free TCP port on 127.0.0.1, for a server that will listen on it a moment later. Taken below the ephemeral
 * range: a port the kernel handed out for `listen(0)` and released goes back into the pool that every outgoing
 * connection draws from, and a watcher's RPC polling could take it before the server it was meant for starts.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = PORT_RANGE.from + Math.floor(Math.random() * (PORT_RANGE.to - PORT_RANGE.from));
    if (handedOut.has(port) || !(await portIsFree(port))) continue;
    handedOut.add(port);
    return port;
  }
  return new Promise((res, rej) => {
    const srv = createNetServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => res(port));
    });
  });
}

/** Whether `port` on 127.0.0.1 can be listened on now. */
export async function portIsFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const srv = createNetServer();
    srv.once("error", () => res(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => res(true)));
  });
}

/**
 * Starts a server that binds its own port: `start(port)` on `preferred` when it is free (a fixed, well-known port
 * such as Hardhat's 8545), else on a free one. A port seen free can be taken by another process before the server
 * binds it; when the server then fails with EADDRINUSE, it is started again on another free port (at most
 * `attempts` times). Any other failure is thrown as it is.
 */
export async function onFreePort<T>(start: (port: number) => Promise<T>, preferred?: number, attempts = 3): Promise<T> {
  let port = preferred !== undefined && (await portIsFree(preferred)) ? preferred : await freePort();
  for (let attempt = 1; ; attempt++) {
    try {
      return await start(port);
    } catch (e) {
      if (attempt >= attempts || !/EADDRINUSE|address already in use/i.test(String((e as Error)?.message ?? e)))
        throw e;
      port = await freePort();
    }
  }
}

/** Thrown by a `waitFor` check when waiting longer cannot help (the process it waits for has exited): ends the wait. */
export class WaitEnded extends Error {}

/**
 * Polls `check` until it returns a value (not undefined/false) or the deadline passes. An error thrown by `check` is
 * kept as the last one and polling goes on, except WaitEnded, which ends the wait at once.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (e) {
      if (e instanceof WaitEnded) throw e;
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`,
  );
}

/**
 * `waitFor` with its limit, written for a quiet machine, scaled to the pace this process measured (rehearsal/pace.ts):
 * a limit that holds on a quiet machine holds on a busy one. The tests wait with it; the drill keeps its own limits.
 */
export function waitForAtPace<T>(...[what, check, timeoutMs = 30_000, everyMs]: Parameters<typeof waitFor<T>>) {
  const at = pace();
  return waitFor(at > 1 ? `${what} (pace ×${at.toFixed(1)})` : what, check, paced(timeoutMs), everyMs);
}

export interface Chain {
  url: string;
  port: number;
  /** Reads over JSON-RPC, uncached: callers send transactions back to back from the same accounts. */
  client: PublicClient;
  /**
   * The transport every client of this chain should use: its calls wait as long as the chain got to start (a busy
   * machine slows a large estimate or execution past viem's default 10 s, and a local chain does not hang).
   */
  transport: ReturnType<typeof http>;
  /** Calls a JSON-RPC method by name: the node's own (hardhat_mine, evm_increaseTime, hardhat_setBalance ...). */
  send(method: string, params?: unknown[]): Promise<unknown>;
  /** The node's unlocked accounts, in order. */
  accounts(): Promise<Address[]>;
  process: ChildProcess;
  /** How long the node took to listen, from spawn: this machine's pace now (rehearsal/pace.ts records it). */
  startupMs: number;
  stop(): Promise<void>;
}

/** The system deployed on a local chain, and the accounts a rehearsal, a test or a benchmark acts through. */
export interface LocalDeployment {
  addresses: SystemAddresses;
  /** The node's unlocked accounts 0 and 1. */
  deployer: Address;
  guardian: Address;
  /** The timelock, impersonated (and funded): governance's calls without a vote, for set-ups not about voting. */
  timelock: Address;
  startBlock: number;
}

/**
 * Deploys the system on `chain` with Hardhat's unlocked accounts 0 (deployer) and 1 (guardian). `binderKey`
 * (lib/deploy.ts DeployOptions) recreates the same addresses after a test reverts the chain.
 */
export async function deployLocal(chain: Chain, options: { binderKey?: Hex } = {}): Promise<LocalDeployment> {
  const [deployer, guardian] = await chain.accounts();
  const startBlock = Number(await chain.client.getBlockNumber()) + 1;
  const wallet = createWalletClient({ account: deployer, transport: chain.transport });
  const addresses = await deploySystem(wallet, chain.client, { ...defaultParams(deployer, guardian) }, options);
  await chain.send("hardhat_impersonateAccount", [addresses.timelock]);
  await chain.send("hardhat_setBalance", [addresses.timelock, "0x56BC75E2D63100000"]);
  return { addresses, deployer, guardian, timelock: addresses.timelock, startBlock };
}

/**
 * Starts `hardhat node` on loopback (contracts must be compiled already): on `port` when given (and only there),
 * else on `preferPort` when free, else on a free one, started again elsewhere if another process took it first
 * (onFreePort). It gets `timeoutMs` to listen (default 60 s at the pace measured so far, rehearsal/pace.ts). How long it took is recorded
 * there: the limits of what follows scale with it.
 */
export async function startChain(
  options: { port?: number; preferPort?: number; timeoutMs?: number } = {},
): Promise<Chain> {
  if (options.port !== undefined) return startChainOn(options.port, options.timeoutMs);
  return onFreePort((port) => startChainOn(port, options.timeoutMs), options.preferPort);
}

async function startChainOn(port: number, timeoutMsOption?: number): Promise<Chain> {
  const timeoutMs = timeoutMsOption ?? paced(60_000);
  const started = Date.now();
  const child = spawn(
    join(ROOT, "node_modules", ".bin", "hardhat"),
    ["node", "--hostname", "127.0.0.1", "--port", String(port)],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        HARDHAT_DISABLE_TELEMETRY_PROMPT: "true",
        // Idle connections kept as long as a real node keeps them (see keepalive.cjs).
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${join(__dirname, "keepalive.cjs")}`.trim(),
      },
    },
  );
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitFor(
      "the hardhat node to listen",
      async () => {
        if (child.exitCode === null) return output.includes("Started HTTP");
        const inUse = /EADDRINUSE/.test(output);
        throw new WaitEnded(
          `hardhat node exited: ${inUse ? `port ${port} is in use (EADDRINUSE)` : output.slice(-500)}`,
        );
      },
      timeoutMs,
    );
  } catch (e) {
    await stopProcess(child);
    throw e;
  }
  const startupMs = Date.now() - started;
  recordStartup("chain", startupMs);
  // No cache: callers send transactions back to back from the same accounts, and mine between reads.
  const transport = http(url, { timeout: timeoutMs });
  const client = createPublicClient({ transport, pollingInterval: 100, cacheTime: 0 });
  const send = (method: string, params: unknown[] = []) =>
    client.request({ method, params } as unknown as Parameters<typeof client.request>[0]) as Promise<unknown>;
  return {
    url,
    port,
    client,
    transport,
    send,
    accounts: async () => ((await send("eth_accounts")) as string[]).map((a) => getAddress(a)),
    process: child,
    startupMs,
    stop: () => stopProcess(child),
  };
}

export async function stopProcess(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM", graceMs = 5_000) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** web/serve.ts as node runs it, before its options. */
export const SERVE = ["-r", "ts-node/register/transpile-only", "web/serve.ts"];

/**
 * Starts the dashboard server (web/serve.ts, the page must be built) for `network`'s deployment in `deployments` (or
 * where `args` say), read through `rpc`, on `port` or a free one; returns its address and port once it listens (within
 * `timeoutMs`, default 30 s). Stops it and throws with its output if it exits first or does not listen in time.
 */
export async function startDashboardServer(o: {
  network: string;
  rpc: string;
  port?: number;
  deployments?: string;
  /** More of web/serve.ts's flags. */
  args?: string[];
  timeoutMs?: number;
}): Promise<{ url: string; port: number; child: ChildProcess; stop(): Promise<void> }> {
  const port = o.port ?? (await freePort());
  const child = spawn(
    process.execPath,
    [...SERVE, "--network", o.network, "--rpc", o.rpc, "--port", String(port), ...(o.args ?? [])],
    {
      cwd: ROOT,
      env: o.deployments ? { ...process.env, LOCKSTEP_DEPLOYMENTS_DIR: o.deployments } : process.env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout!.on("data", (c) => (output += c));
  child.stderr!.on("data", (c) => (output += c));
  try {
    const url = await waitFor(
      "the dashboard server",
      async () => {
        if (child.exitCode !== null) throw new WaitEnded(`the dashboard server stopped: ${output.trim()}`);
        return /dashboard (http:\/\/\S+)/.exec(output)?.[1];
      },
      o.timeoutMs,
    );
    return { url, port, child, stop: () => stopProcess(child) };
  } catch (e) {
    await stopProcess(child);
    throw e;
  }
}

/**
 * The coordinator's Manifest for a one-stage test upgrade named `name`: one linux-amd64 artifact at `uri` with the
 * hex `sha256`, and the stage's rules; the manifest hash stands for a file the test does not write.
 */
export function oneStageManifest(o: {
  name: string;
  version: string;
  previousVersion: string;
  uri: string;
  sha256: string;
  stage: StageRules;
}) {
  return {
    name: o.name,
    version: o.version,
    previousVersion: o.previousVersion,
    artifacts: [{ platform: "linux-amd64", uri: o.uri, sha256Digest: `0x${o.sha256}` as Hex }],
    featureFlags: [],
    metadataURI: "",
    manifestHash: keccak256(toHex(o.name)),
    stateIncompatible: false,
    stages: [o.stage],
  };
}

/** Serves the files of `dir` over http on loopback. */
export async function serveArtifacts(dir: string): Promise<{ url: string; server: Server; stop(): Promise<void> }> {
  const server = createServer((req, res) => {
    const name = decodeURIComponent((req.url ?? "/").slice(1));
    const file = join(dir, name);
    if (name.includes("/") || name.includes("..") || !existsSync(file)) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream" });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    server,
    stop: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface BinaryOptions {
  /** Extra arguments for the simulated node, always passed. */
  extra?: string[];
  /**
   * A fault that shows only on machines whose environment sets `env` (non-empty): a bug that bites only some
   * deployments, e.g. one cohort's configuration. The watcher passes `node.env` to the node it starts.
   */
  faultWhenEnv?: { env: string; fault: string };
}

/**
 * Writes an executable "node binary" for `version`: a shell script that runs the simulated validator node.
 * Returns its path and sha256. Extra arguments (port, state dir, faults) come from the watcher's node.args.
 */
export function makeBinary(
  dir: string,
  version: string,
  extra: string[] | BinaryOptions = [],
  fileName = `node-${version}`,
): { path: string; sha256: string } {
  const o: BinaryOptions = Array.isArray(extra) ? { extra } : extra;
  mkdirSync(dir, { recursive: true });
  const path = join(dir, fileName);
  const tsNode = join(ROOT, "node_modules", "ts-node", "register", "transpile-only");
  const conditional = o.faultWhenEnv
    ? `if [ -n "$${o.faultWhenEnv.env}" ]; then set -- --fault "${o.faultWhenEnv.fault}" "$@"; fi\n`
    : "";
  const script =
    // ts-node looks for tsconfig.json from the working directory: name it, so the node starts from anywhere.
    `#!/bin/sh\n${conditional}export TS_NODE_PROJECT="${join(ROOT, "tsconfig.json")}"\n` +
    `exec "${process.execPath}" -r "${tsNode}" "${join(ROOT, "sim", "validator-node.ts")}" --version "${version}" ${(o.extra ?? []).map((a) => `"${a}"`).join(" ")} "$@"\n`;
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return { path, sha256: createHash("sha256").update(readFileSync(path)).digest("hex") };
}

/** A fresh temporary directory, removed by `cleanup()`. */
export function tempDir(prefix = "lockstep-e2e-"): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export interface WatcherProcess {
  child: ChildProcess;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Where a watcher runs: the release build of this checkout unless `bin` names another (an installed one). */
export interface WatcherCommand {
  bin?: string;
  cwd?: string;
}

/**
 * Starts the real `lockstep-watcher` with `configPath`, with the attester key in its environment: the release build
 * (packaging/build.ts, built once per process), what operators install.
 */
export function spawnWatcher(
  configPath: string,
  env: Record<string, string> = {},
  args: string[] = [],
  command: WatcherCommand = {},
): WatcherProcess {
  // Run as an operator runs it: by its shebang (node from PATH, with the release's V8 flags).
  const child = spawn(command.bin ?? builtWatcher().bin, ["--config", configPath, ...args], {
    cwd: command.cwd ?? ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  return { child, output: () => output, stop: (signal = "SIGTERM") => stopProcess(child, signal) };
}

/** Runs the watcher's release build to completion (for --help, --dry-run and error cases). */
export async function runWatcher(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runNode([builtWatcher().bin, ...args], env);
}

/** Runs `node <args>` from the repository to completion, collecting its output. */
export async function runNode(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += d));
  child.stderr!.on("data", (d) => (stderr += d));
  const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
  return { code, stdout, stderr };
}

/** How often a rehearsal's watchers re-attest health at most, unless its health rules say otherwise. */
export const REHEARSAL_REATTEST_MS = 1_000;

export interface WatcherHealth {
  deadlineMs: number;
  probeIntervalMs: number;
  minHeightGain: number;
  observeIntervalMs: number;
  unhealthyAfterMs?: number;
  reattestIntervalMs?: number;
}

export interface WatcherLayoutSpec {
  /** Directory name and key-variable suffix: letters, digits, dashes. */
  name: string;
  root: string;
  rpcUrl: string;
  chainId?: number;
  coordinator: string;
  startBlock: number;
  operator: string;
  /** The version every node runs at first, and its binary. */
  initial: { version: string; binary: string };
  confirmations?: number;
  pollIntervalMs?: number;
  health?: WatcherHealth;
  nodeArgs?: string[];
  nodeEnv?: Record<string, string>;
  manifestFile?: string;
  logLevel?: string;
}

export interface WatcherLayout {
  dataDir: string;
  stateDir: string;
  /** The simulated node's status port. */
  port: number;
  metricsPort: number;
  configPath: string;
  /** The environment variable the watcher reads its (development) attester key from. */
  keyEnv: string;
  /** Controls the validator's node as the watcher's process adapter does (start it before the watcher). */
  node: ProcessNodeController;
}

/**
 * Lays out one validator's watcher: a data directory whose `current` points at the initial version's binary,
 * a state directory for the node, and a watcher config (process adapter, http artifacts allowed: local only).
 */
export async function layoutWatcher(s: WatcherLayoutSpec): Promise<WatcherLayout> {
  const dataDir = join(s.root, s.name, "watcher");
  const stateDir = join(s.root, s.name, "state");
  mkdirSync(stateDir, { recursive: true });
  const p = pathsOf({ dataDir });
  mkdirSync(join(p.version(s.initial.version), "bin"), { recursive: true });
  copyFileSync(s.initial.binary, p.binary(s.initial.version));
  symlinkSync(join("versions", s.initial.version), p.current);
  const port = await freePort();
  const metricsPort = await freePort();
  const nodeConfig = {
    adapter: "process" as const,
    statusUrl: `http://127.0.0.1:${port}/status`,
    stateDir,
    binaryName: "node",
    args: ["--port", String(port), "--state-dir", stateDir, "--tick-ms", "100", ...(s.nodeArgs ?? [])],
    env: s.nodeEnv ?? {},
  };
  const keyEnv = `LOCKSTEP_KEY_${s.name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
  const config = {
    chain: {
      rpcUrl: s.rpcUrl,
      chainId: s.chainId ?? 31337,
      coordinator: s.coordinator,
      startBlock: s.startBlock,
      confirmations: s.confirmations ?? 1,
      pollIntervalMs: s.pollIntervalMs ?? 200,
      pageSize: 500,
    },
    validator: { operator: s.operator, attesterKey: { env: keyEnv } },
    dataDir,
    node: nodeConfig,
    // Quick to judge, for tests: unhealthy after 2 s without a new block, health re-attested at most every second.
    // The limits are a quiet machine's, scaled to the pace measured (rehearsal/pace.ts): a busy machine's healthy
    // node, slower to start and to tick, is not judged unhealthy for it.
    health: {
      unhealthyAfterMs: paced(2_000),
      reattestIntervalMs: REHEARSAL_REATTEST_MS,
      ...(s.health ?? { deadlineMs: paced(15_000), probeIntervalMs: 200, minHeightGain: 2, observeIntervalMs: 500 }),
    },
    artifacts: {
      maxBytes: 10_000_000,
      allowInsecureHttp: true,
      ...(s.manifestFile ? { manifestFile: s.manifestFile } : {}),
    },
    metrics: { host: "127.0.0.1", port: metricsPort },
    log: { level: s.logLevel ?? "debug" },
  };
  const configPath = join(s.root, s.name, "watcher.json");
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const node = new ProcessNodeController(nodeConfig, p, { stopTimeoutMs: 5_000 });
  return { dataDir, stateDir, port, metricsPort, configPath, keyEnv, node };
}

/** What a simulated node reports now, or undefined when it does not answer within `timeoutMs`. */
export async function nodeStatusAt(
  port: number,
  timeoutMs = 1_000,
): Promise<{ version: string; height: number } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/status`, { signal: AbortSignal.timeout(timeoutMs) });
    return res.ok ? ((await res.json()) as { version: string; height: number }) : undefined;
  } catch {
    return undefined;
  }
}

/** A node's web3_clientVersion, or undefined while it does not answer within `timeoutMs`. */
export async function clientVersion(url: string, timeoutMs = 1_000): Promise<string | undefined> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "web3_clientVersion", params: [] }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const result = ((await res.json()) as { result?: unknown }).result;
    return typeof result === "string" ? result : undefined;
  } catch {
    return undefined;
  }
}
