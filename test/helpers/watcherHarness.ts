// The watcher wired by build() over in-memory ports (a fake chain, writer, node and clock, an in-memory journal),
// for the tests that drive its runtime round by round without a chain process or a node; and a scripted node over
// a real binary store, for the tests whose steps swap versions.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { BinaryStore } from "../../watcher/src/adapters/binaries";
import { build } from "../../watcher/src/build";
import { parseConfig, paths, type WatcherConfig } from "../../watcher/src/config";
import { WatcherError, fatal, fsError } from "../../watcher/src/errors";
import { SqliteJournal } from "../../watcher/src/journal/sqlite";
import { createLogger, type Logger } from "../../watcher/src/log";
import type { Effect, Job, JobManifest, WatcherState } from "../../watcher/src/machine/types";
import { Metrics } from "../../watcher/src/metrics";
import type { ExecutorDeps } from "../../watcher/src/executors";
import type { Binaries, Clock, Downloader, NodeController, NodeStatus, RestartLeases } from "../../watcher/src/ports";
import { FakeChain } from "../fakes/chain";
import { FakeClock, FakeWriter } from "../fakes/ports";

export const TEST_OPERATOR = "0x" + "22".repeat(20);

/** What the config's sections may override; the rest is a watcher whose RPC URL and node are never dialled. */
export interface TestConfigOptions {
  /** Default: a fresh temporary directory. */
  dataDir?: string;
  /** Default: a directory that does not exist (the fake node never reads it). */
  stateDir?: string;
  chain?: Record<string, unknown>;
  health?: Record<string, unknown>;
  notify?: Record<string, unknown>;
  retry?: Record<string, unknown>;
  artifacts?: Record<string, unknown>;
  hooks?: Record<string, unknown>;
}

/** A valid watcher configuration for in-memory runs: the RPC and status URLs name port 1, which refuses at once. */
export function testConfig(o: TestConfigOptions = {}): WatcherConfig {
  return parseConfig({
    chain: {
      rpcUrl: "http://127.0.0.1:1",
      chainId: 31337,
      coordinator: "0x" + "11".repeat(20),
      startBlock: 1,
      confirmations: 0,
      ...o.chain,
    },
    validator: { operator: TEST_OPERATOR, attesterKey: { env: "UNUSED" } },
    dataDir: o.dataDir ?? mkdtempSync(join(tmpdir(), "lockstep-watcher-")),
    node: {
      adapter: "command",
      statusUrl: "http://127.0.0.1:1/status",
      stateDir: o.stateDir ?? "/nonexistent",
      commands: { start: "true", stop: "true" },
    },
    ...(o.health ? { health: o.health } : {}),
    ...(o.notify ? { notify: o.notify } : {}),
    ...(o.retry ? { retry: o.retry } : {}),
    ...(o.artifacts ? { artifacts: o.artifacts } : {}),
    ...(o.hooks ? { hooks: o.hooks } : {}),
  });
}

/** The in-memory ports a test passes; what it leaves out is made fresh. */
export interface WireOptions<C extends Clock> {
  chain: FakeChain;
  node: NodeController;
  clock?: C;
  writer?: FakeWriter;
  journal?: SqliteJournal;
  /** Restart leases (default: none, so no step waits for one). */
  leases?: RestartLeases;
  /** Where the watcher logs (default: nowhere). */
  logger?: Logger;
}

/** Builds the watcher over in-memory ports; the fake chain accepts the fresh attester key it signs with. */
export async function wireWatcher<C extends Clock = FakeClock>(config: WatcherConfig, o: WireOptions<C>) {
  const clock = (o.clock ?? new FakeClock()) as C;
  const writer = o.writer ?? new FakeWriter();
  const journal = o.journal ?? new SqliteJournal(":memory:");
  const metrics = new Metrics(false);
  const account = privateKeyToAccount(generatePrivateKey());
  o.chain.attester = account.address;
  const watcher = await build(config, {
    chain: o.chain,
    writer,
    account,
    node: o.node,
    leases: o.leases,
    clock,
    journal,
    metrics,
    logger: o.logger ?? createLogger("silent", false),
  });
  /** Puts the machine in `state` at the chain's first block, with `effects` queued as if the chain had asked. */
  const begin = (state: WatcherState, effects?: Effect[]) => {
    const anchor = o.chain.blocks[0];
    const checkpoint = { block: 0n, hash: anchor.hash, parentHash: anchor.parentHash, state };
    journal.commit(checkpoint, effects ? { state, effects } : undefined);
  };
  return { ...watcher, chain: o.chain, writer, clock, metrics, journal, begin };
}

/** A job whose node already runs the upgrade's version and reported Healthy: overrides name what differs. */
export const upgradedJob = (over: Partial<Job> = {}): Job => ({
  upgradeId: 1,
  stage: 1,
  manifest: {
    name: "v2",
    version: "v2.0.0",
    previousVersion: "v1.9.3",
    artifact: null,
    manifestHash: "0x" + "cd".repeat(32),
    stateIncompatible: false,
  },
  stageActive: true,
  paused: false,
  ended: null,
  local: "upgraded",
  attested: "Healthy",
  health: "healthy",
  steps: 4,
  ...over,
});

/** The clock of the process: for tests whose steps run real downloads, hooks or timers. */
export const realClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

export const OLD = "v1.9.3";
export const NEW = "v2.0.0";
export const sha256 = (data: string) => createHash("sha256").update(data).digest("hex");
/** The build staged as `version`: a script that names it. */
export const nodeScript = (version: string) => `#!/bin/sh\necho ${version}\n`;

/** A manifest from OLD to `version` whose artifact is the build stagedNode() stages for it. */
export const stagedManifest = (version = NEW, uri = "https://example.org/node"): JobManifest => ({
  name: `upgrade to ${version}`,
  version,
  previousVersion: OLD,
  artifact: { platform: "linux-amd64", uri, sha256: sha256(nodeScript(version)) },
  manifestHash: "0x" + "cd".repeat(32),
  stateIncompatible: false,
});

/** A job whose stage is active and whose swap to NEW is due (Ready attested): overrides name what differs. */
export const swapJob = (over: Partial<Job> = {}): Job =>
  upgradedJob({ manifest: stagedManifest(), local: "upgrading", attested: "Ready", health: null, steps: 2, ...over });

/**
 * A node that runs whatever version `current` names when started, and reports it with a height that grows on each
 * question. Faults: versions that answer but make no block (`stuck`), versions that cannot start (a missing
 * loader), a snapshot that fills the disk.
 */
export class ScriptedNode implements NodeController {
  running?: string;
  height = 100n;
  calls: string[] = [];
  stuck = new Set<string>();
  cannotStart = new Set<string>();
  diskFull = false;
  constructor(private readonly binaries: Binaries) {}
  async start() {
    if (this.running) return;
    const version = (await this.binaries.active())!;
    this.calls.push(`start ${version}`);
    if (this.cannotStart.has(version)) {
      throw fatal("node-exited", `node ${version} exited at once: exit code 127 (node.log: loader: not found)`);
    }
    this.running = version;
  }
  async stop() {
    this.calls.push("stop");
    this.running = undefined;
  }
  async status(): Promise<NodeStatus | undefined> {
    if (!this.running) return undefined;
    if (!this.stuck.has(this.running)) this.height += 1n;
    return { version: this.running, height: this.height };
  }
  async snapshot(tag: string) {
    this.calls.push(`snapshot ${tag}`);
    if (this.diskFull) {
      const enospc = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });
      throw fsError("copy to", `/data/snapshots/${tag}~partial/db`, enospc);
    }
  }
  async restore(tag: string) {
    this.calls.push(`restore ${tag}`);
  }
}

/**
 * A data directory under `dataDir` with `versions` staged in a real binary store, OLD active and running on a
 * ScriptedNode (its calls so far cleared), and a node state of 4 KiB to snapshot.
 */
export async function stagedNode(dataDir: string, versions = [OLD, NEW]) {
  const stateDir = join(dataDir, "state");
  mkdirSync(stateDir);
  writeFileSync(join(stateDir, "db"), "x".repeat(4096));
  const p = paths({ dataDir });
  const store = new BinaryStore(p);
  mkdirSync(p.downloads, { recursive: true });
  for (const version of versions) {
    const file = join(p.downloads, version);
    writeFileSync(file, nodeScript(version));
    await store.stage(version, file, sha256(nodeScript(version)));
  }
  await store.activate(OLD);
  const node = new ScriptedNode(store);
  await node.start();
  node.calls = [];
  return { stateDir, p, store, node };
}

/** The WatcherError `promise` rejects with; fails the test when it resolves or rejects with anything else. */
export async function rejection(promise: Promise<unknown>): Promise<WatcherError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "expected a rejection").to.be.instanceOf(WatcherError);
  return error as WatcherError;
}

/** A job for `manifest` whose stage is active and whose build is prepared, nothing attested: for executors run alone. */
export const preparedJob = (
  upgradeId: number,
  manifest: Pick<JobManifest, "name" | "version" | "previousVersion" | "artifact">,
): Job => ({
  upgradeId,
  stage: 0,
  manifest: { ...manifest, manifestHash: "0x" + "00".repeat(32), stateIncompatible: false },
  stageActive: true,
  paused: false,
  ended: null,
  local: "prepared",
  attested: null,
  health: null,
  steps: 0,
});

/** What an executor run alone needs: no chain, no downloader unless given, a fake writer and clock, no logs. */
export function executorDeps(o: {
  config: WatcherConfig;
  paths: ExecutorDeps["paths"];
  node: NodeController;
  binaries: Binaries;
  downloader?: Downloader;
}): ExecutorDeps {
  return {
    config: o.config,
    paths: o.paths,
    chain: undefined as never,
    writer: new FakeWriter(),
    node: o.node,
    downloader: o.downloader ?? (undefined as never),
    binaries: o.binaries,
    clock: new FakeClock(),
    log: createLogger("silent", false),
  };
}
