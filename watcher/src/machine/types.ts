// The watcher's state machine speaks only in these types: facts in (chain events, outcomes of local work),
// decisions out (effects). It never touches a socket, a file or a clock.

/** Mirrors IUpgradeCoordinator.Status (kept here so the machine imports nothing from the chain layer). */
export type AttestStatus = "Ready" | "Healthy" | "Unhealthy" | "FailedToUpgrade" | "RolledBack";

/** What the watcher needs of an upgrade's manifest, for its own validator. */
export interface JobManifest {
  name: string;
  version: string;
  previousVersion: string;
  /** The artifact for this watcher's platform (null when the manifest has none: preparation fails). */
  artifact: { platform: string; uri: string; sha256: string } | null;
  manifestHash: string;
  stateIncompatible: boolean;
}

/** Where this validator's part of one upgrade stands locally. */
export type LocalPhase =
  | "preparing" // downloading and verifying the artifact
  | "prepared" // binary staged, digest verified
  | "prepare-failed" // digest or manifest mismatch: the node is never touched
  | "upgrading" // snapshot, stop, swap, start, wait for health
  | "upgraded" // the new binary runs and came up healthy
  | "rolling-back-locally" // the new binary never came up healthy: back to the previous one
  | "failed-upgrade" // back on the previous binary after a failed upgrade
  | "restoring" // network-ordered rollback in progress
  | "restored" // back on the previous version after a network-ordered rollback
  | "reverting" // the swap's cause was reorged away: back to the previous version until the chain asks again
  | "discarding" // withdrawn before activation: removing staged artifacts
  | "discarded"
  | "idle"; // nothing to do (completed, or ended before anything was done)

export type Ended = "completed" | "withdrawn" | "rolledBack";

/** One upgrade in which this validator's cohort has a stage. */
export interface Job {
  upgradeId: number;
  stage: number;
  manifest: JobManifest;
  stageActive: boolean;
  paused: boolean;
  ended: Ended | null;
  local: LocalPhase;
  /** The last status this watcher asked to attest (the runtime makes each request land once). */
  attested: AttestStatus | null;
  /** Health last observed while upgraded (drives re-attestation when it changes). */
  health: "healthy" | "unhealthy" | null;
  /** Effects asked so far for this upgrade: numbers them, so a replay of the same facts asks the same steps. */
  steps: number;
}

export interface WatcherState {
  jobs: Record<string, Job>;
}

export const emptyState = (): WatcherState => ({ jobs: {} });

/** Facts the machine reacts to. Chain events arrive confirmed and in chain order. */
export type MachineEvent =
  | { type: "Scheduled"; upgradeId: number; stage: number | null; manifest: JobManifest }
  | { type: "StageActivated"; upgradeId: number; stage: number }
  | { type: "Paused"; upgradeId: number }
  | { type: "Resumed"; upgradeId: number }
  | { type: "Withdrawn"; upgradeId: number }
  | { type: "RollbackOrdered"; upgradeId: number }
  | { type: "Completed"; upgradeId: number }
  | { type: "Prepared"; upgradeId: number }
  | { type: "PrepareFailed"; upgradeId: number; reason: string }
  | { type: "Upgraded"; upgradeId: number }
  | { type: "UpgradeNotStarted"; upgradeId: number } // the upgrade ended before its queued swap began
  | { type: "UpgradeFailed"; upgradeId: number; reason: string; cause?: string } // cause: start, snapshot, unhealthy
  | { type: "RolledBackLocally"; upgradeId: number }
  | { type: "Restored"; upgradeId: number }
  | { type: "Discarded"; upgradeId: number }
  | { type: "HealthObserved"; upgradeId: number; healthy: boolean }
  // The node runs this upgrade's version while the confirmed chain has not (or no longer) activated its stage.
  | { type: "Diverged"; upgradeId: number }
  | { type: "Reverted"; upgradeId: number };

/** Decisions the runtime carries out, journaled before and after, each idempotent. `step` numbers an effect
 * within its upgrade (1, 2, ...), which makes its journal key. */
export type Effect = EffectBody & { step: number };

export type EffectBody =
  | { kind: "prepare"; upgradeId: number }
  | { kind: "attest"; upgradeId: number; stage: number; status: AttestStatus }
  | { kind: "upgrade"; upgradeId: number }
  | { kind: "rollbackLocally"; upgradeId: number }
  | { kind: "revert"; upgradeId: number; restoreState: boolean }
  | { kind: "restore"; upgradeId: number; restoreState: boolean }
  | { kind: "discard"; upgradeId: number };

export interface Transition {
  state: WatcherState;
  effects: Effect[];
}
