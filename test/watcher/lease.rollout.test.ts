// End to end, restart leases (issue 9): real watcher processes on a real Hardhat chain take a lease before they
// stop their node. A budget that admits one validator of a cohort of three makes the cohort roll through in waves;
// a watcher killed around its lease finds it held when it comes back and sends no second one.
import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { keccak256, toUtf8Bytes } from "ethers";
import { Status } from "../../lib/coordinator";
import { stageRules } from "../../lib/manifest";
import {
  Chain,
  Deployment,
  WatcherProcess,
  makeBinary,
  serveArtifacts,
  keepWatcherAlive,
  spawnWatcher,
  waitFor,
} from "../helpers/e2e";
import {
  FleetOptions,
  FleetValidator,
  addValidator,
  nodeStatus,
  stake,
  startNode,
  watcherEnv,
  FleetBench,
  noticeSink,
} from "../helpers/fleet";

const OLD = "v1.9.3";
const NEW = "v2.0.0";
const DURATION = 3600;

interface NoticeSeen {
  event: string;
  operator: string;
  upgradeId?: number;
}

/** The lease events of upgrade `id`, in chain order, with the stake leased after each as the contract reports it. */
async function leaseEvents(d: Deployment, id: bigint) {
  const c = d.coordinator;
  const logs = [
    ...(await c.queryFilter(c.filters.LeaseGranted(id))),
    ...(await c.queryFilter(c.filters.LeaseReleased(id))),
    ...(await c.queryFilter(c.filters.LeasesExpired(id))),
  ].sort((a, b) => a.blockNumber - b.blockNumber || a.index - b.index);
  // Where each event carries the stake it moved: LeaseGranted(id, attester, weight, expiresAt, inUse),
  // LeaseReleased(id, attester, operator, weight, inUse), LeasesExpired(id, stake, inUse).
  const stakeAt = { LeaseGranted: 2, LeaseReleased: 3, LeasesExpired: 1 } as Record<string, number>;
  return logs.map((l) => ({
    name: l.fragment.name,
    block: l.blockNumber,
    attester: l.fragment.name === "LeasesExpired" ? "" : String(l.args[1]).toLowerCase(),
    stake: BigInt(l.args[stakeAt[l.fragment.name]]),
    inUse: BigInt(l.args[l.args.length - 1]),
  }));
}

/** takeLease transactions sent by `from` in blocks [fromBlock, head]. */
async function leaseTransactions(chain: Chain, d: Deployment, from: string, fromBlock: number): Promise<number> {
  const selector = d.coordinator.interface.getFunction("takeLease")!.selector;
  const head = await chain.provider.getBlockNumber();
  let count = 0;
  for (let n = fromBlock; n <= head; n++) {
    const block = await chain.provider.getBlock(n, true);
    for (const tx of block?.prefetchedTransactions ?? []) {
      if (tx.from.toLowerCase() === from.toLowerCase() && tx.data.startsWith(selector)) count++;
    }
  }
  return count;
}

describe("watcher end to end: restart leases", function () {
  this.timeout(300_000);
  const bench = new FleetBench();
  let chain: Chain;
  let d: Deployment;
  let dir: FleetBench["dir"];
  let server: Awaited<ReturnType<typeof serveArtifacts>>;
  let hook: Awaited<ReturnType<typeof noticeSink<NoticeSeen>>>;
  let options: FleetOptions;
  let good: { path: string; sha256: string };
  const watchers: WatcherProcess[] = [];
  const fleet: FleetValidator[] = [];

  before(async function () {
    ({ chain, d, dir } = await bench.open({ intervalMiningMs: 250 }));
    const artifacts = join(dir.path, "artifacts");
    good = makeBinary(artifacts, NEW);
    server = await serveArtifacts(artifacts);
    hook = await noticeSink<NoticeSeen>();
    options = await bench.options({ version: OLD, binary: makeBinary(join(dir.path, "bin"), OLD).path });
  });

  after(async function () {
    for (const w of watchers) await w.stop("SIGKILL");
    for (const v of fleet) await v.node.stop().catch(() => undefined);
    await server?.stop();
    await hook?.stop();
    await bench.close();
  });

  /** A validator of `cohort` with its node on OLD, its watcher configured to notify the test's webhook. */
  async function validator(name: string, cohort: number): Promise<FleetValidator> {
    const v = await addValidator(d, chain.provider, options, { name, cohort, stake: stake(100) });
    fleet.push(v);
    const config = JSON.parse(readFileSync(v.configPath, "utf8")) as Record<string, unknown>;
    writeFileSync(v.configPath, JSON.stringify({ ...config, notify: { webhooks: [hook.url], backoffMs: 100 } }));
    await startNode(v, OLD);
    return v;
  }

  async function schedule(name: string, cohort: number): Promise<bigint> {
    const manifest = {
      name,
      version: NEW,
      previousVersion: OLD,
      artifacts: [{ platform: "linux-amd64", uri: `${server.url}/node-${NEW}`, sha256Digest: `0x${good.sha256}` }],
      featureFlags: [],
      metadataURI: "",
      manifestHash: keccak256(toUtf8Bytes(name)),
      stateIncompatible: false,
      // Every Ready first (each caches its validator's lease weight), then the stage activates for all at once.
      stages: [stageRules(cohort, { observationWindow: 1, healthyBps: 5000, readinessBps: 10_000 })],
    };
    await (await d.coordinator.connect(d.timelockSigner).schedule(manifest)).wait();
    return d.coordinator.upgradeCount();
  }

  /** Advances `id` until it completes (the next scenario schedules another upgrade). */
  async function complete(id: bigint) {
    await waitFor(
      "completed",
      async () => {
        await d.coordinator
          .advance(id)
          .then((tx) => tx.wait())
          .catch(() => undefined); // the observation window still runs: tried again
        return Number((await d.coordinator.getUpgrade(id)).state) === 4;
      },
      30_000,
      500,
    );
  }

  const statuses = async (v: FleetValidator, id: bigint) =>
    (await d.coordinator.queryFilter(d.coordinator.filters.Attested(id, v.operator.address))).map((l) =>
      Number(l.args.status),
    );

  it("rolls a cohort of three through a budget for one, one validator at a time", async function () {
    const cohort = [await validator("alpha", 2), await validator("bravo", 2), await validator("charlie", 2)];
    // 3 x 100 registered: 40% is 120, room for one validator's 100 and not for two.
    await (await d.coordinator.connect(d.timelockSigner).setRestartBudget(4000, DURATION)).wait();
    for (const v of cohort) watchers.push(spawnWatcher(v.configPath, watcherEnv(v)));
    const id = await schedule("waves", 2);
    const budget = (await d.coordinator.getLease(id, d.deployer.address)).budget;
    expect(budget).to.equal(stake(120));

    await waitFor("every Ready", async () => (await d.coordinator.getStage(id, 0)).readyStake >= stake(300), 90_000);
    await (await d.coordinator.advance(id)).wait();
    for (const v of cohort) {
      await waitFor(`${v.name} Healthy`, async () => (await statuses(v, id)).includes(Status.Healthy), 120_000).catch(
        (e: Error) => {
          const logs = watchers.map((w) =>
            w
              .output()
              .split("\n")
              .filter((l) => /lease|step/i.test(l))
              .slice(-20),
          );
          throw new Error(`${e.message}\n${logs.map((l) => l.join("\n")).join("\n---\n")}`);
        },
      );
    }
    for (const v of cohort) expect((await nodeStatus(v))?.version).to.equal(NEW);

    // Replayed from the events: never more than the budget leased, and never two leases at once.
    const events = await leaseEvents(d, id);
    const grants = events.filter((e) => e.name === "LeaseGranted");
    expect(grants.map((g) => g.attester)).to.have.members(cohort.map((v) => v.attester.address.toLowerCase()));
    let leased = 0n;
    for (const e of events) {
      leased += e.name === "LeaseGranted" ? e.stake : -e.stake;
      expect(leased, `after ${e.name} at block ${e.block}`).to.equal(e.inUse);
      expect(e.inUse, `after ${e.name} at block ${e.block}`).to.be.at.most(budget);
    }
    expect(events.filter((e) => e.name === "LeaseReleased")).to.have.length(3);

    // The two that had to wait said so, and said when the wait ended.
    const operatorOf = new Map(cohort.map((v) => [v.attester.address.toLowerCase(), v.operator.address]));
    const waiters = grants.slice(1).map((g) => operatorOf.get(g.attester)!);
    await waitFor("the lease notices", async () =>
      waiters.every((op) =>
        ["lease-wait", "lease-granted"].every((event) =>
          hook.notices.some((n) => n.event === event && n.operator === op && n.upgradeId === Number(id)),
        ),
      ),
    );
    for (const w of watchers) expect(w.child.exitCode, w.output().slice(-2000)).to.equal(null);
    await complete(id);
  });

  it("after a crash while holding its lease, recognises it on chain and sends no second takeLease", async function () {
    const v = await validator("crashy", 3);
    const fromBlock = await chain.provider.getBlockNumber();
    // Killed right after broadcasting its lease, then again with the node stopped: each time it comes back.
    const env = { ...watcherEnv(v), LOCKSTEP_KILL_AT: "lease:sent,upgrade:stopped" };
    const kept = keepWatcherAlive(v.configPath, env, watchers);
    try {
      const id = await schedule("crash-lease", 3);
      await waitFor("Ready", async () => (await statuses(v, id)).includes(Status.Ready), 90_000);
      await (await d.coordinator.advance(id)).wait();
      await waitFor("Healthy", async () => (await statuses(v, id)).includes(Status.Healthy), 150_000);
      expect(kept.restarts).to.equal(2);
      expect((await nodeStatus(v))?.version).to.equal(NEW);
      expect(await leaseTransactions(chain, d, v.attester.address, fromBlock)).to.equal(1);
      const events = await leaseEvents(d, id);
      expect(events.map((e) => e.name)).to.deep.equal(["LeaseGranted", "LeaseReleased"]);
      await complete(id);
    } finally {
      kept.stop();
    }
  });
});
