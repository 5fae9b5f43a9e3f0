// The dashboard's ChainView (web/src/chain.ts) in Node, reading a real Hardhat node directly: the first load, then
// following new blocks, and reorganisations made with evm_snapshot / evm_revert. What it shows is compared with
// what the chain holds: the coordinator's logs, block times, and the coordinator's own stage views.
import { expect } from "chai";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Wallet, keccak256, parseEther, toQuantity, toUtf8Bytes } from "ethers";
import { StageState, Status } from "../../lib/coordinator";
import { deploymentRecord } from "../../lib/deploy";
import { stageRules } from "../../lib/manifest";
import { buildHistory } from "../../lib/history";
import { ChainView, type Snapshot } from "../../web/src/chain";
import { GovernanceView } from "../../web/src/governance";
import type { DashboardConfig } from "../../web/src/dashboardConfig";
import { deployOn, type Chain, type Deployment } from "../helpers/e2e";
import { attesterProof } from "../helpers/system";
import { DashboardBench, attestAs, testManifest } from "../helpers/dashboard";

const stake = (n: number) => parseEther(String(n));
/** One binder key for both deploys, so the deploy after the deep reorg lands every contract where the first did. */
const BINDER_KEY = `0x${"b1".repeat(32)}` as const;

describe("dashboard ChainView against a Hardhat node", function () {
  this.timeout(120_000);
  let chain: Chain;
  let d: Deployment;
  let coordinator: string;
  let view: ChainView;
  let config: DashboardConfig;
  let id: bigint;
  let last: Snapshot;
  /** Taken before anything was deployed: reverting to it is a reorg deeper than every block the view remembers. */
  let genesis: string;
  const bench = new DashboardBench("chain-view");
  const { v } = bench;

  const send = (method: string, params: unknown[] = []) => chain.provider.send(method, params);
  const mine = (blocks: number) => send("hardhat_mine", [toQuantity(blocks)]);
  const head = () => chain.provider.getBlockNumber();
  const attest = async (who: string, status: Status) => (await attestAs(d, v[who], id, 0, status, 42)).hash;

  const shown = (s: Snapshot) => s.events.map((e) => `${e.transactionHash}:${e.logIndex}`);
  const onChain = async () =>
    (await chain.provider.getLogs({ address: coordinator, fromBlock: d.startBlock, toBlock: "latest" })).map(
      (l) => `${l.transactionHash}:${l.index}`,
    );

  /** Every event the chain holds, no other, with its block's time; every stage tally as the coordinator counts it. */
  async function expectAsOnChain(s: Snapshot) {
    expect(shown(s)).to.deep.equal(await onChain());
    expect(s.head.number).to.equal(BigInt(await head()));
    for (const n of new Set(s.events.map((e) => e.blockNumber))) {
      expect(s.times.get(n), `time of block ${n}`).to.equal(BigInt((await chain.provider.getBlock(n))!.timestamp));
    }
    for (const u of s.history.upgrades) {
      for (const st of u.stages) {
        const c = await d.coordinator.getStage(u.id, st.index);
        expect(
          {
            state: st.state,
            cohortStake: st.cohortStake,
            readyStake: st.readyStake,
            healthyStake: st.healthyStake,
            unhealthyStake: st.unhealthyStake,
            healthyNeeded: st.healthyNeeded,
            unhealthyLimit: st.unhealthyLimit,
          },
          `upgrade ${u.id} stage ${st.index}`,
        ).to.deep.equal({
          state: StageState[Number(c.state)],
          cohortStake: c.cohortStake,
          readyStake: c.readyStake,
          healthyStake: c.healthyStake,
          unhealthyStake: c.unhealthyStake,
          healthyNeeded: c.healthyNeeded,
          unhealthyLimit: c.unhealthyLimit,
        });
      }
    }
  }
  const stage0 = (s: Snapshot) => s.history.upgrades.find((u) => u.id === id)!.stages[0];

  before(async function () {
    chain = await bench.start({ build: false });
    genesis = await send("evm_snapshot");
    // Cohort 1: a, b, c (100 + 200 + 100); cohort 3 (the default): m (500).
    d = await bench.deploy(
      [
        ["a", 100, 1],
        ["b", 200, 1],
        ["c", 100, 1],
        ["m", 500, 3],
      ],
      { binderKey: BINDER_KEY },
    );
    coordinator = await d.coordinator.getAddress();
    // The pause limit (90% of 400) stays out of reach: every attestation below only moves the tallies.
    const manifest = testManifest(
      "v2-chain-view",
      [stageRules(1, { healthyBps: 5000, unhealthyBps: 9000 }), stageRules(3)],
      { binary: "binary", hashOf: "chain-view manifest" },
    );
    await (await d.coordinator.connect(d.timelockSigner).schedule(manifest)).wait();
    id = await d.coordinator.upgradeCount();
    await (await d.coordinator.advance(id)).wait();
    await attest("a", Status.Healthy);

    const deployment = deploymentRecord(d.addresses, {
      network: "chainview",
      chainId: 31337,
      startBlock: d.startBlock,
      guardian: d.guardian.address,
    });
    config = { rpcUrl: chain.url, rpcRelay: chain.url, deployment, explorerUrl: "", pollMs: 1000 };
    view = new ChainView(config);
  });

  after(() => bench.close());

  it("loads the whole history: every coordinator event, its block time, the tallies and the stake weights", async function () {
    last = await view.refresh();
    await expectAsOnChain(last);
    expect(last.events.filter((e) => e.eventName === "ValidatorRegistered")).to.have.length(4);
    expect(stage0(last).healthyStake).to.equal(stake(100));
    expect(last.weights.get(v.b.operator.address.toLowerCase())).to.equal(stake(200));
    expect(last.weights.get(v.m.operator.address.toLowerCase())).to.equal(stake(500));
    expect(last.lastReorg).to.equal(undefined);
  });

  it("follows a new attestation, and a poll with no new block changes nothing", async function () {
    const tx = await attest("b", Status.Unhealthy);
    const next = await view.refresh();
    await expectAsOnChain(next);
    expect(next.events.at(-1)).to.include({ eventName: "Attested", transactionHash: tx });
    expect(stage0(next).unhealthyStake).to.equal(stake(200));
    expect(next.revision).to.be.greaterThan(last.revision);

    const again = await view.refresh();
    expect(again.revision).to.equal(next.revision);
    expect(shown(again)).to.deep.equal(shown(next));
    last = again;
  });

  it("applies new events to the history it holds, which equals the history rebuilt from every event", async function () {
    const tx = await attest("c", Status.Healthy);
    const next = await view.refresh();
    expect(next.events.at(-1)).to.include({ transactionHash: tx });
    expect(next.history, "the same history, the new event applied to it").to.equal(last.history);
    const rebuilt = buildHistory(next.events, {
      times: next.times,
      governance: config.deployment.contracts.LockstepTimelock,
      registryComplete: true,
      coordinator: config.deployment.contracts.UpgradeCoordinator,
      fromBlock: BigInt(config.deployment.startBlock),
      toBlock: next.head.number,
    });
    expect(next.history).to.deep.equal(rebuilt);
    last = next;
  });

  it("picks up an event that a lagging RPC node left out of its logs, once it has caught up", async function () {
    // A load-balanced RPC: blocks come from a node at the head, logs from one a block behind that has none yet.
    let lagging = true;
    /** Blocks by which "latest" is answered behind the head (a node that has not seen the newest blocks). */
    let headBehind = 0;
    const proxy = createServer(async (req, res) => {
      let body = "";
      for await (const c of req) body += c;
      const calls = JSON.parse(body) as
        { id: number; method: string; params?: unknown[] }[] | { id: number; method: string; params?: unknown[] };
      const list = Array.isArray(calls) ? calls : [calls];
      if (headBehind) {
        const behind = toQuantity((await head()) - headBehind);
        for (const c of list)
          if (c.method === "eth_getBlockByNumber" && c.params?.[0] === "latest") c.params[0] = behind;
        body = JSON.stringify(calls);
      }
      const upstream = (await (
        await fetch(chain.url, { method: "POST", headers: { "content-type": "application/json" }, body })
      ).json()) as { id: number; result: unknown }[] | { id: number; result: unknown };
      const answers = (Array.isArray(upstream) ? upstream : [upstream]).map((a) =>
        lagging && list.find((c) => c.id === a.id)?.method === "eth_getLogs" ? { ...a, result: [] } : a,
      );
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify(Array.isArray(calls) ? answers : answers[0]));
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", () => r()));
    try {
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const lb = new ChainView({ ...config, rpcUrl: url, rpcRelay: url });
      lagging = false;
      const loaded = await lb.refresh();
      lagging = true;
      const tx = await attest("c", Status.Healthy);
      const missed = await lb.refresh();
      expect(shown(missed)).to.deep.equal(shown(loaded));
      lagging = false;
      await mine(1);
      const caught = await lb.refresh();
      expect(caught.events.map((e) => e.transactionHash)).to.include(tx);
      await expectAsOnChain(caught);

      // Then a node two blocks behind answers: no reorganisation, nothing dropped, the same view until it catches up.
      headBehind = 2;
      const behind = await lb.refresh();
      expect(behind.lastReorg, "a node behind is not a reorg").to.equal(undefined);
      expect(behind.head.number).to.equal(caught.head.number);
      expect(shown(behind)).to.deep.equal(shown(caught));
      headBehind = 0;
      expect((await lb.refresh()).lastReorg).to.equal(undefined);
      last = await view.refresh();
    } finally {
      proxy.closeAllConnections();
      await new Promise((r) => proxy.close(r));
    }
  });

  it("drops the abandoned branch's events after a reorg, shows the new branch's, and says where it rewound to", async function () {
    const fork = await head();
    const snapshot = await send("evm_snapshot");
    const orphan = await attest("c", Status.Healthy);
    await mine(2);
    const before = await view.refresh();
    expect(shown(before).some((k) => k.startsWith(orphan))).to.equal(true);
    expect(stage0(before).healthyStake).to.equal(stake(200));

    await send("evm_revert", [snapshot]);
    // A longer branch: the head is past the last block followed, whose hash has changed.
    const replacement = await attest("c", Status.Unhealthy);
    await mine(4);
    const after = await view.refresh();
    await expectAsOnChain(after);
    expect(
      shown(after).some((k) => k.startsWith(orphan)),
      "the orphaned attestation",
    ).to.equal(false);
    expect(after.events.at(-1)).to.include({ eventName: "Attested", transactionHash: replacement });
    expect(stage0(after)).to.include({ healthyStake: stake(100), unhealthyStake: stake(300) });
    expect(after.lastReorg).to.deep.equal({ detectedAt: after.head.number, ancestor: BigInt(fork), dropped: 1 });
    expect(after.revision).to.be.greaterThan(before.revision);
    last = after;
  });

  it("drops a Governor proposal that a reorg took away, however deep, and shows the new branch's", async function () {
    const gov = new GovernanceView(view.client, config);
    const at = async () => (await view.refresh()).head;
    const descriptions = (s: { proposals: { description: string }[] }) => s.proposals.map((p) => p.description);
    const propose = async (description: string) =>
      (await d.governor.connect(v.a.operator).propose([coordinator], [0], ["0x"], description)).wait();
    const before = await gov.refresh(await at());
    const snapshot = await send("evm_snapshot");
    await propose("chain-view: orphaned");
    // Deeper than the 64 blocks the Proposals view used to fetch again on every refresh.
    await mine(70);
    expect(descriptions(await gov.refresh(await at()))).to.include("chain-view: orphaned");

    await send("evm_revert", [snapshot]);
    await propose("chain-view: replacement");
    await mine(72);
    const after = await gov.refresh(await at());
    expect(descriptions(after)).to.include("chain-view: replacement").and.not.include("chain-view: orphaned");
    expect(after.proposals).to.have.length(before.proposals.length + 1);
    expect(after.clock).to.equal(BigInt(await head()));
    last = await view.refresh();
  });

  it("follows a head that goes back, when the dropped blocks held no coordinator event", async function () {
    const fork = await head();
    const snapshot = await send("evm_snapshot");
    await mine(3);
    const ahead = await view.refresh();
    expect(ahead.head.number).to.equal(BigInt(fork + 3));
    expect(ahead.revision).to.equal(last.revision);

    await send("evm_revert", [snapshot]);
    await mine(1);
    const back = await view.refresh();
    await expectAsOnChain(back);
    expect(back.head.number).to.equal(BigInt(fork + 1));
    expect(shown(back)).to.deep.equal(shown(last));
    expect(back.revision, "the events did not change").to.equal(last.revision);
    expect(back.lastReorg).to.deep.equal({ detectedAt: BigInt(fork + 1), ancestor: BigInt(fork), dropped: 0 });
    last = back;
  });

  it("reloads from the deployment's start block when the reorg is deeper than every block it remembers", async function () {
    // A view that forgets all but its last two blocks: the reorg is deeper than every block it remembers.
    const small = new ChainView(config, { remember: 2 });
    for (let i = 0; i < 3; i++) {
      expect(shown(await small.refresh())).to.deep.equal(shown(last));
      await mine(1);
    }
    await send("evm_revert", [genesis]);
    // The same deployer nonces: the same addresses, in blocks with other hashes (later timestamps).
    d = await deployOn(chain, { binderKey: BINDER_KEY });
    expect(await d.coordinator.getAddress()).to.equal(coordinator);
    const operator = new Wallet(keccak256(toUtf8Bytes("chain-view:late:operator")), chain.provider);
    await send("hardhat_setBalance", [operator.address, "0x56BC75E2D63100000"]);
    const proof = await attesterProof(d.coordinator, operator, operator);
    await (await d.coordinator.connect(operator).register(operator.address, "ipfs://chain-view/late", proof)).wait();

    for (const [name, v] of [
      ["the view that remembers every block followed", view],
      ["a view that remembers only its last two blocks", small],
    ] as const) {
      const s = await v.refresh();
      await expectAsOnChain(s);
      expect(s.lastReorg, name).to.deep.equal({
        detectedAt: s.head.number,
        ancestor: BigInt(d.startBlock - 1),
        dropped: last.events.length,
      });
      expect(s.history.upgrades).to.have.length(0);
      expect([...s.history.registry.keys()]).to.deep.equal([operator.address.toLowerCase()]);
    }
  });
});
