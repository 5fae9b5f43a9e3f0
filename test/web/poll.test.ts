// How often the dashboard asks the node for news: every poll while something moves, far less when nothing does.
import { expect } from "chai";
import { pollDelay } from "../../web/src/poll";

describe("dashboard polling", function () {
  it("polls every poll-ms while an upgrade or a transaction is in flight", function () {
    expect(pollDelay(1000, true, false)).to.equal(1000);
  });

  it("polls five times less often when nothing is in flight: at most 12 head checks a minute at 1 s", function () {
    expect(pollDelay(1000, false, false)).to.equal(5000);
    expect(60_000 / pollDelay(1000, false, false)).to.be.at.most(60);
  });

  it("backs off ten times further while the tab is hidden, to at most a minute", function () {
    expect(pollDelay(1000, true, true)).to.equal(10_000);
    expect(pollDelay(1000, false, true)).to.equal(50_000);
    expect(pollDelay(30_000, false, true)).to.equal(150_000);
    expect(pollDelay(250, false, true)).to.equal(12_500);
  });
});
