// Validators: cohort, stake weight, last attestation, and participation over every upgrade.
import { SKIP_REASON_WORDS, SkipReason, Status } from "../../../lib/coordinator";
import { versionFromTag } from "../../../lib/version";
import { cohortAt, type UpgradeHistory } from "../../../lib/history";
import { deadlinePassed, stageDeadlineAt } from "../../../lib/history/rules";
import type { Snapshot } from "../chain";
import { age, cohortName, esc, isoTime, ratio, shortHex, tokens } from "../format";
import { STATUS_REASON } from "../incident";
import { addressLink, blockLink, txLink } from "./html";
import { leasesOf } from "./leases";

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
  /** The block of the last attestation, for sorting ("age" sorts by it: newest first is youngest). */
  lastBlock: bigint;
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
        lastBlock: v?.last.block ?? -1n,
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

// ------------------------------------------------------------------ the list: sortable columns

export type SortKey =
  "operator" | "cohort" | "weight" | "version" | "status" | "height" | "age" | "attestations" | "participation";
export type SortDirection = "ascending" | "descending";
export interface SortState {
  key: SortKey;
  direction: SortDirection;
}

/** Statuses from best to worst, so "last status" sorts by how much a validator needs looking at. */
const STATUS_ORDER = ["Healthy", "Ready", "no attestation", "Unhealthy", "FailedToUpgrade", "RolledBack", "None"];
const cmp = (a: bigint | number | string, b: bigint | number | string) =>
  typeof a === "string" ? a.localeCompare(String(b)) : a < (b as bigint) ? -1 : a > (b as bigint) ? 1 : 0;
/** Participation as a share in basis points; a validator with nothing due sorts first. */
const share = (r: ValidatorRow) => (r.due === 0 ? -1 : Math.round((10_000 * r.reported) / r.due));

const SORT_VALUE: Record<SortKey, (r: ValidatorRow) => bigint | number | string> = {
  operator: (r) => r.operator.toLowerCase(),
  cohort: (r) => r.cohort,
  weight: (r) => r.weight,
  version: (r) => r.version || (r.readyFor ? `~${r.readyFor}` : ""),
  status: (r) => STATUS_ORDER.indexOf(r.status),
  height: (r) => (r.height ? BigInt(r.height) : -1n),
  // The youngest attestation has the highest block: "age" ascending is newest first.
  age: (r) => -r.lastBlock,
  attestations: (r) => r.attestations,
  participation: share,
};

/** `rows` sorted by one column; ties keep the default order (cohort, then stake). */
export function sortRows(rows: ValidatorRow[], sort: SortState | undefined): ValidatorRow[] {
  if (!sort) return rows;
  const value = SORT_VALUE[sort.key];
  const sign = sort.direction === "ascending" ? 1 : -1;
  return rows
    .map((r, i) => ({ r, i }))
    .sort((a, b) => sign * cmp(value(a.r), value(b.r)) || a.i - b.i)
    .map((x) => x.r);
}

/** The next sort after a click on `key`'s header: ascending first (descending for figures), then the other way. */
export function nextSort(current: SortState | undefined, key: SortKey): SortState {
  if (current?.key === key) return { key, direction: current.direction === "ascending" ? "descending" : "ascending" };
  const figure = key === "weight" || key === "attestations" || key === "participation" || key === "height";
  return { key, direction: figure ? "descending" : "ascending" };
}

const COLUMNS: { key?: SortKey; label: string; title?: string }[] = [
  { key: "operator", label: "operator" },
  { key: "cohort", label: "cohort" },
  { key: "weight", label: "stake weight" },
  { key: "version", label: "version running (reported)" },
  { key: "status", label: "last status" },
  { key: "height", label: "height" },
  { label: "block" },
  { key: "age", label: "age" },
  { key: "attestations", label: "attestations" },
  {
    key: "participation",
    label: "participation",
    title:
      "over every upgrade: activated stages of its cohort in which it reported its health, of those whose deadline passed or that it reported in",
  },
  { label: "tx" },
];

/** A header cell: a button that sorts by the column (Enter or Space), aria-sort on the column sorted by. */
function headerCell(c: (typeof COLUMNS)[number], sort: SortState | undefined): string {
  const title = c.title ? ` title="${esc(c.title)}"` : "";
  if (!c.key) return `<th scope="col"${title}>${esc(c.label)}</th>`;
  const on = sort?.key === c.key;
  const arrow = on ? (sort.direction === "ascending" ? "▲" : "▼") : "↕";
  return `<th scope="col"${title}${on ? ` aria-sort="${sort.direction}"` : ""}><button type="button" class="sort" data-sort="${c.key}" data-testid="sort-${c.key}">${esc(c.label)} <span aria-hidden="true">${arrow}</span></button></th>`;
}

/** A link to the validator's own page. */
export const validatorHref = (operator: string) => `#validators/${operator}`;

export function validatorsTable(
  rows: ValidatorRow[],
  explorerUrl: string,
  latest?: UpgradeHistory,
  sort?: SortState,
): string {
  if (rows.length === 0) return `<p class="muted">No validator matches.</p>`;
  const body = sortRows(rows, sort)
    .map(
      (
        r,
      ) => `<tr data-testid="validator-row" data-operator="${esc(r.operator)}" data-cohort="${r.cohort}" data-status="${esc(r.status)}" data-weight="${r.weight}" data-due="${r.due}" data-reported="${r.reported}" data-awaiting="${r.awaiting}">
        <td title="attester ${esc(r.attester)}"><a class="mono" href="${esc(validatorHref(r.operator))}" data-testid="validator-link">${esc(r.operator)}</a> ${explorerUrl ? addressLink(r.operator, explorerUrl, "↗") : ""}</td><td>${r.cohort === 0 ? "deregistered" : r.cohort}</td><td class="num">${tokens(r.weight)}</td>
        <td data-testid="version-reported" data-version="${esc(r.version)}">${r.version ? esc(r.version) : r.readyFor ? `<span class="muted">not yet: ready for ${esc(r.readyFor)}</span>` : ""}</td><td>${statusCell(r.status)}</td><td>${esc(r.height)}</td><td>${r.block ? blockLink(r.block, explorerUrl) : ""}</td><td>${esc(r.age)}</td>
        <td>${r.attestations}</td><td data-testid="participation">${participationText(r)}</td><td>${r.tx ? txLink(r.tx, explorerUrl) : ""}</td></tr>`,
    )
    .join("");
  return `<p data-testid="participation-summary">${esc(participationSummary(rows))}</p>
    <p class="muted">Last attestation for ${latest ? `upgrade #${latest.id} ${esc(latest.name)}; stake weight at its snapshot block ${latest.snapshot}` : "no upgrade yet; current stake weight"}. Sort by a column with its heading; open a validator's page with its address.</p>
    <div class="table-wrap" tabindex="0" role="region" aria-label="Validator list"><table data-testid="validators-list"><thead><tr>${COLUMNS.map((c) => headerCell(c, sort)).join("")}</tr></thead>
    <tbody>${body}</tbody></table></div>`;
}

// ------------------------------------------------------------------ a validator's own page

export interface AttestationEntry {
  upgradeId: bigint;
  upgradeName: string;
  stage: number;
  status: Status;
  version: string;
  height: bigint;
  weight: bigint;
  block: bigint;
  time?: bigint;
  tx: string;
}

/** Every attestation of `operator` in chain order, and the relayed items the coordinator skipped, with why. */
export function attestationsOf(snap: Snapshot, operator: string) {
  const key = operator.toLowerCase();
  const names = new Map(snap.history.upgrades.map((u) => [u.id, u.name]));
  const attested: AttestationEntry[] = [];
  const skipped: { upgradeId: bigint; reason: number; block: bigint; time?: bigint; tx: string }[] = [];
  for (const e of snap.events) {
    if (e.eventName === "Attested" && e.args.operator.toLowerCase() === key)
      attested.push({
        upgradeId: e.args.upgradeId,
        upgradeName: names.get(e.args.upgradeId) ?? "",
        stage: Number(e.args.stage),
        status: Number(e.args.status) as Status,
        version: versionFromTag(e.args.version),
        height: e.args.height,
        weight: e.args.weight,
        block: e.blockNumber,
        time: snap.times.get(e.blockNumber),
        tx: e.transactionHash,
      });
    else if (e.eventName === "AttestationSkipped" && e.args.operator.toLowerCase() === key)
      skipped.push({
        upgradeId: e.args.upgradeId,
        reason: Number(e.args.reason),
        block: e.blockNumber,
        time: snap.times.get(e.blockNumber),
        tx: e.transactionHash,
      });
  }
  return { attested, skipped };
}

/** What an attestation said, in words a stakeholder reads. */
export function statusWords(s: Status): string {
  if (s === Status.Healthy) return "runs the new version and reports itself healthy";
  if (s === Status.Ready) return "has the new version staged and is ready to switch";
  return STATUS_REASON[s] ?? Status[s];
}

/**
 * The version the node runs, as far as its health reports say (a Ready attestation names only what it is ready
 * for); and the version it is asked to run by the latest upgrade still in flight (or completed), if any.
 */
export function versionsOf(snap: Snapshot, attested: AttestationEntry[]) {
  const health = [...attested].reverse().find((a) => a.status !== Status.Ready);
  const latest = snap.history.upgrades[snap.history.upgrades.length - 1];
  let target: string | undefined;
  if (latest && ["Scheduled", "Rolling", "Paused", "Completed"].includes(latest.state))
    target = latest.manifest.version;
  else if (latest?.state === "RolledBack") target = latest.manifest.previousVersion;
  const readyFor = [...attested].reverse().find((a) => a.status === Status.Ready && a.upgradeId === latest?.id);
  return {
    running: health?.version,
    runningSince: health,
    target,
    readyFor: readyFor && (!health || health.block < readyFor.block) ? readyFor.version : undefined,
  };
}

const MARK: Partial<Record<Status, string>> = {
  [Status.Healthy]: "✓",
  [Status.Ready]: "●",
};
const statusClass = (s: Status) =>
  s === Status.Healthy ? "t-healthy" : s === Status.Ready ? "t-ready" : "t-unhealthy";

/** The health history: one mark per attestation, oldest first, each with its status in words (not colour alone). */
function healthTimeline(attested: AttestationEntry[]): string {
  if (!attested.length) return `<p class="muted">No attestation yet.</p>`;
  const recent = attested.slice(-60);
  const items = recent
    .map(
      (a) =>
        `<li class="${statusClass(a.status)}" data-status="${Status[a.status]}" title="${esc(`#${a.upgradeId} stage ${a.stage + 1}: ${Status[a.status]} ${a.version} at ${isoTime(a.time)}`)}"><span aria-hidden="true">${MARK[a.status] ?? "✗"}</span><span class="sr-only">${esc(`${Status[a.status]} at ${isoTime(a.time) || `block ${a.block}`}`)}</span></li>`,
    )
    .join("");
  const counts = new Map<string, number>();
  for (const a of attested) counts.set(Status[a.status], (counts.get(Status[a.status]) ?? 0) + 1);
  const summary = [...counts].map(([k, n]) => `${n} ${k}`).join(", ");
  return `<p>${attested.length > recent.length ? `The last ${recent.length} of ${attested.length} attestations` : `${attested.length} attestation(s)`}, oldest first: ${esc(summary)}.</p>
    <ol class="health-strip" data-testid="health-timeline" aria-label="health history, oldest first">${items}</ol>`;
}

/** The page of one validator (#validators/<operator>); a clear word when no validator has that address. */
export function validatorPage(snap: Snapshot, operator: string, explorerUrl: string): string {
  const back = `<p><a href="#validators">← All validators</a></p>`;
  const record = snap.history.registry.get(operator.toLowerCase());
  if (!record)
    return `${back}<p class="card warn" data-testid="validator-unknown">No validator is registered with the address ${esc(operator)}.</p>`;
  const row = validatorRows(snap).find((r) => r.operator.toLowerCase() === operator.toLowerCase())!;
  const { attested, skipped } = attestationsOf(snap, record.operator);
  const versions = versionsOf(snap, attested);
  const latest = snap.history.upgrades[snap.history.upgrades.length - 1];
  const cohort = row.cohort;
  const running = versions.running
    ? `<b data-testid="version-running" data-version="${esc(versions.running)}">${esc(versions.running)}</b> <span class="muted">(its last health report, ${esc(isoTime(versions.runningSince?.time))})</span>`
    : `<b data-testid="version-running" data-version="">not reported</b> <span class="muted">(no health report yet${versions.readyFor ? `; it said it is ready for ${esc(versions.readyFor)}` : ""})</span>`;
  const target = versions.target
    ? `<span data-testid="version-target" data-version="${esc(versions.target)}">${esc(versions.target)}</span> <span class="muted">(upgrade #${latest.id} ${esc(latest.name)}, ${esc(latest.state)})</span>`
    : `<span data-testid="version-target" data-version="">none</span> <span class="muted">(no upgrade in flight)</span>`;
  const onTarget =
    versions.running && versions.target
      ? versions.running === versions.target
        ? `<span class="t-healthy"><span aria-hidden="true">✓</span> on target</span>`
        : `<span class="t-ready"><span aria-hidden="true">●</span> not on target yet</span>`
      : "";
  // Its restart lease, held by its attester key, in the latest upgrade.
  const leases = latest ? leasesOf(latest, snap) : undefined;
  const lease = leases?.holders.find((h) => h.attester.toLowerCase() === record.attester.toLowerCase());
  const leaseText = !leases
    ? "No restart budget in the latest upgrade."
    : lease
      ? `Holds a restart lease for ${tokens(lease.weight)} stake in upgrade #${latest.id}, until ${isoTime(lease.expiresAt)} at the latest (${tokens(leases.inUse)} of ${tokens(leases.budget)} stake leased in all).`
      : `Holds no restart lease now (upgrade #${latest.id}: ${tokens(leases.inUse)} of ${tokens(leases.budget)} stake leased).`;
  const rows = [...attested]
    .reverse()
    .slice(0, 20)
    .map(
      (a) => `<tr data-testid="attestation-row" data-status="${Status[a.status]}">
        <td>${esc(isoTime(a.time))}</td><td>#${a.upgradeId} ${esc(a.upgradeName)}</td><td>${a.stage + 1}</td>
        <td>${statusCell(Status[a.status])}</td><td class="details">${esc(statusWords(a.status))}</td>
        <td>${esc(a.version)}</td><td>${a.height}</td><td class="num">${tokens(a.weight)}</td>
        <td>${blockLink(a.block, explorerUrl)}</td><td>${txLink(a.tx, explorerUrl)}</td></tr>`,
    )
    .join("");
  const skippedRows = skipped
    .slice(-10)
    .reverse()
    .map(
      (x) =>
        `<li data-testid="skipped-item">${esc(isoTime(x.time))} #${x.upgradeId}: skipped, ${esc(SKIP_REASON_WORDS[SkipReason[x.reason] as keyof typeof SkipReason] ?? String(x.reason))} (block ${blockLink(x.block, explorerUrl)}, ${txLink(x.tx, explorerUrl)})</li>`,
    )
    .join("");
  return `${back}
  <article class="card validator-page" data-testid="validator-page" data-operator="${esc(record.operator)}">
    <h2 tabindex="-1">Validator <span class="mono">${esc(shortHex(record.operator))}</span></h2>
    <dl>
      <dt>operator</dt><dd>${addressLink(record.operator, explorerUrl)}</dd>
      <dt>attester key</dt><dd>${addressLink(record.attester, explorerUrl)}</dd>
      <dt>cohort</dt><dd>${cohort === 0 ? "deregistered" : `${cohort} (${esc(cohortName(cohort))})`}</dd>
      <dt>stake weight</dt><dd>${tokens(row.weight)} ${latest ? `<span class="muted">(at upgrade #${latest.id}'s snapshot, block ${blockLink(latest.snapshot, explorerUrl)})</span>` : ""}</dd>
      <dt>registered</dt><dd>block ${blockLink(record.ref.block, explorerUrl)}, ${txLink(record.ref.tx, explorerUrl)}</dd>
      <dt>version running</dt><dd>${running}</dd>
      <dt>target version</dt><dd>${target} ${onTarget}</dd>
      <dt>last status</dt><dd>${statusCell(row.status)}</dd>
      <dt>participation</dt><dd>${participationText(row)}</dd>
      <dt>restart lease</dt><dd data-testid="validator-lease" data-held="${lease ? "true" : "false"}">${esc(leaseText)}</dd>
    </dl>
  </article>
  <section class="card" aria-labelledby="health-title"><h3 id="health-title">Health history</h3>${healthTimeline(attested)}</section>
  <section class="card" aria-labelledby="attestations-title"><h3 id="attestations-title">Last attestations</h3>
    ${
      rows
        ? `<div class="table-wrap" tabindex="0" role="region" aria-label="Attestation list"><table class="cards"><thead><tr><th>time (UTC)</th><th>upgrade</th><th>stage</th><th>status</th><th>what it means</th><th>version</th><th>height</th><th>stake</th><th>block</th><th>tx</th></tr></thead><tbody>${rows}</tbody></table></div>`
        : `<p class="muted">No attestation yet.</p>`
    }
    ${skippedRows ? `<p>Relayed items the coordinator skipped:</p><ul>${skippedRows}</ul>` : ""}
  </section>`;
}
