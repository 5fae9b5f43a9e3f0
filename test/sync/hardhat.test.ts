// lib/sync's follower against a real Hardhat node (started here, on a free port), through viemSource: logs of two
// contracts, reorgs made with evm_snapshot / evm_revert, a reorg deeper than the history, a restart, and, through a
// JSON-RPC proxy, a lagging load-balanced node and a node that refuses large log ranges.
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createPublicClient, http, toHex, type Log, type PublicClient } from "viem";
import {
  Follower,
  MemoryCheckpointStore,
  ReorgTooDeepError,
  viemSource,
  type Hex,
  type ReorgEvent,
} from "../../lib/sync";
import { Chain, startChain } from "../helpers/e2e";

// A contract that logs its calldata (LOG0) on every call: runtime CALLDATASIZE 0 0 CALLDATACOPY CALLDATASIZE 0 LOG0
// STOP; the init code copies the 11 runtime bytes (at offset 12) to memory and returns them.
const RUNTIME = "366000600037366000a000";
const INIT = `0x600b600c600039600b6000f3${RUNTIME}` as Hex;

type State = string[];

describe("lib/sync follower against a Hardhat node", function () {
  this.timeout(120_000);
  let chain: Chain;
  let client: PublicClient;
  let from: Hex;
  let a: Hex, b: Hex, other: Hex;
  let start: bigint;

  const rpc = (method: string, params: unknown[] = []) =>
    client.request({ method: method as never, params: params as never }) as Promise<unknown>;
  const head = async () => client.getBlockNumber({ cacheTime: 0 });
  const mine = (n: number) => rpc("hardhat_mine", [toHex(n)]);
  /** Sends a call to `to` whose log carries `marker` (one byte); mined at once. */
  const emit = async (to: Hex, marker: number) => {
    const hash = (await rpc("eth_sendTransaction", [{ from, to, data: toHex(marker, { size: 1 }) }])) as Hex;
    return (await client.waitForTransactionReceipt({ hash, pollingInterval: 50 })).blockNumber;
  };
  const deploy = async () => {
    const hash = (await rpc("eth_sendTransaction", [{ from, data: INIT }])) as Hex;
    return (await client.waitForTransactionReceipt({ hash, pollingInterval: 50 })).contractAddress as Hex;
  };
  /** The logs of `a` and `b` the node holds now, as `blockHash:logIndex:data`. */
  const onChain = async () => (await client.getLogs({ address: [a, b], fromBlock: start, toBlock: "latest" })).map(id);
  const id = (l: Log) => `${l.blockHash}:${l.logIndex}:${l.data}`;

  function follower(source = viemSource(client), store = new MemoryCheckpointStore<State>(), reaskBlocks = 0) {
    const reorgs: ReorgEvent<State>[] = [];
    const f = new Follower<State>({
      source,
      store,
      addresses: [a, b],
      startBlock: start,
      initial: () => [],
      reaskBlocks,
      pageSize: 4n,
      handlers: {
        block: (s, page) => {
          for (const l of page.logs) expect(page.blocks.get(l.blockNumber!)?.hash).to.equal(l.blockHash);
          return { state: [...s, ...page.logs.map(id)] };
        },
        reorg: (e) => void reorgs.push(e),
      },
    });
    return { f, store, reorgs };
  }

  /** A JSON-RPC proxy in front of the node that may rewrite requests and answers. */
  async function proxy(
    rewrite: (call: { method: string; params?: unknown[] }) => Promise<{ error: string } | undefined> | undefined,
    answer: (call: { method: string }, result: unknown) => unknown = (_, r) => r,
  ): Promise<{ url: string; server: Server }> {
    const server = createServer(async (req, res) => {
      let body = "";
      for await (const c of req) body += c;
      const parsed = JSON.parse(body) as { id: number; method: string; params?: unknown[] } | [];
      const calls = (Array.isArray(parsed) ? parsed : [parsed]) as { id: number; method: string; params?: unknown[] }[];
      const answers = await Promise.all(
        calls.map(async (c) => {
          const refused = await rewrite(c);
          if (refused) return { jsonrpc: "2.0", id: c.id, error: { code: -32005, message: refused.error } };
          const up = (await (
            await fetch(chain.url, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify(c),
            })
          ).json()) as { id: number; result?: unknown };
          return "result" in up ? { ...up, result: answer(c, up.result) } : up;
        }),
      );
      res
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify(Array.isArray(parsed) ? answers : answers[0]));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
  }
  const close = async (server: Server) => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  };
  const clientAt = (url: string) =>
    createPublicClient({ transport: http(url, { retryCount: 0, batch: true }) }) as PublicClient;

  before(async function () {
    chain = await startChain();
    client = clientAt(chain.url);
    [from] = (await rpc("eth_accounts")) as Hex[];
    a = await deploy();
    start = await head();
    b = await deploy();
    other = await deploy();
    for (let i = 1; i <= 6; i++) await emit(i % 2 ? a : b, i);
    await emit(other, 0xff);
  });

  after(async function () {
    await chain?.stop();
  });

  it("follows the logs of both contracts and no other, in pages, with each log's block header", async function () {
    const { f } = follower();
    const r = await f.poll();
    expect(r.status).to.equal("followed");
    expect(r.processedTo).to.equal(await head());
    expect(await f.state()).to.deep.equal(await onChain());
    expect(await f.state()).to.have.length(6);
    await emit(a, 7);
    await f.poll();
    expect(await f.state()).to.deep.equal(await onChain());
  });

  it("rewinds to the fork block after a reorg (longer branch, then a shorter one) and shows the new branch", async function () {
    const { f, reorgs } = follower();
    await f.poll();
    for (const [orphans, replacements] of [
      [2, 4],
      [3, 1],
      [1, 1],
    ]) {
      const fork = await head();
      const snapshot = await rpc("evm_snapshot");
      for (let i = 0; i < orphans; i++) {
        await emit(a, 0x80 + i);
        await f.poll(); // a checkpoint at every block
      }
      const before = await f.state();
      await rpc("evm_revert", [snapshot]);
      for (let i = 0; i < replacements; i++) await emit(b, 0x90 + i);
      const r = await f.poll();
      expect(r.rewoundTo, `${orphans} orphaned, ${replacements} new`).to.equal(fork);
      expect(reorgs.at(-1)!.orphaned.state).to.deep.equal(before);
      expect(await f.state()).to.deep.equal(await onChain());
    }
  });

  it("throws ReorgTooDeepError (not retryable) when the reorg is deeper than the checkpoints kept", async function () {
    const { f } = follower(viemSource(client), new MemoryCheckpointStore<State>(2));
    const snapshot = await rpc("evm_snapshot");
    for (let i = 0; i < 3; i++) {
      await emit(a, 0xa0 + i);
      await f.poll();
    }
    await rpc("evm_revert", [snapshot]);
    await mine(5);
    let error: unknown;
    await f.poll().catch((e) => (error = e));
    expect(error).to.be.instanceOf(ReorgTooDeepError);
    expect((error as ReorgTooDeepError).retryable).to.equal(false);
  });

  it("resumes from its store after a restart, with no log missed or delivered twice", async function () {
    const store = new MemoryCheckpointStore<State>();
    await follower(viemSource(client), store).f.poll();
    await emit(a, 0xb1);
    await emit(b, 0xb2);
    const restarted = follower(viemSource(client), store);
    await restarted.f.poll();
    expect(await restarted.f.state()).to.deep.equal(await onChain());
  });

  it("picks up what a lagging load-balanced node left out, and does not take a node behind for a reorg", async function () {
    let lagging = false;
    let headBehind = 0;
    const p = await proxy(
      async (c) => {
        if (headBehind && c.method === "eth_getBlockByNumber" && c.params?.[0] === "latest")
          c.params[0] = toHex((await head()) - BigInt(headBehind));
        return undefined;
      },
      (c, result) => (lagging && c.method === "eth_getLogs" ? [] : result),
    );
    try {
      const { f, reorgs } = follower(viemSource(clientAt(p.url)), new MemoryCheckpointStore<State>(), 12);
      await f.poll();
      const loaded = await f.state();
      lagging = true;
      await emit(b, 0xc1);
      await f.poll();
      expect(await f.state(), "the lagging node gave no log").to.deep.equal(loaded);
      lagging = false;
      await mine(1);
      await f.poll();
      expect(await f.state()).to.deep.equal(await onChain());

      headBehind = 1;
      const behind = await f.poll();
      expect(behind.status).to.equal("behind");
      expect(behind.reorg).to.equal(undefined);
      headBehind = 0;
      expect((await f.poll()).status).to.equal("followed");
      expect(reorgs).to.have.length(0);
      expect(await f.state()).to.deep.equal(await onChain());
    } finally {
      await close(p.server);
    }
  });

  it("splits the ranges a node refuses and still delivers every log", async function () {
    const ranges: string[] = [];
    const p = await proxy((c) => {
      if (c.method !== "eth_getLogs") return undefined;
      const q = c.params![0] as { fromBlock: Hex; toBlock: Hex };
      const span = BigInt(q.toBlock) - BigInt(q.fromBlock) + 1n;
      ranges.push(`${BigInt(q.fromBlock)}-${BigInt(q.toBlock)}`);
      return Promise.resolve(span > 2n ? { error: "query exceeds max block range 2" } : undefined);
    });
    try {
      const { f } = follower(viemSource(clientAt(p.url)));
      const r = await f.poll();
      expect(r.status).to.equal("followed");
      expect(await f.state()).to.deep.equal(await onChain());
      expect(ranges.length).to.be.greaterThan(1);
    } finally {
      await close(p.server);
    }
  });
});
