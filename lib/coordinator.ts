import {
  TypedDataDomain,
  TypedDataField,
  Signer,
  Signature,
  concat,
  getBytes,
  zeroPadValue,
  toBeHex,
  hexlify,
} from "ethers";

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

export interface SignedAttestation {
  attestation: Attestation;
  /** Compact signature (EIP-2098). */
  r: string;
  vs: string;
}

/** Signs an attestation with the attester key (EIP-712), in the compact form relayed batches carry. */
export async function signAttestation(
  attester: Signer,
  domain: TypedDataDomain,
  attestation: Attestation,
): Promise<SignedAttestation> {
  const sig = Signature.from(await attester.signTypedData(domain, ATTESTATION_TYPES, attestation));
  return { attestation, r: sig.r, vs: sig.yParityAndS };
}

/** Bytes per item of a relayed batch (UpgradeCoordinator.PACKED_ATTESTATION_SIZE). */
export const PACKED_ATTESTATION_SIZE = 172;

function fixed(value: bigint | number, bytes: number): string {
  const v = BigInt(value);
  if (v < 0n || v >= 1n << BigInt(bytes * 8)) throw new Error(`value ${v} does not fit ${bytes} bytes`);
  return zeroPadValue(toBeHex(v), bytes);
}

/** Packs signed attestations into the calldata `relayAttestations(bytes)` takes. */
export function packAttestations(items: SignedAttestation[]): string {
  return hexlify(
    concat(
      items.map(({ attestation: a, r, vs }) => {
        const item = concat([
          zeroPadValue(a.operator, 20),
          fixed(a.upgradeId, 4),
          fixed(a.stage, 1),
          fixed(a.status, 1),
          zeroPadValue(a.version, 32),
          fixed(a.height, 8),
          zeroPadValue(a.metricsDigest, 32),
          fixed(a.issuedAt, 5),
          fixed(a.deadline, 5),
          zeroPadValue(r, 32),
          zeroPadValue(vs, 32),
        ]);
        if (getBytes(item).length !== PACKED_ATTESTATION_SIZE) throw new Error("packed attestation has the wrong size");
        return item;
      }),
    ),
  );
}
