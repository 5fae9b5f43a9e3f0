import { expect } from "chai";
import { judgeHealth, roundIntervalMs } from "../../watcher/src/machine/health";
import { reduce, reduceAll } from "../../watcher/src/machine/reduce";
import { stepVerdict } from "../../watcher/src/machine/steps";
import { emptyState, Effect, JobManifest, MachineEvent, WatcherState } from "../../watcher/src/machine/types";

const manifest = (stateIncompatible = false): JobManifest => ({
  name: "v2",
  version: "v2.0.0",
  previousVersion: "v1.9.3",
  artifact: { platform: "linux-amd64", uri: "https://example.org/node", sha256: "ab".repeat(32) },
  manifestHash: "0x" + "cd".repeat(32),
  stateIncompatible,
});

/** Runs facts through the machine; returns the final state and every effect asked, in order. */
function run(events: MachineEvent[], state: WatcherState = emptyState()) {
  const numbered: Effect[] = [];
  for (const e of events) {
    const t = reduce(state, e);
    state = t.state;
    numbered.push(...t.effects);
  }
  // Most tests read the decisions; step numbers are checked on their own below.
  const effects = numbered.map(({ step: _step, ...body }) => body);
  return { state, effects, numbered, job: state.jobs["1"] };
}

const scheduled = (stage: number | null = 1, m = manifest()): MachineEvent => ({
  type: "Scheduled",
  upgradeId: 1,
  stage,
  manifest: m,
});
const id = { upgradeId: 1 };

describe("watcher state machine", function () {
  it("prepares when its cohort's stage is scheduled, attests Ready, upgrades on activation and attests Healthy", function () {
    const { effects, job } = run([
      scheduled(),
      { type: "Prepared", ...id },
      { type: "StageActivated", ...id, stage: 1 },
      { type: "Upgraded", ...id },
      { type: "Completed", ...id },
    ]);
    expect(effects).to.deep.equal([
      { kind: "prepare", upgradeId: 1 },
      { kind: "attest", upgradeId: 1, stage: 1, status: "Ready" },
      { kind: "upgrade", upgradeId: 1 },
      { kind: "attest", upgradeId: 1, stage: 1, status: "Healthy" },
    ]);
    expect(job.local).to.equal("upgraded");
    expect(job.ended).to.equal("completed");
  });

  it("does nothing for an upgrade in which its cohort has no stage", function () {
    const { effects, state } = run([
      scheduled(null),
      { type: "StageActivated", ...id, stage: 0 },
      { type: "Completed", ...id },
    ]);
    expect(effects).to.deep.equal([]);
    expect(state.jobs).to.deep.equal({});
  });

  it("ignores another cohort's stage activating", function () {
    const { effects } = run([scheduled(2), { type: "Prepared", ...id }, { type: "StageActivated", ...id, stage: 0 }]);
    expect(effects.map((e) => e.kind)).to.deep.equal(["prepare", "attest"]);
  });

  it("never touches the node after a digest mismatch, and attests FailedToUpgrade once its stage activates", function () {
    const { effects, job } = run([
      scheduled(),
      { type: "PrepareFailed", ...id, reason: "digest mismatch" },
      { type: "StageActivated", ...id, stage: 1 },
    ]);
    expect(effects).to.deep.equal([
      { kind: "prepare", upgradeId: 1 },
      { kind: "attest", upgradeId: 1, stage: 1, status: "FailedToUpgrade" },
    ]);
    expect(job.local).to.equal("prepare-failed");
  });

  it("rolls back on its own only a binary that never came up healthy, then attests FailedToUpgrade", function () {
    const { effects, job } = run([
      scheduled(),
      { type: "Prepared", ...id },
      { type: "StageActivated", ...id, stage: 1 },
      { type: "UpgradeFailed", ...id, reason: "never healthy" },
      { type: "Paused", ...id },
      { type: "RolledBackLocally", ...id },
    ]);
    expect(effects.slice(2)).to.deep.equal([
      { kind: "upgrade", upgradeId: 1 },
      { kind: "rollbackLocally", upgradeId: 1 },
      { kind: "attest", upgradeId: 1, stage: 1, status: "FailedToUpgrade" },
    ]);
    expect(job.local).to.equal("failed-upgrade");
  });

  it("re-attests when health changes during the observation window, and never rolls back a healthy node itself", function () {
    const { effects, job } = run([
      scheduled(),
      { type: "Prepared", ...id },
      { type: "StageActivated", ...id, stage: 1 },
      { type: "Upgraded", ...id },
      { type: "HealthObserved", ...id, healthy: true },
      { type: "HealthObserved", ...id, healthy: false },
      { type: "HealthObserved", ...id, healthy: false },
      { type: "HealthObserved", ...id, healthy: true },
    ]);
    expect(effects.filter((e) => e.kind === "attest").map((e) => (e as { status: string }).status)).to.deep.equal([
      "Ready",
      "Healthy",
      "Unhealthy",
      "Healthy",
    ]);
    expect(effects.some((e) => e.kind === "rollbackLocally" || e.kind === "restore")).to.equal(false);
    expect(job.local).to.equal("upgraded");
  });

  it("holds while paused: an activated stage is not upgraded until governance resumes", function () {
    const first = run([
      scheduled(),
      { type: "Prepared", ...id },
      { type: "Paused", ...id },
      { type: "StageActivated", ...id, stage: 1 },
    ]);
    expect(first.effects.map((e) => e.kind)).to.deep.equal(["prepare", "attest"]);
    const resumed = run([{ type: "Resumed", ...id }], first.state);
    expect(resumed.effects).to.deep.equal([{ kind: "upgrade", upgradeId: 1 }]);
  });

  it("weighs facts of one block together: a stage activated and paused in the same block is not upgraded", function () {
    const prepared = run([scheduled(), { type: "Prepared", ...id }]);
    const t = reduceAll(prepared.state, [
      { type: "StageActivated", ...id, stage: 1 },
      { type: "Paused", ...id },
    ]);
    expect(t.effects).to.deep.equal([]);
    expect(reduce(t.state, { type: "Resumed", ...id }).effects.map((e) => e.kind)).to.deep.equal(["upgrade"]);
  });

  it("puts back a queued upgrade that never started when the upgrade ends, then discards its binary", function () {
    const { effects, job } = run([
      scheduled(),
      { type: "Prepared", ...id },
      { type: "StageActivated", ...id, stage: 1 },
      { type: "Withdrawn", ...id },
      { type: "UpgradeNotStarted", ...id },
    ]);
    expect(effects.slice(-1)).to.deep.equal([{ kind: "discard", upgradeId: 1 }]);
    expect(job.local).to.equal("discarding");
  });

  it("after a rollback order, attests RolledBack for an active stage it never swapped in (waiting for a lease)", function () {
    const { effects, job } = run([
      scheduled(),
      { type: "Prepared", ...id },
      { type: "StageActivated", ...id, stage: 1 },
      { type: "RollbackOrdered", ...id },
      { type: "UpgradeNotStarted", ...id },
      { type: "Discarded", ...id },
    ]);
    expect(effects.slice(-2)).to.deep.equal([
      { kind: "discard", upgradeId: 1 },
      { kind: "attest", upgradeId: 1, stage: 1, status: "RolledBack" },
    ]);
    expect(job.local).to.equal("discarded");
  });

  it("discards the staged artifact on a withdrawal before activation", function () {
    const { effects, job } = run([
      scheduled(),
      { type: "Prepared", ...id },
      { type: "Withdrawn", ...id },
      { type: "Discarded", ...id },
      { type: "StageActivated", ...id, stage: 1 },
    ]);
    expect(effects.slice(-1)).to.deep.equal([{ kind: "discard", upgradeId: 1 }]);
    expect(job.local).to.equal("discarded");
  });

  it("discards only after a preparation under way finishes", function () {
    const { effects } = run([scheduled(), { type: "Withdrawn", ...id }, { type: "Prepared", ...id }]);
    expect(effects).to.deep.equal([
      { kind: "prepare", upgradeId: 1 },
      { kind: "discard", upgradeId: 1 },
    ]);
  });

  it("obeys a network-ordered rollback: restores the previous version (and state when incompatible), attests RolledBack", function () {
    for (const stateIncompatible of [false, true]) {
      const { effects, job } = run([
        scheduled(1, manifest(stateIncompatible)),
        { type: "Prepared", ...id },
        { type: "StageActivated", ...id, stage: 1 },
        { type: "Upgraded", ...id },
        { type: "RollbackOrdered", ...id },
        { type: "Restored", ...id },
      ]);
      expect(effects.slice(-2)).to.deep.equal([
        { kind: "restore", upgradeId: 1, restoreState: stateIncompatible },
        { kind: "attest", upgradeId: 1, stage: 1, status: "RolledBack" },
      ]);
      expect(job.local).to.equal("restored");
    }
  });

  it("waits for an upgrade under way before obeying a rollback order", function () {
    const { effects } = run([
      scheduled(),
      { type: "Prepared", ...id },
      { type: "StageActivated", ...id, stage: 1 },
      { type: "RollbackOrdered", ...id },
      { type: "Upgraded", ...id },
    ]);
    expect(effects.slice(-1)).to.deep.equal([{ kind: "restore", upgradeId: 1, restoreState: false }]);
  });

  it("attests RolledBack after a rollback order when it had already fallen back on its own", function () {
    const { effects } = run([
      scheduled(),
      { type: "Prepared", ...id },
      { type: "StageActivated", ...id, stage: 1 },
      { type: "UpgradeFailed", ...id, reason: "crash" },
      { type: "RolledBackLocally", ...id },
      { type: "RollbackOrdered", ...id },
    ]);
    expect(effects.slice(-1)).to.deep.equal([{ kind: "attest", upgradeId: 1, stage: 1, status: "RolledBack" }]);
  });

  it("numbers each upgrade's effects in order, the same way on every replay", function () {
    const facts: MachineEvent[] = [
      scheduled(),
      { type: "Prepared", ...id },
      { type: "StageActivated", ...id, stage: 1 },
    ];
    const first = run(facts).numbered.map((e) => e.step);
    const again = run(facts).numbered.map((e) => e.step);
    expect(first).to.deep.equal([1, 2, 3]);
    expect(again).to.deep.equal(first);
  });

  it("asks nothing twice when facts repeat (a restart replays them)", function () {
    const facts: MachineEvent[] = [
      scheduled(),
      { type: "Prepared", ...id },
      { type: "StageActivated", ...id, stage: 1 },
      { type: "Upgraded", ...id },
    ];
    const once = run(facts);
    const twice = run(facts, once.state);
    expect(twice.effects).to.deep.equal([]);
    expect(twice.state).to.deep.equal(once.state);
  });
});

describe("watcher state machine: which journaled steps run", function () {
  const activated = () =>
    run([scheduled(), { type: "Prepared", ...id }, { type: "StageActivated", ...id, stage: 1 }]).state;
  const upgrade: Effect = { kind: "upgrade", upgradeId: 1, step: 3 };

  it("runs a queued upgrade while the upgrade is in flight and not paused", function () {
    expect(stepVerdict(activated(), upgrade, "queued")).to.deep.equal({ action: "run" });
  });

  it("holds a queued upgrade while paused, and runs it once resumed", function () {
    const paused = run([{ type: "Paused", ...id }], activated()).state;
    expect(stepVerdict(paused, upgrade, "queued")).to.deep.equal({ action: "hold" });
    // A swap already started is abandoned (the runtime keeps the old version running), unless the binary was
    // swapped already: then it finishes (issue 10: a pause preempts a step in progress).
    expect(stepVerdict(paused, upgrade, "started")).to.deep.equal({ action: "abandon" });
    const resumed = run([{ type: "Resumed", ...id }], paused).state;
    expect(stepVerdict(resumed, upgrade, "queued")).to.deep.equal({ action: "run" });
  });

  it("skips a queued upgrade whose upgrade ended before the swap began, and discards the binary instead", function () {
    for (const end of ["Withdrawn", "RollbackOrdered"] as const) {
      const ended = run(
        [
          { type: "Paused", ...id },
          { type: end, ...id },
        ],
        activated(),
      ).state;
      const verdict = stepVerdict(ended, upgrade, "queued");
      if (verdict.action !== "skip") throw new Error(`expected skip, got ${verdict.action}`);
      expect(verdict.fact).to.deep.equal({ type: "UpgradeNotStarted", upgradeId: 1 });
      expect(verdict.transition.state.jobs["1"].local).to.equal("discarding");
      expect(verdict.transition.effects.map((e) => e.kind)).to.deep.equal(["discard"]);
    }
  });

  it("drops a preparation once the upgrade was withdrawn or rolled back, even one under way", function () {
    const prepare: Effect = { kind: "prepare", upgradeId: 1, step: 1 };
    for (const end of ["Withdrawn", "RollbackOrdered"] as const) {
      const ended = run([scheduled(), { type: end, ...id }]).state;
      for (const status of ["queued", "started"] as const) {
        const verdict = stepVerdict(ended, prepare, status);
        if (verdict.action !== "skip") throw new Error(`expected skip, got ${verdict.action}`);
        expect(verdict.transition.state.jobs["1"].local).to.equal("discarding");
      }
    }
  });

  it("still swaps once the upgrade completed: a validator that missed its stage catches up", function () {
    const { effects, job } = run([scheduled(), { type: "Completed", ...id }, { type: "Prepared", ...id }]);
    expect(effects).to.deep.equal([
      { kind: "prepare", upgradeId: 1 },
      { kind: "upgrade", upgradeId: 1 },
    ]);
    expect(stepVerdict(run([], { jobs: { "1": job } }).state, upgrade, "queued")).to.deep.equal({ action: "run" });
  });

  it("cancels a step whose upgrade this validator no longer takes part in (a rewind dropped it)", function () {
    expect(stepVerdict(emptyState(), upgrade, "queued")).to.deep.equal({ action: "cancel" });
  });
});

describe("watcher state machine: the health rule", function () {
  const job = { manifest: manifest() };

  it("is healthy when the node reports the new version and its height grew since the last observation", function () {
    expect(judgeHealth(job, { version: "v2.0.0", height: 11n }, 10n)).to.equal(true);
    expect(judgeHealth(job, { version: "v2.0.0", height: 10n }, 10n)).to.equal(false);
    expect(judgeHealth(job, { version: "v1.9.3", height: 11n }, 10n)).to.equal(false);
    expect(judgeHealth(job, undefined, 10n)).to.equal(false);
    // Nothing to compare with yet (the first observation after a restart): the version decides.
    expect(judgeHealth(job, { version: "v2.0.0", height: 1n }, undefined)).to.equal(true);
  });

  it("checks health at least every health.observeIntervalMs while an upgrade is observed", function () {
    const upgraded = run([
      scheduled(),
      { type: "Prepared", ...id },
      { type: "StageActivated", ...id, stage: 1 },
      { type: "Upgraded", ...id },
    ]).state;
    expect(roundIntervalMs(upgraded, 12_000, 5_000)).to.equal(5_000);
    expect(roundIntervalMs(upgraded, 200, 500)).to.equal(200);
    const completed = run([{ type: "Completed", ...id }], upgraded).state;
    expect(roundIntervalMs(completed, 12_000, 5_000)).to.equal(12_000);
    expect(roundIntervalMs(emptyState(), 12_000, 5_000)).to.equal(12_000);
  });
});
