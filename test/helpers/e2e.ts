// End-to-end harness: a real Hardhat JSON-RPC node in its own process, the system deployed over JSON-RPC,
// a local artifact server, simulated validator nodes as the "binaries", and real watcher processes.
import { ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createServer, Server } from "node:http";
import { chmodSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { AddressInfo, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { JsonRpcProvider, JsonRpcSigner } from "ethers";
import { deploySystem, defaultParams, System } from "../../lib/deploy";

export const ROOT = resolve(__dirname, "..", "..");

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createNetServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as AddressInfo).port;
      srv.close(() => res(port));
    });
  });
}

/** Polls `check` until it returns a value (not undefined/false) or the deadline passes. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
}

export interface Chain {
  url: string;
  provider: JsonRpcProvider;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `hardhat node` on a free loopback port (contracts must be compiled already). */
export async function startChain(): Promise<Chain> {
  const port = await freePort();
  const child = spawn(join(ROOT, "node_modules", ".bin", "hardhat"), ["node", "--hostname", "127.0.0.1", "--port", String(port)], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: "true" },
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    "the hardhat node to listen",
    async () => {
      if (child.exitCode !== null) throw new Error(`hardhat node exited: ${output.slice(-500)}`);
      return output.includes("Started HTTP");
    },
    60_000,
  );
  // No request cache: tests send transactions back to back from the same accounts.
  const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, polling: true, pollingInterval: 100, cacheTimeout: -1 });
  return {
    url,
    provider,
    process: child,
    async stop() {
      provider.destroy();
      await stopProcess(child);
    },
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

export interface Deployment extends System {
  deployer: JsonRpcSigner;
  guardian: JsonRpcSigner;
  timelockSigner: JsonRpcSigner;
  startBlock: number;
}

/** Deploys the system on `chain` with Hardhat's unlocked accounts; the timelock is impersonated for governance. */
export async function deployOn(chain: Chain): Promise<Deployment> {
  const deployer = await chain.provider.getSigner(0);
  const guardian = await chain.provider.getSigner(1);
  const startBlock = (await chain.provider.getBlockNumber()) + 1;
  const system = await deploySystem(deployer, { ...defaultParams(deployer.address, guardian.address) });
  const timelock = await system.timelock.getAddress();
  await chain.provider.send("hardhat_impersonateAccount", [timelock]);
  await chain.provider.send("hardhat_setBalance", [timelock, "0x56BC75E2D63100000"]);
  return { ...system, deployer, guardian, timelockSigner: new JsonRpcSigner(chain.provider, timelock), startBlock };
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
  return { url, server, stop: () => new Promise((r) => server.close(() => r())) };
}

/**
 * Writes an executable "node binary" for `version`: a shell script that runs the simulated validator node.
 * Returns its path and sha256. Extra arguments (port, state dir, faults) come from the watcher's node.args.
 */
export function makeBinary(dir: string, version: string, extra: string[] = [], fileName = `node-${version}`): { path: string; sha256: string } {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, fileName);
  const tsNode = join(ROOT, "node_modules", "ts-node", "register", "transpile-only");
  const script = `#!/bin/sh\nexec "${process.execPath}" -r "${tsNode}" "${join(ROOT, "sim", "validator-node.ts")}" --version "${version}" ${extra.map((a) => `"${a}"`).join(" ")} "$@"\n`;
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

/** Starts the real `lockstep-watcher` with `configPath`, with the attester key in its environment. */
export function spawnWatcher(configPath: string, env: Record<string, string> = {}, args: string[] = []): WatcherProcess {
  const child = spawn(process.execPath, [join(ROOT, "watcher", "bin", "lockstep-watcher.js"), "--config", configPath, ...args], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  return { child, output: () => output, stop: (signal = "SIGTERM") => stopProcess(child, signal) };
}

/** Runs the watcher to completion (for --help, --dry-run and error cases). */
export async function runWatcher(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(ROOT, "watcher", "bin", "lockstep-watcher.js"), ...args], {
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

/** A JSON-RPC proxy in front of `target` that a test can take down (connections reset) and bring back. */
export async function rpcProxy(target: string): Promise<{ url: string; down: boolean; requests: number; stop(): Promise<void> }> {
  const state = { down: false, requests: 0 };
  const server = createServer(async (req, res) => {
    state.requests += 1;
    if (state.down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const upstream = await fetch(target, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.concat(chunks) });
      res.writeHead(upstream.status, { "content-type": "application/json" });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    } catch {
      res.writeHead(502).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    url,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}
