// Long chaos cases (`npm run chaos`; skipped in `npm test`): real watcher processes on a chain with 1-second blocks
// and a real mempool, behind the fault proxy. Each case runs a whole upgrade and counts what was mined.
import { expect } from "chai";
import { Status } from "../../lib/coordinator";
import { faultProxy, mineEvery, type FaultProxy } from "../../rehearsal/chaos";
import { Chain, Deployment, keepWatcherAlive, waitFor } from "../helpers/e2e";
import { addValidator, FleetOptions, FleetValidator, stake, startNode, watcherEnv } from "../helpers/fleet";
import { Binary, RolloutBench, attestedStatuses, scheduleSingleStage } from "../helpers/rollout";

const OLD = "v1.9.3";
const NEW = "v2.0.0";
const chaos = process.env.LOCKSTEP_CHAOS === "1" ? describe : describe.skip;

chaos("chaos: a rollout on a mempool with faults (npm run chaos)", function () {
  this.timeout(600_000);
  const bench = new RolloutBench({ old: OLD });
  const { watchers, fleet } = bench;
  let chain: Chain;
  let d: Deployment;
  let proxy: FaultProxy;
  let options: FleetOptions;
  let good: Binary;
  let cohort = 0;

  before(async function () {
    ({ chain, d } = await bench.start());
    good = bench.artifact(NEW);
    proxy = await faultProxy(chain.url);
    options = { ...bench.options, rpcUrl: proxy.url };
  });

  after(async function () {
    await bench.stop("SIGKILL");
    await proxy?.stop();
  });

  const statuses = (v: FleetValidator, id: number) => attestedStatuses(d, v.operator.address, id);

  it("a watcher SIGKILLed right after broadcasting, and lost replies to every send: one Ready, one Healthy", async function () {
    cohort += 1;
    const v = await addValidator(d, chain.provider, options, { name: "mempool", cohort, stake: stake(100) });
    fleet.push(v);
    await startNode(v, OLD);
    const id = await scheduleSingleStage(d, {
      name: "mempool",
      version: NEW,
      previousVersion: OLD,
      uri: bench.uriOf(good),
      sha256: good.sha256,
      cohort: v.cohort,
      rules: { readinessBps: 10_000 },
    });
    await mineEvery(chain, 1_000);
    proxy.add({ method: "eth_sendRawTransaction", action: { kind: "drop-reply" } });
    const env = { ...watcherEnv(v), LOCKSTEP_KILL_AT: "attest:broadcast" };
    const kept = keepWatcherAlive(v.configPath, env, watchers);
    try {
      await waitFor("Ready", async () => (await statuses(v, id)).includes(Status.Ready), 120_000);
      expect(kept.restarts).to.equal(1);
      await (await d.coordinator.advance(id)).wait();
      await waitFor("Healthy", async () => (await statuses(v, id)).includes(Status.Healthy), 180_000);
      // Blocks keep coming: anything else the watchers sent would be mined by now.
      const head = await chain.client.getBlockNumber();
      await waitFor("three more blocks", async () => (await chain.client.getBlockNumber()) >= head + 3n, 30_000);
      expect(await statuses(v, id)).to.deep.equal([Status.Ready, Status.Healthy]);
      expect(proxy.faulted.eth_sendRawTransaction).to.be.greaterThan(1);
    } finally {
      kept.stop();
    }
  });
});
