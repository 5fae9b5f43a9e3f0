import type {
  AttestStatus,
  Effect,
  EffectBody,
  Job,
  LocalPhase,
  MachineEvent,
  Transition,
  WatcherState,
} from "./types";

/**
 * The watcher's state machine: reduce(state, event) -> { state, effects }. Pure and deterministic.
 *
 * Each fact updates one job; then `decide` looks at the job as it now stands and says what is due. Work that is
 * under way (preparing, upgrading, rolling back, restoring, discarding) is a phase of its own, so nothing is
 * asked twice; the runtime reports its outcome as another fact.
 *
 * Rules a validator operator can rely on:
 * - the node is touched only when this validator's stage is active, the artifact's digest matched, and the
 *   upgrade is not paused;
 * - on its own initiative the watcher rolls back only a binary that never came up healthy;
 * - a network-ordered rollback always restores the previous version (and the state snapshot when the manifest
 *   marks the upgrade state-incompatible), then attests RolledBack; a validator of an activated stage that never
 *   swapped (it was still waiting for a restart lease) discards the staged build and attests RolledBack too;
 * - a withdrawal before activation discards the staged artifact; after activation the node stays as it is;
 * - once the upgrade completed, a validator still on the previous version (it missed its stage) upgrades.
 */
export function reduce(state: WatcherState, event: MachineEvent): Transition {
  return reduceAll(state, [event]);
}

/**
 * Folds several facts at once (a page of chain events), then decides once per upgrade they touched, so facts that
 * arrive together are weighed together: a stage that activates and is paused in the same block is not upgraded.
 */
export function reduceAll(state: WatcherState, events: MachineEvent[]): Transition {
  const effects: Effect[] = [];
  const touched: number[] = [];
  const jobs = { ...state.jobs };
  for (const event of events) {
    const key = String(event.upgradeId);
    if (event.type === "Scheduled") {
      if (event.stage === null || jobs[key]) continue;
      jobs[key] = {
        upgradeId: event.upgradeId,
        stage: event.stage,
        manifest: event.manifest,
        stageActive: false,
        paused: false,
        ended: null,
        local: "preparing",
        attested: null,
        health: null,
        steps: 1,
      };
      effects.push({ kind: "prepare", upgradeId: event.upgradeId, step: 1 });
      continue;
    }
    const current = jobs[key];
    if (!current) continue; // not an upgrade this validator takes part in
    const job = apply({ ...current }, event);
    if (!job) continue;
    // A binary that never came up healthy goes back at once, paused or not: the node must run. Asked once, here.
    if (event.type === "UpgradeFailed") {
      effects.push({ kind: "rollbackLocally", upgradeId: job.upgradeId, step: ++job.steps });
    }
    // The node follows the confirmed chain: a swap whose cause was reorged away is undone at once.
    if (event.type === "Diverged") {
      const restoreState = job.manifest.stateIncompatible;
      effects.push({ kind: "revert", upgradeId: job.upgradeId, restoreState, step: ++job.steps });
    }
    jobs[key] = job;
    if (!touched.includes(job.upgradeId)) touched.push(job.upgradeId);
  }
  for (const upgradeId of touched) {
    const job = { ...jobs[String(upgradeId)] };
    for (const body of decide(job)) effects.push({ ...body, step: ++job.steps } as Effect);
    jobs[String(upgradeId)] = job;
  }
  if (!effects.length && !touched.length && Object.keys(jobs).length === Object.keys(state.jobs).length) {
    return { state, effects };
  }
  return { state: { ...state, jobs }, effects };
}

/** Folds one fact into a job; returns undefined when the fact changes nothing. */
function apply(job: Job, event: Exclude<MachineEvent, { type: "Scheduled" }>): Job | undefined {
  switch (event.type) {
    case "StageActivated":
      if (event.stage !== job.stage || job.stageActive) return undefined;
      job.stageActive = true;
      return job;
    case "Paused":
      job.paused = true;
      return job;
    case "Resumed":
      job.paused = false;
      return job;
    case "Withdrawn":
      job.ended = "withdrawn";
      return job;
    case "RollbackOrdered":
      job.ended = "rolledBack";
      return job;
    case "Completed":
      job.ended = "completed";
      return job;
    case "Prepared":
      return job.local === "preparing" ? { ...job, local: "prepared" } : undefined;
    case "PrepareFailed":
      return job.local === "preparing" ? { ...job, local: "prepare-failed" } : undefined;
    case "Upgraded":
      return job.local === "upgrading" ? { ...job, local: "upgraded", health: "healthy" } : undefined;
    case "UpgradeNotStarted":
      return job.local === "upgrading" ? { ...job, local: "prepared" } : undefined;
    case "UpgradeFailed":
      return job.local === "upgrading" ? { ...job, local: "rolling-back-locally" } : undefined;
    case "RolledBackLocally":
      return job.local === "rolling-back-locally" ? { ...job, local: "failed-upgrade" } : undefined;
    case "Restored":
      return job.local === "restoring" ? { ...job, local: "restored" } : undefined;
    case "Discarded":
      return job.local === "discarding" ? { ...job, local: "discarded" } : undefined;
    case "Diverged":
      return beforeSwap(job.local) ? { ...job, local: "reverting", health: null } : undefined;
    case "Reverted":
      return job.local === "reverting" ? { ...job, local: "prepared" } : undefined;
    case "HealthObserved": {
      if (job.local !== "upgraded") return undefined;
      const health = event.healthy ? "healthy" : "unhealthy";
      return health === job.health ? undefined : { ...job, health };
    }
  }
}

/** What is due for `job` as it stands. Mutates `job` to mark work as started and attestations as asked. */
function decide(job: Job): EffectBody[] {
  const effects: EffectBody[] = [];
  const attest = (status: AttestStatus) => {
    if (job.attested === status) return;
    job.attested = status;
    effects.push({ kind: "attest", upgradeId: job.upgradeId, stage: job.stage, status });
  };
  const restoreState = job.manifest.stateIncompatible;

  if (job.ended === "rolledBack") {
    if (job.local === "upgraded") {
      job.local = "restoring";
      effects.push({ kind: "restore", upgradeId: job.upgradeId, restoreState });
    } else if ((job.local === "restored" || job.local === "failed-upgrade") && job.stageActive) {
      attest("RolledBack");
    } else if (job.local === "discarded" && job.stageActive) {
      // Its stage was active but it never swapped (a restart lease it waited for, say): it runs the previous
      // version, and says so, so the restored stake covers the whole activated stage.
      attest("RolledBack");
    } else if (job.local === "prepared" || job.local === "prepare-failed") {
      job.local = "discarding";
      effects.push({ kind: "discard", upgradeId: job.upgradeId });
    }
    return effects;
  }

  if (job.ended === "withdrawn") {
    if (job.local === "prepared" || job.local === "prepare-failed") {
      job.local = "discarding";
      effects.push({ kind: "discard", upgradeId: job.upgradeId });
    }
    return effects;
  }

  if (job.ended === "completed") {
    // The network runs the new version: a validator that missed its stage (its watcher was down) catches up.
    if (job.local === "prepared") {
      job.local = "upgrading";
      effects.push({ kind: "upgrade", upgradeId: job.upgradeId });
    }
    return effects;
  }

  switch (job.local) {
    case "prepared":
      if (!job.stageActive) attest("Ready");
      else if (!job.paused) {
        job.local = "upgrading";
        effects.push({ kind: "upgrade", upgradeId: job.upgradeId });
      }
      break;
    case "prepare-failed":
    case "failed-upgrade":
      if (job.stageActive) attest("FailedToUpgrade");
      break;
    case "upgraded":
      attest(job.health === "unhealthy" ? "Unhealthy" : "Healthy");
      break;
  }
  return effects;
}

/** Phases in which, by the machine's account, the node was never swapped to the job's version. */
export function beforeSwap(local: LocalPhase): boolean {
  return ["preparing", "prepared", "prepare-failed", "discarding", "discarded", "idle"].includes(local);
}
