// The coordinator's timing and threshold arithmetic, written once and named as the contract names it
// (ManifestPlanner._share and _limits, RolloutStorage.notBeforeOf, UpgradeCoordinator.advance, _activate,
// pauseForMissingParticipation and attest). The fold, the audit and the dashboard's views all ask here, so what
// they show is what the contract would decide.
import type { StageRules } from "../manifest";
import type { StageHistory, UpgradeHistory } from "./model";

/** type(uint96).max: the rollback limit the contract stores when automatic rollback is off (rollbackBps 0). */
export const MAX_UINT96 = (1n << 96n) - 1n;
/** ManifestPlanner._BPS: thresholds are basis points of a cohort's stake. */
export const BPS = 10_000n;

/** `bps` of `stake`, rounded up, exactly as ManifestPlanner._share: "at least 67%" is never met by 66.99%. */
export function share(stake: bigint, bps: number): bigint {
  return (stake * BigInt(bps) + BPS - 1n) / BPS;
}

/** The basis points of a stage's rules that its thresholds come from. */
export type ThresholdRules = Pick<StageRules, "readinessBps" | "healthyBps" | "unhealthyBps" | "rollbackBps">;

/** A stage's thresholds in stake, as ManifestPlanner stores them when the upgrade is scheduled. */
export interface StageThresholds {
  /** Ready stake a stage needs to activate. */
  readyNeeded: bigint;
  /** Healthy stake a stage needs to be verified; below it past the deadline, anyone may pause. */
  healthyNeeded: bigint;
  /** Not-healthy stake that pauses the upgrade (and blocks verification). */
  unhealthyLimit: bigint;
  /** Not-healthy stake that orders a rollback; MAX_UINT96 when automatic rollback is off. */
  rollbackLimit: bigint;
}

export function stageThresholds(cohortStake: bigint, rules: ThresholdRules): StageThresholds {
  return {
    readyNeeded: share(cohortStake, rules.readinessBps),
    healthyNeeded: share(cohortStake, rules.healthyBps),
    unhealthyLimit: share(cohortStake, rules.unhealthyBps),
    rollbackLimit: rules.rollbackBps === 0 ? MAX_UINT96 : share(cohortStake, rules.rollbackBps),
  };
}

// ------------------------------------------------------------------ timing (seconds)

/**
 * RolloutStorage.notBeforeOf: a stage may activate `timelock` seconds after the upgrade was scheduled (stage 0) or
 * after the previous stage was verified. `from` is that time; undefined (not yet known) gives undefined.
 */
export function notBefore(from: bigint | undefined, timelock: number): bigint | undefined {
  return from === undefined ? undefined : from + BigInt(timelock);
}

/** The time lock has ended at `now` (_activate reverts while `now < notBefore`). */
export const timelockOver = (now: bigint, notBeforeAt: bigint) => now >= notBeforeAt;

/** advance: a stage activated at `activatedAt` may be verified from this time on. */
export function observationEndsAt(activatedAt: bigint, observationWindow: number): bigint {
  return activatedAt + BigInt(observationWindow);
}

/** The observation window has ended at `now` (advance reverts while `now < endsAt`). */
export const observationOver = (now: bigint, endsAt: bigint) => now >= endsAt;

/**
 * pauseForMissingParticipation: the attestation deadline runs from the stage's activation or the upgrade's last
 * resume, whichever is later (a resume gives the cohort a fresh deadline).
 */
export function attestationDeadlineAt(activatedAt: bigint, resumedAt: bigint, attestationDeadline: number): bigint {
  return (activatedAt > resumedAt ? activatedAt : resumedAt) + BigInt(attestationDeadline);
}

/** The attestation deadline has passed at `now` (pauseForMissingParticipation reverts while `now <= deadlineAt`). */
export const deadlinePassed = (now: bigint, deadlineAt: bigint) => now > deadlineAt;

// ------------------------------------------------------------------ thresholds (stake)

/** _activate: the cohort is ready. */
export const readinessMet = (readyStake: bigint, readyNeeded: bigint) => readyStake >= readyNeeded;

/** advance and pauseForMissingParticipation: enough stake reported healthy. */
export const participationMet = (healthyStake: bigint, healthyNeeded: bigint) => healthyStake >= healthyNeeded;

/** attest and advance: the not-healthy stake reached the pause limit (which also blocks verification). */
export const unhealthyReached = (unhealthyStake: bigint, unhealthyLimit: bigint) => unhealthyStake >= unhealthyLimit;

/** attest: the not-healthy stake reached the rollback limit. */
export const rollbackReached = (unhealthyStake: bigint, rollbackLimit: bigint) => unhealthyStake >= rollbackLimit;

/**
 * attest: what an attestation that takes the not-healthy stake to `unhealthyStake` sets off, as the contract decides
 * it: a rollback at its limit, else a pause at the unhealthy limit unless the upgrade is paused already.
 */
export function automaticStop(
  unhealthyStake: bigint,
  limits: Pick<StageThresholds, "unhealthyLimit" | "rollbackLimit">,
  paused: boolean,
): "rollback" | "pause" | undefined {
  if (rollbackReached(unhealthyStake, limits.rollbackLimit)) return "rollback";
  if (unhealthyReached(unhealthyStake, limits.unhealthyLimit) && !paused) return "pause";
  return undefined;
}

// ------------------------------------------------------------------ of a rebuilt stage

/** The upgrade and stage as the history holds them: just what the timing rules read. */
type UpgradeTimes = Pick<UpgradeHistory, "scheduled" | "resumedAt" | "stages">;

/** When stage `s` may activate (its time lock's end); undefined until the previous stage is verified. */
export function stageNotBefore(u: UpgradeTimes, s: StageHistory): bigint | undefined {
  return notBefore(s.index === 0 ? u.scheduled.time : u.stages[s.index - 1].verified?.time, s.rules.timelock);
}

/** When stage `s`'s observation window ends (from time 0 when its block time is unknown); undefined until active. */
export function stageObservationEndsAt(s: StageHistory): bigint | undefined {
  return s.activated && observationEndsAt(s.activated.time ?? 0n, s.rules.observationWindow);
}

/**
 * When stage `s`'s attestation deadline passes, counted from its activation or the upgrade's last resume (from time
 * 0 when the activation's block time is unknown); undefined until active.
 */
export function stageDeadlineAt(u: UpgradeTimes, s: StageHistory): bigint | undefined {
  return s.activated && attestationDeadlineAt(s.activated.time ?? 0n, u.resumedAt, s.rules.attestationDeadline);
}
