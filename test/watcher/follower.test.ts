// The watcher's follower: lib/sync (tested on its own in test/sync) over the ChainReader port, with the SQLite
// journal as its checkpoint store. What is watcher-specific: the journal keeps the cursor, the state and the steps a
// page asked for together, across restarts and reorgs.
import { expect } from "chai";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Log } from "viem";
import { watcherFollower } from "../../watcher/src/follow";
import { SqliteJournal } from "../../watcher/src/journal/sqlite";
import type { Effect, WatcherState } from "../../watcher/src/machine/types";
import type { PageOutcome } from "../../watcher/src/ports";
import { FakeChain } from "../fakes/chain";

/** The state keeps every log marker seen; each marker asks one step (its upgrade id is the marker's value). */
type Seen = WatcherState & { seen: string[] };

async function fold(state: WatcherState, logs: Log[]): Promise<PageOutcome> {
  const markers = logs.map((l) => l.data as string);
  const effects: Effect[] = markers.map((m) => ({ kind: "prepare", upgradeId: Number(m), step: 1 }));
  return { state: { ...state, seen: [...((state as Seen).seen ?? []), ...markers] } as Seen, effects };
}

function follower(chain: FakeChain, journal: SqliteJournal, page = fold) {
  return watcherFollower({
    chain,
    journal,
    coordinator: "0x0000000000000000000000000000000000000001",
    startBlock: 1n,
    confirmations: 0,
    pageSize: 2,
    initial: () => ({ jobs: {}, seen: [] }) as Seen,
    page,
    reorged: () => undefined,
  });
}

const file = () => join(mkdtempSync(join(tmpdir(), "lockstep-follower-")), "journal.sqlite");
const seen = (j: SqliteJournal) => (j.latest()!.state as Seen).seen;
const steps = (j: SqliteJournal) => j.all().map((s) => [s.key, s.status]);

describe("watcher follower (lib/sync over the SQLite journal)", function () {
  it("resumes from the journal file after a restart without missing or repeating a log or a step", async function () {
    const chain = new FakeChain();
    chain.mine("0xa1");
    const path = file();
    const first = new SqliteJournal(path);
    await follower(chain, first).poll();
    first.close();
    chain.mine("0xb1");
    chain.mine("0xc1");
    const reopened = new SqliteJournal(path);
    await follower(chain, reopened).poll();
    expect(seen(reopened)).to.deep.equal(["0xa1", "0xb1", "0xc1"]);
    expect(steps(reopened)).to.deep.equal([
      ["e0:161:1:prepare", "queued"],
      ["e0:177:1:prepare", "queued"],
      ["e0:193:1:prepare", "queued"],
    ]);
    reopened.close();
  });

  it("after a reorg, drops the state and cancels the queued steps of orphaned blocks, then follows the new chain", async function () {
    const chain = new FakeChain();
    chain.mine("0xa1");
    chain.mine("0xb1");
    const j = new SqliteJournal(file());
    await follower(chain, j).poll();
    chain.reorg(1);
    chain.mine("0xd1");
    chain.mine();
    const result = await follower(chain, j).poll();
    expect(result.rewoundTo).to.equal(0n);
    expect(seen(j)).to.deep.equal(["0xa1", "0xd1"]);
    expect(j.epoch()).to.equal(1);
    expect(steps(j)).to.deep.equal([
      ["e0:161:1:prepare", "cancelled"],
      ["e0:177:1:prepare", "cancelled"],
      ["e1:161:1:prepare", "queued"],
      ["e1:209:1:prepare", "queued"],
    ]);
  });

  it("keeps nothing of a page whose handler failed: no cursor move, no step", async function () {
    const chain = new FakeChain();
    chain.mine("0xa1");
    const j = new SqliteJournal(file());
    await follower(chain, j).poll();
    chain.mine("0xb1");
    const failing = async (): Promise<PageOutcome> => {
      throw new Error("handler failed");
    };
    let error: unknown;
    await follower(chain, j, failing)
      .poll()
      .catch((e: unknown) => (error = e));
    expect((error as Error).message).to.equal("handler failed");
    expect(j.latest()!.block).to.equal(1n);
    expect(steps(j)).to.deep.equal([["e0:161:1:prepare", "queued"]]);
  });
});
