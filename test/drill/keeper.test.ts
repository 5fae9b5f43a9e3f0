// The drill keeper's decision to act on a stage, fed what it reads of the stage over (simulated) time: it waits for a
// cohort's stragglers while they still arrive, and longer on a machine whose start-up was measured slow.
import { expect } from "chai";
import { FIXED_PATIENCE, StageWatch, patienceFor, type StageFacts } from "../../scripts/drill/rollout";

const COHORT = 1_000n;

/** A stage of 1,000 stake needing 80% ready and healthy, before (activatedAt 0) or after activation. */
function stage(o: Partial<StageFacts> = {}): StageFacts {
  return {
    activatedAt: 0,
    readyStake: 0n,
    readyNeeded: 800n,
    cohortStake: COHORT,
    attestedStake: 0n,
    healthyStake: 0n,
    healthyNeeded: 800n,
    unhealthyStake: 0n,
    unhealthyLimit: 340n,
    ...o,
  };
}

/** Feeds `watch` the stage as it reads at each look (a look every 250 ms, as the keeper's); returns when it was due. */
function firstDue(
  watch: StageWatch,
  timeline: { at: number; s: StageFacts; leased?: bigint }[],
  untilMs: number,
): number | undefined {
  for (let now = 0; now <= untilMs; now += 250) {
    const current = [...timeline].reverse().find((t) => t.at <= now)!;
    if (watch.due(0, current.s, current.leased ?? 0n, now)) return now;
  }
  return undefined;
}

describe("drill keeper: patience with a stage's stragglers", function () {
  describe("before activation", function () {
    it("activates at once when the whole cohort is ready", function () {
      expect(firstDue(new StageWatch(FIXED_PATIENCE), [{ at: 0, s: stage({ readyStake: COHORT }) }], 1_000)).to.equal(
        0,
      );
    });

    it("waits while Ready attestations still arrive, past the threshold and past the grace counted from it", function () {
      // Threshold met at 0 s, then a straggler every 6 s up to 97.7%: a loaded machine's 300-validator drill.
      const timeline = [
        { at: 0, s: stage({ readyStake: 800n }) },
        { at: 6_000, s: stage({ readyStake: 900n }) },
        { at: 12_000, s: stage({ readyStake: 977n }) },
        { at: 18_000, s: stage({ readyStake: COHORT }) },
      ];
      expect(firstDue(new StageWatch(FIXED_PATIENCE), timeline, 40_000)).to.equal(18_000);
    });

    it("goes on without a straggler only once readiness stood still for the whole grace", function () {
      const timeline = [
        { at: 0, s: stage({ readyStake: 800n }) },
        { at: 6_000, s: stage({ readyStake: 977n }) },
      ];
      expect(firstDue(new StageWatch(FIXED_PATIENCE), timeline, 40_000)).to.equal(6_000 + FIXED_PATIENCE.readyGraceMs);
    });

    it("never below the readiness threshold", function () {
      expect(firstDue(new StageWatch(FIXED_PATIENCE), [{ at: 0, s: stage({ readyStake: 799n }) }], 120_000)).to.equal(
        undefined,
      );
    });

    it("waits longer on a machine whose start-up was measured slow", function () {
      const slow = patienceFor({ drillStartupMs: 12_000, fleetStartupMs: 50_000 });
      expect(slow.readyGraceMs).to.equal(50_000);
      const timeline = [{ at: 0, s: stage({ readyStake: 977n }) }];
      expect(firstDue(new StageWatch(slow), timeline, 45_000)).to.equal(undefined);
      expect(firstDue(new StageWatch(slow), timeline, 60_000)).to.equal(50_000);
    });
  });

  describe("after activation", function () {
    const active = (attested: bigint, healthy = attested) =>
      stage({ activatedAt: 1, readyStake: COHORT, attestedStake: attested, healthyStake: healthy });

    it("verifies two seconds after every validator reported healthy", function () {
      expect(firstDue(new StageWatch(FIXED_PATIENCE), [{ at: 0, s: active(COHORT) }], 10_000)).to.equal(2_000);
    });

    it("waits while reports still arrive, and while a validator restarts under a lease", function () {
      const timeline = [
        { at: 0, s: active(850n) },
        { at: 20_000, s: active(900n), leased: 50n },
        { at: 45_000, s: active(900n) },
        { at: 70_000, s: active(977n) },
      ];
      // Quiet from 70 s on, the last straggler never reports: the keeper goes on 30 s later, not 30 s after 0.
      expect(firstDue(new StageWatch(FIXED_PATIENCE), timeline, 120_000)).to.equal(70_000 + 30_000);
    });

    it("watches health as long as a watcher takes to find a node gone bad after its Healthy", function () {
      // The watchers allow 8 s without a new block (a busy machine's) and re-attest every second.
      const patience = patienceFor({
        drillStartupMs: 1_000,
        fleetStartupMs: 2_000,
        health: { unhealthyAfterMs: 8_000, reattestIntervalMs: 1_000 },
      });
      expect(firstDue(new StageWatch(patience), [{ at: 0, s: active(COHORT) }], 30_000)).to.equal(9_000);
    });

    it("gives reports as long as the fleet took to start, when that was longer", function () {
      const slow = patienceFor({ drillStartupMs: 5_000, fleetStartupMs: 80_000 });
      const timeline = [{ at: 0, s: active(977n) }];
      expect(firstDue(new StageWatch(slow), timeline, 120_000)).to.equal(80_000);
    });
  });

  it("keeps the least patience on a quick machine", function () {
    expect(patienceFor({ drillStartupMs: 1_000, fleetStartupMs: 2_000 })).to.deep.equal(FIXED_PATIENCE);
  });
});
