// End to end: a real Hardhat JSON-RPC node, real watcher processes, simulated validator nodes.
import { expect } from "chai";
import { readlinkSync } from "node:fs";
import { join } from "node:path";
import { keccak256, toUtf8Bytes, ZeroHash } from "ethers";
import { Status } from "../../lib/coordinator";
import { versionTag } from "../../lib/version";
import { stageRules } from "../../lib/manifest";
import { Chain, Deployment, spawnWatcher, waitFor } from "../helpers/e2e";
import { FleetValidator, addValidator, nodeStatus, stake, startNode, watcherEnv } from "../helpers/fleet";
import { RolloutBench, attestedStatuses } from "../helpers/rollout";

const OLD = "v1.9.3";
const NEW = "v2.0.0";

const attestationsOf = (d: Deployment, v: FleetValidator) => attestedStatuses(d, v.operator.address);

describe("watcher end to end: a three-stage rollout", function () {
  this.timeout(180_000);
  const bench = new RolloutBench({ old: OLD, intervalMiningMs: 250 });
  const { watchers, fleet } = bench;
  let chain: Chain;
  let d: Deployment;

  before(async function () {
    ({ chain, d } = await bench.start());
  });

  after(() => bench.stop());

  it("upgrades its own validator's node when its cohort's stage activates, and leaves other cohorts' nodes alone", async function () {
    const newBinary = bench.artifact(NEW);
    const { options, server } = bench;
    // Cohort 1 (canary) and 3 (main) are driven by the test; "ours" (cohort 2) and "bystander" (cohort 4) run watchers.
    const canary = await addValidator(d, chain.provider, options, { name: "canary", cohort: 1, stake: stake(100) });
    const ours = await addValidator(d, chain.provider, options, { name: "ours", cohort: 2, stake: stake(300) });
    const main = await addValidator(d, chain.provider, options, { name: "main", cohort: 3, stake: stake(500) });
    const bystander = await addValidator(d, chain.provider, options, {
      name: "bystander",
      cohort: 4,
      stake: stake(50),
    });
    fleet.push(canary, ours, main, bystander);
    for (const v of [ours, bystander]) {
      await startNode(v, OLD);
      watchers.push(spawnWatcher(v.configPath, watcherEnv(v)));
    }

    const manifest = {
      name: "v2-rollout",
      version: NEW,
      previousVersion: OLD,
      artifacts: [{ platform: "linux-amd64", uri: `${server.url}/node-${NEW}`, sha256Digest: `0x${newBinary.sha256}` }],
      featureFlags: [],
      metadataURI: "",
      manifestHash: keccak256(toUtf8Bytes("manifest")),
      stateIncompatible: false,
      stages: [
        stageRules(1, { observationWindow: 1, healthyBps: 5000 }),
        stageRules(2, { observationWindow: 2, healthyBps: 5000, readinessBps: 5000 }),
        stageRules(3, { observationWindow: 1, healthyBps: 5000 }),
      ],
    };
    await (await d.coordinator.connect(d.timelockSigner).schedule(manifest)).wait();
    const id = await d.coordinator.upgradeCount();
    const c = d.coordinator;
    const attempt = async (send: () => Promise<{ wait(): Promise<unknown> }>) => {
      try {
        await (await send()).wait();
      } catch {
        // refused for now (observation window, threshold): the waitFor loop tries again
      }
    };
    const attestAs = async (v: FleetValidator, stage: number, status: Status) =>
      (await c.connect(v.attester).attest(v.operator.address, id, stage, status, versionTag(NEW), 1, ZeroHash)).wait();

    // Our watcher prepares early: downloads, verifies, stages and attests Ready for stage 1 before it activates.
    await waitFor("our Ready", async () => (await c.getStage(id, 1)).readyStake >= stake(300), 60_000);

    // Canary stage: the test plays the canary validator.
    await (await c.advance(id)).wait();
    await attestAs(canary, 0, Status.Healthy);
    await waitFor(
      "canary verified",
      async () => {
        await attempt(() => c.advance(id));
        return (await c.getStage(id, 0)).verifiedAt > 0n;
      },
      30_000,
      500,
    );

    // Our stage activates with the canary's verification (no time lock, readiness met): the watcher swaps the node.
    await waitFor("our node on the new version", async () => (await nodeStatus(ours))?.version === NEW, 60_000, 250);
    await waitFor("our Healthy", async () => (await c.getStage(id, 1)).healthyStake >= stake(300), 60_000);
    expect(readlinkSync(join(ours.dataDir, "current"))).to.equal(join("versions", NEW));

    await waitFor(
      "our stage verified",
      async () => {
        await attempt(() => c.advance(id));
        return (await c.getStage(id, 1)).verifiedAt > 0n;
      },
      30_000,
      500,
    );
    await attestAs(main, 2, Status.Healthy);
    await waitFor(
      "completed",
      async () => {
        await attempt(() => c.advance(id));
        return Number((await c.getUpgrade(id)).state) === 4;
      },
      30_000,
      500,
    );

    // Exactly one Ready and one Healthy from our validator; nothing from the bystander, whose node is untouched.
    expect(await attestationsOf(d, ours)).to.deep.equal([Status.Ready, Status.Healthy]);
    expect(await attestationsOf(d, bystander)).to.deep.equal([]);
    expect((await nodeStatus(bystander))?.version).to.equal(OLD);
    expect(readlinkSync(join(bystander.dataDir, "current"))).to.equal(join("versions", OLD));
    for (const w of watchers) expect(w.child.exitCode, w.output().slice(-2000)).to.equal(null);
  });
});
