// Validators: cohort, stake weight, last attestation, and participation over every upgrade.
import { Status } from "../../../lib/coordinator";
import { cohortAt, type UpgradeHistory } from "../../../lib/history";
import { deadlinePassed, stageDeadlineAt } from "../../../lib/history/rules";
import type { Snapshot } from "../chain";
import { age, esc, ratio, tokens } from "../format";
import { addressLink, blockLink, txLink } from "./html";

export interface ValidatorRow {
  operator: string;
  attester: string;
  cohort: number;
  weight: bigint;
  /** The version the node reported running (health reports only). */
  version: string;
  /** The version a node that has only said it is ready is ready for. */
  readyFor: string;
  status: string;
  height: string;
  block: string;
  age: string;
  tx?: string;
  attestations: number;
  /** Stages of every upgrade in which this validator had to report its health, and those it reported in. */
  due: number;
  reported: number;
  /** Stages active now, whose attestation deadline has not passed, that it has not reported in yet. */
  awaiting: number;
}

type Participation = Pick<ValidatorRow, "due" | "reported" | "awaiting">;

/**
 * Participation over every upgrade: a validator has to report its health (any status but Ready, which comes
 * before) in each activated stage of its cohort at that upgrade's snapshot. A stage counts once it reported there,
 * or once the stage's attestation deadline passed, as the contract enforces it, without a report: the deadline runs
 * from activation or the last resume, only while the upgrade is in flight and not paused. Until then the report is
 * awaited; a stage whose upgrade ended or was paused before its deadline does not count.
 */
function participation(snap: Snapshot): (operator: string) => Participation {
  const reported = new Map<string, Set<string>>();
  for (const e of snap.events) {
    if (e.eventName !== "Attested" || e.args.status === Status.Ready) continue;
    const key = e.args.operator.toLowerCase();
    if (!reported.has(key)) reported.set(key, new Set());
    reported.get(key)!.add(`${e.args.upgradeId}:${e.args.stage}`);
  }
  const now = snap.head.timestamp;
  return (operator) => {
    const key = operator.toLowerCase();
    const out: Participation = { due: 0, reported: 0, awaiting: 0 };
    for (const u of snap.history.upgrades) {
      const cohort = cohortAt(snap.history.registry.get(key), u.snapshot);
      const ended = u.state === "Completed" || u.state === "Withdrawn" || u.state === "RolledBack";
      // The time up to which the deadline could run out: now, or when the upgrade stopped (paused or ended).
      const until = ended ? u.endedAt : u.state === "Paused" ? u.pausedAt : now;
      for (const s of u.stages) {
        if (!s.activated || s.cohort !== cohort) continue;
        const deadline = stageDeadlineAt(u, s)!;
        if (reported.get(key)?.has(`${u.id}:${s.index}`)) {
          out.due++;
          out.reported++;
        } else if (deadlinePassed(until, deadline)) out.due++;
        else if (!ended) out.awaiting++;
      }
    }
    return out;
  };
}

export function participationText(r: Participation): string {
  const awaiting = r.awaiting ? `${r.due ? "; " : ""}awaiting ${r.awaiting} report${r.awaiting === 1 ? "" : "s"}` : "";
  if (r.due === 0) return awaiting ? awaiting.replace(/^; /, "") : "not due yet";
  return `${Math.round((100 * r.reported) / r.due)}% (${r.reported} of ${r.due} stage${r.due === 1 ? "" : "s"})${awaiting}`;
}

export function validatorRows(snap: Snapshot): ValidatorRow[] {
  const latest = snap.history.upgrades[snap.history.upgrades.length - 1];
  const p = participation(snap);
  return [...snap.history.registry.values()]
    .map((r) => {
      const cohort = r.cohorts[r.cohorts.length - 1]?.cohort ?? 0;
      const v = latest?.validators.get(r.operator.toLowerCase());
      return {
        operator: r.operator,
        attester: r.attester,
        cohort,
        weight: snap.weights.get(r.operator.toLowerCase()) ?? 0n,
        // A Ready attestation names the version the node is ready for, not one it runs: only health reports say
        // what runs.
        version: v && v.status !== Status.Ready ? v.version : "",
        readyFor: v?.status === Status.Ready ? v.version : "",
        status: v ? Status[v.status] : "no attestation",
        height: v ? v.height.toString() : "",
        block: v ? v.last.block.toString() : "",
        age: v?.last.time !== undefined ? age(snap.head.timestamp - v.last.time) : "",
        tx: v?.last.tx,
        attestations: v?.attestations ?? 0,
        ...p(r.operator),
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
  const awaited = rows.filter((r) => r.awaiting > 0).length;
  return (
    `Participation: ${reporting.length} of ${due.length} validator(s) due have reported in every stage they were due in, ` +
    `${tokens(stake(reporting))} of ${tokens(stake(due))} stake (${ratio(stake(reporting), stake(due))}%)` +
    `${awaited ? `; ${awaited} validator(s) have a report awaited before the deadline` : ""}.`
  );
}

/** A status with its mark and colour: never colour alone. */
export function statusCell(status: string): string {
  const cls =
    status === "Healthy"
      ? "t-healthy"
      : status === "Ready"
        ? "t-ready"
        : status === "no attestation"
          ? "muted"
          : "t-unhealthy";
  const mark = status === "Healthy" ? "✓" : status === "Ready" ? "●" : status === "no attestation" ? "–" : "✗";
  return `<span class="${cls}"><span aria-hidden="true">${mark}</span> ${esc(status)}</span>`;
}

export function validatorsTable(rows: ValidatorRow[], explorerUrl: string, latest?: UpgradeHistory): string {
  if (rows.length === 0) return `<p class="muted">No validator matches.</p>`;
  const body = rows
    .map(
      (
        r,
      ) => `<tr data-testid="validator-row" data-operator="${esc(r.operator)}" data-cohort="${r.cohort}" data-status="${esc(r.status)}" data-weight="${r.weight}" data-due="${r.due}" data-reported="${r.reported}" data-awaiting="${r.awaiting}">
        <td title="attester ${esc(r.attester)}">${addressLink(r.operator, explorerUrl)}</td><td>${r.cohort === 0 ? "deregistered" : r.cohort}</td><td class="num">${tokens(r.weight)}</td>
        <td data-testid="version-reported" data-version="${esc(r.version)}">${r.version ? esc(r.version) : r.readyFor ? `<span class="muted">not yet: ready for ${esc(r.readyFor)}</span>` : ""}</td><td>${statusCell(r.status)}</td><td>${esc(r.height)}</td><td>${r.block ? blockLink(r.block, explorerUrl) : ""}</td><td>${esc(r.age)}</td>
        <td>${r.attestations}</td><td data-testid="participation">${participationText(r)}</td><td>${r.tx ? txLink(r.tx, explorerUrl) : ""}</td></tr>`,
    )
    .join("");
  return `<p data-testid="participation-summary">${esc(participationSummary(rows))}</p>
    <p class="muted">Last attestation for ${latest ? `upgrade #${latest.id} ${esc(latest.name)}; stake weight at its snapshot block ${latest.snapshot}` : "no upgrade yet; current stake weight"}.</p>
    <div class="table-wrap" tabindex="0"><table><thead><tr><th>operator</th><th>cohort</th><th>stake weight</th><th>version running (reported)</th><th>last status</th><th>height</th><th>block</th><th>age</th><th>attestations</th><th title="over every upgrade: activated stages of its cohort in which it reported its health, of those whose deadline passed or that it reported in">participation</th><th>tx</th></tr></thead>
    <tbody>${body}</tbody></table></div>`;
}
