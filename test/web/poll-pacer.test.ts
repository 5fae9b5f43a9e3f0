// The dashboard's pacing with an upgrade in flight: it asks for a new head around when one can come, holds to a
// budget of calls a minute, and still polls every poll on a chain that mines on demand.
import { expect } from "chai";
import { PollPacer } from "../../web/src/poll";

/** Drives a pacer against a chain that makes a block every `blockMs`, for `minutes`; each refresh costs one call
 * for the head plus `perBlock` when it finds a new block. Returns the calls made a minute and the worst delay between a
 * block and the refresh that saw it. */
function simulate(o: { pollMs: number; blockMs: number; perBlock: number; minutes: number; jitterMs?: number }) {
  const pacer = new PollPacer(o.pollMs);
  let now = 0;
  let calls = 0;
  let worstLag = 0;
  const blockAt = (n: number) => n * o.blockMs + (o.jitterMs ? (n * 7919) % o.jitterMs : 0);
  const headAt = (t: number) => {
    let n = Math.floor(t / o.blockMs);
    while (n > 0 && blockAt(n) > t) n--;
    return n;
  };
  // The first load, not counted.
  let shown = headAt(now);
  pacer.sawHead(BigInt(shown), BigInt(Math.floor(blockAt(shown) / 1000)), now);
  const end = o.minutes * 60_000;
  while (now < end) {
    now += pacer.delay(true, false, now);
    const head = headAt(now);
    const cost = 1 + (head !== shown ? o.perBlock : 0);
    if (head !== shown) worstLag = Math.max(worstLag, now - blockAt(head));
    shown = head;
    calls += cost;
    pacer.spent(cost, now);
    pacer.sawHead(BigInt(head), BigInt(Math.floor(blockAt(head) / 1000)), now);
  }
  return { perMinute: calls / o.minutes, worstLag };
}

describe("dashboard pacing with an upgrade in flight", function () {
  it("asks for the head a few times a block, not every poll, on a chain with 12 s blocks", function () {
    const r = simulate({ pollMs: 1000, blockMs: 12_000, perBlock: 4, minutes: 10 });
    // Was 60 head checks a minute plus the block's reads: 82 measured.
    expect(r.perMinute).to.be.at.most(40);
    expect(r.worstLag, "a new block is seen within about two polls").to.be.at.most(2_000);
  });

  it("copes with late blocks (missed slots) without polling every poll for long", function () {
    const r = simulate({ pollMs: 1000, blockMs: 12_000, perBlock: 4, minutes: 10, jitterMs: 3_000 });
    expect(r.perMinute).to.be.at.most(60);
  });

  it("holds to about 60 calls a minute at 1 s when every block costs many reads", function () {
    // Unpaced, 2 s blocks of 11 calls each would cost over 330 calls a minute. The budget stretches the polls, but
    // never past ten polls (10 s): about six refreshes a minute, so a little over 60.
    const r = simulate({ pollMs: 1000, blockMs: 2_000, perBlock: 10, minutes: 10 });
    expect(r.perMinute).to.be.at.most(75);
    expect(r.worstLag, "the page still looks every ten polls").to.be.at.most(12_000);
  });

  it("polls every poll on a chain that mines on demand (irregular blocks)", function () {
    const pacer = new PollPacer(250);
    const times = [100, 101, 101, 105, 106, 140, 141];
    times.forEach((t, i) => pacer.sawHead(BigInt(i + 1), BigInt(t), i * 1000));
    expect(pacer.blockTime()).to.equal(undefined);
    expect(pacer.delay(true, false, 7_000)).to.equal(250);
  });

  it("never waits more than half a minute for a block, however slow the chain", function () {
    const pacer = new PollPacer(1000);
    for (let i = 0; i < 5; i++) pacer.sawHead(BigInt(i), BigInt(i * 3600), i);
    expect(pacer.delay(true, false, 5)).to.be.at.most(30_000);
  });

  it("keeps the idle and hidden delays, and does not count the first load", function () {
    const pacer = new PollPacer(1000);
    expect(pacer.delay(false, false, 0)).to.equal(5000);
    expect(pacer.delay(true, true, 0)).to.equal(10_000);
    expect(pacer.lastMinute(0)).to.equal(0);
    pacer.spent(30, 0);
    pacer.spent(40, 1000);
    expect(pacer.lastMinute(1000)).to.equal(70);
    // Over the budget: the next refresh waits until enough calls are a minute old, at most ten polls.
    expect(pacer.delay(true, false, 2000)).to.equal(10_000);
    expect(pacer.lastMinute(61_000)).to.equal(0);
  });
});
