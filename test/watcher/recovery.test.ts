// The runtime never leaves the node down, fails fast on what retrying cannot fix, puts network orders first and
// catches up: the watcher wired by build() over in-memory ports, a scripted node and a real binary store.
import { expect } from "chai";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { retryable } from "../../watcher/src/errors";
import { Metrics } from "../../watcher/src/metrics";
import type { Clock } from "../../watcher/src/ports";
import { FakeChain } from "../fakes/chain";
import { FakeClock } from "../fakes/ports";
import {
  NEW,
  OLD,
  realClock,
  stagedManifest as manifest,
  stagedNode,
  swapJob as job,
  testConfig,
  wireWatcher,
} from "../helpers/watcherHarness";

function config(dataDir: string, stateDir: string) {
  return testConfig({
    dataDir,
    stateDir,
    chain: { pollIntervalMs: 1_000 },
    health: { deadlineMs: 2_000, probeIntervalMs: 100, minHeightGain: 2, observeIntervalMs: 5_000 },
  });
}

/** A watcher whose data directory has OLD and NEW staged, OLD active and running. */
async function wired(options: { clock?: Clock; free?: number } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "lockstep-recovery-"));
  const { stateDir, p, store, node } = await stagedNode(dataDir);
  const watcher = await wireWatcher(config(dataDir, stateDir), {
    chain: new FakeChain(2),
    node,
    clock: options.clock ?? new FakeClock(),
  });
  if (options.free !== undefined) {
    const free = options.free;
    watcher.deps.disk = { free: async () => free, size: async () => 4096 };
  }
  return { ...watcher, dataDir, p, store, node };
}

async function problems(metrics: Metrics) {
  return metrics.problemKeys();
}

async function counted(metrics: Metrics, name: "nodeFailures" | "errors"): Promise<Record<string, number>> {
  const { values } = await metrics[name].get();
  // Series that exist from the start at 0 count nothing.
  return Object.fromEntries(
    values.filter((v) => v.value > 0).map((v) => [String(Object.values(v.labels)[0]), v.value]),
  );
}

/** Runs rounds a poll interval apart until `done` holds (at most `most`). */
async function rounds(w: Awaited<ReturnType<typeof wired>>, done: () => boolean, most = 10) {
  for (let i = 0; i < most && !done(); i++) {
    await w.runtime.tick();
    if (w.clock instanceof FakeClock) w.clock.advance(1_000);
  }
}

const statuses = (w: Awaited<ReturnType<typeof wired>>) => w.writer.sent.map((a) => `${a.upgradeId}:${a.status}`);

describe("watcher recovery", function () {
  describe("never leaves the node down", function () {
    it("a new binary that cannot start (missing loader): the old one runs again and FailedToUpgrade is attested", async function () {
      const w = await wired();
      w.node.cannotStart.add(NEW);
      w.begin({ jobs: { "1": job({}) } }, [{ kind: "upgrade", upgradeId: 1, step: 2 }]);
      await rounds(w, () => statuses(w).includes("1:FailedToUpgrade"));
      expect(w.node.running).to.equal(OLD);
      expect(await w.store.active()).to.equal(OLD);
      expect(statuses(w)).to.deep.equal(["1:FailedToUpgrade"]);
      expect(w.runtime.state().jobs["1"].local).to.equal("failed-upgrade");
      expect(await counted(w.metrics, "nodeFailures")).to.deep.equal({ start: 1 });
      expect(await problems(w.metrics)).to.deep.equal(["upgrade 1"]); // /healthz is not OK, naming it
      w.close();
    });

    it("a disk that fills during the snapshot: the old node runs again and FailedToUpgrade is attested", async function () {
      const w = await wired();
      w.node.diskFull = true;
      w.begin({ jobs: { "1": job({}) } }, [{ kind: "upgrade", upgradeId: 1, step: 2 }]);
      await rounds(w, () => statuses(w).includes("1:FailedToUpgrade"));
      expect(w.node.calls.slice(0, 3)).to.deep.equal(["stop", "snapshot before-upgrade-1", `start ${OLD}`]);
      expect(w.node.running).to.equal(OLD);
      expect(await w.store.active()).to.equal(OLD);
      expect(statuses(w)).to.deep.equal(["1:FailedToUpgrade"]);
      expect(await counted(w.metrics, "nodeFailures")).to.deep.equal({ snapshot: 1 });
      w.close();
    });

    it("refuses to stop the node without room for the artifact and a snapshot, and keeps it running", async function () {
      const w = await wired({ free: 1024 });
      w.begin({ jobs: { "1": job({}) } }, [{ kind: "upgrade", upgradeId: 1, step: 2 }]);
      await w.runtime.tick();
      expect(w.node.calls).to.deep.equal([]);
      expect(w.node.running).to.equal(OLD);
      expect(await counted(w.metrics, "errors")).to.deep.equal({ "disk-space": 1 });
      expect(await problems(w.metrics)).to.deep.equal([`step e0:1:2:upgrade`]);
      // Space freed: the next try, after its backoff, upgrades.
      w.deps.disk = { free: async () => 1 << 30, size: async () => 4096 };
      await rounds(w, () => w.node.running === NEW);
      expect(w.node.running).to.equal(NEW);
      expect(await problems(w.metrics)).to.deep.equal([]);
      w.close();
    });
  });

  describe("orders first; permanent failures fail fast", function () {
    it("an invalid version ends its upgrade at once and never blocks a rollback order for another", async function () {
      const w = await wired();
      const evil = job({ upgradeId: 2, manifest: manifest("../../evil"), local: "preparing", stageActive: false });
      const upgraded = job({ upgradeId: 1, local: "upgraded", attested: "Healthy", ended: "rolledBack" });
      await w.store.activate(NEW);
      w.node.running = NEW;
      w.begin({ jobs: { "1": { ...upgraded, local: "restoring" }, "2": evil } }, [
        { kind: "prepare", upgradeId: 2, step: 1 },
        { kind: "restore", upgradeId: 1, restoreState: false, step: 3 },
      ]);
      await rounds(w, () => statuses(w).includes("1:RolledBack"));
      expect(w.node.running).to.equal(OLD);
      expect(statuses(w)).to.deep.equal(["1:RolledBack"]);
      expect(w.runtime.state().jobs["2"].local).to.equal("prepare-failed");
      expect(w.journal.pending()).to.deep.equal([]);
      w.close();
    });

    it("a withdrawal drops a preparation that keeps failing", async function () {
      const w = await wired();
      let fetches = 0;
      w.deps.downloader = {
        fetch: async () => {
          fetches += 1;
          throw retryable("download-failed", "GET https://example.org/a failed: ECONNRESET");
        },
      };
      const artifact = { platform: "linux-amd64", uri: "https://example.org/a", sha256: "ab".repeat(32) };
      const preparing = job({ local: "preparing", stageActive: false, manifest: { ...manifest("v3.0.0"), artifact } });
      w.begin({ jobs: { "1": preparing } }, [{ kind: "prepare", upgradeId: 1, step: 1 }]);
      await w.runtime.tick();
      expect(fetches).to.equal(1);
      const withdrawn = { jobs: { "1": { ...w.runtime.state().jobs["1"], ended: "withdrawn" as const } } };
      w.journal.applyLocal(withdrawn, []);
      await w.runtime.tick();
      await w.runtime.tick();
      expect(fetches).to.equal(1);
      expect(w.runtime.state().jobs["1"].local).to.equal("discarded");
      expect(w.journal.pending()).to.deep.equal([]);
      w.close();
    });

    it("SIGTERM wakes the watcher from a backoff sleep at once", async function () {
      const w = await wired({ clock: realClock });
      w.chain.blocks = []; // no latest block: every round fails and backs off
      const running = w.runtime.run();
      await new Promise((r) => setTimeout(r, 300));
      const stopped = Date.now();
      w.runtime.stop();
      await running;
      expect(Date.now() - stopped).to.be.below(500);
      w.close();
    });
  });

  describe("reorgs", function () {
    it("a swap whose activation was reorged away is undone: the node follows the confirmed chain", async function () {
      const w = await wired();
      await w.store.activate(NEW);
      w.node.running = NEW;
      const [b0, b1] = w.chain.blocks;
      const rewound = job({ local: "prepared", stageActive: false });
      w.journal.commit({ block: 0n, hash: b0.hash, parentHash: b0.parentHash, state: { jobs: { "1": rewound } } });
      const swapped = job({ local: "upgraded", attested: "Healthy", health: "healthy", steps: 4 });
      w.journal.commit({ block: 1n, hash: b1.hash, parentHash: b1.parentHash, state: { jobs: { "1": swapped } } });
      w.chain.reorg(1); // the block that activated the stage is gone
      w.chain.mine();
      w.chain.mine();
      await rounds(w, () => w.runtime.state().jobs["1"].local === "prepared" && w.node.running === OLD);
      expect(w.node.running).to.equal(OLD);
      expect(await w.store.active()).to.equal(OLD);
      expect(w.runtime.state().jobs["1"].local).to.equal("prepared");
      expect(w.journal.pending()).to.deep.equal([]);
      w.close();
    });
  });

  describe("catch-up", function () {
    it("a watcher that starts after the upgrade completed brings its node to the network's version", async function () {
      const w = await wired();
      const missed = job({ local: "preparing", attested: null, ended: "completed" });
      w.begin({ jobs: { "1": missed } }, [{ kind: "prepare", upgradeId: 1, step: 1 }]);
      await rounds(w, () => w.runtime.state().jobs["1"].local === "upgraded");
      expect(w.node.running).to.equal(NEW);
      expect(await w.store.active()).to.equal(NEW);
      expect(w.writer.sent).to.deep.equal([]); // the upgrade is over: nothing to attest
      w.close();
    });
  });
});
