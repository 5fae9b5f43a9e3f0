// The model of a rebuilt history: every upgrade, its stages and validators, the registry, and the audit's checks.
import type { PauseReason, Status, UpgradeState } from "../coordinator";
import type { StageRules } from "../manifest";

/** Where something happened: every line of the report names one. */
export interface TxRef {
  block: bigint;
  /** Block timestamp (seconds); undefined when block times were not fetched. */
  time?: bigint;
  tx: `0x${string}`;
  logIndex: number;
}

export interface ManifestRecord {
  name: string;
  version: string;
  previousVersion: string;
  artifacts: { platform: string; uri: string; sha256Digest: string }[];
  featureFlags: string[];
  metadataURI: string;
  manifestHash: string;
  stateIncompatible: boolean;
  stages: StageRulesRecord[];
}

/** A stage's rules as the UpgradeScheduled event carries them: its cohort and every rule a manifest sets. */
/** A stage's rules as the coordinator stores them: lib/manifest's one StageRules type. */
export type StageRulesRecord = StageRules;

export type StageStateName = "Pending" | "Active" | "Verified";

export interface StageHistory {
  index: number;
  cohort: number;
  rules: StageRulesRecord;
  cohortStake: bigint;
  readyNeeded: bigint;
  healthyNeeded: bigint;
  unhealthyLimit: bigint;
  /** MAX_UINT96 when automatic rollback is off (rollbackBps 0), as the contract stores it. */
  rollbackLimit: bigint;
  readyStake: bigint;
  readyCount: number;
  healthyStake: bigint;
  /** Unhealthy + FailedToUpgrade + RolledBack. */
  unhealthyStake: bigint;
  state: StageStateName;
  activated?: TxRef;
  verified?: TxRef;
}

export interface ValidatorRecord {
  operator: string;
  stage: number;
  status: Status;
  weight: bigint;
  version: string;
  height: bigint;
  metricsDigest: string;
  attestations: number;
  /** Counted in the restored tally (attested RolledBack after the rollback order). */
  restored: boolean;
  last: TxRef;
}

export type TransitionKind =
  | "UpgradeScheduled"
  | "StageActivated"
  | "StageVerified"
  | "UpgradePaused"
  | "UpgradeResumed"
  | "UpgradeWithdrawn"
  | "RollbackOrdered"
  | "UpgradeCompleted";

export type Actor = "governance" | "guardian" | "automatic" | "anyone" | "unknown";

export interface Transition extends TxRef {
  kind: TransitionKind;
  stage?: number;
  /** The sender the event names (pauses, resumes, withdrawals, rollbacks). */
  by?: string;
  /** Who that was in Lockstep's roles. */
  actor?: Actor;
  reason?: string;
  /** The figures the event carries. */
  figures: Record<string, string | number | boolean>;
}

/** A restart lease held now: granted and neither released nor expired (as far as the events tell). */
export interface LeaseRecord {
  attester: string;
  /** Wei, whole lease units. */
  weight: bigint;
  /** Seconds: the lease counts until then at the latest. */
  expiresAt: bigint;
  granted: TxRef;
}

/** An upgrade's restart budget and its leases, replayed from LeaseBudgetOpened, LeaseGranted, LeaseReleased and
 * LeasesExpired (docs/design.md, "Restart leases"). */
export interface LeaseBudgetHistory {
  /** Wei; 0: no lease is ever granted. */
  budget: bigint;
  /** Seconds; a lease lasts between one and two durations. */
  duration: number;
  opened: TxRef;
  /** The stake leased after the last lease event, as the contract reported it. */
  inUse: bigint;
  /** The highest stake leased at any point, replayed or reported, and where it was reached. */
  peak: bigint;
  peakAt?: TxRef;
  holders: Map<string, LeaseRecord>;
  granted: number;
  released: number;
  /** Stake dropped by expiry, in total. */
  expiredStake: bigint;
}

export interface UpgradeHistory {
  id: bigint;
  name: string;
  nameHash: string;
  manifest: ManifestRecord;
  snapshot: bigint;
  scheduled: TxRef;
  state: keyof typeof UpgradeState;
  pauseReason: keyof typeof PauseReason;
  currentStage: number;
  pausedAt: bigint;
  endedAt: bigint;
  /** Last resume time: the participation deadline counts from here too. */
  resumedAt: bigint;
  stages: StageHistory[];
  validators: Map<string, ValidatorRecord>;
  restoredStake: bigint;
  restoredCount: number;
  transitions: Transition[];
  attestationCount: number;
  /** Its restart budget, once LeaseBudgetOpened was seen. */
  leases?: LeaseBudgetHistory;
}

export interface RegistryRecord {
  operator: string;
  attester: string;
  /** (block, cohort) in chain order; cohort 0 = not registered. */
  cohorts: { block: bigint; cohort: number }[];
  ref: TxRef;
}

export type CheckKind =
  | "scheduled"
  | "stage-order"
  | "activation-readiness"
  | "verification-health"
  | "automatic-stop"
  | "authority"
  | "terminal"
  | "completion"
  | "attestations"
  | "guardian"
  | "manifest-hash"
  | "restart-budget";

export interface Check extends Partial<TxRef> {
  kind: CheckKind;
  ok: boolean;
  upgradeId?: bigint;
  name?: string;
  detail: string;
}

export interface History {
  coordinator?: string;
  fromBlock?: bigint;
  toBlock?: bigint;
  /** The registry events from deployment on are included, so cohorts at each snapshot are known. */
  registryComplete: boolean;
  governance?: string;
  upgrades: UpgradeHistory[];
  registry: Map<string, RegistryRecord>;
  guardians: { guardian: string; ref: TxRef }[];
  /** Checks found while folding (ordering, thresholds, automatic stops, authority, terminal states). */
  checks: Check[];
  eventCount: number;
}

export interface BuildOptions {
  times?: Map<bigint, bigint>;
  /** The timelock's address: the only account that may resume and withdraw. */
  governance?: string;
  registryComplete?: boolean;
  coordinator?: string;
  fromBlock?: bigint;
  toBlock?: bigint;
}
