// Small, pure formatting helpers shared by the views.
import { formatUnits } from "viem";

export const esc = (s: unknown) =>
  String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** Stake in whole tokens (18 decimals), thousands grouped, at most 4 decimals: 50,000,000 or 12.5. */
export function tokens(x: bigint): string {
  const [whole, frac = ""] = formatUnits(x, 18).split(".");
  const f = frac.slice(0, 4).replace(/0+$/, "");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return f ? `${grouped}.${f}` : grouped;
}

export function age(seconds: bigint): string {
  const s = Number(seconds < 0n ? 0n : seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

export const isoTime = (t: bigint | undefined) => (t === undefined ? "" : new Date(Number(t) * 1000).toISOString().replace(".000Z", "Z"));

export const shortHex = (h: string) => (h.length > 14 ? `${h.slice(0, 8)}…${h.slice(-6)}` : h);

/** JSON with bigints as decimal strings. */
export const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));

export function csvCell(v: unknown): string {
  const s = String(v ?? "");
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
