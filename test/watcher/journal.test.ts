import { expect } from "chai";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteJournal, stepKey } from "../../watcher/src/journal/sqlite";
import { emptyState, Effect } from "../../watcher/src/machine/types";

const file = () => join(mkdtempSync(join(tmpdir(), "lockstep-journal-")), "journal.sqlite");
const hash = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as const;
/** The checkpoint of block `n`, linked to block n - 1. */
const at = (n: number) => ({ block: BigInt(n), hash: hash(n), parentHash: hash(n - 1), state: emptyState() });

describe("sqlite journal", function () {
  it("keeps checkpoints and steps across a reopen (as after a crash)", function () {
    const path = file();
    const first = new SqliteJournal(path);
    first.commit(at(5));
    const effect: Effect = { kind: "prepare", upgradeId: 1, step: 1 };
    first.enqueue([effect]);
    first.markStarted(stepKey(effect));
    first.close();

    const reopened = new SqliteJournal(path);
    expect(reopened.latest()).to.deep.equal({ block: 5n, hash: hash(5), parentHash: hash(4), state: emptyState() });
    expect(reopened.pending()).to.deep.equal([
      { key: "e0:1:1:prepare", effect, status: "started", attempts: 1, result: undefined, error: undefined },
    ]);
    reopened.close();
  });

  it("queues an effect once however often it is asked", function () {
    const j = new SqliteJournal(file());
    const effect: Effect = { kind: "attest", upgradeId: 2, stage: 0, status: "Ready", step: 2 };
    j.enqueue([effect]);
    j.markStarted(stepKey(effect));
    j.markDone(stepKey(effect), "tx");
    j.enqueue([effect]);
    expect(j.all().map((s) => [s.key, s.status])).to.deep.equal([["e0:2:2:attest:Ready", "done"]]);
    expect(j.pending()).to.deep.equal([]);
  });

  it("rewinds checkpoints, keeps only the newest ones, and re-keys effects derived after a rewind", function () {
    const j = new SqliteJournal(file(), 3);
    for (let b = 1; b <= 5; b++) j.commit(at(b));
    expect(j.recent().map((c) => c.block)).to.deep.equal([5n, 4n, 3n]);
    const effect: Effect = { kind: "upgrade", upgradeId: 1, step: 3 };
    j.enqueue([effect]);
    j.rewindTo(3n);
    expect(j.latest()!.block).to.equal(3n);
    expect(j.all().map((s) => [s.key, s.status])).to.deep.equal([["e0:1:3:upgrade", "cancelled"]]);
    j.enqueue([effect]);
    expect(j.pending().map((s) => s.key)).to.deep.equal(["e1:1:3:upgrade"]);
  });

  it("refuses to serve another chain, coordinator or operator than the one it was made for", function () {
    const j = new SqliteJournal(file());
    j.bind({ chainId: "31337", coordinator: "0xabc" });
    j.bind({ chainId: "31337", coordinator: "0xabc" });
    expect(() => j.bind({ chainId: "1", coordinator: "0xabc" })).to.throw(
      "the journal belongs to chainId 31337, not 1",
    );
  });

  it("queues the effects committed with a checkpoint in the same transaction", function () {
    const j = new SqliteJournal(file());
    const effect: Effect = { kind: "prepare", upgradeId: 3, step: 1 };
    j.commit(at(7), { state: emptyState(), effects: [effect] });
    expect(j.latest()!.block).to.equal(7n);
    expect(j.pending().map((s) => s.key)).to.deep.equal(["e0:3:1:prepare"]);
  });
});
