// End to end with a real client: a validator's node is Foundry's anvil (the real binaries from the devDependencies
// anvil-1.5.1 and anvil-1.7.1), run by the watcher's process adapter and probed with the ethereum-execution probe.
// The watcher upgrades it from 1.5.1 to 1.7.1 (the manifest's digest is the real binary's), then obeys the
// guardian's rollback order; after each step the node must answer web3_clientVersion with the right version.
import { expect } from "chai";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Status } from "../../lib/coordinator";
import { ProcessNodeController, type ProcessNodeConfig } from "../../watcher/src/adapters/processNode";
import { paths } from "../../watcher/src/config";
import { clientVersion } from "../../rehearsal/localnet";
import { Chain, Deployment, ROOT, WatcherProcess, serveArtifacts, spawnWatcher, waitFor } from "../helpers/e2e";
import { FleetBench, FleetValidator, addValidator, stake, watcherEnv } from "../helpers/fleet";
import { attestedStatuses, scheduleSingleStage } from "../helpers/rollout";

const OLD = "v1.5.1";
const NEW = "v1.7.1";
const anvilBinary = (version: string) => join(ROOT, "node_modules", `anvil-${version.slice(1)}`, "bin", "anvil");

describe("watcher end to end: a real anvil node, upgraded and rolled back", function () {
  this.timeout(300_000);
  const bench = new FleetBench();
  let chain: Chain;
  let d: Deployment;
  let dir: FleetBench["dir"];
  let server: Awaited<ReturnType<typeof serveArtifacts>> | undefined;
  let watcher: WatcherProcess | undefined;
  let node: ProcessNodeController | undefined;

  before(async function () {
    ({ chain, d, dir } = await bench.open({ intervalMiningMs: 250 }));
  });

  after(async function () {
    await watcher?.stop();
    await node?.stop().catch(() => undefined);
    await server?.stop();
    await bench.close();
  });

  it("swaps anvil 1.5.1 for 1.7.1 through the process adapter, then rolls back on the guardian's order", async function () {
    const artifacts = join(dir.path, "artifacts");
    mkdirSync(artifacts, { recursive: true });
    copyFileSync(anvilBinary(NEW), join(artifacts, `anvil-${NEW}`));
    const sha256 = createHash("sha256")
      .update(readFileSync(anvilBinary(NEW)))
      .digest("hex");
    server = await serveArtifacts(artifacts);

    const options = await bench.options({ version: OLD, binary: anvilBinary(OLD) });
    const v: FleetValidator = await addValidator(d, chain.provider, options, {
      name: "anvil",
      cohort: 1,
      stake: stake(100),
    });
    // The node is anvil on the validator's free port, mining every 200 ms, probed over its JSON-RPC.
    const nodeUrl = `http://127.0.0.1:${v.port}`;
    const nodeConfig: ProcessNodeConfig = {
      adapter: "process",
      probe: { type: "ethereum-execution", url: nodeUrl, timeoutMs: 2_000 },
      stateDir: v.stateDir,
      binaryName: "node",
      args: ["--port", String(v.port), "--block-time", "0.2", "--silent"],
      env: {},
    };
    node = new ProcessNodeController(nodeConfig, paths({ dataDir: v.dataDir }), { stopTimeoutMs: 5_000 });

    // Time limits follow how long this machine takes to start anvil now.
    const started = Date.now();
    await node.start();
    await waitFor("anvil 1.5.1", async () => (await clientVersion(nodeUrl)) === "anvil/v1.5.1", 60_000, 50);
    const startupMs = Date.now() - started;
    const deadlineMs = Math.max(15_000, 20 * startupMs);
    const stepMs = 4 * deadlineMs;

    const config = JSON.parse(readFileSync(v.configPath, "utf8"));
    config.node = nodeConfig;
    config.health = { deadlineMs, probeIntervalMs: 200, minHeightGain: 2, observeIntervalMs: 500 };
    config.artifacts.maxBytes = 256 * 1024 * 1024; // anvil is some 35 MB
    writeFileSync(v.configPath, JSON.stringify(config, null, 2));
    watcher = spawnWatcher(v.configPath, watcherEnv(v));

    const id = await scheduleSingleStage(d, {
      name: "anvil-1.7.1",
      version: NEW,
      previousVersion: OLD,
      uri: `${server.url}/anvil-${NEW}`,
      sha256,
      cohort: v.cohort,
      rules: { readinessBps: 10_000 },
    });
    const statuses = () => attestedStatuses(d, v.operator.address, id);
    const output = () => watcher!.output().slice(-3000);

    await waitFor("Ready", async () => (await statuses()).includes(Status.Ready), stepMs).catch((e) => {
      throw new Error(`${(e as Error).message}\n${output()}`);
    });
    await (await d.coordinator.advance(id)).wait();
    await waitFor("Healthy", async () => (await statuses()).includes(Status.Healthy), stepMs).catch((e) => {
      throw new Error(`${(e as Error).message}\n${output()}`);
    });
    expect(await clientVersion(nodeUrl)).to.equal("anvil/v1.7.1");
    expect(readlinkSync(join(v.dataDir, "current"))).to.equal(join("versions", NEW));

    await (await d.coordinator.connect(d.guardian).orderRollback(id)).wait();
    await waitFor("RolledBack", async () => (await statuses()).includes(Status.RolledBack), stepMs).catch((e) => {
      throw new Error(`${(e as Error).message}\n${output()}`);
    });
    await waitFor("anvil 1.5.1 again", async () => (await clientVersion(nodeUrl)) === "anvil/v1.5.1", deadlineMs, 50);
    expect(readlinkSync(join(v.dataDir, "current"))).to.equal(join("versions", OLD));
    expect(await statuses()).to.deep.equal([Status.Ready, Status.Healthy, Status.RolledBack]);
    expect(watcher.child.exitCode, output()).to.equal(null);
  });
});
