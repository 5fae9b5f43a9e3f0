// The exporter's lease replay: which leases count at a given chain time, from the Lease* events alone.
import { expect } from "chai";
import type { CoordinatorEvent } from "../../lib/events";
import { leaseBook } from "../../monitoring/exporter/coordinator";

const A = "0x00000000000000000000000000000000000000aA";
const B = "0x00000000000000000000000000000000000000bB";
let logIndex = 0;
const event = (eventName: string, args: Record<string, unknown>) =>
  ({ eventName, args, blockNumber: 1n, logIndex: logIndex++ }) as unknown as CoordinatorEvent;

describe("exporter: restart leases", function () {
  const opened = (upgradeId: bigint) => event("LeaseBudgetOpened", { upgradeId, budget: 300n, duration: 60 });
  const granted = (upgradeId: bigint, attester: string, weight: bigint, expiresAt: bigint, inUse: bigint) =>
    event("LeaseGranted", { upgradeId, attester, weight, expiresAt, inUse });

  it("counts granted leases until released or past their expiry", function () {
    const events = [
      opened(1n),
      granted(1n, A, 100n, 1_100n, 100n),
      granted(1n, B, 200n, 1_150n, 300n),
      event("LeaseReleased", { upgradeId: 1n, attester: A, operator: A, weight: 100n, inUse: 200n }),
    ];
    const now = leaseBook(events, 1_120n)!;
    expect([now.upgradeId, now.budget, now.durationSeconds, now.granted, now.released]).to.deep.equal([
      1n,
      300n,
      60,
      2,
      1,
    ]);
    expect([...now.held.entries()]).to.deep.equal([[B.toLowerCase(), { weight: 200n, expiresAt: 1_150n }]]);
    // At its expiry B's lease no longer counts, though no LeasesExpired reported it yet.
    const later = leaseBook(events, 1_150n)!;
    expect(later.held.size).to.equal(0);
    expect(later.reportedInUse).to.equal(200n);
  });

  it("keeps only the live budget: scheduling the next upgrade closes the previous one", function () {
    const events = [opened(1n), granted(1n, A, 100n, 5_000n, 100n), opened(2n), granted(1n, B, 100n, 5_000n, 100n)];
    const book = leaseBook(events, 1_000n)!;
    expect(book.upgradeId).to.equal(2n);
    expect(book.held.size).to.equal(0);
    expect(leaseBook([], 0n)).to.equal(undefined);
  });
});
