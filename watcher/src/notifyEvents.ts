// The notices the runtime sends, in words: built here from the machine's own types so that the runtime's hooks
// stay one line each. Pure: nothing here sends or reads anything.
import type { Effect, Job, MachineEvent, WatcherState } from "./machine/types";
import type { Notice } from "./notify";

const where = (job: Job | undefined, upgradeId: number) =>
  job ? `upgrade ${upgradeId} "${job.manifest.name}"` : `upgrade ${upgradeId}`;

/** A step in a few words: what it does to the node or the chain. */
export function stepName(effect: Effect, job: Job | undefined): string {
  const m = job?.manifest;
  switch (effect.kind) {
    case "prepare":
      return m ? `prepare ${m.version} (download, check digest, stage)` : "prepare";
    case "attest":
      return `attest ${effect.status}`;
    case "upgrade":
      return m ? `upgrade the node to ${m.version}` : "upgrade the node";
    case "rollbackLocally":
      return m ? `roll back to ${m.previousVersion} on its own` : "roll back on its own";
    case "restore":
      return m ? `roll back to ${m.previousVersion} as the network ordered` : "roll back as the network ordered";
    case "discard":
      return m ? `discard the staged ${m.version}` : "discard the staged binary";
    case "revert":
      return m
        ? `return to ${m.previousVersion}: the swap's cause was reorged away`
        : "undo a swap whose cause was reorged away";
  }
}

/** Outcomes that report a failure as a fact (the step itself ran to its end). */
const FAILED_OUTCOMES = new Set<MachineEvent["type"]>(["PrepareFailed", "UpgradeFailed"]);

/** A step started (its first attempt), or ended with `outcome` (a fact type, or "done"). */
export function stepNotice(
  phase: "started" | "ended",
  effect: Effect,
  job: Job | undefined,
  outcome?: MachineEvent,
): Notice {
  const base = { upgradeId: effect.upgradeId, details: { step: effect.kind, key: effect.step } };
  const name = stepName(effect, job);
  if (phase === "started")
    return { ...base, event: "step-started", message: `${where(job, effect.upgradeId)}: ${name}: started` };
  if (outcome && FAILED_OUTCOMES.has(outcome.type)) {
    const reason = "reason" in outcome ? outcome.reason : outcome.type;
    return {
      upgradeId: effect.upgradeId,
      event: "step-failed",
      message: `${where(job, effect.upgradeId)}: ${name}: failed: ${reason}`,
      details: { ...base.details, outcome: outcome.type, reason, retrying: false },
    };
  }
  return {
    ...base,
    event: "step-succeeded",
    message: `${where(job, effect.upgradeId)}: ${name}: done${outcome ? ` (${outcome.type})` : ""}`,
    details: { ...base.details, outcome: outcome?.type ?? "done" },
  };
}

/** A step threw: for good, or to be tried again next round. */
export function stepFailedNotice(effect: Effect, job: Job | undefined, reason: string, retrying: boolean): Notice {
  return {
    upgradeId: effect.upgradeId,
    event: "step-failed",
    message: `${where(job, effect.upgradeId)}: ${stepName(effect, job)}: failed${retrying ? ", retrying" : ""}: ${reason}`,
    details: { step: effect.kind, key: effect.step, reason, retrying },
  };
}

/**
 * The network's orders between two states: a pause, a resume, a withdrawal or a rollback of an upgrade this
 * validator takes part in. Only upgrades already known before are compared, so that following old history (a new
 * journal) announces nothing that ended long ago; an upgrade first seen paused and still in flight is announced.
 */
export function networkNotices(before: WatcherState, after: WatcherState): Notice[] {
  const notices: Notice[] = [];
  for (const [id, job] of Object.entries(after.jobs)) {
    const was = before.jobs[id];
    const upgradeId = job.upgradeId;
    const name = where(job, upgradeId);
    if (job.ended && job.ended !== was?.ended && was) {
      if (job.ended === "rolledBack")
        notices.push({
          event: "rolled-back",
          upgradeId,
          message: `${name}: the network ordered a rollback to ${job.manifest.previousVersion}`,
          details: { version: job.manifest.previousVersion },
        });
      else if (job.ended === "withdrawn")
        notices.push({ event: "withdrawn", upgradeId, message: `${name}: governance withdrew the upgrade` });
      continue;
    }
    if (job.ended) continue;
    if (job.paused && !was?.paused)
      notices.push({ event: "paused", upgradeId, message: `${name}: the rollout is paused; nothing new starts` });
    else if (!job.paused && was?.paused)
      notices.push({ event: "resumed", upgradeId, message: `${name}: governance resumed the rollout` });
  }
  return notices;
}

/** The node's health changed while the upgrade is observed. */
export function healthNotice(job: Job, healthy: boolean, version: string | undefined): Notice {
  const name = where(job, job.upgradeId);
  return healthy
    ? {
        event: "node-healthy",
        upgradeId: job.upgradeId,
        message: `${name}: the node is healthy again`,
        details: { version: version ?? "" },
      }
    : {
        event: "node-unhealthy",
        upgradeId: job.upgradeId,
        message: `${name}: the node is unhealthy${version ? ` (reports ${version})` : " (no answer)"}`,
        details: { version: version ?? "" },
      };
}
