// End to end, when things go wrong: bad artifacts, a binary that never gets healthy, orders from the network,
// crashes at every journaled step, an RPC outage and a reorg. One chain; one single-stage upgrade per scenario.
import { expect } from "chai";
import { existsSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Status, UpgradeState } from "../../lib/coordinator";
import type { StageRules } from "../../lib/manifest";
import { KILL_POINTS } from "../../watcher/src/faults";
import { Chain, Deployment, keepWatcherAlive, rpcProxy, spawnWatcher, waitFor } from "../helpers/e2e";
import { addValidator, FleetOptions, FleetValidator, nodeStatus, stake, startNode, watcherEnv } from "../helpers/fleet";
import { Binary, RolloutBench, attestedStatuses, scheduleSingleStage } from "../helpers/rollout";

const OLD = "v1.9.3";
const NEW = "v2.0.0";

describe("watcher end to end: faults", function () {
  this.timeout(300_000);
  const bench = new RolloutBench({ old: OLD, intervalMiningMs: 250 });
  const { watchers, fleet } = bench;
  let chain: Chain;
  let d: Deployment;
  let dir: RolloutBench["dir"];
  let options: FleetOptions;
  let good: Binary;
  let stalling: Binary;
  let cohort = 0;
  /** The slowest watcher start-up seen so far (spawn to /healthz answering): deadlines that wait through
   * restarts grow with it, so a busy machine slows the test rather than failing it. */
  let startupMs = 0;

  before(async function () {
    ({ chain, d, dir, options } = await bench.start());
    good = bench.artifact(NEW);
    stalling = bench.artifact(NEW, ["--fault", `stall@${NEW}`], `node-${NEW}-stalls`);
  });

  after(() => bench.stop("SIGKILL"));

  /** A validator alone in a new cohort, its node on OLD, its watcher running. */
  async function validator(name: string, over: Partial<Parameters<typeof addValidator>[3]> = {}) {
    cohort += 1;
    const v = await addValidator(d, chain.provider, options, { name, cohort, stake: stake(100), ...over });
    fleet.push(v);
    await startNode(v, OLD);
    const started = Date.now();
    const w = spawnWatcher(v.configPath, watcherEnv(v));
    watchers.push(w);
    await waitFor(
      `${name}'s watcher to answer /healthz`,
      () =>
        fetch(`http://127.0.0.1:${v.metricsPort}/healthz`).then(
          () => true,
          () => false,
        ),
      120_000,
    );
    startupMs = Math.max(startupMs, Date.now() - started);
    return { v, w };
  }

  /** Schedules a single-stage upgrade over `v`'s cohort; returns its id. */
  async function schedule(
    v: FleetValidator,
    name: string,
    binary = good,
    rules: Partial<StageRules> = {},
    stateIncompatible = false,
  ) {
    return scheduleSingleStage(d, {
      name,
      version: NEW,
      previousVersion: OLD,
      uri: bench.uriOf(binary),
      sha256: binary.sha256,
      cohort: v.cohort,
      rules,
      stateIncompatible,
    });
  }

  const statuses = (v: FleetValidator, id: number) => attestedStatuses(d, v.operator.address, id);

  const state = async (id: number) => Number((await d.coordinator.getUpgrade(id)).state);

  /** Sends a transaction that may be refused (already advanced, already ended); reports whether it went through. */
  async function attempt(send: () => Promise<{ wait(): Promise<unknown> }>): Promise<boolean> {
    try {
      await (await send()).wait();
      return true;
    } catch {
      return false;
    }
  }

  /** Ends upgrade `id` whatever it is doing, so the next scenario can schedule its own. */
  async function settle(id: number) {
    if ((await d.coordinator.openUpgrade()) === BigInt(id)) {
      await attempt(() => d.coordinator.connect(d.timelockSigner).withdraw(id));
    }
  }

  afterEach(async function () {
    const open = Number(await d.coordinator.openUpgrade());
    if (open) await settle(open);
  });

  it("never touches the node after a digest mismatch, and attests FailedToUpgrade once its stage activates", async function () {
    const { v, w } = await validator("mismatch");
    const id = await schedule(v, "mismatch", { ...good, sha256: "ab".repeat(32) });
    await waitFor(
      "the watcher to give up on the artifact",
      async () => w.output().includes("preparation failed"),
      30_000,
    );
    await (await d.coordinator.advance(id)).wait();
    await waitFor("FailedToUpgrade", async () => (await statuses(v, id)).includes(Status.FailedToUpgrade), 30_000);
    expect(await statuses(v, id)).to.deep.equal([Status.FailedToUpgrade]);
    expect((await nodeStatus(v))?.version).to.equal(OLD);
    expect(existsSync(join(v.dataDir, "versions", NEW))).to.equal(false);
    await (await d.coordinator.connect(d.guardian).orderRollback(id)).wait();
  });

  it("refuses a manifest file that is not the one voted on, and leaves the node alone", async function () {
    const file = join(dir.path, "manifest.json");
    // A valid manifest, but not the one voted on (its canonical hash differs from the scheduled manifestHash).
    writeFileSync(
      file,
      JSON.stringify({
        name: "tampered",
        version: NEW,
        previousVersion: OLD,
        artifacts: [{ platform: "linux-amd64", uri: "https://example.org/evil", sha256: "ab".repeat(32) }],
        stages: [
          {
            cohort: 9,
            timelock: 0,
            observationWindow: 1,
            attestationDeadline: 60,
            readinessBps: 0,
            healthyBps: 5000,
            unhealthyBps: 3400,
            rollbackBps: 0,
          },
        ],
      }),
    );
    const { v, w } = await validator("tampered", { manifestFile: file });
    const id = await schedule(v, "tampered");
    await waitFor(
      "the refusal",
      async () => /manifest file hash 0x[0-9a-f]{64} differs from the voted/.test(w.output()),
      30_000,
    );
    await (await d.coordinator.advance(id)).wait();
    await waitFor("FailedToUpgrade", async () => (await statuses(v, id)).includes(Status.FailedToUpgrade), 30_000);
    expect((await nodeStatus(v))?.version).to.equal(OLD);
    expect(existsSync(join(v.dataDir, "versions", NEW))).to.equal(false);
  });

  it("rolls back on its own a binary that never comes up healthy, and attests FailedToUpgrade", async function () {
    const health = { deadlineMs: 3_000, probeIntervalMs: 200, minHeightGain: 2, observeIntervalMs: 500 };
    const { v } = await validator("stall", { health });
    const id = await schedule(v, "stall", stalling, { readinessBps: 10_000 });
    await waitFor("Ready", async () => (await statuses(v, id)).includes(Status.Ready), 30_000);
    await (await d.coordinator.advance(id)).wait();
    await waitFor("FailedToUpgrade", async () => (await statuses(v, id)).includes(Status.FailedToUpgrade), 60_000);
    await waitFor("back on the old version", async () => (await nodeStatus(v))?.version === OLD, 30_000);
    expect(await statuses(v, id)).to.deep.equal([Status.Ready, Status.FailedToUpgrade]);
    expect(readlinkSync(join(v.dataDir, "current"))).to.equal(join("versions", OLD));
    await (await d.coordinator.connect(d.guardian).orderRollback(id)).wait();
  });

  it("obeys a network-ordered rollback: previous binary and, for a state-incompatible upgrade, the state snapshot", async function () {
    const { v } = await validator("ordered");
    writeFileSync(join(v.stateDir, "data"), "written by v1");
    const id = await schedule(v, "ordered", good, { readinessBps: 10_000 }, true);
    await waitFor("Ready", async () => (await statuses(v, id)).includes(Status.Ready), 30_000);
    await (await d.coordinator.advance(id)).wait();
    await waitFor("Healthy", async () => (await statuses(v, id)).includes(Status.Healthy), 60_000);
    writeFileSync(join(v.stateDir, "data"), "migrated by v2");
    await (await d.coordinator.connect(d.guardian).orderRollback(id)).wait();
    await waitFor("RolledBack", async () => (await statuses(v, id)).includes(Status.RolledBack), 60_000);
    expect((await nodeStatus(v))?.version).to.equal(OLD);
    expect(readFileSync(join(v.stateDir, "data"), "utf8")).to.equal("written by v1");
    expect(await statuses(v, id)).to.deep.equal([Status.Ready, Status.Healthy, Status.RolledBack]);
    expect((await d.coordinator.getUpgrade(id)).restoredStake).to.equal(stake(100));
  });

  it("attests again whenever the node's health changes while the upgrade is observed, and reports it in its metrics", async function () {
    const faults = join(dir.path, "health-faults");
    writeFileSync(faults, "");
    const { v } = await validator("flaky", { nodeArgs: ["--fault-file", faults] });
    const id = await schedule(v, "flaky", good, { readinessBps: 10_000, observationWindow: 3600 });
    await waitFor("Ready", async () => (await statuses(v, id)).includes(Status.Ready), 30_000);
    await (await d.coordinator.advance(id)).wait();
    await waitFor("Healthy", async () => (await statuses(v, id)).includes(Status.Healthy), 60_000);
    writeFileSync(faults, `stall@${NEW}`);
    await waitFor("Unhealthy", async () => (await statuses(v, id)).includes(Status.Unhealthy), 30_000);
    writeFileSync(faults, "");
    await waitFor("Healthy again", async () => (await statuses(v, id)).length === 4, 30_000);
    expect(await statuses(v, id)).to.deep.equal([Status.Ready, Status.Healthy, Status.Unhealthy, Status.Healthy]);

    const metrics = await (await fetch(`http://127.0.0.1:${v.metricsPort}/metrics`)).text();
    expect(metrics).to.match(/lockstep_cursor_block \d+/);
    expect(metrics).to.match(new RegExp(`lockstep_node_version_info\\{version="${NEW.replace(/\./g, "\\.")}"\\} 1`));
    // The Unhealthy report carried all the stage's stake: the coordinator paused the upgrade in the same
    // transaction, and the watcher's metrics follow the chain once it has read that far.
    expect(await state(id)).to.equal(UpgradeState.Paused);
    const phase =
      /lockstep_upgrade_phase_info\{upgrade="\d+",phase="upgraded",stage_active="true",paused="true",ended="no"\} 1/;
    await waitFor(
      "the phase metric to show the pause",
      async () => phase.test(await (await fetch(`http://127.0.0.1:${v.metricsPort}/metrics`)).text()),
      60_000,
    );
    expect(metrics).to.match(/lockstep_last_attestation_timestamp_seconds\{status="Unhealthy"\} \d+/);
    expect((await fetch(`http://127.0.0.1:${v.metricsPort}/healthz`)).status).to.equal(200);
  });

  it("holds while paused, and upgrades once governance resumes", async function () {
    const { v } = await validator("paused");
    const id = await schedule(v, "paused");
    await waitFor("Ready", async () => (await statuses(v, id)).includes(Status.Ready), 30_000);
    // Activation and pause land in the same block: the watcher sees an active stage that is paused.
    await chain.provider.send("evm_setIntervalMining", [0]);
    await chain.provider.send("evm_setAutomine", [false]);
    const activate = await d.coordinator.advance(id);
    const pause = await d.coordinator.connect(d.guardian).pause(id);
    await chain.provider.send("evm_mine", []);
    await chain.provider.send("evm_setAutomine", [true]);
    await chain.provider.send("evm_setIntervalMining", [250]);
    await activate.wait();
    const paused = await pause.wait();
    expect(await state(id)).to.equal(UpgradeState.Paused);
    // Not a sleep: wait until the watcher has read the block (its phase metric shows the active, paused stage) and
    // some rounds past it (its cursor four blocks further), the time it had to start the swap it must not start.
    const seen = new RegExp(
      `lockstep_upgrade_phase_info\\{upgrade="${id}",phase="[^"]+",stage_active="true",paused="true"`,
    );
    await waitFor("the watcher to read past the pause", async () => {
      const metrics = await (await fetch(`http://127.0.0.1:${v.metricsPort}/metrics`)).text();
      const cursor = Number(/^lockstep_cursor_block (\d+)$/m.exec(metrics)?.[1] ?? 0);
      return seen.test(metrics) && cursor >= paused!.blockNumber + 4;
    });
    expect((await nodeStatus(v))?.version).to.equal(OLD);
    await (await d.coordinator.connect(d.timelockSigner).resume(id)).wait();
    await waitFor("Healthy after resume", async () => (await statuses(v, id)).includes(Status.Healthy), 60_000);
    expect((await nodeStatus(v))?.version).to.equal(NEW);
  });

  it("discards the staged binary when the upgrade is withdrawn before activation", async function () {
    const { v, w } = await validator("withdrawn");
    const id = await schedule(v, "withdrawn", good, { timelock: 3600 });
    await waitFor("Ready", async () => (await statuses(v, id)).includes(Status.Ready), 30_000);
    expect(existsSync(join(v.dataDir, "versions", NEW))).to.equal(true);
    await (await d.coordinator.connect(d.timelockSigner).withdraw(id)).wait();
    await waitFor("the staged binary to go", async () => !existsSync(join(v.dataDir, "versions", NEW)), 30_000);
    expect((await nodeStatus(v))?.version).to.equal(OLD);
    expect(w.child.exitCode).to.equal(null);
  });

  it("ends in the same state after a SIGKILL at every journaled step, with no step done twice", async function () {
    const { v, w } = await validator("crashy");
    await w.stop("SIGKILL");
    const env = { ...watcherEnv(v), LOCKSTEP_KILL_AT: KILL_POINTS.join(",") };
    const kept = keepWatcherAlive(v.configPath, env, watchers);
    try {
      const id = await schedule(v, "crashy", good, { readinessBps: 10_000 });
      // Each kill point costs one watcher start-up, as measured on this machine now.
      const restartsMs = KILL_POINTS.length * startupMs;
      this.timeout(300_000 + 3 * restartsMs);
      await waitFor("Ready", async () => (await statuses(v, id)).includes(Status.Ready), 60_000 + restartsMs);
      await (await d.coordinator.advance(id)).wait();
      await waitFor("Healthy", async () => (await statuses(v, id)).includes(Status.Healthy), 90_000 + restartsMs);
      await waitFor("every kill point", async () => kept.restarts >= KILL_POINTS.length, 30_000 + restartsMs);
      expect(await statuses(v, id)).to.deep.equal([Status.Ready, Status.Healthy]);
      expect((await nodeStatus(v))?.version).to.equal(NEW);
      expect(readlinkSync(join(v.dataDir, "current"))).to.equal(join("versions", NEW));
      await waitFor(
        "completed",
        async () => {
          await attempt(() => d.coordinator.advance(id));
          return (await state(id)) === UpgradeState.Completed;
        },
        30_000,
        500,
      );
    } finally {
      kept.stop();
    }
  });

  it("rides out an RPC outage without missing or repeating an event", async function () {
    const proxy = await rpcProxy(chain.url);
    try {
      const { v, w } = await validator("outage", { rpcUrl: proxy.url });
      proxy.down = true;
      const id = await schedule(v, "outage");
      await (await d.coordinator.advance(id)).wait();
      // However long the watcher takes to start on a busy machine: the outage lasts until it has met it.
      const noticed = /cannot reach the chain yet; retrying|round failed; retrying/;
      await waitFor("the watcher to meet the outage", async () => noticed.test(w.output()), 120_000);
      expect(await statuses(v, id)).to.deep.equal([]);
      proxy.down = false;
      await waitFor("Healthy after the outage", async () => (await statuses(v, id)).includes(Status.Healthy), 60_000);
      expect(await statuses(v, id)).to.deep.equal([Status.Healthy]);
      expect(w.output()).to.match(/cannot reach the chain yet; retrying|round failed; retrying/);
      await (await d.coordinator.connect(d.timelockSigner).withdraw(id)).wait();
    } finally {
      await proxy.stop();
    }
  });

  it("undoes what it derived from orphaned logs after a reorg and follows the new chain", async function () {
    const { v, w } = await validator("reorg", { confirmations: 0 });
    await chain.provider.send("evm_setIntervalMining", [0]);
    const snapshot = await chain.provider.send("evm_snapshot", []);
    const orphaned = await schedule(v, "orphaned", good, { timelock: 3600 });
    await waitFor(
      "Ready for the orphaned upgrade",
      async () => (await statuses(v, orphaned)).includes(Status.Ready),
      30_000,
    );
    await chain.provider.send("evm_revert", [snapshot]);
    // The same upgrade id now names another manifest; mine past the old height so the reorg is visible.
    const id = await schedule(v, "replacement", good, { timelock: 3600, healthyBps: 4000 });
    for (let i = 0; i < 5; i++) await chain.provider.send("evm_mine", []);
    await chain.provider.send("evm_setIntervalMining", [250]);
    expect(id).to.equal(orphaned);
    await waitFor("the rewind", async () => w.output().includes("chain reorganised"), 30_000);
    await waitFor("Ready for the replacement", async () => (await statuses(v, id)).includes(Status.Ready), 30_000);
    expect((await d.coordinator.getStage(id, 0)).readyStake).to.equal(stake(100));
    await (await d.coordinator.connect(d.timelockSigner).withdraw(id)).wait();
  });
});
