// The runtime wired by build() over in-memory ports: what it does each round, without a chain or a node.
import { expect } from "chai";
import { SqliteJournal } from "../../watcher/src/journal/sqlite";
import type { Metrics } from "../../watcher/src/metrics";
import type { Job } from "../../watcher/src/machine/types";
import type { NodeController } from "../../watcher/src/ports";
import { FakeChain } from "../fakes/chain";
import { FakeNode } from "../fakes/ports";
import { retryable } from "../../watcher/src/errors";
import { testConfig, upgradedJob, wireWatcher } from "../helpers/watcherHarness";

interface Over {
  observeIntervalMs?: number;
  pollIntervalMs?: number;
  retry?: { backoffCapMs?: number; budgetMs?: number; maxAttempts?: number };
}

function config(over: Over = {}) {
  return testConfig({
    chain: { pollIntervalMs: over.pollIntervalMs ?? 2_000 },
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
  return wireWatcher(config(over), {
    chain: over.chain,
    node: over.node ?? new FakeNode(),
    journal: new SqliteJournal(":memory:", over.keep ?? 256),
  });
}

async function errorCounts(metrics: Metrics): Promise<Record<string, number>> {
  const { values } = await metrics.errors.get();
  return Object.fromEntries(values.map((v) => [String(v.labels.kind), v.value]));
}

const upgraded = () => upgradedJob();

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
