// Figures as people read them, written once: the dashboard, the tasks, the drill, the audit report and the contract
// errors in words (lib/errors) all format through here.
import { formatUnits } from "viem";

const group = (digits: string) => digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");

// ------------------------------------------------------------------ token amounts (18 decimals)

/** Stake in whole tokens, thousands grouped, at most 4 decimals: 50,000,000 or 12.5. */
export function tokens(x: bigint): string {
  const [whole, frac = ""] = formatUnits(x, 18).split(".");
  const f = frac.slice(0, 4).replace(/0+$/, "");
  return f ? `${group(whole)}.${f}` : group(whole);
}

/**
 * Stake in whole tokens, thousands grouped, the fraction cut off: 50,000,000. With `markFraction`, a cut-off
 * fraction shows as a trailing "+" (12+ for 12.5), so a table never reads as exact what is not.
 */
export function wholeTokens(wei: bigint, markFraction = false): string {
  const unit = 10n ** 18n;
  return `${group((wei / unit).toString())}${markFraction && wei % unit ? "+" : ""}`;
}

// ------------------------------------------------------------------ percentages

/** Basis points as a percentage, as many decimals as it needs: 6700 -> "67%", 1250 -> "12.5%". */
export const bpsPercent = (bps: number) => `${bps / 100}%`;

/** `part` of `whole` in percent, cut to whole basis points (0.01%): a number, 0 when `whole` is 0. */
export const ratio = (part: bigint, whole: bigint) => (whole === 0n ? 0 : Number((part * 10_000n) / whole) / 100);

/** `part` of `whole` as "66.7%" (`digits` decimals); `none` when `whole` is 0. */
export const percent = (part: bigint, whole: bigint, digits = 1, none = "-") =>
  whole === 0n ? none : `${ratio(part, whole).toFixed(digits)}%`;

// ------------------------------------------------------------------ time

/** A timestamp (seconds) as ISO 8601 UTC without milliseconds; "" when unknown. */
export const isoTime = (t: bigint | number | undefined) =>
  t === undefined ? "" : new Date(Number(t) * 1000).toISOString().replace(".000Z", "Z");

/** A duration (seconds) in its largest whole unit: "2h", "30m", "45s". */
export function duration(seconds: number): string {
  if (seconds % 3600 === 0 && seconds >= 3600) return `${seconds / 3600}h`;
  if (seconds % 60 === 0 && seconds >= 60) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/** A span of time (seconds) in its two largest units: "45s", "2m 5s", "3h 10m", "1d 4h"; negative reads as 0s. */
export function age(seconds: bigint): string {
  const s = Number(seconds < 0n ? 0n : seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

// ------------------------------------------------------------------ CSV

/** One CSV cell (RFC 4180): quoted, inner quotes doubled, when it holds a comma, a quote or a line break. */
export function csvCell(v: unknown): string {
  const s = String(v ?? "");
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

// ------------------------------------------------------------------ words for people who are not developers

/** The cohorts as operators name them (tasks/validator.ts): 1 canary, 2 early, 3 main; others by number. */
const COHORT_NAMES: Record<number, string> = { 1: "canary", 2: "early", 3: "main" };

/** A cohort's name: "canary", "early", "main", or "cohort 4". */
export const cohortName = (cohort: number) => COHORT_NAMES[cohort] ?? `cohort ${cohort}`;

/** A duration (seconds) as a person says it: "30 min", "2 h", "1 h 30 min", "45 s", "none" for 0. */
export function spokenDuration(seconds: number): string {
  if (seconds === 0) return "none";
  const parts: string[] = [];
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (s) parts.push(`${s} s`);
  return parts.join(" ");
}
