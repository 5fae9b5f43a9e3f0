// The runtime wired by build() over in-memory ports: what it does each round, without a chain or a node.
import { expect } from "chai";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { build } from "../../watcher/src/build";
import { parseConfig } from "../../watcher/src/config";
import { SqliteJournal } from "../../watcher/src/journal/sqlite";
import { createLogger } from "../../watcher/src/log";
import type { Job } from "../../watcher/src/machine/types";
import { Metrics } from "../../watcher/src/metrics";
import type { NodeController } from "../../watcher/src/ports";
import { FakeChain } from "../fakes/chain";
import { FakeClock, FakeNode, FakeWriter } from "../fakes/ports";
import { retryable } from "../../watcher/src/errors";

interface Over {
  observeIntervalMs?: number;
  pollIntervalMs?: number;
  retry?: { backoffCapMs?: number; budgetMs?: number; maxAttempts?: number };
}

function config(over: Over = {}) {
  return parseConfig({
    chain: {
      rpcUrl: "http://127.0.0.1:1",
      chainId: 31337,
      coordinator: "0x" + "11".repeat(20),
      startBlock: 1,
      confirmations: 0,
      pollIntervalMs: over.pollIntervalMs ?? 2_000,
    },
    validator: { operator: "0x" + "22".repeat(20), attesterKey: { env: "UNUSED" } },
    dataDir: mkdtempSync(join(tmpdir(), "lockstep-runtime-")),
    node: {
      adapter: "command",
      statusUrl: "http://127.0.0.1:1/status",
      stateDir: "/nonexistent",
      commands: { start: "true", stop: "true" },
    },
    health: {
      deadlineMs: 1_000,
      probeIntervalMs: 100,
      minHeightGain: 2,
      observeIntervalMs: over.observeIntervalMs ?? 5_000,
      unhealthyAfterMs: 1_000,
    },
    ...(over.retry ? { retry: over.retry } : {}),
  });
}

async function wired(over: Over & { chain: FakeChain; node?: NodeController; keep?: number }) {
  const clock = new FakeClock();
  const metrics = new Metrics(false);
  const journal = new SqliteJournal(":memory:", over.keep ?? 256);
  const account = privateKeyToAccount(generatePrivateKey());
  over.chain.attester = account.address;
  const watcher = await build(config(over), {
    chain: over.chain,
    writer: new FakeWriter(),
    account,
    node: over.node ?? new FakeNode(),
    clock,
    journal,
    metrics,
    logger: createLogger("silent", false),
  });
  return { ...watcher, clock, metrics, journal };
}

async function errorCounts(metrics: Metrics): Promise<Record<string, number>> {
  const { values } = await metrics.errors.get();
  return Object.fromEntries(values.map((v) => [String(v.labels.kind), v.value]));
}

const upgraded = (): Job => ({
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
});

describe("watcher runtime", function () {
  it("rebuilds its view from the start block, counted by its code, when a reorg goes deeper than the journal remembers", async function () {
    // Before issue 10 the watcher stopped for good here ("reorg-too-deep", not retryable, every round).
    const chain = new FakeChain();
    for (let i = 0; i < 5; i++) chain.mine();
    const w = await wired({ chain, keep: 2 });
    await w.runtime.tick();
    chain.reorg(6); // every block it has a checkpoint for, down to the anchor
    for (let i = 0; i < 7; i++) chain.mine();
    await w.runtime.tick(); // does not throw
    const head = (await chain.block())!;
    expect(w.journal.latest()?.block).to.equal(head.number);
    expect(w.journal.latest()?.hash).to.equal(head.hash);
    expect(await errorCounts(w.metrics)).to.deep.equal({ "reorg-too-deep": 1 });
    await w.runtime.tick(); // and carries on from there
    expect(await errorCounts(w.metrics)).to.deep.equal({ "reorg-too-deep": 1 });
    w.close();
  });

  it("checks the node's health every round, at least every health.observeIntervalMs, and re-attests on a change", async function () {
    const chain = new FakeChain(2);
    const node = new FakeNode({ version: "v2.0.0", height: 10n });
    const w = await wired({ chain, node, pollIntervalMs: 12_000, observeIntervalMs: 5_000 });
    const anchor = (await chain.block(0n))!;
    w.journal.commit({
      block: 0n,
      hash: anchor.hash,
      parentHash: anchor.parentHash,
      state: { jobs: { "1": upgraded() } },
    });
    w.clock.onSleep = () => {
      if (w.clock.sleeps.length === 2) w.runtime.stop();
    };
    await w.runtime.run();
    // Two rounds, 5 s apart rather than the 12 s poll interval; the second saw the height stuck: unhealthy.
    expect(w.clock.sleeps).to.deep.equal([5_000, 5_000]);
    expect(node.statusCalls).to.equal(2);
    expect(w.runtime.state().jobs["1"].health).to.equal("unhealthy");
    expect(w.journal.pending().map((s) => s.effect)).to.deep.equal([
      { kind: "attest", upgradeId: 1, stage: 1, status: "Unhealthy", step: 5 },
    ]);
    w.close();
  });

  it("retries a failing step as retry.* configures: backoff capped at backoffCapMs, given up after maxAttempts", async function () {
    const chain = new FakeChain(2);
    const w = await wired({ chain, pollIntervalMs: 1_000, retry: { backoffCapMs: 1_500, maxAttempts: 3 } });
    let fetches = 0;
    w.deps.downloader = {
      fetch: async () => {
        fetches += 1;
        throw retryable("download-failed", "GET https://example.org/node failed: ECONNRESET");
      },
    };
    const artifact = { platform: "linux-amd64", uri: "https://example.org/node", sha256: "ab".repeat(32) };
    const preparing: Job = { ...upgraded(), manifest: { ...upgraded().manifest, artifact }, local: "preparing" };
    const anchor = (await chain.block(0n))!;
    const state = { jobs: { "1": { ...preparing, stageActive: false, attested: null, health: null, steps: 1 } } };
    w.journal.commit(
      { block: 0n, hash: anchor.hash, parentHash: anchor.parentHash, state },
      { state, effects: [{ kind: "prepare", upgradeId: 1, step: 1 }] },
    );
    const tries: number[] = [];
    for (const wait of [0, 1_000, 1_000, 500]) {
      w.clock.advance(wait);
      await w.runtime.tick();
      tries.push(fetches);
    }
    // Waits of 1 s, then min(2 s, 1.5 s): the third try comes 1.5 s after the second, and is the last.
    expect(tries).to.deep.equal([1, 2, 2, 3]);
    expect(w.runtime.state().jobs["1"].local).to.equal("prepare-failed");
    expect(w.journal.pending().map((s) => s.effect.kind)).to.deep.equal([]);
    w.close();
  });
});
