// Two watcher processes (the release build), one attester key, two data directories (issue 10, finding 8): a standby
// machine started by mistake beside the primary. On a chain that mines a block a second, the primary flags what the
// second one attests with its key: an error line, lockstep_foreign_attestations_total and /healthz 503.
import { expect } from "chai";
import { join } from "node:path";
import { keccak256, toUtf8Bytes } from "ethers";
import { Status } from "../../lib/coordinator";
import { stageRules } from "../../lib/manifest";
import { mineEvery } from "../../rehearsal/chaos";
import { layoutWatcher } from "../../rehearsal/localnet";
import { Chain, Deployment, WatcherProcess, makeBinary, serveArtifacts, spawnWatcher, waitFor } from "../helpers/e2e";
import {
  FleetBench,
  addValidator,
  nodeStatus,
  stake,
  startNode,
  watcherEnv,
  type FleetValidator,
} from "../helpers/fleet";

const OLD = "v1.9.3";
const NEW = "v2.0.0";

describe("two watcher processes with one attester key", function () {
  this.timeout(300_000);
  const bench = new FleetBench();
  let chain: Chain;
  let d: Deployment;
  let dir: FleetBench["dir"];
  let server: Awaited<ReturnType<typeof serveArtifacts>>;
  const watchers: WatcherProcess[] = [];
  const nodes: FleetValidator["node"][] = [];

  before(async function () {
    ({ chain, d, dir } = await bench.open());
  });

  after(async function () {
    for (const w of watchers) await w.stop("SIGKILL");
    for (const node of nodes) await node.stop().catch(() => undefined);
    await server?.stop();
    await bench.close();
  });

  async function statuses(v: FleetValidator, id: number): Promise<number[]> {
    const logs = await d.coordinator.queryFilter(d.coordinator.filters.Attested(id, v.operator.address));
    return logs.map((l) => Number(l.args.status));
  }

  const healthz = async (port: number) => {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`);
    return {
      status: response.status,
      body: (await response.json()) as { foreignAttestation?: { status: string; transaction: string } },
    };
  };

  it("the primary flags the second watcher's attestations in its log, its metric and /healthz", async function () {
    const artifacts = join(dir.path, "artifacts");
    const good = makeBinary(artifacts, NEW);
    server = await serveArtifacts(artifacts);
    const initial = { version: OLD, binary: makeBinary(join(dir.path, "bin"), OLD).path };
    const options = await bench.options(initial);
    const health = { deadlineMs: 4_000, probeIntervalMs: 200, minHeightGain: 2, observeIntervalMs: 500 };
    const v = await addValidator(d, chain.provider, options, { name: "primary", cohort: 1, stake: stake(100), health });
    nodes.push(v.node);
    await startNode(v, OLD);
    // The standby: the same operator and key, its own data directory and node, whose new version never makes a
    // block (so it attests what the primary does not: FailedToUpgrade).
    const standby = await layoutWatcher({
      name: "standby",
      root: dir.path,
      rpcUrl: chain.url,
      coordinator: options.coordinator,
      startBlock: d.startBlock,
      operator: v.operator.address,
      initial,
      health,
      nodeArgs: ["--fault", `stall@${NEW}`],
    });
    nodes.push(standby.node);
    await standby.node.start();

    await mineEvery(chain, 1_000); // a block a second from now on, with a mempool
    const primary = spawnWatcher(v.configPath, watcherEnv(v));
    watchers.push(primary);

    await (
      await d.coordinator.connect(d.timelockSigner).schedule({
        name: "two-watchers",
        version: NEW,
        previousVersion: OLD,
        artifacts: [
          {
            platform: "linux-amd64",
            uri: `${server.url}/${good.path.split("/").pop()}`,
            sha256Digest: `0x${good.sha256}`,
          },
        ],
        featureFlags: [],
        metadataURI: "",
        manifestHash: keccak256(toUtf8Bytes("two-watchers")),
        stateIncompatible: false,
        stages: [stageRules(1, { observationWindow: 3600, healthyBps: 5000, readinessBps: 10_000 })],
      })
    ).wait();
    const id = Number(await d.coordinator.upgradeCount());
    await waitFor("Ready", async () => (await statuses(v, id)).includes(Status.Ready), 120_000);
    await (await d.coordinator.advance(id)).wait();
    await waitFor("Healthy from the primary", async () => (await statuses(v, id)).includes(Status.Healthy), 120_000);
    // The standby starts only now. Started beside the primary on a busy machine, its FailedToUpgrade (all the
    // cohort's stake) could pause the upgrade before the primary's swap began, and a paused upgrade starts nothing
    // new on a node: the primary would rightly never attest Healthy. Starting late, the standby catches up with the
    // active stage, swaps its own node, sees it stall, goes back and attests FailedToUpgrade with the shared key.
    watchers.push(spawnWatcher(standby.configPath, { [standby.keyEnv]: v.attester.privateKey }));
    await waitFor(
      "FailedToUpgrade from the standby",
      async () => (await statuses(v, id)).includes(Status.FailedToUpgrade),
      150_000,
    );
    await waitFor(
      "the primary to flag the standby's FailedToUpgrade",
      async () => (await healthz(v.metricsPort)).body.foreignAttestation?.status === "FailedToUpgrade",
      60_000,
    );
    const { status, body } = await healthz(v.metricsPort);
    expect(status).to.equal(503);
    const failed = (await d.coordinator.queryFilter(d.coordinator.filters.Attested(id, v.operator.address))).find(
      (l) => Number(l.args.status) === Status.FailedToUpgrade,
    )!;
    expect(body.foreignAttestation!.transaction.toLowerCase()).to.equal(failed.transactionHash.toLowerCase());
    const metrics = await (await fetch(`http://127.0.0.1:${v.metricsPort}/metrics`)).text();
    const counted = Number(/^lockstep_foreign_attestations_total (\d+)/m.exec(metrics)?.[1]);
    expect(counted).to.be.at.least(1);
    expect(primary.output()).to.match(/another watcher holds the key/);
    expect(primary.output()).to.include(failed.transactionHash);
    // The primary's own node still runs the new version: the standby's statement changed nothing here.
    expect((await nodeStatus(v))?.version).to.equal(NEW);
  });
});
