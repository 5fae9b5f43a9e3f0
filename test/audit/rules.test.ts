// The contract's rules as lib/history/rules writes them: rounding and the edges of each deadline, as the
// coordinator decides them (ManifestPlanner._share, advance, _activate, pauseForMissingParticipation).
import { expect } from "chai";
import {
  MAX_UINT96,
  attestationDeadlineAt,
  automaticStop,
  deadlinePassed,
  notBefore,
  observationEndsAt,
  observationOver,
  share,
  stageThresholds,
  timelockOver,
} from "../../lib/history/rules";

describe("audit: the contract's rules", function () {
  it("rounds a share up, as ManifestPlanner._share: 66.99% never meets 67%", function () {
    expect(share(100n, 6700)).to.equal(67n);
    expect(share(101n, 6700)).to.equal(68n); // 67.67 rounds up
    expect(share(3n, 1)).to.equal(1n);
    expect(share(0n, 6700)).to.equal(0n);
    expect(share(10n ** 24n, 10_000)).to.equal(10n ** 24n);
  });

  it("stores no rollback limit (uint96 max) when rollbackBps is 0", function () {
    const rules = { readinessBps: 5000, healthyBps: 6700, unhealthyBps: 2000, rollbackBps: 0 };
    expect(stageThresholds(1000n, rules)).to.deep.equal({
      readyNeeded: 500n,
      healthyNeeded: 670n,
      unhealthyLimit: 200n,
      rollbackLimit: MAX_UINT96,
    });
    expect(stageThresholds(1000n, { ...rules, rollbackBps: 3333 }).rollbackLimit).to.equal(334n);
  });

  it("ends the time lock and the observation window at their second, the deadline only after it", function () {
    expect(notBefore(undefined, 60)).to.equal(undefined);
    expect(notBefore(100n, 60)).to.equal(160n);
    expect(timelockOver(159n, 160n)).to.equal(false);
    expect(timelockOver(160n, 160n)).to.equal(true);
    expect(observationEndsAt(100n, 30)).to.equal(130n);
    expect(observationOver(130n, 130n)).to.equal(true);
    expect(deadlinePassed(130n, 130n)).to.equal(false);
    expect(deadlinePassed(131n, 130n)).to.equal(true);
  });

  it("counts the attestation deadline from the later of activation and the last resume", function () {
    expect(attestationDeadlineAt(100n, 0n, 50)).to.equal(150n);
    expect(attestationDeadlineAt(100n, 120n, 50)).to.equal(170n);
  });

  it("orders a rollback before a pause, and no second pause while paused", function () {
    const limits = { unhealthyLimit: 200n, rollbackLimit: 400n };
    expect(automaticStop(199n, limits, false)).to.equal(undefined);
    expect(automaticStop(200n, limits, false)).to.equal("pause");
    expect(automaticStop(200n, limits, true)).to.equal(undefined);
    expect(automaticStop(400n, limits, true)).to.equal("rollback");
  });
});
