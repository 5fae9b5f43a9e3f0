// The audit's restart-budget check over hand-made event streams: the leases are replayed (grants minus releases
// minus expiries), each event's reported figure is compared with the replay, and neither may pass the budget.
import { expect } from "chai";
import type { CoordinatorEvent } from "../../lib/events";
import { DEFAULT_STAGE_RULES } from "../../lib/manifest";
import { auditChecks, foldAll } from "../../lib/history";

const A = "0x00000000000000000000000000000000000000a1";
const B = "0x00000000000000000000000000000000000000b2";
const OPERATOR = "0x00000000000000000000000000000000000000c3";
const ID = 1n;

let logIndex = 0;
/** An event in its own transaction at `block` (time = block x 10 s). */
function event(block: number, eventName: string, args: Record<string, unknown>): CoordinatorEvent {
  const tx = `0x${block.toString(16).padStart(4, "0")}${(logIndex + 1).toString(16).padStart(60, "0")}`;
  return {
    eventName,
    args,
    blockNumber: BigInt(block),
    blockHash: `0x${"1".repeat(64)}`,
    transactionHash: tx,
    logIndex: logIndex++,
  } as unknown as CoordinatorEvent;
}

function scheduled(): CoordinatorEvent {
  const stage = { ...DEFAULT_STAGE_RULES, cohort: 1 };
  return event(10, "UpgradeScheduled", {
    upgradeId: ID,
    nameHash: `0x${"2".repeat(64)}`,
    manifest: {
      name: "leases",
      version: "v2.0.0",
      previousVersion: "v1.0.0",
      artifacts: [{ platform: "linux-amd64", uri: "https://example.org/a", sha256Digest: `0x${"3".repeat(64)}` }],
      featureFlags: [],
      metadataURI: "",
      manifestHash: `0x${"4".repeat(64)}`,
      stateIncompatible: false,
      stages: [stage],
    },
    snapshot: 9n,
    cohortStakes: [300n],
  });
}

const opened = (budget: bigint) => event(10, "LeaseBudgetOpened", { upgradeId: ID, budget, duration: 600 });
const granted = (block: number, attester: string, weight: bigint, inUse: bigint) =>
  event(block, "LeaseGranted", { upgradeId: ID, attester, weight, expiresAt: 1_000_000n, inUse });
const released = (block: number, attester: string, weight: bigint, inUse: bigint) =>
  event(block, "LeaseReleased", { upgradeId: ID, attester, operator: OPERATOR, weight, inUse });
const expired = (block: number, stake: bigint, inUse: bigint) =>
  event(block, "LeasesExpired", { upgradeId: ID, stake, inUse });

function budgetChecks(events: CoordinatorEvent[]) {
  const state = foldAll(events);
  return { state, checks: auditChecks(state).filter((c) => c.kind === "restart-budget") };
}

describe("audit: restart leases", function () {
  it("passes a stream that fills the budget exactly and never more, and reports the peak", function () {
    const { state, checks } = budgetChecks([
      scheduled(),
      opened(100n),
      granted(11, A, 60n, 60n),
      granted(12, B, 40n, 100n),
      released(13, A, 60n, 40n),
      granted(14, A, 60n, 100n),
      expired(20, 100n, 0n),
    ]);
    expect(checks.filter((c) => !c.ok).map((c) => c.detail)).to.deep.equal([]);
    expect(checks).to.have.length(1);
    expect(checks[0].detail).to.match(/^leased stake peaked at 100 of the budget 100 wei; 3 lease\(s\) granted, 1 /);
    expect(checks[0].block).to.equal(12n); // where the peak was first reached
    const l = state.history.upgrades[0].leases!;
    expect([l.inUse, l.peak, l.expiredStake]).to.deep.equal([0n, 100n, 100n]);
  });

  it("fails a stream in which the leased stake passed the budget, at the event that passed it", function () {
    const { checks } = budgetChecks([
      scheduled(),
      opened(100n),
      granted(11, A, 60n, 60n),
      granted(12, B, 60n, 120n),
      released(13, A, 60n, 60n),
    ]);
    const failed = checks.filter((c) => !c.ok);
    expect(failed.map((c) => c.block)).to.deep.equal([12n]);
    expect(failed[0].detail).to.equal(`LeaseGranted ${B}: 120 wei leased exceeds the restart budget of 100`);
    expect(checks.some((c) => c.ok)).to.equal(false); // no pass line for that upgrade
  });

  it("fails an event whose reported figure hides leased stake: the replay passes the budget", function () {
    const { checks } = budgetChecks([
      scheduled(),
      opened(100n),
      granted(11, A, 60n, 60n),
      granted(12, B, 60n, 60n), // reports 60 where 120 is leased
    ]);
    const failed = checks.filter((c) => !c.ok);
    expect(failed).to.have.length(1);
    expect(failed[0].detail).to.contain(
      "the event reports 60 wei leased, grants minus releases minus expiries give 120",
    );
    expect(failed[0].detail).to.contain("120 wei leased exceeds the restart budget of 100");
  });

  it("fails a lease of an upgrade that opened no budget", function () {
    const { checks } = budgetChecks([scheduled(), granted(11, A, 60n, 60n)]);
    expect(checks.map((c) => [c.ok, c.detail])).to.deep.equal([
      [false, `LeaseGranted ${A}: the upgrade opened no restart budget (no LeaseBudgetOpened)`],
    ]);
  });
});
