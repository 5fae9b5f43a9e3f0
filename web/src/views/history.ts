// History: every coordinator event, newest first, linked to its transaction; exportable as CSV.
import { Status } from "../../../lib/coordinator";
import type { CoordinatorEvent } from "../../../lib/events";
import type { Snapshot } from "../chain";
import { csvCell, esc, isoTime, json, tokens } from "../format";
import { txLink } from "./html";

export interface EventRow {
  block: bigint;
  time: string;
  logIndex: number;
  event: string;
  upgradeId: string;
  details: string;
  tx: string;
}

function details(e: CoordinatorEvent): string {
  const args = { ...(e.args as Record<string, unknown>) };
  delete args.upgradeId;
  if (e.eventName === "UpgradeScheduled") {
    const m = args.manifest as { name: string; version: string; previousVersion: string; manifestHash: string };
    return `${m.name}: ${m.previousVersion} -> ${m.version}, manifest hash ${m.manifestHash}, snapshot ${args.snapshot}, cohort stakes ${(args.cohortStakes as bigint[]).map(tokens).join("/")}`;
  }
  if (e.eventName === "Attested") {
    const a = args as { operator: string; stage: number; status: number; height: bigint; weight: bigint };
    return `${a.operator} stage ${a.stage} ${Status[a.status]} height ${a.height} weight ${tokens(a.weight)}`;
  }
  return Object.entries(args)
    .map(([k, v]) => `${k}=${typeof v === "object" ? json(v) : String(v)}`)
    .join(" ");
}

/** Every coordinator event, newest first. */
export function eventRows(snap: Snapshot): EventRow[] {
  return [...snap.events].reverse().map((e) => ({
    block: e.blockNumber,
    time: isoTime(snap.times.get(e.blockNumber)),
    logIndex: e.logIndex,
    event: e.eventName,
    upgradeId: String((e.args as { upgradeId?: bigint }).upgradeId ?? ""),
    details: details(e),
    tx: e.transactionHash,
  }));
}

export function historyTable(rows: EventRow[], explorerUrl: string): string {
  if (rows.length === 0) return `<p class="muted">No coordinator event yet.</p>`;
  const body = rows
    .map(
      (
        r,
      ) => `<tr data-testid="event-row" data-event="${esc(r.event)}" data-tx="${esc(r.tx)}"><td>${r.block}</td><td>${esc(r.time)}</td><td>${esc(r.event)}</td>
        <td>${esc(r.upgradeId)}</td><td>${esc(r.details)}</td><td>${txLink(r.tx, explorerUrl, r.tx)}</td></tr>`,
    )
    .join("");
  return `<table><thead><tr><th>block</th><th>time (UTC)</th><th>event</th><th>upgrade</th><th>details</th><th>transaction</th></tr></thead><tbody>${body}</tbody></table>`;
}

export function historyCsv(rows: EventRow[]): string {
  const head = ["block", "time", "logIndex", "event", "upgradeId", "details", "transactionHash"];
  const lines = rows.map((r) =>
    [r.block, r.time, r.logIndex, r.event, r.upgradeId, r.details, r.tx].map(csvCell).join(","),
  );
  return [head.join(","), ...lines].join("\n") + "\n";
}
