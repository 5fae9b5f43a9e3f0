// The relay file: signed attestations a watcher could not send itself, one JSON object a line, for anyone to
// relay in a batch (`attest:relay`). The watcher writes entries (or posts them to a relay URL) and the task reads
// them back through the one schema below.
import { z } from "zod";
import { concatHex, type Hex } from "viem";
import { PACKED_ATTESTATION_SIZE, Status } from "../coordinator";

const hex = (what: string, pattern: RegExp) =>
  z
    .string()
    .regex(pattern, what)
    .transform((x) => x as Hex);
const packed = hex(
  `packed attestations (${PACKED_ATTESTATION_SIZE} bytes each, as the watcher writes)`,
  new RegExp(`^0x([0-9a-fA-F]{${PACKED_ATTESTATION_SIZE * 2}})+$`),
);
const address = hex("an address", /^0x[0-9a-fA-F]{40}$/);
const whole = z.number().int().min(0);

/**
 * One entry. Only `attestations` is needed to relay; the rest (written by the watcher) says what was signed, for
 * people and for a relay service that checks before it pays.
 */
export const relayEntrySchema = z.object({
  /** Packed as `relayAttestations(bytes)` takes them (lib/actions/packAttestations.ts). */
  attestations: z.array(packed).min(1),
  chainId: whole.optional(),
  coordinator: address.optional(),
  operator: address.optional(),
  upgradeId: whole.optional(),
  stage: whole.optional(),
  status: z.enum(Object.keys(Status).filter((k) => Number.isNaN(Number(k))) as [string, ...string[]]).optional(),
  issuedAt: whole.optional(),
  deadline: whole.optional(),
  /** The EIP-712 digest that was signed. */
  digest: hex("a 32-byte digest", /^0x[0-9a-fA-F]{64}$/).optional(),
});

export type RelayEntry = z.infer<typeof relayEntrySchema>;
/** What a watcher writes: every field. */
export type WatcherRelayEntry = Required<RelayEntry>;

/** A relay file that cannot be read or holds something else: one line for the user. */
export class RelayFileError extends Error {}

/** An entry as one line of JSON (no newline): what goes into the file or the body posted to a relay. */
export function formatRelayEntry(entry: RelayEntry): string {
  return JSON.stringify(relayEntrySchema.parse(entry));
}

export type AppendRelayEntryParameters = { file: string; entry: WatcherRelayEntry };

/** Appends one entry and syncs it to disk before returning (the attestation must not be lost in a crash). */
export async function appendRelayEntry({ file, entry }: AppendRelayEntryParameters): Promise<void> {
  const { mkdir, open } = await import("node:fs/promises");
  const { dirname } = await import("node:path");
  const line = formatRelayEntry(entry);
  await mkdir(dirname(file), { recursive: true });
  const handle = await open(file, "a");
  try {
    await handle.appendFile(`${line}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Parses a relay file's text: JSON lines as the watcher writes them, or a JSON array of entries. */
export function parseRelayFile(text: string, source = "relay file"): RelayEntry[] {
  let raw: unknown[];
  if (text.trim().startsWith("[")) {
    try {
      raw = JSON.parse(text) as unknown[];
    } catch {
      throw new RelayFileError(`${source} is not valid JSON`);
    }
  } else {
    raw = text
      .split("\n")
      .filter((l) => l.trim())
      .map((line, i) => {
        try {
          return JSON.parse(line) as unknown;
        } catch {
          throw new RelayFileError(`${source} line ${i + 1} is not JSON`);
        }
      });
  }
  const entries = raw.map((entry, i) => {
    const result = relayEntrySchema.safeParse(entry);
    if (!result.success) {
      const problem = result.error.issues[0];
      throw new RelayFileError(
        problem.path[0] === "attestations"
          ? `${source} entry ${i + 1} has no packed attestations (${PACKED_ATTESTATION_SIZE} bytes each, as the watcher writes)`
          : `${source} entry ${i + 1}: ${problem.path.join(".") || "(entry)"}: ${problem.message}`,
      );
    }
    return result.data;
  });
  if (!entries.length) throw new RelayFileError(`${source} holds no attestation`);
  return entries;
}

/** Reads and parses a relay file. */
export async function readRelayFile(path: string): Promise<RelayEntry[]> {
  const { readFile } = await import("node:fs/promises");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    throw new RelayFileError(`${path} cannot be read`);
  }
  return parseRelayFile(text, path);
}

/** Every attestation of the entries, in one batch for `relayAttestations`, and how many it holds. */
export function relayBatch(entries: readonly RelayEntry[]): { batch: Hex; count: number } {
  const all = entries.flatMap((e) => e.attestations);
  const batch = concatHex(all);
  return { batch, count: (batch.length - 2) / 2 / PACKED_ATTESTATION_SIZE };
}
