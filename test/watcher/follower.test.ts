import { expect } from "chai";
import type { Log } from "viem";
import { Follower, MemoryCheckpointStore, ReorgTooDeepError } from "../../watcher/src/sync/follower";
import { FakeChain } from "../fakes/chain";

/** A page handler whose state is every marker seen, and which asks one effect per marker. */
async function seen(state: string[], logs: Log[]) {
  const markers = logs.map((l) => l.data as string);
  return { state: [...state, ...markers], effects: markers.map((m) => `effect ${m}`) };
}

/** A follower whose state is the list of log markers it has seen. */
function follower(chain: FakeChain, over: { confirmations?: number; pageSize?: number; keep?: number } = {}) {
  const store = new MemoryCheckpointStore<string[], string>(over.keep ?? 256);
  const f = new Follower<string[], string>(
    chain,
    store,
    { confirmations: over.confirmations ?? 0, pageSize: over.pageSize ?? 100, startBlock: 1n },
    () => [],
    seen,
  );
  return { f, store };
}

describe("event follower", function () {
  it("processes every log once, in order, across pages and polls", async function () {
    const chain = new FakeChain();
    chain.mine("0xa1");
    chain.mine();
    chain.mine("0xb1", "0xb2");
    const { f } = follower(chain, { pageSize: 2 });
    await f.poll();
    chain.mine("0xc1");
    await f.poll();
    await f.poll();
    expect(f.state()).to.deep.equal(["0xa1", "0xb1", "0xb2", "0xc1"]);
    expect(chain.calls.filter((c) => c.startsWith("logs"))).to.deep.equal(["logs 1-2", "logs 3-3", "logs 4-4"]);
  });

  it("acts only on blocks buried under the configured confirmations", async function () {
    const chain = new FakeChain();
    chain.mine("0xa1");
    chain.mine("0xb1");
    const { f } = follower(chain, { confirmations: 1 });
    expect((await f.poll()).processedTo).to.equal(1n);
    expect(f.state()).to.deep.equal(["0xa1"]);
    chain.mine();
    await f.poll();
    expect(f.state()).to.deep.equal(["0xa1", "0xb1"]);
  });

  it("resumes after a restart from its checkpoints without missing or repeating a log", async function () {
    const chain = new FakeChain();
    chain.mine("0xa1");
    const { f, store } = follower(chain);
    await f.poll();
    chain.mine("0xb1");
    chain.mine("0xc1");
    // A new follower over the same store (as after a restart) picks up where the first stopped.
    const restarted = new Follower<string[], string>(
      chain,
      store,
      { confirmations: 0, pageSize: 100, startBlock: 1n },
      () => [],
      seen,
    );
    await restarted.poll();
    expect(restarted.state()).to.deep.equal(["0xa1", "0xb1", "0xc1"]);
  });

  it("undoes what it derived from orphaned logs after a reorg and follows the new chain", async function () {
    const chain = new FakeChain();
    chain.mine("0xa1");
    chain.mine("0xb1");
    chain.mine("0xc1");
    const { f } = follower(chain, { pageSize: 1 });
    await f.poll();
    expect(f.state()).to.deep.equal(["0xa1", "0xb1", "0xc1"]);
    chain.reorg(2);
    chain.mine("0xd1");
    chain.mine();
    chain.mine("0xe1");
    const result = await f.poll();
    expect(result.rewoundTo).to.equal(1n);
    expect(f.state()).to.deep.equal(["0xa1", "0xd1", "0xe1"]);
  });

  it("rewinds to the start when even the first processed block was orphaned", async function () {
    const chain = new FakeChain();
    chain.mine("0xa1");
    const { f } = follower(chain);
    await f.poll();
    chain.reorg(1);
    chain.mine("0xa2");
    await f.poll();
    expect(f.state()).to.deep.equal(["0xa2"]);
  });

  it("refuses to guess when a reorg goes deeper than its checkpoint history", async function () {
    const chain = new FakeChain();
    for (let i = 0; i < 5; i++) chain.mine(`0x0${i}`);
    const { f } = follower(chain, { pageSize: 1, keep: 2 });
    await f.poll();
    chain.reorg(4);
    chain.mine("0xff");
    let error: unknown;
    try {
      await f.poll();
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ReorgTooDeepError);
  });

  it("commits the effects a page's handler returns together with its checkpoint, and nothing of a failed page", async function () {
    const chain = new FakeChain();
    chain.mine("0xa1");
    chain.mine("0xb1");
    const store = new MemoryCheckpointStore<string[], string>();
    let fail = false;
    const f = new Follower<string[], string>(
      chain,
      store,
      { confirmations: 0, pageSize: 1, startBlock: 1n },
      () => [],
      async (state, logs) => {
        if (fail && logs.length) throw new Error("handler failed");
        return seen(state, logs);
      },
    );
    await f.poll();
    expect(store.effects).to.deep.equal(["effect 0xa1", "effect 0xb1"]);
    chain.mine("0xc1");
    fail = true;
    let error: unknown;
    await f.poll().catch((e) => (error = e));
    expect((error as Error).message).to.equal("handler failed");
    expect(store.latest()!.block).to.equal(2n);
    expect(store.effects).to.deep.equal(["effect 0xa1", "effect 0xb1"]);
  });
});
