// The coordinator's enums, its EIP-712 domain and the Attestation struct its attesters sign, mirrored for
// off-chain code. Signing and packing are actions (lib/actions/signAttestation.ts, packAttestations.ts).
import { getAddress, type Address, type Hex, type TypedDataDomain } from "viem";

/** Mirrors IUpgradeCoordinator.Status. */
export enum Status {
  None = 0,
  Ready = 1,
  Healthy = 2,
  Unhealthy = 3,
  FailedToUpgrade = 4,
  RolledBack = 5,
}

/** Mirrors IUpgradeCoordinator.UpgradeState. */
export enum UpgradeState {
  None = 0,
  Scheduled = 1,
  Rolling = 2,
  Paused = 3,
  Completed = 4,
  Withdrawn = 5,
  RolledBack = 6,
}

/** Mirrors IUpgradeCoordinator.StageState. */
export enum StageState {
  Pending = 0,
  Active = 1,
  Verified = 2,
}

/** Mirrors IUpgradeCoordinator.PauseReason. */
export enum PauseReason {
  None = 0,
  Manual = 1,
  UnhealthyThreshold = 2,
  ParticipationDeadline = 3,
}

/** Pause reasons in words, for people reading a dashboard or a report. */
export const PAUSE_REASON_WORDS: Record<keyof typeof PauseReason, string> = {
  None: "not paused",
  Manual: "paused by hand",
  UnhealthyThreshold: "paused automatically: unhealthy stake reached the stage's limit",
  ParticipationDeadline: "paused: not enough healthy stake reported before the attestation deadline",
};

/** Mirrors IUpgradeCoordinator.SkipReason: why the coordinator skipped an item of a relayed batch. */
export enum SkipReason {
  None = 0,
  Expired = 1,
  Future = 2,
  Stale = 3,
  NotAttester = 4,
  NotInCohort = 5,
  UnknownStage = 6,
  StageNotPending = 7,
  StageNotActivated = 8,
  VersionMismatch = 9,
  UpgradeEnded = 10,
}

/** Skip reasons in words, for the relayer reading what its batch did. */
export const SKIP_REASON_WORDS: Record<keyof typeof SkipReason, string> = {
  None: "not skipped",
  Expired: "past its signature's deadline",
  Future: "issued ahead of the chain's clock",
  Stale: "not newer than the validator's last statement (a duplicate, superseded or front-run item)",
  NotAttester: "not signed by the operator's attester key now",
  NotInCohort: "the operator is not in the stage's cohort",
  UnknownStage: "no such upgrade or stage",
  StageNotPending: "Ready for a stage that has already activated",
  StageNotActivated: "a health report for a stage that has not activated",
  VersionMismatch: "Healthy with another version than the manifest's",
  UpgradeEnded: "the upgrade has ended (an earlier item may have ended it)",
};

/** Mirrors IUpgradeCoordinator.RollbackReason. */
export enum RollbackReason {
  Manual = 0,
  AutomaticThreshold = 1,
}

/** The EIP-712 types of IUpgradeCoordinator.Attestation, the struct an attester signs for a relayed batch. */
export const ATTESTATION_TYPES = {
  Attestation: [
    { name: "operator", type: "address" },
    { name: "upgradeId", type: "uint32" },
    { name: "stage", type: "uint8" },
    { name: "status", type: "uint8" },
    { name: "version", type: "bytes32" },
    { name: "height", type: "uint64" },
    { name: "metricsDigest", type: "bytes32" },
    { name: "issuedAt", type: "uint40" },
    { name: "deadline", type: "uint40" },
  ],
} as const;

/** The signed message exactly as EIP-712 types it (uint40 and narrower as numbers, uint64 as bigint). */
export interface AttestationMessage {
  operator: Address;
  upgradeId: number;
  stage: number;
  status: number;
  version: Hex;
  height: bigint;
  metricsDigest: Hex;
  issuedAt: number;
  deadline: number;
}

/** An attestation as callers write it: whole numbers as number or bigint. */
export interface Attestation {
  operator: Address;
  upgradeId: bigint | number;
  stage: number;
  status: Status;
  /** The version tag (lib/version.ts versionTag). */
  version: Hex;
  height: bigint | number;
  metricsDigest: Hex;
  issuedAt: bigint | number;
  deadline: bigint | number;
}

/** The attestation as the EIP-712 message types it. */
export function attestationMessage(a: Attestation): AttestationMessage {
  return {
    operator: a.operator,
    upgradeId: Number(a.upgradeId),
    stage: a.stage,
    status: a.status,
    version: a.version,
    height: BigInt(a.height),
    metricsDigest: a.metricsDigest,
    issuedAt: Number(a.issuedAt),
    deadline: Number(a.deadline),
  };
}

/** The coordinator's EIP-712 domain (EIP712("Lockstep Coordinator", "1")). */
export function coordinatorDomain(chainId: bigint | number, coordinator: string) {
  return {
    name: "Lockstep Coordinator",
    version: "1",
    chainId: Number(chainId),
    verifyingContract: getAddress(coordinator),
  } as const satisfies TypedDataDomain;
}

/** The whole EIP-712 definition of an attestation: what is signed, and hashed for its digest. */
export function attestationTypedData(chainId: bigint | number, coordinator: string, attestation: Attestation) {
  return {
    domain: coordinatorDomain(chainId, coordinator),
    types: ATTESTATION_TYPES,
    primaryType: "Attestation",
    message: attestationMessage(attestation),
  } as const;
}

/** EIP-712 types of the attester key's proof of possession (RegistryLogic.ATTESTER_PROOF_TYPEHASH). */
export const ATTESTER_PROOF_TYPES = {
  AttesterProof: [
    { name: "operator", type: "address" },
    { name: "nonce", type: "uint256" },
  ],
} as const;

/**
 * The whole EIP-712 definition of an attester proof: the new key signs it so `operator` can register or rotate to
 * it; `nonce` is the coordinator's `nonces(operator)`, and the domain binds the coordinator and the chain.
 */
export function attesterProofTypedData(
  chainId: bigint | number,
  coordinator: string,
  operator: Address,
  nonce: bigint | number,
) {
  return {
    domain: coordinatorDomain(chainId, coordinator),
    types: ATTESTER_PROOF_TYPES,
    primaryType: "AttesterProof",
    message: { operator: getAddress(operator), nonce: BigInt(nonce) },
  } as const;
}

export interface SignedAttestation {
  attestation: Attestation;
  /** Compact signature (EIP-2098). */
  r: Hex;
  vs: Hex;
}

/** Bytes per item of a relayed batch (UpgradeCoordinator.PACKED_ATTESTATION_SIZE). */
export const PACKED_ATTESTATION_SIZE = 172;
