// Network orders interrupt a step in progress (issue 10, finding 4): a download held by a slow-loris server, an
// upgrade hook that takes its time, a new version's health wait. The runtime wired by build() with the real
// downloader and hooks, a binary store on disk, a scripted node, and a chain whose blocks carry real coordinator
// events, which the runtime follows while the step runs.
import { expect } from "chai";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeAbiParameters, encodeEventTopics, getAbiItem, type Log } from "viem";
import { upgradeCoordinatorAbi } from "../../lib/abi/generated";
import { FakeChain } from "../fakes/chain";
import {
  NEW,
  OLD,
  nodeScript as script,
  realClock as clock,
  sha256,
  stagedManifest,
  stagedNode,
  swapJob as job,
  testConfig,
  wireWatcher,
} from "../helpers/watcherHarness";

const ZERO = `0x${"00".repeat(20)}` as const;

/**
 * An artifact server. While `slow`, it answers 200 and then sends one byte every 200 ms, never finishing (a
 * slow-loris: never idle long enough for the idle timeout); otherwise it sends `body` at once.
 */
async function artifactServer(body: string) {
  const open = new Set<ServerResponse>();
  const state = { slow: true, requests: 0, closed: 0 };
  const server: Server = createServer((_req, res) => {
    state.requests += 1;
    if (!state.slow) {
      res.writeHead(200, { "content-length": String(body.length) }).end(body);
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream" });
    open.add(res);
    const drip = setInterval(() => res.write("x"), 200);
    res.on("close", () => {
      clearInterval(drip);
      open.delete(res);
      state.closed += 1;
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/node`;
  const stop = () =>
    new Promise<void>((r) => {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      server.close(() => r());
    });
  return Object.assign(state, { url, stop, holding: () => open.size });
}

/** Mines a block carrying one coordinator event, encoded as the contract emits it. */
function emit(chain: FakeChain, eventName: string, args: Record<string, unknown>) {
  const event = getAbiItem({ abi: upgradeCoordinatorAbi, name: eventName as "UpgradePaused" }) as {
    inputs: readonly { name: string; type: string; indexed?: boolean }[];
  };
  const topics = encodeEventTopics({
    abi: upgradeCoordinatorAbi,
    eventName: eventName as "UpgradePaused",
    args: Object.fromEntries(event.inputs.filter((i) => i.indexed).map((i) => [i.name, args[i.name]])),
  });
  const unindexed = event.inputs.filter((i) => !i.indexed);
  const data = encodeAbiParameters(
    unindexed,
    unindexed.map((i) => args[i.name]),
  );
  const number = chain.mine();
  const block = chain.blocks[Number(number)];
  block.logs.push({
    address: "0x" + "11".repeat(20),
    blockNumber: number,
    blockHash: block.hash,
    logIndex: 0,
    transactionHash: block.hash,
    transactionIndex: 0,
    removed: false,
    topics,
    data,
  } as unknown as Log);
}

const paused = (upgradeId: number) => ({
  upgradeId: BigInt(upgradeId),
  by: ZERO,
  reason: 0,
  stage: 0,
  healthyStake: 0n,
  unhealthyStake: 0n,
});
const resumed = (upgradeId: number) => ({ upgradeId: BigInt(upgradeId), by: ZERO, stage: 0 });
const withdrawn = (upgradeId: number) => ({
  upgradeId: BigInt(upgradeId),
  by: ZERO,
  stage: 0,
  anyStageActivated: false,
});
const rollback = (upgradeId: number) => ({
  upgradeId: BigInt(upgradeId),
  by: ZERO,
  reason: 0,
  stage: 0,
  unhealthyStake: 0n,
});

const manifest = (uri?: string) => stagedManifest(NEW, uri);

const temps: string[] = [];
after(() => temps.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A watcher with OLD staged and running; NEW staged too unless `stageNew` is false. */
async function wired(options: { stageNew?: boolean; hooks?: Record<string, unknown>; healthDeadlineMs?: number } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), "lockstep-preempt-"));
  temps.push(dataDir);
  const { stateDir, p, store, node } = await stagedNode(dataDir, options.stageNew === false ? [OLD] : [OLD, NEW]);
  const config = testConfig({
    dataDir,
    stateDir,
    chain: { pollIntervalMs: 100 },
    health: {
      deadlineMs: options.healthDeadlineMs ?? 60_000,
      probeIntervalMs: 50,
      minHeightGain: 2,
      observeIntervalMs: 5_000,
    },
    artifacts: { allowInsecureHttp: true, maxBytes: 1_000_000 },
    hooks: options.hooks,
  });
  const watcher = await wireWatcher(config, { chain: new FakeChain(2), node, clock });
  return { ...watcher, p, store, node };
}

async function until(what: string, done: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs rounds until `done` holds (at most `most`). */
async function rounds(w: Awaited<ReturnType<typeof wired>>, done: () => boolean, most = 10) {
  for (let i = 0; i < most && !done(); i++) await w.runtime.tick();
}

/** A watcher with only OLD staged whose preparation of NEW, from `server`, runs: the round, once the download began. */
async function downloading(server: Awaited<ReturnType<typeof artifactServer>>) {
  const w = await wired({ stageNew: false });
  const preparing = job({
    manifest: manifest(server.url),
    local: "preparing",
    stageActive: false,
    attested: null,
    steps: 1,
  });
  w.begin({ jobs: { "1": preparing } }, [{ kind: "prepare", upgradeId: 1, step: 1 }]);
  const round = w.runtime.tick();
  await until("the download to start", () => server.holding() === 1);
  return { w, round };
}

const statuses = (w: Awaited<ReturnType<typeof wired>>) => w.writer.sent.map((a) => `${a.upgradeId}:${a.status}`);

describe("network orders interrupt a step in progress", function () {
  this.timeout(30_000);

  describe("a download a slow-loris server holds", function () {
    it("is abandoned within seconds of a withdrawal, and the staged nothing is discarded", async function () {
      const server = await artifactServer(script(NEW));
      try {
        const { w, round } = await downloading(server);
        const ordered = Date.now();
        emit(w.chain, "UpgradeWithdrawn", withdrawn(1));
        await round;
        expect(Date.now() - ordered).to.be.below(3_000);
        expect(server.holding()).to.equal(0);
        await rounds(w, () => w.runtime.state().jobs["1"].local === "discarded");
        expect(w.runtime.state().jobs["1"].local).to.equal("discarded");
        expect(w.journal.pending()).to.deep.equal([]);
        expect(existsSync(`${w.p.download(1)}.tmp`)).to.equal(false);
        expect(w.node.calls).to.deep.equal([]); // the node was never touched
        expect(w.metrics.problemKeys()).to.deep.equal([]);
        w.close();
      } finally {
        await server.stop();
      }
    });

    it("is abandoned on a pause and not started again until governance resumes", async function () {
      const server = await artifactServer(script(NEW));
      try {
        const { w, round } = await downloading(server);
        emit(w.chain, "UpgradePaused", paused(1));
        await round;
        expect(server.holding()).to.equal(0);
        await w.runtime.tick();
        expect(server.requests).to.equal(1); // held while paused
        expect(w.journal.pending().map((s) => s.effect.kind)).to.deep.equal(["prepare"]);
        server.slow = false;
        emit(w.chain, "UpgradeResumed", resumed(1));
        await rounds(w, () => statuses(w).includes("1:Ready"));
        expect(server.requests).to.equal(2);
        expect(w.runtime.state().jobs["1"].local).to.equal("prepared");
        expect(statuses(w)).to.deep.equal(["1:Ready"]);
        w.close();
      } finally {
        await server.stop();
      }
    });

    it("gives way to another upgrade's rollback order, then carries on", async function () {
      const server = await artifactServer(script("v3.0.0"));
      try {
        const w = await wired();
        await w.store.activate(NEW);
        w.node.running = NEW;
        const upgraded = job({ local: "upgraded", attested: "Healthy", health: "healthy", steps: 3 });
        const next = {
          ...manifest(server.url),
          version: "v3.0.0",
          previousVersion: NEW,
          artifact: { platform: "linux-amd64", uri: server.url, sha256: sha256(script("v3.0.0")) },
        };
        const preparing = job({
          upgradeId: 2,
          manifest: next,
          local: "preparing",
          stageActive: false,
          attested: null,
          steps: 1,
        });
        w.begin({ jobs: { "1": upgraded, "2": preparing } }, [{ kind: "prepare", upgradeId: 2, step: 1 }]);
        const round = w.runtime.tick();
        await until("the download to start", () => server.holding() === 1);
        server.slow = false; // the download that comes after the order goes through
        emit(w.chain, "RollbackOrdered", rollback(1));
        await until("the rollback", () => statuses(w).includes("1:RolledBack"), 3_000);
        await round;
        await rounds(w, () => statuses(w).includes("2:Ready"));
        expect(w.node.running).to.equal(OLD);
        expect(statuses(w)).to.deep.equal(["1:RolledBack", "2:Ready"]);
        expect(w.runtime.state().jobs["2"].local).to.equal("prepared");
        expect(server.requests).to.equal(2);
        w.close();
      } finally {
        await server.stop();
      }
    });
  });

  it("a pause kills a restart-window hook that takes its time; the node is never stopped", async function () {
    const marker = join(tmpdir(), `lockstep-hook-${process.pid}-${Date.now()}`);
    const w = await wired({
      hooks: { restartWindow: { command: `touch ${marker}; sleep 30`, timeoutMs: 60_000, deadlineMs: 120_000 } },
    });
    temps.push(marker);
    w.begin({ jobs: { "1": job({}) } }, [{ kind: "upgrade", upgradeId: 1, step: 2 }]);
    const round = w.runtime.tick();
    await until("the hook to run", () => existsSync(marker));
    const ordered = Date.now();
    emit(w.chain, "UpgradePaused", paused(1));
    await round;
    expect(Date.now() - ordered).to.be.below(3_000);
    await rounds(w, () => w.runtime.state().jobs["1"].local === "prepared");
    expect(w.runtime.state().jobs["1"].local).to.equal("prepared");
    expect(w.node.running).to.equal(OLD);
    expect(w.node.calls.filter((c) => c === "stop")).to.deep.equal([]);
    expect(await w.store.active()).to.equal(OLD);
    expect(w.journal.pending()).to.deep.equal([]);
    w.close();
  });

  it("a rollback order mid-health-wait after the swap: the node goes back at once and RolledBack is attested", async function () {
    const w = await wired();
    w.node.stuck.add(NEW); // answers on NEW but makes no blocks: the wait would last health.deadlineMs (60 s)
    w.begin({ jobs: { "1": job({}) } }, [{ kind: "upgrade", upgradeId: 1, step: 2 }]);
    const round = w.runtime.tick();
    await until("the new version to start", () => w.node.running === NEW);
    const ordered = Date.now();
    emit(w.chain, "RollbackOrdered", rollback(1));
    await round;
    await rounds(w, () => statuses(w).includes("1:RolledBack"));
    expect(Date.now() - ordered).to.be.below(5_000);
    expect(w.node.running).to.equal(OLD);
    expect(await w.store.active()).to.equal(OLD);
    expect(statuses(w)).to.deep.equal(["1:RolledBack"]);
    expect(w.node.calls).to.deep.equal(["stop", "snapshot before-upgrade-1", `start ${NEW}`, "stop", `start ${OLD}`]);
    const { values } = await w.metrics.nodeFailures.get();
    expect(values.filter((v) => v.value > 0)).to.deep.equal([]); // the network's order, not the node's failure
    expect(w.metrics.problemKeys()).to.deep.equal([]);
    expect(w.journal.pending()).to.deep.equal([]);
    w.close();
  });

  it("a pause mid-health-wait after the swap lets the wait decide: a healthy node stays upgraded", async function () {
    const w = await wired({ healthDeadlineMs: 60_000 });
    w.node.stuck.add(NEW);
    w.begin({ jobs: { "1": job({}) } }, [{ kind: "upgrade", upgradeId: 1, step: 2 }]);
    const round = w.runtime.tick();
    await until("the new version to start", () => w.node.running === NEW);
    emit(w.chain, "UpgradePaused", paused(1));
    await until("the runtime to see the pause", () => w.runtime.state().jobs["1"].paused); // it looks every 100 ms
    expect(w.runtime.state().jobs["1"].paused).to.equal(true);
    w.node.stuck.delete(NEW); // the node starts producing blocks
    await round;
    expect(w.runtime.state().jobs["1"].local).to.equal("upgraded");
    expect(w.node.running).to.equal(NEW);
    expect(w.node.calls).to.deep.equal(["stop", "snapshot before-upgrade-1", `start ${NEW}`]);
    w.close();
  });
});
