// Figures as people read them, shared by the dashboard, the tasks and the contract errors in words.
import { formatUnits } from "viem";

/** Stake in whole tokens (18 decimals), thousands grouped, at most 4 decimals: 50,000,000 or 12.5. */
export function tokens(x: bigint): string {
  const [whole, frac = ""] = formatUnits(x, 18).split(".");
  const f = frac.slice(0, 4).replace(/0+$/, "");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  return f ? `${grouped}.${f}` : grouped;
}

/** A timestamp (seconds) as ISO 8601 UTC without milliseconds; "" when unknown. */
export const isoTime = (t: bigint | number | undefined) =>
  t === undefined ? "" : new Date(Number(t) * 1000).toISOString().replace(".000Z", "Z");
