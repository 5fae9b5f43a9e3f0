// lib/sync's follower against an in-memory chain: paging, confirmations, restarts, reorgs of every depth, a reorg
// deeper than the history, lagging and refusing nodes, races, finality. (Moved here from test/watcher/follower.)
import { expect } from "chai";
import type { Log } from "viem";
import {
  Follower,
  MemoryCheckpointStore,
  ReorgTooDeepError,
  SyncError,
  getLogsPaged,
  type Page,
  type PageResult,
  type ReorgEvent,
  type Checkpoint,
} from "../../lib/sync";
import { A, B, FakeSource } from "./fake-source";

type State = string[];
interface Options {
  confirmations?: number;
  pageSize?: bigint;
  keep?: number;
  reaskBlocks?: number;
  finalityBlocks?: number;
}

/** A follower whose state is the list of log markers it has seen. */
function follower(chain: FakeSource, o: Options = {}, store = new MemoryCheckpointStore<State>(o.keep ?? 256)) {
  const pages: Page[] = [];
  const reorgs: ReorgEvent<State>[] = [];
  const finalized: Checkpoint<State>[] = [];
  const f = new Follower<State>({
    source: chain,
    store,
    addresses: [A, B],
    startBlock: 1n,
    initial: () => [],
    confirmations: o.confirmations,
    pageSize: o.pageSize ?? 100n,
    reaskBlocks: o.reaskBlocks,
    finalityBlocks: o.finalityBlocks,
    handlers: {
      block: (state, page) => {
        pages.push(page);
        return { state: [...state, ...page.logs.map((l) => l.data)] };
      },
      reorg: (e) => void reorgs.push(e),
      finalize: (c) => void finalized.push(c),
    },
  });
  return { f, store, pages, reorgs, finalized };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

describe("lib/sync follower (in-memory chain)", function () {
  describe("following", function () {
    it("processes every log once, in order, across pages and polls", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1");
      chain.mine();
      chain.mine("0xb1", "0xb2");
      const { f } = follower(chain, { pageSize: 2n });
      await f.poll();
      chain.mine("0xc1");
      await f.poll();
      await f.poll();
      expect(await f.state()).to.deep.equal(["0xa1", "0xb1", "0xb2", "0xc1"]);
      expect(chain.calls.filter((c) => c.startsWith("logs"))).to.deep.equal(["logs 1-2", "logs 3-3", "logs 4-4"]);
    });

    it("follows the logs of every address it is given and of no other", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1", "X:0xff", "B:0xb1");
      chain.mine("X:0xfe");
      chain.mine("B:0xb2");
      const { f } = follower(chain);
      await f.poll();
      expect(await f.state()).to.deep.equal(["0xa1", "0xb1", "0xb2"]);
    });

    it("hands each page the headers of the blocks its logs are in and of its last block", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1");
      chain.mine();
      chain.mine("0xb1");
      chain.mine();
      const { f, pages } = follower(chain);
      const r = await f.poll();
      expect(r.status).to.equal("followed");
      expect(pages).to.have.length(1);
      expect(pages[0]).to.include({ from: 1n, to: 4n });
      expect([...pages[0].blocks.keys()].sort()).to.deep.equal([1n, 3n, 4n]);
      for (const [n, b] of pages[0].blocks) expect(b).to.deep.equal(await chain.block(n));
      expect(pages[0].head.number).to.equal(4n);
    });

    it("acts only on blocks buried under the configured confirmations", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1");
      chain.mine("0xb1");
      const { f } = follower(chain, { confirmations: 1 });
      expect((await f.poll()).processedTo).to.equal(1n);
      expect(await f.state()).to.deep.equal(["0xa1"]);
      chain.mine();
      await f.poll();
      expect(await f.state()).to.deep.equal(["0xa1", "0xb1"]);
    });

    it("follows up to a head it is given rather than the node's", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1");
      chain.mine("0xb1");
      const { f } = follower(chain);
      const r = await f.poll({ head: (await chain.block(1n))! });
      expect(r.processedTo).to.equal(1n);
      expect(await f.state()).to.deep.equal(["0xa1"]);
    });

    it("commits each handler's whole result with its checkpoint", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1");
      chain.mine("0xb1");
      type Result = PageResult<number> & { effects: string[] };
      const store = new MemoryCheckpointStore<number, Result>();
      const f = new Follower<number, Result>({
        source: chain,
        store,
        addresses: [A],
        startBlock: 1n,
        pageSize: 1n,
        initial: () => 0,
        handlers: { block: (n, page) => ({ state: n + page.logs.length, effects: page.logs.map((l) => l.data) }) },
      });
      await f.poll();
      expect(store.results()).to.deep.equal([
        { state: 1, effects: ["0xa1"] },
        { state: 2, effects: ["0xb1"] },
      ]);
      expect(store.recent().map((c) => [c.block, c.state])).to.deep.equal([
        [2n, 2],
        [1n, 1],
        [0n, 0],
      ]);
    });

    it("refuses a start block below 1 and a start block the chain has not reached, as not retryable", async function () {
      const chain = new FakeSource();
      expect(() => new Follower({ ...follower(chain).f["o"], startBlock: 0n })).to.throw(SyncError);
      const late = new Follower({ ...follower(chain).f["o"], startBlock: 5n });
      const e = await rejection(late.poll());
      expect(e).to.be.instanceOf(SyncError);
      expect((e as SyncError).retryable).to.equal(false);
    });
  });

  describe("restarts", function () {
    it("resumes after a restart from its checkpoints without missing or repeating a log", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1");
      const { f, store } = follower(chain);
      await f.poll();
      chain.mine("0xb1");
      chain.mine("0xc1");
      // A new follower over the same store (as after a restart) picks up where the first stopped.
      const restarted = follower(chain, {}, store).f;
      await restarted.poll();
      expect(await restarted.state()).to.deep.equal(["0xa1", "0xb1", "0xc1"]);
    });

    it("a page whose handler throws is not committed: the next poll delivers it again", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1");
      const store = new MemoryCheckpointStore<State>();
      let fail = true;
      const f = new Follower<State>({
        source: chain,
        store,
        addresses: [A],
        startBlock: 1n,
        initial: () => [],
        handlers: {
          block: (s, page) => {
            if (fail) throw new Error("handler failed");
            return { state: [...s, ...page.logs.map((l) => l.data)] };
          },
        },
      });
      await rejection(f.poll());
      expect((await f.cursor())?.block).to.equal(0n);
      fail = false;
      await f.poll();
      expect(await f.state()).to.deep.equal(["0xa1"]);
    });

    it("resumes with the logs it re-asks for already known, after a restart", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1");
      chain.mine("0xb1");
      const { f, store } = follower(chain, { reaskBlocks: 4 });
      await f.poll();
      chain.mine("0xc1");
      const again = follower(chain, { reaskBlocks: 4 }, store).f;
      await again.poll();
      expect(await again.state()).to.deep.equal(["0xa1", "0xb1", "0xc1"]);
    });
  });

  describe("reorgs", function () {
    it("undoes what it derived from orphaned logs after a reorg and follows the new chain", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1");
      chain.mine("0xb1");
      chain.mine("0xc1");
      const { f } = follower(chain, { pageSize: 1n });
      await f.poll();
      expect(await f.state()).to.deep.equal(["0xa1", "0xb1", "0xc1"]);
      chain.reorg(2);
      chain.mine("0xd1");
      chain.mine();
      chain.mine("0xe1");
      const result = await f.poll();
      expect(result.rewoundTo).to.equal(1n);
      expect(await f.state()).to.deep.equal(["0xa1", "0xd1", "0xe1"]);
    });

    for (const depth of [1, 2, 3, 5, 8]) {
      for (const longer of [false, true]) {
        it(`rewinds a reorg ${depth} deep to the common ancestor (new branch ${longer ? "longer" : depth > 1 ? "shorter" : "as long"})`, async function () {
          const chain = new FakeSource();
          for (let i = 1; i <= 10; i++) chain.mine(`0x${i.toString(16).padStart(2, "0")}`);
          // One poll a block: a checkpoint at every block.
          const { f, reorgs } = follower(chain, { pageSize: 1n });
          await f.poll();
          chain.reorg(depth);
          // A shorter branch replaces at least one block: a head that drops back to a block already seen, unchanged,
          // is a node behind (tested below).
          const mined = longer ? depth + 2 : Math.max(depth - 1, 1);
          for (let i = 0; i < mined; i++) chain.mine(`0xf${i}`);
          const r = await f.poll();
          const fork = BigInt(10 - depth);
          expect(r.reorg, "a reorg was reported").to.not.equal(undefined);
          expect(r.rewoundTo).to.equal(fork);
          expect(reorgs.map((e) => [e.ancestor.block, e.orphaned.block, e.detectedAt])).to.deep.equal([
            [fork, 10n, BigInt(chain.blocks.length - 1)],
          ]);
          expect(await f.state()).to.deep.equal(chain.markers());
          expect(r.processedTo).to.equal(BigInt(chain.blocks.length - 1));
        });
      }
    }

    it("rewinds to the newest checkpoint on the chain when checkpoints are a page apart", async function () {
      const chain = new FakeSource();
      for (let i = 1; i <= 9; i++) chain.mine(`0x${i}0`);
      const { f } = follower(chain, { pageSize: 3n });
      await f.poll(); // checkpoints at 3, 6, 9
      chain.reorg(4); // block 5 goes: 3 is the newest checkpoint left
      chain.mine("0x51");
      const r = await f.poll();
      expect(r.rewoundTo).to.equal(3n);
      expect(await f.state()).to.deep.equal(chain.markers());
    });

    it("rewinds to the start when even the first processed block was orphaned", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1");
      const { f } = follower(chain);
      await f.poll();
      chain.reorg(1);
      chain.mine("0xa2");
      const r = await f.poll();
      expect(r.rewoundTo).to.equal(0n);
      expect(await f.state()).to.deep.equal(["0xa2"]);
    });

    it("checks the block followed against the head's parent hash when the head is its child", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1");
      chain.mine("0xb1");
      const { f } = follower(chain);
      await f.poll();
      chain.mine();
      chain.calls = [];
      await f.poll();
      expect(chain.calls).to.not.include("block 2");
      expect(chain.calls).to.include("logs 3-3");
    });

    it("refuses to guess when a reorg goes deeper than its checkpoint history: not retryable", async function () {
      const chain = new FakeSource();
      for (let i = 0; i < 5; i++) chain.mine(`0x0${i}`);
      const { f } = follower(chain, { pageSize: 1n, keep: 2 });
      await f.poll();
      chain.reorg(4);
      chain.mine("0xff");
      const error = await rejection(f.poll());
      expect(error).to.be.instanceOf(ReorgTooDeepError);
      expect(error).to.be.instanceOf(SyncError);
      expect((error as ReorgTooDeepError).retryable).to.equal(false);
      expect((error as ReorgTooDeepError).block).to.equal(4n);
      // A fresh store starts over from the anchor.
      const fresh = follower(chain, { pageSize: 1n });
      await fresh.f.poll();
      expect(await fresh.f.state()).to.deep.equal(chain.markers());
    });

    it("drops a page when the chain reorganises while it is read, and follows the new branch next poll", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1");
      const { f } = follower(chain);
      await f.poll();
      chain.mine("0xb1");
      chain.afterLogs = () => {
        chain.reorg(1);
        chain.mine("0xb2");
      };
      const raced = await f.poll();
      expect(raced.status).to.equal("raced");
      expect(raced.processedTo).to.equal(1n);
      expect(await f.state()).to.deep.equal(["0xa1"]);
      const r = await f.poll();
      expect(r.status).to.equal("followed");
      expect(await f.state()).to.deep.equal(["0xa1", "0xb2"]);
    });
  });

  describe("nodes that lag or refuse", function () {
    it("a head below the last block followed, already seen, is a node behind: nothing changes", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1");
      const { f, reorgs } = follower(chain);
      await f.poll();
      chain.mine("0xb1");
      await f.poll();
      chain.mine("0xc1");
      await f.poll();
      chain.headBehind = 2;
      const r = await f.poll();
      expect(r.status).to.equal("behind");
      expect(r.reorg).to.equal(undefined);
      expect(r.processedTo).to.equal(3n);
      expect(await f.state()).to.deep.equal(["0xa1", "0xb1", "0xc1"]);
      chain.headBehind = 0;
      expect((await f.poll()).status).to.equal("followed");
      expect(reorgs).to.have.length(0);
    });

    it("a lagging node's missing logs are picked up when the last blocks are asked again, once each", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1");
      const { f } = follower(chain, { reaskBlocks: 3 });
      await f.poll();
      chain.mine("0xb1");
      chain.logsBehind = 1; // the node answering eth_getLogs has not seen block 2 yet
      await f.poll();
      expect(await f.state()).to.deep.equal(["0xa1"]);
      chain.logsBehind = 0;
      chain.mine("0xc1");
      await f.poll();
      chain.mine();
      await f.poll();
      expect(await f.state()).to.deep.equal(["0xa1", "0xb1", "0xc1"]);
    });

    it("without re-asking, a lagging node's missing logs are skipped (why reaskBlocks exists)", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1");
      const { f } = follower(chain);
      await f.poll();
      chain.mine("0xb1");
      chain.logsBehind = 1;
      await f.poll();
      chain.logsBehind = 0;
      chain.mine("0xc1");
      await f.poll();
      expect(await f.state()).to.deep.equal(["0xa1", "0xc1"]);
    });

    it("stops, as behind, when the node has not got a block its head implied", async function () {
      const chain = new FakeSource();
      chain.mine("0xa1");
      chain.mine("0xb1");
      const { f } = follower(chain, { pageSize: 1n });
      const real = chain.block.bind(chain);
      chain.block = async (n) => (n === 2n ? undefined : real(n));
      const r = await f.poll({ head: { ...(await real(2n))!, number: 3n, hash: `0x${"33".repeat(32)}` } });
      expect(r.status).to.equal("behind");
      expect(r.processedTo).to.equal(1n);
    });

    it("splits a range the node refuses and delivers every log", async function () {
      const chain = new FakeSource();
      for (let i = 1; i <= 20; i++) chain.mine(`0x${i.toString(16).padStart(2, "0")}`);
      chain.maxRange = 3;
      const { f } = follower(chain, { pageSize: 16n });
      await f.poll();
      expect(await f.state()).to.deep.equal(chain.markers());
      // 16 refused, 8 refused, 4 refused, then pages of 2.
      expect(chain.calls.filter((c) => c.startsWith("logs")).slice(0, 5)).to.deep.equal([
        "logs 1-16",
        "logs 1-8",
        "logs 1-4",
        "logs 1-2",
        "logs 3-4",
      ]);
    });
  });

  describe("getLogsPaged", function () {
    it("pages a long range, keeps the smaller page after a refusal, and throws when one block is refused", async function () {
      const chain = new FakeSource();
      for (let i = 1; i <= 10; i++) chain.mine(`0x${i.toString(16).padStart(2, "0")}`);
      const range = { fromBlock: 1n, toBlock: 10n, addresses: [A] };
      const all = (logs: Log[]) => logs.map((l) => l.data);
      expect(all(await getLogsPaged(chain, range, { pageSize: 4n }))).to.deep.equal(chain.markers());
      expect(chain.calls).to.deep.equal(["logs 1-4", "logs 5-8", "logs 9-10"]);
      chain.calls = [];
      chain.maxRange = 2;
      expect(all(await getLogsPaged(chain, range, { pageSize: 5n }))).to.deep.equal(chain.markers());
      expect(chain.calls).to.deep.equal(["logs 1-5", "logs 1-2", "logs 3-4", "logs 5-6", "logs 7-8", "logs 9-10"]);
      chain.maxRange = 0;
      expect(await rejection(getLogsPaged(chain, range, { pageSize: 4n })))
        .to.be.instanceOf(Error)
        .with.property("message", "query returned more than 10000 results");
    });
  });

  describe("finality", function () {
    it("finalizes checkpoints deep enough, lets the store forget older ones, and cannot undo a final block", async function () {
      const chain = new FakeSource();
      for (let i = 1; i <= 6; i++) chain.mine(`0x0${i}`);
      const { f, store, finalized } = follower(chain, { pageSize: 1n, finalityBlocks: 2 });
      await f.poll();
      expect(finalized.map((c) => c.block)).to.deep.equal([4n]);
      expect(store.recent().map((c) => c.block)).to.deep.equal([6n, 5n, 4n]);
      chain.mine("0x07");
      await f.poll();
      expect(finalized.map((c) => c.block)).to.deep.equal([4n, 5n]);
      chain.reorg(3);
      chain.mine("0xff");
      expect(await rejection(f.poll())).to.be.instanceOf(ReorgTooDeepError);
    });
  });
});
