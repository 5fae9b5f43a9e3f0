// The three views, as HTML strings built from a Snapshot. Numbers shown are also kept in data- attributes
// (wei, decimal) so tests and scripts read them without parsing display text.
import { Status } from "../../lib/coordinator";
import { MAX_UINT96, type StageHistory, type UpgradeHistory } from "../../lib/history";
import type { CoordinatorEvent } from "../../lib/events";
import type { Snapshot } from "./chain";
import { age, csvCell, esc, isoTime, json, shortHex, tokens } from "./format";

export function txLink(hash: string, explorerUrl: string, label = shortHex(hash)): string {
  return explorerUrl
    ? `<a class="mono tx" href="${esc(`${explorerUrl}/tx/${hash}`)}" target="_blank" rel="noopener" title="${esc(hash)}">${esc(label)}</a>`
    : `<span class="mono tx" title="${esc(hash)}">${esc(label)}</span>`;
}

// ------------------------------------------------------------------ upgrades

type Step = { label: string; state: "done" | "now" | "todo"; detail?: string };

function stageSteps(u: UpgradeHistory, s: StageHistory, now: bigint): Step[] {
  const prevVerified = s.index === 0 ? u.scheduled.time : u.stages[s.index - 1].verified?.time;
  const lockEnds = prevVerified === undefined ? undefined : prevVerified + BigInt(s.rules.timelock);
  const windowEnds = s.activated?.time === undefined ? undefined : s.activated.time + BigInt(s.rules.observationWindow);
  const stepState = (done: boolean, now_: boolean): Step["state"] => (done ? "done" : now_ ? "now" : "todo");
  const lockDone = s.activated !== undefined || (lockEnds !== undefined && now >= lockEnds);
  const windowDone = s.verified !== undefined || (windowEnds !== undefined && now >= windowEnds);
  return [
    { label: "scheduled", state: "done", detail: isoTime(u.scheduled.time) },
    {
      label: "time lock",
      state: stepState(lockDone, lockEnds !== undefined && !lockDone),
      detail: s.rules.timelock ? `${s.rules.timelock}s${lockEnds !== undefined && !lockDone ? `, ${age(lockEnds - now)} left` : ""}` : "none",
    },
    { label: "active", state: stepState(s.activated !== undefined, false), detail: s.activated ? `block ${s.activated.block}` : "" },
    {
      label: "observation window",
      state: stepState(windowDone, s.activated !== undefined && !windowDone),
      detail: `${s.rules.observationWindow}s${windowEnds !== undefined && !windowDone ? `, ${age(windowEnds - now)} left` : ""}`,
    },
    { label: "verified", state: stepState(s.verified !== undefined, false), detail: s.verified ? `block ${s.verified.block}` : "" },
  ];
}

function tally(u: UpgradeHistory, s: StageHistory): string {
  const total = s.cohortStake;
  const healthy = s.healthyStake;
  const unhealthy = s.unhealthyStake;
  const missing = total > healthy + unhealthy ? total - healthy - unhealthy : 0n;
  const pct = (x: bigint) => (total === 0n ? 0 : Number((x * 10_000n) / total) / 100);
  const rollback = s.rollbackLimit === MAX_UINT96 ? "off" : `${tokens(s.rollbackLimit)} (${s.rules.rollbackBps / 100}%)`;
  return `
    <div class="tally" data-testid="tally-${u.id}-${s.index}" data-healthy="${healthy}" data-unhealthy="${unhealthy}" data-missing="${missing}"
         data-cohort-stake="${total}" data-healthy-needed="${s.healthyNeeded}" data-unhealthy-limit="${s.unhealthyLimit}" data-ready="${s.readyStake}">
      <div class="bar" title="healthy ${pct(healthy)}%, unhealthy ${pct(unhealthy)}%, missing ${pct(missing)}%">
        <span class="healthy" style="width:${pct(healthy)}%"></span><span class="unhealthy" style="width:${pct(unhealthy)}%"></span><span class="missing" style="width:${pct(missing)}%"></span>
      </div>
      <span class="t-healthy">healthy ${tokens(healthy)} / ${tokens(s.healthyNeeded)} needed (${s.rules.healthyBps / 100}%)</span> ·
      <span class="t-unhealthy">unhealthy ${tokens(unhealthy)} / pause at ${tokens(s.unhealthyLimit)} (${s.rules.unhealthyBps / 100}%), rollback ${rollback}</span> ·
      <span class="t-missing">missing ${tokens(missing)}</span> ·
      <span class="t-ready">ready ${tokens(s.readyStake)} / ${tokens(s.readyNeeded)} needed (${s.readyCount} validator(s))</span>
      <span class="muted">of cohort stake ${tokens(total)}</span>
    </div>`;
}

function upgradeCard(u: UpgradeHistory, snap: Snapshot, explorerUrl: string): string {
  const m = u.manifest;
  const now = snap.head.timestamp;
  const stages = u.stages
    .map((s) => {
      const steps = stageSteps(u, s, now)
        .map((p) => `<li class="${p.state}">${esc(p.label)}${p.detail ? `<br><span class="muted">${esc(p.detail)}</span>` : ""}</li>`)
        .join("");
      return `<div class="stage" data-testid="stage-${u.id}-${s.index}">
        <h3>Stage ${s.index} · cohort ${s.cohort} <span class="state ${s.state}">${s.state}</span></h3>
        <ol class="timeline">${steps}</ol>
        ${tally(u, s)}
      </div>`;
    })
    .join("");
  const artifacts = m.artifacts
    .map((a) => `<tr><td>${esc(a.platform)}</td><td class="mono">${esc(a.uri)}</td><td class="mono">${esc(a.sha256Digest)}</td></tr>`)
    .join("");
  return `<article class="card upgrade" data-testid="upgrade-${u.id}" data-state="${u.state}">
    <h2>#${u.id} ${esc(u.name)} <span class="state ${u.state}" data-testid="upgrade-state">${u.state}${u.state === "Paused" ? ` (${u.pauseReason})` : ""}</span></h2>
    <dl>
      <dt>version</dt><dd>${esc(m.version)}</dd>
      <dt>previous version</dt><dd>${esc(m.previousVersion)}</dd>
      <dt>manifest hash</dt><dd class="mono" data-testid="manifest-hash">${esc(m.manifestHash)}</dd>
      <dt>feature flags</dt><dd>${m.featureFlags.length ? m.featureFlags.map(esc).join(", ") : '<span class="muted">none</span>'}</dd>
      <dt>state-incompatible</dt><dd>${m.stateIncompatible ? "yes" : "no"}</dd>
      ${m.metadataURI ? `<dt>metadata</dt><dd class="mono">${esc(m.metadataURI)}</dd>` : ""}
      <dt>scheduled</dt><dd>block ${u.scheduled.block} · ${isoTime(u.scheduled.time)} · ${txLink(u.scheduled.tx, explorerUrl)} · snapshot block ${u.snapshot}</dd>
    </dl>
    <table class="artifacts"><thead><tr><th>platform</th><th>artifact</th><th>sha256 digest</th></tr></thead><tbody>${artifacts}</tbody></table>
    ${stages}
  </article>`;
}

export function upgradesView(snap: Snapshot, explorerUrl: string): string {
  const ups = [...snap.history.upgrades].reverse();
  if (ups.length === 0) return `<p class="muted" data-testid="no-upgrades">No upgrade has been scheduled on this coordinator yet.</p>`;
  return ups.map((u) => upgradeCard(u, snap, explorerUrl)).join("");
}

// ------------------------------------------------------------------ validators

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
}

export function validatorRows(snap: Snapshot): ValidatorRow[] {
  const latest = snap.history.upgrades[snap.history.upgrades.length - 1];
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
      };
    })
    .sort((a, b) => a.cohort - b.cohort || (b.weight > a.weight ? 1 : b.weight < a.weight ? -1 : 0));
}

export function validatorsTable(rows: ValidatorRow[], explorerUrl: string, latest?: UpgradeHistory): string {
  if (rows.length === 0) return `<p class="muted">No validator matches.</p>`;
  const body = rows
    .map(
      (r) => `<tr data-testid="validator-row" data-operator="${esc(r.operator)}" data-cohort="${r.cohort}" data-status="${esc(r.status)}" data-weight="${r.weight}">
        <td class="mono" title="attester ${esc(r.attester)}">${esc(r.operator)}</td><td>${r.cohort === 0 ? "deregistered" : r.cohort}</td><td>${tokens(r.weight)}</td>
        <td>${esc(r.version)}</td><td>${esc(r.status)}</td><td>${esc(r.height)}</td><td>${r.block}</td><td>${esc(r.age)}</td>
        <td>${r.attestations}</td><td>${r.tx ? txLink(r.tx, explorerUrl) : ""}</td></tr>`,
    )
    .join("");
  return `<p class="muted">Last attestation for ${latest ? `upgrade #${latest.id} ${esc(latest.name)}; stake weight at its snapshot block ${latest.snapshot}` : "no upgrade yet; current stake weight"}.</p>
    <table><thead><tr><th>operator</th><th>cohort</th><th>stake weight</th><th>version reported</th><th>last status</th><th>height</th><th>block</th><th>age</th><th>attestations</th><th>tx</th></tr></thead>
    <tbody>${body}</tbody></table>`;
}

// ------------------------------------------------------------------ history

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
      (r) => `<tr data-testid="event-row" data-event="${esc(r.event)}" data-tx="${esc(r.tx)}"><td>${r.block}</td><td>${esc(r.time)}</td><td>${esc(r.event)}</td>
        <td>${esc(r.upgradeId)}</td><td>${esc(r.details)}</td><td>${txLink(r.tx, explorerUrl, r.tx)}</td></tr>`,
    )
    .join("");
  return `<table><thead><tr><th>block</th><th>time (UTC)</th><th>event</th><th>upgrade</th><th>details</th><th>transaction</th></tr></thead><tbody>${body}</tbody></table>`;
}

export function historyCsv(rows: EventRow[]): string {
  const head = ["block", "time", "logIndex", "event", "upgradeId", "details", "transactionHash"];
  const lines = rows.map((r) => [r.block, r.time, r.logIndex, r.event, r.upgradeId, r.details, r.tx].map(csvCell).join(","));
  return [head.join(","), ...lines].join("\n") + "\n";
}
