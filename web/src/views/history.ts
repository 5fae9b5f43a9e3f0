// History: every coordinator event, newest first, linked to its transaction; exportable as CSV.
import {
  PAUSE_REASON_WORDS,
  PauseReason,
  RollbackReason,
  SKIP_REASON_WORDS,
  SkipReason,
  Status,
} from "../../../lib/coordinator";
import { versionFromTag } from "../../../lib/version";
import type { CoordinatorEvent } from "../../../lib/events";
import type { Snapshot } from "../chain";
import { csvCell, esc, isoTime, json, shortHex, tokens } from "../format";

type Hex = `0x${string}`;
import { addressLink, blockLink, txLink } from "./html";

export interface EventRow {
  block: bigint;
  time: string;
  logIndex: number;
  event: string;
  upgradeId: string;
  details: string;
  /** The arguments as on chain (wei, enum numbers). */
  raw: string;
  tx: string;
  /** The addresses among the arguments: their short forms in `details` link to the explorer. */
  addresses: string[];
}

/** The event's arguments as they are on chain: wei, enum numbers, full addresses (the CSV's raw column). */
function rawDetails(e: CoordinatorEvent): string {
  const args = { ...(e.args as Record<string, unknown>) };
  delete args.upgradeId;
  return Object.entries(args)
    .map(([k, v]) => `${k}=${typeof v === "object" ? json(v) : String(v)}`)
    .join(" ");
}

/** Amount-like arguments, shown in tokens. */
const AMOUNT = /stake|weight|needed|limit|budget|inuse/i;

/** An argument as a person reads it: tokens for amounts, names for enums, short addresses. */
function word(event: string, k: string, v: unknown): string {
  if (typeof v === "bigint" && AMOUNT.test(k)) return `${tokens(v)} stake`;
  if (k === "status" && typeof v === "number") return Status[v] ?? String(v);
  if (k === "reason" && typeof v === "number") {
    if (event === "UpgradePaused") return PAUSE_REASON_WORDS[PauseReason[v] as keyof typeof PauseReason] ?? String(v);
    if (event === "RollbackOrdered")
      return v === RollbackReason.AutomaticThreshold
        ? "automatic (unhealthy stake reached the rollback limit)"
        : "by hand";
    if (event === "AttestationSkipped") return SKIP_REASON_WORDS[SkipReason[v] as keyof typeof SkipReason] ?? String(v);
  }
  if (k === "stage" && typeof v === "number") return String(v + 1);
  if (typeof v === "string" && /^0x[0-9a-fA-F]{40}$/.test(v)) return shortHex(v);
  if (k === "expiresAt" && typeof v === "bigint") return isoTime(v);
  if (typeof v === "object") return json(v);
  return String(v);
}

function details(e: CoordinatorEvent): string {
  const args = { ...(e.args as Record<string, unknown>) };
  delete args.upgradeId;
  if (e.eventName === "UpgradeScheduled") {
    const m = args.manifest as { name: string; version: string; previousVersion: string; manifestHash: string };
    return `${m.name}: ${m.previousVersion} → ${m.version}, snapshot block ${args.snapshot}, cohort stakes ${(args.cohortStakes as bigint[]).map(tokens).join(" / ")}`;
  }
  if (e.eventName === "Attested") {
    const a = args as { operator: string; stage: number; status: number; height: bigint; weight: bigint; version: Hex };
    return `${shortHex(a.operator)} stage ${a.stage + 1}: ${Status[a.status]}, ${versionFromTag(a.version)} at height ${a.height}, ${tokens(a.weight)} stake`;
  }
  return Object.entries(args)
    .map(([k, v]) => `${k} ${word(e.eventName, k, v)}`)
    .join(", ");
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
    raw: rawDetails(e),
    tx: e.transactionHash,
    addresses: Object.values(e.args as Record<string, unknown>).filter(
      (x): x is string => typeof x === "string" && /^0x[0-9a-fA-F]{40}$/.test(x),
    ),
  }));
}

/** The details, escaped, with each address's short form linked: to the validator's page when it is a validator's
 * operator, else to the explorer when there is one. */
function linkedDetails(r: EventRow, explorerUrl: string, operators: Set<string>): string {
  let html = esc(r.details);
  for (const a of new Set(r.addresses)) {
    const short = esc(shortHex(a));
    const link = operators.has(a.toLowerCase())
      ? `<a class="mono" href="#validators/${esc(a)}" title="${esc(a)}">${short}</a>`
      : explorerUrl
        ? addressLink(a, explorerUrl, shortHex(a))
        : "";
    if (link) html = html.split(short).join(link);
  }
  return html;
}

export function historyTable(rows: EventRow[], explorerUrl: string, operators = new Set<string>()): string {
  if (rows.length === 0) return `<p class="muted">No coordinator event yet.</p>`;
  const body = rows
    .map(
      (
        r,
      ) => `<tr data-testid="event-row" data-event="${esc(r.event)}" data-tx="${esc(r.tx)}"><td>${blockLink(r.block, explorerUrl)}</td><td>${esc(r.time)}</td><td>${esc(r.event)}</td>
        <td>${r.upgradeId ? `#${esc(r.upgradeId)}` : ""}</td><td class="details">${linkedDetails(r, explorerUrl, operators)}</td><td>${txLink(r.tx, explorerUrl)}</td></tr>`,
    )
    .join("");
  return `<div class="table-wrap" tabindex="0"><table class="history cards"><thead><tr><th>block</th><th>time (UTC)</th><th>event</th><th>upgrade</th><th>details</th><th>transaction</th></tr></thead><tbody>${body}</tbody></table></div>`;
}

export function historyCsv(rows: EventRow[]): string {
  const head = ["block", "time", "logIndex", "event", "upgradeId", "details", "raw", "transactionHash"];
  const lines = rows.map((r) =>
    [r.block, r.time, r.logIndex, r.event, r.upgradeId, r.details, r.raw, r.tx].map(csvCell).join(","),
  );
  return [head.join(","), ...lines].join("\n") + "\n";
}
