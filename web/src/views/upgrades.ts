// Upgrades: each upgrade's manifest, its stage timeline and live stake-weighted tallies against the thresholds.
import { MAX_UINT96, type StageHistory, type UpgradeHistory } from "../../../lib/history";
import {
  deadlinePassed,
  observationOver,
  participationMet,
  stageDeadlineAt,
  stageNotBefore,
  stageObservationEndsAt,
  timelockOver,
  unhealthyReached,
} from "../../../lib/history/rules";
import type { Snapshot } from "../chain";
import { age, bpsPercent, esc, isoTime, ratio, shortHex, tokens } from "../format";
import { PAUSE_REASON_WORDS } from "../../../lib/coordinator";
import { txLink } from "./html";

/** A Governor proposal about an upgrade (its scheduling, a resume, a withdrawal, a rollback). */
export interface RelatedProposal {
  id: bigint;
  title: string;
  state: string;
}

function relatedHtml(related: RelatedProposal[] | undefined): string {
  if (!related?.length) return "";
  const items = related
    .map(
      (p) =>
        `<li><a href="#proposals/${p.id}" data-testid="related-proposal">${esc(p.title)}</a> <span class="state ${esc(p.state)}">${esc(p.state)}</span></li>`,
    )
    .join("");
  return `<div class="related"><span class="muted">Governance on this upgrade:</span><ul>${items}</ul></div>`;
}

/** What the connected account may do to an upgrade. */
export interface Actor {
  isGuardian: boolean;
  /** A wallet is connected on the right chain. */
  canAct: boolean;
}

/**
 * The buttons on an upgrade in flight. The guardian's pause and rollback act at once and appear to the guardian
 * alone; advancing is anyone's; resume, withdraw and rollback through governance are offered as proposals.
 */
function upgradeActions(u: UpgradeHistory, actor: Actor | undefined, now: bigint): string {
  const inFlight = u.state === "Scheduled" || u.state === "Rolling" || u.state === "Paused";
  if (!inFlight || !actor) return "";
  const disabled = actor.canAct ? "" : "disabled";
  const activated = u.stages.some((s) => s.activated);
  const button = (action: string, label: string, cls = "") =>
    `<button class="${cls}" data-action="${action}" data-upgrade="${u.id}" ${disabled}>${label}</button>`;
  const guardian = actor.isGuardian
    ? `<div class="actions guardian" data-testid="guardian-actions"><span class="muted">Guardian, at once:</span>
        ${u.state !== "Paused" ? button("pause", "Pause upgrade", "danger") : ""} ${activated ? button("rollback", "Order rollback", "danger") : ""}</div>`
    : "";
  const missing = missingParticipation(u, now);
  const anyone = `<div class="actions" data-testid="upgrade-actions"><span class="muted">Anyone:</span>
      ${u.state !== "Paused" ? `${button("advance", "Advance")} <span class="muted" data-testid="next-step">${esc(nextStep(u, now))}</span>` : ""}
      ${missing ? `${button("pause-missing", "Pause for missing participation", "danger")} <span class="muted">${esc(missing)}</span>` : ""}
      <span class="muted">Propose to governance:</span>
      ${u.state === "Paused" ? button("propose-resume", "Resume") : ""} ${button("propose-withdraw", "Withdraw")}
      ${activated ? button("propose-rollback", "Rollback") : ""}
      ${actor.canAct ? "" : '<span class="muted">(connect a wallet on this chain to act)</span>'}</div>`;
  return guardian + anyone;
}

/** What an advance would do now, as far as the last block's time tells (the contract has the last word). */
function nextStep(u: UpgradeHistory, now: bigint): string {
  const s = u.stages.find((x) => !x.verified);
  if (!s) return "";
  if (s.activated) {
    const windowEnds = stageObservationEndsAt(s)!;
    if (unhealthyReached(s.unhealthyStake, s.unhealthyLimit)) {
      return `stage ${s.index} cannot be verified: unhealthy stake ${tokens(s.unhealthyStake)} is at or above its limit ${tokens(s.unhealthyLimit)}`;
    }
    return !observationOver(now, windowEnds)
      ? `stage ${s.index} can be verified from ${isoTime(windowEnds)} (observation window), if healthy`
      : `verifies stage ${s.index} if ${tokens(s.healthyNeeded)} stake reported healthy (now ${tokens(s.healthyStake)}) and unhealthy stays below ${tokens(s.unhealthyLimit)}`;
  }
  const lockEnds = stageNotBefore(u, s);
  if (lockEnds !== undefined && !timelockOver(now, lockEnds))
    return `stage ${s.index} can be activated from ${isoTime(lockEnds)} (time lock)`;
  return `activates stage ${s.index} (cohort ${s.cohort}) if ${tokens(s.readyNeeded)} stake reported ready (now ${tokens(s.readyStake)})`;
}

/** Why anyone may pause the upgrade now: the active stage's attestation deadline passed without enough healthy stake. */
function missingParticipation(u: UpgradeHistory, now: bigint): string | undefined {
  if (u.state === "Paused") return undefined;
  const s = u.stages[u.currentStage];
  if (!s?.activated || s.verified) return undefined;
  const deadline = stageDeadlineAt(u, s)!;
  if (!deadlinePassed(now, deadline) || participationMet(s.healthyStake, s.healthyNeeded)) return undefined;
  return `the attestation deadline passed at ${isoTime(deadline)} with ${tokens(s.healthyStake)} of ${tokens(s.healthyNeeded)} stake healthy`;
}

/** Why and by whom the upgrade is paused, from its last pause transition. */
function pauseNote(u: UpgradeHistory, explorerUrl: string): string {
  const t = [...u.transitions].reverse().find((x) => x.kind === "UpgradePaused");
  const who = t?.by && u.pauseReason === "Manual" ? ` (${t.actor ?? "unknown"} ${shortHex(t.by)})` : "";
  const where = t ? ` at block ${t.block} · ${txLink(t.tx, explorerUrl)}` : "";
  return `<p class="paused" data-testid="pause-reason">${esc(PAUSE_REASON_WORDS[u.pauseReason])}${esc(who)}${where}. Only governance can resume it.</p>`;
}

type Step = { label: string; state: "done" | "now" | "todo"; detail?: string };

function stageSteps(u: UpgradeHistory, s: StageHistory, now: bigint): Step[] {
  const lockEnds = stageNotBefore(u, s);
  const windowEnds = s.activated?.time === undefined ? undefined : stageObservationEndsAt(s);
  const stepState = (done: boolean, now_: boolean): Step["state"] => (done ? "done" : now_ ? "now" : "todo");
  const lockDone = s.activated !== undefined || (lockEnds !== undefined && timelockOver(now, lockEnds));
  const windowDone = s.verified !== undefined || (windowEnds !== undefined && observationOver(now, windowEnds));
  return [
    { label: "scheduled", state: "done", detail: isoTime(u.scheduled.time) },
    {
      label: "time lock",
      state: stepState(lockDone, lockEnds !== undefined && !lockDone),
      detail: s.rules.timelock
        ? `${s.rules.timelock}s${lockEnds !== undefined && !lockDone ? `, ${age(lockEnds - now)} left` : ""}`
        : "none",
    },
    {
      label: "active",
      state: stepState(s.activated !== undefined, false),
      detail: s.activated ? `block ${s.activated.block}` : "",
    },
    {
      label: "observation window",
      state: stepState(windowDone, s.activated !== undefined && !windowDone),
      detail: `${s.rules.observationWindow}s${windowEnds !== undefined && !windowDone ? `, ${age(windowEnds - now)} left` : ""}`,
    },
    {
      label: "verified",
      state: stepState(s.verified !== undefined, false),
      detail: s.verified ? `block ${s.verified.block}` : "",
    },
  ];
}

function tally(u: UpgradeHistory, s: StageHistory): string {
  const total = s.cohortStake;
  const healthy = s.healthyStake;
  const unhealthy = s.unhealthyStake;
  const missing = total > healthy + unhealthy ? total - healthy - unhealthy : 0n;
  const pct = (x: bigint) => ratio(x, total);
  const rollback =
    s.rollbackLimit === MAX_UINT96 ? "off" : `${tokens(s.rollbackLimit)} (${bpsPercent(s.rules.rollbackBps)})`;
  return `
    <div class="tally" data-testid="tally-${u.id}-${s.index}" data-healthy="${healthy}" data-unhealthy="${unhealthy}" data-missing="${missing}"
         data-cohort-stake="${total}" data-healthy-needed="${s.healthyNeeded}" data-unhealthy-limit="${s.unhealthyLimit}" data-ready="${s.readyStake}">
      <div class="bar" title="healthy ${pct(healthy)}%, unhealthy ${pct(unhealthy)}%, missing ${pct(missing)}%">
        <span class="healthy" style="width:${pct(healthy)}%"></span><span class="unhealthy" style="width:${pct(unhealthy)}%"></span><span class="missing" style="width:${pct(missing)}%"></span>
      </div>
      <span class="t-healthy">healthy ${tokens(healthy)} / ${tokens(s.healthyNeeded)} needed (${bpsPercent(s.rules.healthyBps)})</span> ·
      <span class="t-unhealthy">unhealthy ${tokens(unhealthy)} / pause at ${tokens(s.unhealthyLimit)} (${bpsPercent(s.rules.unhealthyBps)}), rollback ${rollback}</span> ·
      <span class="t-missing">missing ${tokens(missing)}</span> ·
      <span class="t-ready">ready ${tokens(s.readyStake)} / ${tokens(s.readyNeeded)} needed (${s.readyCount} validator(s))</span>
      <span class="muted">of cohort stake ${tokens(total)}</span>
    </div>`;
}

function upgradeCard(
  u: UpgradeHistory,
  snap: Snapshot,
  explorerUrl: string,
  actor?: Actor,
  related?: RelatedProposal[],
): string {
  const m = u.manifest;
  const now = snap.head.timestamp;
  const stages = u.stages
    .map((s) => {
      const steps = stageSteps(u, s, now)
        .map(
          (p) =>
            `<li class="${p.state}">${esc(p.label)}${p.detail ? `<br><span class="muted">${esc(p.detail)}</span>` : ""}</li>`,
        )
        .join("");
      return `<div class="stage" data-testid="stage-${u.id}-${s.index}">
        <h3>Stage ${s.index} · cohort ${s.cohort} <span class="state ${s.state}">${s.state}</span></h3>
        <ol class="timeline">${steps}</ol>
        ${tally(u, s)}
      </div>`;
    })
    .join("");
  const artifacts = m.artifacts
    .map(
      (a) =>
        `<tr><td>${esc(a.platform)}</td><td class="mono">${esc(a.uri)}</td><td class="mono">${esc(a.sha256Digest)}</td></tr>`,
    )
    .join("");
  return `<article class="card upgrade" data-testid="upgrade-${u.id}" data-state="${u.state}">
    <h2>#${u.id} ${esc(u.name)} <span class="state ${u.state}" data-testid="upgrade-state">${u.state}</span></h2>
    ${u.state === "Paused" ? pauseNote(u, explorerUrl) : ""}
    ${upgradeActions(u, actor, snap.head.timestamp)}
    ${relatedHtml(related)}
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

export function upgradesView(
  snap: Snapshot,
  explorerUrl: string,
  actor?: Actor,
  related?: Map<bigint, RelatedProposal[]>,
): string {
  const ups = [...snap.history.upgrades].reverse();
  if (ups.length === 0)
    return `<p class="muted" data-testid="no-upgrades">No upgrade has been scheduled on this coordinator yet.</p>`;
  return ups.map((u) => upgradeCard(u, snap, explorerUrl, actor, related?.get(u.id))).join("");
}
