// Packs signed attestations into the calldata `relayAttestations(bytes)` takes (pure).
import { BaseError, concatHex, numberToHex, padHex, size, type Hex } from "viem";
import { PACKED_ATTESTATION_SIZE, type SignedAttestation } from "../coordinator";

export type PackAttestationsParameters = readonly SignedAttestation[];
export type PackAttestationsReturnType = Hex;
export type PackAttestationsErrorType = BaseError;

const fixed = (value: bigint | number, bytes: number): Hex => {
  const v = BigInt(value);
  if (v < 0n || v >= 1n << BigInt(bytes * 8)) throw new BaseError(`value ${v} does not fit ${bytes} bytes`);
  return numberToHex(v, { size: bytes });
};
const word = (value: Hex, bytes: number): Hex => padHex(value, { size: bytes });

export function packAttestations(items: PackAttestationsParameters): PackAttestationsReturnType {
  const packed = concatHex(
    items.map(({ attestation: a, r, vs }) => {
      const item = concatHex([
        word(a.operator, 20),
        fixed(a.upgradeId, 4),
        fixed(a.stage, 1),
        fixed(a.status, 1),
        word(a.version, 32),
        fixed(a.height, 8),
        word(a.metricsDigest, 32),
        fixed(a.issuedAt, 5),
        fixed(a.deadline, 5),
        word(r, 32),
        word(vs, 32),
      ]);
      if (size(item) !== PACKED_ATTESTATION_SIZE) throw new BaseError("packed attestation has the wrong size");
      return item;
    }),
  );
  return packed.toLowerCase() as Hex;
}
