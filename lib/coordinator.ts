import { TypedDataDomain, TypedDataField, Signer } from "ethers";

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

/** Mirrors IUpgradeCoordinator.RollbackReason. */
export enum RollbackReason {
  Manual = 0,
  AutomaticThreshold = 1,
}

export interface Attestation {
  operator: string;
  upgradeId: bigint | number;
  stage: number;
  status: Status;
  version: string;
  height: bigint | number;
  metricsDigest: string;
  issuedAt: bigint | number;
  deadline: bigint | number;
}

export const ATTESTATION_TYPES: Record<string, TypedDataField[]> = {
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
};

export function coordinatorDomain(chainId: bigint | number, coordinator: string): TypedDataDomain {
  return { name: "Lockstep Coordinator", version: "1", chainId, verifyingContract: coordinator };
}

/** Signs an attestation with the attester key; returns it in the compact (EIP-2098) form relayAttestations takes. */
export async function signAttestation(
  attester: Signer,
  domain: TypedDataDomain,
  attestation: Attestation,
): Promise<{ attestation: Attestation; r: string; vs: string }> {
  const { Signature } = await import("ethers");
  const sig = Signature.from(await attester.signTypedData(domain, ATTESTATION_TYPES, attestation));
  return { attestation, r: sig.r, vs: sig.yParityAndS };
}
