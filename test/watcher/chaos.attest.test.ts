// Exactly-once attestations on a real mempool (issue 10, finding 1). The Hardhat network mines on a timer
// (interval mining, no automine: a sent transaction waits in the mempool), served over HTTP, with the chaos
// harness's fault proxy between the attester and the node. Whatever is lost or interrupted, one statement lands.
import { expect } from "chai";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keccak256, toUtf8Bytes } from "ethers";
import hre, { network } from "hardhat";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import { createWalletClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { faultProxy, mineEvery, type FaultProxy } from "../../rehearsal/chaos";
import { waitFor } from "../helpers/e2e";
import { Attester } from "../../watcher/src/adapters/attester";
import { rpcTransport } from "../../watcher/src/adapters/rpcTransport";
import { connect } from "../../watcher/src/adapters/viemChain";
import { SqliteJournal } from "../../watcher/src/journal/sqlite";
import { foreignAttestations } from "../../watcher/src/duplicates";
import { Metrics } from "../../watcher/src/metrics";
import { decodeCoordinatorLog } from "../../lib/events";
import type { AttestationRequest, Hex } from "../../watcher/src/ports";
import { STAKE, deployLockstep, manifest, registerValidators, type Deployed, type Validator } from "../helpers/system";

const send = (method: string, params: unknown[] = []) => network.provider.request({ method, params });

describe("chaos: exactly-once attestations on a mempool", function () {
  this.timeout(120_000);
  let server: { listen(): Promise<{ port: number }>; close(): Promise<void> };
  let rpcUrl: string;
  let proxy: FaultProxy;
  let tmp: string;
  let d: Deployed;
  let validators: Validator[];
  let upgradeId: number;
  let coordinator: Hex;
  let journal: SqliteJournal;
  let next = 0;

  before(async function () {
    server = await hre.run(TASK_NODE_CREATE_SERVER, { hostname: "127.0.0.1", port: 0, provider: network.provider });
    rpcUrl = `http://127.0.0.1:${(await server.listen()).port}`;
    d = await deployLockstep();
    validators = await registerValidators(
      d,
      [1, 2, 3, 4].map(() => ({ cohort: 1, stake: STAKE(100) })),
      "chaos-attest",
    );
    await (await d.coordinator.connect(d.timelockSigner).schedule(manifest("chaos-attest", [1]))).wait();
    upgradeId = Number(await d.coordinator.upgradeCount());
    coordinator = (await d.coordinator.getAddress()) as Hex;
    await mineEvery({ send }, 1_000);
  });

  after(async function () {
    await send("evm_setIntervalMining", [0]);
    await send("evm_setAutomine", [true]);
    await server?.close();
  });

  beforeEach(async function () {
    tmp = await mkdtemp(join(tmpdir(), "lockstep-chaos-"));
    journal = new SqliteJournal(join(tmp, "journal.sqlite"));
    proxy = await faultProxy(rpcUrl);
  });

  afterEach(async function () {
    await send("evm_setIntervalMining", [1_000]);
    await proxy.stop();
    journal.close();
    await rm(tmp, { recursive: true, force: true });
  });

  /** A fresh validator for each test (each attests Ready once). */
  const validator = () => validators[next++];

  function attester(v: Validator, over: { receiptTimeoutMs?: number; outbox?: SqliteJournal } = {}) {
    return new Attester({
      wallet: createWalletClient({
        account: privateKeyToAccount(v.attester.privateKey as Hex),
        transport: rpcTransport(proxy.url), // as the watcher wires it (build.ts)
      }),
      client: connect(proxy.url),
      coordinator,
      operator: v.operator.address as Hex,
      chainId: 31337,
      outbox: journal,
      receiptPollMs: 100,
      ...over,
    });
  }

  const ready = (): AttestationRequest => ({
    upgradeId,
    stage: 0,
    status: "Ready",
    version: "v2.0.0",
    height: 1n,
    metricsDigest: keccak256(toUtf8Bytes("metrics")) as Hex,
    key: `${upgradeId}:2:Ready`,
  });

  async function readies(v: Validator): Promise<number> {
    const logs = await d.coordinator.queryFilter(d.coordinator.filters.Attested(upgradeId, v.operator.address));
    return logs.length;
  }

  const pendingNonce = (v: Validator) =>
    send("eth_getTransactionCount", [v.attester.address, "pending"]).then((n) => Number(n));

  it("lands one Ready when every reply to eth_sendRawTransaction is lost", async function () {
    const v = validator();
    proxy.add({ method: "eth_sendRawTransaction", action: { kind: "drop-reply" } });
    await attester(v).attest(ready());
    expect(proxy.faulted.eth_sendRawTransaction).to.be.greaterThan(0);
    await waitFor("the block after", async () => (await pendingNonce(v)) === 1 && (await readies(v)) === 1, 10_000);
    expect(await readies(v)).to.equal(1);
    expect(await pendingNonce(v)).to.equal(1);
  });

  it("after a crash with the transaction still in the mempool, sends that same transaction again", async function () {
    const v = validator();
    await send("evm_setIntervalMining", [0]); // no blocks: the first transaction stays pending
    const crashed = attester(v).attest(ready()); // abandoned, as a SIGKILLed watcher abandons it
    crashed.catch(() => undefined);
    await waitFor("the first transaction in the mempool", async () => (await pendingNonce(v)) === 1);
    const restarted = attester(v).attest(ready());
    await waitFor("the restarted attester to broadcast", async () => (proxy.seen.eth_sendRawTransaction ?? 0) >= 2);
    await send("evm_setIntervalMining", [1_000]);
    await Promise.allSettled([crashed, restarted]);
    await waitFor("the blocks after", async () => (await readies(v)) >= 1, 10_000);
    expect(await readies(v)).to.equal(1);
    expect(await pendingNonce(v)).to.equal(1);
  });

  it("replaces a transaction the mempool holds too long at the same nonce, and one of them lands", async function () {
    const v = validator();
    await send("evm_setIntervalMining", [0]);
    const landing = attester(v, { receiptTimeoutMs: 500 }).attest(ready());
    await waitFor("a replacement", async () => journal.signed(ready().key!).length >= 2, 20_000);
    await send("evm_setIntervalMining", [1_000]);
    const result = await landing;
    const signed = journal.signed(ready().key!);
    expect(new Set(signed.map((t) => t.nonce))).to.deep.equal(new Set([0]));
    expect(signed.map((t) => t.hash)).to.include(result.reference);
    expect(await readies(v)).to.equal(1);
  });

  it("two watchers sharing a key: each flags the other's attestation in its metrics and /healthz", async function () {
    const v = validator();
    const other = new SqliteJournal(join(tmp, "other.sqlite"));
    try {
      await attester(v).attest(ready());
      await attester(v, { outbox: other }).attest({ ...ready(), key: `${upgradeId}:3:Ready` });
      const logs = await connect(rpcUrl).getLogs({ address: coordinator, fromBlock: 0n });
      const events = logs.flatMap((l) => decodeCoordinatorLog(l) ?? []);
      const operator = v.operator.address as Hex;
      const ours = foreignAttestations(events, operator, journal);
      const theirs = foreignAttestations(events, operator, other);
      expect(ours.map((f) => f.status)).to.deep.equal(["Ready"]);
      expect(theirs.map((f) => f.status)).to.deep.equal(["Ready"]);
      expect(ours[0].transaction).to.not.equal(theirs[0].transaction);
      expect(journal.isOurs(theirs[0].transaction, upgradeId, 0, "Ready")).to.equal(true);

      const metrics = new Metrics(false);
      const server = await metrics.serve("127.0.0.1", 0, 60_000);
      try {
        metrics.pollSucceeded(Date.now());
        const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
        expect((await fetch(`${url}/healthz`)).status).to.equal(200);
        for (const f of ours) metrics.foreignAttestationSeen({ ...f, block: f.block.toString() });
        const health = await fetch(`${url}/healthz`);
        expect(health.status).to.equal(503);
        expect(
          ((await health.json()) as { foreignAttestation: { status: string } }).foreignAttestation.status,
        ).to.equal("Ready");
        expect(await (await fetch(`${url}/metrics`)).text()).to.match(/lockstep_foreign_attestations_total 1/);
      } finally {
        server.close();
      }
    } finally {
      other.close();
    }
  });
});
