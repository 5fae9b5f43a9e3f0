// Validators: cohort, stake weight, last attestation and participation over the latest upgrade.
import { Status } from "../../../lib/coordinator";
import { cohortAt, type UpgradeHistory } from "../../../lib/history";
import type { Snapshot } from "../chain";
import { age, esc, tokens } from "../format";
import { txLink } from "./html";

export interface ValidatorRow {
  operator: string;
  attester: string;
  cohort: number;
  weight: bigint;
  version: string;
  status: string;
  height: string;
  block: string;
  age: string;
  tx?: string;
  attestations: number;
  /** Activated stages of the latest upgrade in this validator's cohort, and those it reported its health in. */
  due: number;
  reported: number;
}

/**
 * Participation over an upgrade: a validator is due in every activated stage of its cohort (at the upgrade's
 * snapshot), and has taken part in one when it reported its health there (any status but Ready, which comes before).
 */
function participation(snap: Snapshot, u: UpgradeHistory | undefined) {
  const reported = new Map<string, Set<number>>();
  if (!u) return { due: () => 0, reported: () => 0 };
  for (const e of snap.events) {
    if (e.eventName !== "Attested" || e.args.upgradeId !== u.id || e.args.status === Status.Ready) continue;
    const key = e.args.operator.toLowerCase();
    if (!reported.has(key)) reported.set(key, new Set());
    reported.get(key)!.add(e.args.stage);
  }
  const dueStages = (operator: string) => {
    const cohort = cohortAt(snap.history.registry.get(operator.toLowerCase()), u.snapshot);
    return u.stages.filter((s) => s.activated && s.cohort === cohort).map((s) => s.index);
  };
  return {
    due: (operator: string) => dueStages(operator).length,
    reported: (operator: string) => dueStages(operator).filter((i) => reported.get(operator.toLowerCase())?.has(i)).length,
  };
}

export const participationText = (r: Pick<ValidatorRow, "due" | "reported">) =>
  r.due === 0 ? "not due yet" : `${Math.round((100 * r.reported) / r.due)}% (${r.reported} of ${r.due} stage${r.due === 1 ? "" : "s"})`;

export function validatorRows(snap: Snapshot): ValidatorRow[] {
  const latest = snap.history.upgrades[snap.history.upgrades.length - 1];
  const p = participation(snap, latest);
  return [...snap.history.registry.values()]
    .map((r) => {
      const cohort = r.cohorts[r.cohorts.length - 1]?.cohort ?? 0;
      const v = latest?.validators.get(r.operator.toLowerCase());
      return {
        operator: r.operator,
        attester: r.attester,
        cohort,
        weight: snap.weights.get(r.operator.toLowerCase()) ?? 0n,
        version: v?.version ?? "",
        status: v ? Status[v.status] : "no attestation",
        height: v ? v.height.toString() : "",
        block: v ? v.last.block.toString() : "",
        age: v?.last.time !== undefined ? age(snap.head.timestamp - v.last.time) : "",
        tx: v?.last.tx,
        attestations: v?.attestations ?? 0,
        due: p.due(r.operator),
        reported: p.reported(r.operator),
      };
    })
    .sort((a, b) => a.cohort - b.cohort || (b.weight > a.weight ? 1 : b.weight < a.weight ? -1 : 0));
}

/** Over the validators shown: how many of those due have reported, by count and by stake. */
export function participationSummary(rows: ValidatorRow[]): string {
  const due = rows.filter((r) => r.due > 0);
  if (due.length === 0) return "No validator shown is due to report yet.";
  const reporting = due.filter((r) => r.reported === r.due);
  const stake = (xs: ValidatorRow[]) => xs.reduce((t, r) => t + r.weight, 0n);
  const pct = (a: bigint, b: bigint) => (b === 0n ? 0 : Number((a * 10_000n) / b) / 100);
  return `Participation: ${reporting.length} of ${due.length} validator(s) due have reported in every stage they were due in, ` +
    `${tokens(stake(reporting))} of ${tokens(stake(due))} stake (${pct(stake(reporting), stake(due))}%).`;
}

export function validatorsTable(rows: ValidatorRow[], explorerUrl: string, latest?: UpgradeHistory): string {
  if (rows.length === 0) return `<p class="muted">No validator matches.</p>`;
  const body = rows
    .map(
      (r) => `<tr data-testid="validator-row" data-operator="${esc(r.operator)}" data-cohort="${r.cohort}" data-status="${esc(r.status)}" data-weight="${r.weight}" data-due="${r.due}" data-reported="${r.reported}">
        <td class="mono" title="attester ${esc(r.attester)}">${esc(r.operator)}</td><td>${r.cohort === 0 ? "deregistered" : r.cohort}</td><td>${tokens(r.weight)}</td>
        <td>${esc(r.version)}</td><td>${esc(r.status)}</td><td>${esc(r.height)}</td><td>${r.block}</td><td>${esc(r.age)}</td>
        <td>${r.attestations}</td><td data-testid="participation">${participationText(r)}</td><td>${r.tx ? txLink(r.tx, explorerUrl) : ""}</td></tr>`,
    )
    .join("");
  return `<p data-testid="participation-summary">${esc(participationSummary(rows))}</p>
    <p class="muted">Last attestation for ${latest ? `upgrade #${latest.id} ${esc(latest.name)}; stake weight at its snapshot block ${latest.snapshot}` : "no upgrade yet; current stake weight"}.</p>
    <table><thead><tr><th>operator</th><th>cohort</th><th>stake weight</th><th>version reported</th><th>last status</th><th>height</th><th>block</th><th>age</th><th>attestations</th><th title="activated stages of its cohort in which it reported its health">participation</th><th>tx</th></tr></thead>
    <tbody>${body}</tbody></table>`;
}

