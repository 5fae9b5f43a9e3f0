// Long chaos cases (`npm run chaos`; skipped in `npm test`): real watcher processes on a chain with 1-second blocks
// and a real mempool, behind the fault proxy. Each case runs a whole upgrade and counts what was mined.
import { expect } from "chai";
import { join } from "node:path";
import { keccak256, toUtf8Bytes } from "ethers";
import { Status } from "../../lib/coordinator";
import { stageRules } from "../../lib/manifest";
import { faultProxy, mineEvery, type FaultProxy } from "../../rehearsal/chaos";
import {
  Chain,
  Deployment,
  WatcherProcess,
  deployOn,
  makeBinary,
  serveArtifacts,
  spawnWatcher,
  startChain,
  tempDir,
  waitFor,
} from "../helpers/e2e";
import { FleetOptions, FleetValidator, addValidator, nodeStatus, stake, watcherEnv } from "../helpers/fleet";

const OLD = "v1.9.3";
const NEW = "v2.0.0";
const chaos = process.env.LOCKSTEP_CHAOS === "1" ? describe : describe.skip;

chaos("chaos: a rollout on a mempool with faults (npm run chaos)", function () {
  this.timeout(600_000);
  let chain: Chain;
  let d: Deployment;
  let dir: ReturnType<typeof tempDir>;
  let server: Awaited<ReturnType<typeof serveArtifacts>>;
  let proxy: FaultProxy;
  let options: FleetOptions;
  let good: { path: string; sha256: string };
  const watchers: WatcherProcess[] = [];
  const fleet: FleetValidator[] = [];
  let cohort = 0;

  before(async function () {
    dir = tempDir();
    chain = await startChain();
    d = await deployOn(chain);
    const artifacts = join(dir.path, "artifacts");
    good = makeBinary(artifacts, NEW);
    server = await serveArtifacts(artifacts);
    proxy = await faultProxy(chain.url);
    options = {
      rpcUrl: proxy.url,
      startBlock: d.startBlock,
      coordinator: await d.coordinator.getAddress(),
      root: dir.path,
      initial: { version: OLD, binary: makeBinary(join(dir.path, "bin"), OLD).path },
    };
  });

  after(async function () {
    for (const w of watchers) await w.stop("SIGKILL");
    for (const v of fleet) await v.node.stop().catch(() => undefined);
    await proxy?.stop();
    await server?.stop();
    await chain?.stop();
    dir?.cleanup();
  });

  async function statuses(v: FleetValidator, id: number): Promise<number[]> {
    const logs = await d.coordinator.queryFilter(d.coordinator.filters.Attested(id, v.operator.address));
    return logs.map((l) => Number(l.args.status));
  }

  it("a watcher SIGKILLed right after broadcasting, and lost replies to every send: one Ready, one Healthy", async function () {
    cohort += 1;
    const v = await addValidator(d, chain.provider, options, { name: "mempool", cohort, stake: stake(100) });
    fleet.push(v);
    await v.node.start();
    await waitFor("the node", async () => (await nodeStatus(v))?.version === OLD);
    await (
      await d.coordinator.connect(d.timelockSigner).schedule({
        name: "mempool",
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
        manifestHash: keccak256(toUtf8Bytes("mempool")),
        stateIncompatible: false,
        stages: [stageRules(v.cohort, { observationWindow: 1, healthyBps: 5000, readinessBps: 10_000 })],
      })
    ).wait();
    const id = Number(await d.coordinator.upgradeCount());
    await mineEvery(chain, 1_000);
    proxy.add({ method: "eth_sendRawTransaction", action: { kind: "drop-reply" } });
    const env = { ...watcherEnv(v), LOCKSTEP_KILL_AT: "attest:broadcast" };
    let current = spawnWatcher(v.configPath, env);
    watchers.push(current);
    let restarts = 0;
    const keepAlive = setInterval(() => {
      if (current.child.exitCode !== null || current.child.signalCode !== null) {
        restarts += 1;
        current = spawnWatcher(v.configPath, env);
        watchers.push(current);
      }
    }, 200);
    try {
      await waitFor("Ready", async () => (await statuses(v, id)).includes(Status.Ready), 120_000);
      expect(restarts).to.equal(1);
      await (await d.coordinator.advance(id)).wait();
      await waitFor("Healthy", async () => (await statuses(v, id)).includes(Status.Healthy), 180_000);
      // Blocks keep coming: anything else the watchers sent would be mined by now.
      const head = await chain.client.getBlockNumber();
      await waitFor("three more blocks", async () => (await chain.client.getBlockNumber()) >= head + 3n, 30_000);
      expect(await statuses(v, id)).to.deep.equal([Status.Ready, Status.Healthy]);
      expect(proxy.faulted.eth_sendRawTransaction).to.be.greaterThan(1);
    } finally {
      clearInterval(keepAlive);
    }
  });
});
