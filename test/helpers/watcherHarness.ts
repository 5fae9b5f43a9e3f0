// The watcher wired by build() over in-memory ports (a fake chain, writer, node and clock, an in-memory journal),
// for the tests that drive its runtime round by round without a chain process or a node.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { build } from "../../watcher/src/build";
import { parseConfig, type WatcherConfig } from "../../watcher/src/config";
import { SqliteJournal } from "../../watcher/src/journal/sqlite";
import { createLogger } from "../../watcher/src/log";
import type { Effect, Job, WatcherState } from "../../watcher/src/machine/types";
import { Metrics } from "../../watcher/src/metrics";
import type { Clock, NodeController } from "../../watcher/src/ports";
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
  });
}

/** The in-memory ports a test passes; what it leaves out is made fresh. */
export interface WireOptions<C extends Clock> {
  chain: FakeChain;
  node: NodeController;
  clock?: C;
  writer?: FakeWriter;
  journal?: SqliteJournal;
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
    clock,
    journal,
    metrics,
    logger: createLogger("silent", false),
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
