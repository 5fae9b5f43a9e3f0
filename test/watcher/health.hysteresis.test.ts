// Health with hysteresis (issue 10, finding 6): a healthy node with slow blocks draws no Unhealthy, a node is
// unhealthy only after failing for health.unhealthyAfterMs, health is re-attested at most once per
// health.reattestIntervalMs, and /healthz reports a long step (a node slow to start) as in progress, not dead.
import { expect } from "chai";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { Job } from "../../watcher/src/machine/types";
import type { NodeStatus } from "../../watcher/src/ports";
import { FakeChain } from "../fakes/chain";
import { FakeClock, FakeNode } from "../fakes/ports";
import { testConfig, upgradedJob, wireWatcher } from "../helpers/watcherHarness";

function config(health: Record<string, number> = {}) {
  return testConfig({ chain: { pollIntervalMs: 1_000 }, health: { observeIntervalMs: 1_000, ...health } });
}

/** A node whose reading follows the fake clock. */
class ClockedNode extends FakeNode {
  constructor(private readonly read: () => NodeStatus | undefined | Promise<NodeStatus | undefined>) {
    super();
  }
  override async status() {
    this.statusCalls += 1;
    return this.read();
  }
}

async function wired(node: FakeNode, health: Record<string, number> = {}, job: Job = upgraded()) {
  const w = await wireWatcher(config(health), { chain: new FakeChain(2), node });
  w.begin({ jobs: { "1": job } });
  return w;
}

const upgraded = (over: Partial<Job> = {}): Job =>
  upgradedJob({
    manifest: {
      ...upgradedJob().manifest,
      artifact: { platform: "linux-amd64", uri: "https://example.org/node", sha256: "ab".repeat(32) },
    },
    ...over,
  });

/** Runs `rounds` rounds, one a second of the fake clock (the pace health.observeIntervalMs sets). */
async function runRounds(w: Awaited<ReturnType<typeof wired>>, rounds: number) {
  for (let i = 0; i < rounds; i++) {
    await w.runtime.tick();
    await w.clock.sleep(1_000);
  }
}

const attestations = (w: Awaited<ReturnType<typeof wired>>) =>
  w.journal
    .all()
    .map((s) => s.effect)
    .flatMap((e) => (e.kind === "attest" ? [e.status] : []));

describe("watcher health with hysteresis", function () {
  it("draws no Unhealthy from a healthy node with 3-second blocks over 90 seconds, with the defaults", async function () {
    const ref: { clock?: FakeClock; server?: Server } = {};
    const start = 1_000_000;
    const node = new ClockedNode(() => ({
      version: "v2.0.0",
      height: 100n + BigInt(Math.floor(((ref.clock?.now() ?? start) - start) / 3_000)),
    }));
    const w = await wired(node);
    ref.clock = w.clock;
    await runRounds(w, 90);
    expect(w.clock.now() - start).to.be.at.least(90_000);
    expect(node.statusCalls).to.be.at.least(90);
    expect(attestations(w)).to.deep.equal([]);
    expect(w.runtime.state().jobs["1"].health).to.equal("healthy");
  });

  it("reports Unhealthy once the node made no progress for unhealthyAfterMs, and Healthy again at most once per reattestIntervalMs", async function () {
    const ref: { clock?: FakeClock; server?: Server } = {};
    const start = 1_000_000;
    const since = () => (ref.clock?.now() ?? start) - start;
    // Blocks every second; stuck from 10 s to 40 s; then blocks again.
    const node = new ClockedNode(() => {
      const t = since();
      const seconds = t < 10_000 ? t : t < 40_000 ? 10_000 : t - 30_000;
      return { version: "v2.0.0", height: BigInt(Math.floor(seconds / 1_000)) };
    });
    const w = await wired(node, { unhealthyAfterMs: 15_000, reattestIntervalMs: 60_000 });
    ref.clock = w.clock;
    await runRounds(w, 24); // to 24 s: stuck for 14 s, under the 15 s
    expect(attestations(w)).to.deep.equal([]);
    await runRounds(w, 6); // to 30 s: stuck 20 s
    expect(attestations(w)).to.deep.equal(["Unhealthy"]);
    await runRounds(w, 30); // to 60 s: progressing again since 40 s, but the last report was at ~25 s
    expect(attestations(w)).to.deep.equal(["Unhealthy"]);
    await runRounds(w, 30); // to 90 s: past the interval
    expect(attestations(w)).to.deep.equal(["Unhealthy", "Healthy"]);
  });

  it("keeps /healthz OK while an upgrade waits 35 seconds for the new binary to start", async function () {
    const ref: { clock?: FakeClock; server?: Server } = {};
    let startedAt: number | undefined;
    const codes: number[] = [];
    const node = new ClockedNode(async () => {
      const now = ref.clock!.now();
      startedAt ??= now;
      if (now - startedAt >= 30_000 && !codes.length) {
        // Mid-step, 30 s in: ask /healthz as a supervisor would.
        const { port } = ref.server!.address() as AddressInfo;
        codes.push((await fetch(`http://127.0.0.1:${port}/healthz`)).status);
      }
      return now - startedAt < 35_000 ? undefined : { version: "v2.0.0", height: BigInt(now - startedAt) / 1_000n };
    });
    const job = upgraded({ local: "upgrading", attested: "Ready", health: null });
    const w = await wired(node, { deadlineMs: 60_000, probeIntervalMs: 1_000 }, job);
    ref.clock = w.clock;
    // The binary is already active: the step only starts the node and waits for it.
    w.deps.binaries.active = async () => "v2.0.0";
    w.deps.binaries.verify = async () => undefined; // ...and is the voted build
    w.journal.enqueue([{ kind: "upgrade", upgradeId: 1, step: 5 }]);
    w.metrics.pollSucceeded(w.clock.now());
    const server = (ref.server = await w.metrics.serve("127.0.0.1", 0, 10_000, () => w.clock.now()));
    try {
      await w.runtime.tick();
    } finally {
      server.close();
    }
    expect(codes).to.deep.equal([200]);
    expect(w.runtime.state().jobs["1"].local).to.equal("upgraded");
  });
});
