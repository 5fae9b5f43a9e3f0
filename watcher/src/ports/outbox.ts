// The outbox port: every attestation transaction the watcher signs, kept before it is broadcast, so that after a
// crash or a lost reply the watcher sends that same transaction again (or replaces it at the same nonce) instead
// of signing a second statement. The journal (journal/sqlite.ts) implements it.
import type { AttestStatus } from "../machine/types";

type Hex = `0x${string}`;

/** One signed attestation transaction (or relayed statement), as journaled before it left the watcher. */
export interface SignedAttestation {
  /** The statement it carries: one attest step of one upgrade (a replacement at the same nonce shares it). */
  key: string;
  upgradeId: number;
  stage: number;
  status: AttestStatus;
  /** The transaction hash (a relayed statement: its EIP-712 digest). */
  hash: Hex;
  via: "transaction" | "relay";
  /** The signed transaction, as broadcast (a relayed statement: "0x"). */
  raw: Hex;
  nonce: number;
  /** Milliseconds since the epoch, when it was signed. */
  signedAt: number;
}

export interface Outbox {
  /** The live transactions signed for `key`, oldest first (a replacement comes after the one it replaces). */
  signed(key: string): SignedAttestation[];
  /** Journals a signed transaction; done before it is broadcast. */
  record(entry: SignedAttestation): void;
  /** Retires `key`'s transactions (reverted, or their nonce taken by another): the next attempt signs anew. */
  retire(key: string, reason: string): void;
  /** Whether this watcher signed the transaction `hash`, or a statement for (upgrade, stage, status). */
  isOurs(hash: Hex, upgradeId: number, stage: number, status: AttestStatus): boolean;
}
