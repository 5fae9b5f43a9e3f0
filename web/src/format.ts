// What only the browser needs (HTML escaping, short hashes); figures, times and CSV come from lib/format.
export {
  age,
  bpsPercent,
  cohortName,
  csvCell,
  isoTime,
  percent,
  ratio,
  spokenDuration,
  tokens,
} from "../../lib/format";
import { tokens } from "../../lib/format";

/**
 * Text from the chain made safe for HTML: markup characters escaped, and the Unicode controls that reorder or hide
 * text (bidirectional overrides and isolates, zero-width marks) shown as U+FFFD, so a proposal title or a reason
 * cannot make what is displayed read differently from what was written.
 */
export const esc = (s: unknown) =>
  String(s)
    .replace(/[\u00AD\u061C\u180E\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF\u{E0000}-\u{E007F}]/gu, "\uFFFD")
    .replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/**
 * Stake amounts in a sentence written in wei (the audit's details, which the downloaded report keeps exact) as
 * tokens: any whole number of 16 digits or more is taken for wei. Digests and addresses are hex and stay as they are.
 */
export const readableAmounts = (text: string) =>
  text.replace(/(?<![0-9a-fA-Fx])\d{16,}(?![0-9a-fA-F])/g, (d) => `${tokens(BigInt(d))} stake`);

export const shortHex = (h: string) => (h.length > 14 ? `${h.slice(0, 8)}…${h.slice(-6)}` : h);

/** JSON with bigints as decimal strings. */
export const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));
