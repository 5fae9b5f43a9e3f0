import type { Paths } from "./config";
import { reportedVersion } from "./executors";
import type { Effect, Job } from "./machine/types";

/** An effect in words, for --dry-run and logs. */
export function describeEffect(effect: Effect, job: Job, paths: Paths): string {
  const m = job.manifest;
  const where = `upgrade ${job.upgradeId} "${m.name}" (stage ${job.stage})`;
  switch (effect.kind) {
    case "prepare":
      return m.artifact
        ? `prepare ${where}: download ${m.artifact.uri}, check sha256 ${m.artifact.sha256}, stage ${paths.binary(m.version)}`
        : `report ${where}: the manifest has no artifact for this platform`;
    case "attest":
      return `attest ${effect.status} for ${where}, reporting version ${reportedVersion(job, effect.status)}`;
    case "upgrade":
      return `upgrade ${where}: stop the node, snapshot its state, switch ${paths.current} to ${m.version}, start it, wait for health`;
    case "rollbackLocally":
      return `roll back ${where} on its own: switch to ${m.previousVersion}${m.stateIncompatible ? " and restore the state snapshot" : ""}, restart`;
    case "revert":
      return `undo ${where}, whose activation a reorg removed: switch to ${m.previousVersion}${effect.restoreState ? " and restore the state snapshot" : ""}, restart`;
    case "restore":
      return `obey the rollback order for ${where}: switch to ${m.previousVersion}${effect.restoreState ? " and restore the state snapshot" : ""}, restart, check health`;
    case "discard":
      return `discard the staged ${m.version} of withdrawn ${where}`;
  }
}
