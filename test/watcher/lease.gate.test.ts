// Restart leases, decided in one place (issue 9, issue 14): the runtime asks for the lease before a step that takes
// the running node down starts, once per attempt, and the step's executor never asks again. The watcher wired by
// build() over in-memory ports, a scripted node, a real binary store and a coordinator's lease book in memory.
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino, { type Logger } from "pino";
import type { LeaseAnswer, LeaseView, RestartLeases } from "../../watcher/src/ports";
import { FakeChain } from "../fakes/chain";
import { NEW, stagedNode, swapJob, testConfig, wireWatcher, type TestConfigOptions } from "../helpers/watcherHarness";

/** The coordinator's lease book for one key, as `getLease` and `takeLease()` see it; counts every question. */
class LeaseBook implements RestartLeases {
  views = 0;
  takes = 0;
  budget = 10n;
  inUse = 0n;
  weight = 1n;
  expiresAt = 0n;
  /** A transaction of the key is in the mempool: take() says so and sends nothing. */
  pending = false;
  /** Called when a lease is granted (a test makes it lapse from here). */
  onGranted?: () => void;

  async view(): Promise<LeaseView> {
    this.views += 1;
    const { budget, inUse, weight, expiresAt } = this;
    return { budget, inUse, duration: 3600, live: true, weight, expiresAt };
  }

  async take(): Promise<LeaseAnswer> {
    this.takes += 1;
    if (this.pending) return { kind: "pending" };
    if (this.expiresAt > 0n) return { kind: "held", expiresAt: this.expiresAt };
    if (this.inUse + this.weight > this.budget) {
      return { kind: "full", inUse: this.inUse, budget: this.budget, weight: this.weight };
    }
    this.inUse += this.weight;
    this.expiresAt = 7_200n;
    this.onGranted?.();
    return { kind: "granted", expiresAt: 7_200n, transaction: `0x${"ab".repeat(32)}` };
  }
}

const temps: string[] = [];
after(() => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A watcher with OLD running and NEW staged, its swap to NEW queued, taking leases from `book`. */
async function wired(book: LeaseBook, o: { hooks?: TestConfigOptions["hooks"]; logger?: Logger } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "lockstep-lease-gate-"));
  temps.push(dataDir);
  const { stateDir, store, node } = await stagedNode(dataDir);
  const config = testConfig({
    dataDir,
    stateDir,
    chain: { pollIntervalMs: 1_000 },
    health: { deadlineMs: 2_000, probeIntervalMs: 100, minHeightGain: 2, observeIntervalMs: 5_000 },
    hooks: o.hooks,
  });
  const w = await wireWatcher(config, { chain: new FakeChain(2), node, leases: book, logger: o.logger });
  w.begin({ jobs: { "1": swapJob() } }, [{ kind: "upgrade", upgradeId: 1, step: 2 }]);
  return { ...w, store, node };
}

/** Runs rounds a poll interval apart until `done` holds (at most `most`). */
async function rounds(w: Awaited<ReturnType<typeof wired>>, done: () => boolean, most = 10) {
  for (let i = 0; i < most && !done(); i++) {
    await w.runtime.tick();
    w.clock.advance(1_000);
  }
}

/** The counters that move only when a step fails: errors and retries, by label. */
async function failures(w: Awaited<ReturnType<typeof wired>>) {
  const moved = async (name: "errors" | "stepRetries") =>
    (await w.metrics[name].get()).values.filter((v) => v.value > 0).map((v) => Object.values(v.labels).join(":"));
  return { errors: await moved("errors"), retries: await moved("stepRetries"), problems: w.metrics.problemKeys() };
}

const clean = { errors: [], retries: [], problems: [] };

describe("restart leases: one place asks for them", function () {
  it("reads the key's lease once and takes it once for a swap", async function () {
    const book = new LeaseBook();
    const w = await wired(book);
    await w.runtime.tick();
    expect(w.node.running).to.equal(NEW);
    expect(book.views).to.equal(1);
    expect(book.takes).to.equal(1);
    expect(await failures(w)).to.deep.equal(clean);
    w.close();
  });

  it("a lease that lapses before the stop neither fails the attempt nor spends its retries", async function () {
    const book = new LeaseBook();
    // Granted, then at once expired and the budget filled by another validator (a restart window that took long).
    book.onGranted = () => {
      book.expiresAt = 0n;
      book.inUse = book.budget;
    };
    const w = await wired(book);
    await w.runtime.tick();
    expect(w.node.running).to.equal(NEW);
    expect(w.node.calls.filter((c) => c === "stop")).to.have.length(1);
    expect(book.takes).to.equal(1);
    expect(await failures(w)).to.deep.equal(clean);
    w.close();
  });

  it("a full budget: the step is not started, spends no retries, and runs once a lease is granted", async function () {
    const book = new LeaseBook();
    book.budget = 1n;
    book.inUse = 1n;
    const w = await wired(book);
    await w.runtime.tick();
    expect(w.node.calls).to.deep.equal([]);
    expect(w.journal.pending().map((s) => [s.status, s.attempts])).to.deep.equal([["queued", 0]]);
    expect(await failures(w)).to.deep.equal(clean);
    book.inUse = 0n; // the other validator's lease ended
    await rounds(w, () => w.node.running === NEW);
    expect(w.node.running).to.equal(NEW);
    expect(w.node.calls.filter((c) => c === "stop")).to.have.length(1);
    expect(book.expiresAt).to.not.equal(0n);
    expect(await failures(w)).to.deep.equal(clean);
    w.close();
  });

  it("a lease held before a crash is reused, never taken twice", async function () {
    const book = new LeaseBook();
    book.expiresAt = 7_200n;
    book.inUse = 1n;
    const w = await wired(book);
    w.journal.markStarted(w.journal.pending()[0].key); // the crash came after the step started
    await w.runtime.tick();
    expect(w.node.running).to.equal(NEW);
    expect(book.takes).to.equal(0);
    expect(book.views).to.equal(1);
    w.close();
  });

  it("a pending transaction of the key waits a round, then finds the lease it sent held", async function () {
    const book = new LeaseBook();
    book.pending = true;
    const w = await wired(book);
    await w.runtime.tick();
    expect(w.node.calls).to.deep.equal([]);
    expect(w.journal.pending().map((s) => s.status)).to.deep.equal(["queued"]);
    // The lease sent before the crash is mined.
    book.pending = false;
    book.expiresAt = 7_200n;
    book.inUse = 1n;
    await rounds(w, () => w.node.running === NEW);
    expect(w.node.running).to.equal(NEW);
    expect(book.takes).to.equal(1); // the one that found the transaction pending
    expect(await failures(w)).to.deep.equal(clean);
    w.close();
  });

  it("no budget (0): no lease is taken, the view is all it costs", async function () {
    const book = new LeaseBook();
    book.budget = 0n;
    const w = await wired(book);
    await w.runtime.tick();
    expect(w.node.running).to.equal(NEW);
    expect(book.takes).to.equal(0);
    expect(book.views).to.equal(1);
    w.close();
  });

  describe("a restart window longer than the lease", function () {
    /** The swap with a restart-window hook of `deadlineMs` (the book's leases last an hour); the warnings logged. */
    async function swapWithWindow(deadlineMs: number) {
      const book = new LeaseBook();
      const warnings: string[] = [];
      const logger = pino({ level: "warn" }, { write: (line: string) => void warnings.push(JSON.parse(line).msg) });
      const hooks = { restartWindow: { command: "true", timeoutMs: 10_000, retryIntervalMs: 1_000, deadlineMs } };
      const w = await wired(book, { hooks, logger });
      await w.runtime.tick();
      expect(w.node.running).to.equal(NEW);
      w.close();
      return warnings.filter((m) => m.includes("longer than a restart lease lasts"));
    }

    it("is said when the lease is granted", async function () {
      expect(await swapWithWindow(2 * 3_600_000)).to.have.length(1);
    });

    it("is not said of a window within the lease", async function () {
      expect(await swapWithWindow(3_000_000)).to.deep.equal([]);
    });
  });

  it("a step that does not stop the node asks for no lease", async function () {
    const book = new LeaseBook();
    const w = await wired(book);
    await w.store.activate(NEW);
    w.node.running = NEW; // swapped before a crash: only the start and the health wait are left
    await w.runtime.tick();
    expect(w.node.calls.filter((c) => c === "stop")).to.deep.equal([]);
    expect(book.views).to.equal(0);
    expect(w.runtime.state().jobs["1"].local).to.equal("upgraded");
    w.close();
  });
});
