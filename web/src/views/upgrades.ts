// Upgrades: each upgrade's manifest, its stage timeline and live stake-weighted tallies against the thresholds.
import { MAX_UINT96, type StageHistory, type UpgradeHistory } from "../../../lib/history";
import { inFlight } from "../../../lib/history/reducer";
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
import { age, bpsPercent, cohortName, esc, isoTime, ratio, shortHex, spokenDuration, tokens } from "../format";
import { PAUSE_REASON_WORDS } from "../../../lib/coordinator";
import { blockLink, txLink } from "./html";
import { incidentBar, incidentOf } from "../incident";
import { leasesPanel } from "./leases";
import { Status } from "../../../lib/coordinator";

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
  /** The coordinator's guardian, when known: someone else (a Safe) signs the guardian's actions then. */
  guardian?: string;
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
    : actor.guardian && !/^0x0{40}$/i.test(actor.guardian)
      ? `<div class="actions guardian" data-testid="guardian-safe-actions"><span class="muted">Guardian ${esc(shortHex(actor.guardian))} signs (a Safe batch, nothing sent from here):</span>
        ${u.state !== "Paused" ? `<button data-action="safe-pause" data-upgrade="${u.id}">Pause: download Safe batch</button>` : ""}
        ${activated ? `<button data-action="safe-rollback" data-upgrade="${u.id}">Rollback: download Safe batch</button>` : ""}</div>`
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
  const where = t ? ` at block ${blockLink(t.block, explorerUrl)} · ${txLink(t.tx, explorerUrl)}` : "";
  return `<p class="paused" data-testid="pause-reason">${esc(PAUSE_REASON_WORDS[u.pauseReason])}${esc(who)}${where}. Only governance can resume it.</p>`;
}

type Step = { label: string; state: "done" | "now" | "todo" | "stopped"; detail?: string };

/** What a step's state reads as, beside its colour: status is never shown by colour alone. */
const STEP_MARK: Record<Step["state"], string> = { done: "✓", now: "●", todo: "○", stopped: "■" };

/**
 * The clock an upgrade's timeline reads: the chain's, while it is in flight; the time it was paused or ended, once
 * it stopped. A stopped upgrade's windows and time locks stop counting down where they were.
 */
export function upgradeClock(u: UpgradeHistory, now: bigint): bigint {
  if (u.state === "Paused" && u.pausedAt > 0n) return u.pausedAt;
  if (!inFlight(u.state) && u.endedAt > 0n) return u.endedAt;
  return now;
}

/** Why the timeline stopped, in words; undefined while it runs. */
function stoppedWord(u: UpgradeHistory): string | undefined {
  if (u.state === "Paused") return "paused";
  if (u.state === "RolledBack") return "rolled back";
  if (u.state === "Withdrawn") return "withdrawn";
  return undefined;
}

export function stageSteps(u: UpgradeHistory, s: StageHistory, chainNow: bigint): Step[] {
  const now = upgradeClock(u, chainNow);
  const stopped = stoppedWord(u);
  const lockEnds = stageNotBefore(u, s);
  const windowEnds = s.activated?.time === undefined ? undefined : stageObservationEndsAt(s);
  // A step under way when the upgrade stopped reads "stopped", never done: only verification completes a window.
  const stepState = (done: boolean, now_: boolean): Step["state"] =>
    done ? "done" : now_ ? (stopped ? "stopped" : "now") : "todo";
  const lockDone = s.activated !== undefined || (!stopped && lockEnds !== undefined && timelockOver(now, lockEnds));
  const windowOver = windowEnds !== undefined && observationOver(now, windowEnds);
  const windowDone = s.verified !== undefined || (!stopped && windowOver);
  const left = (ends: bigint) => `, ${age(ends - now)} left${stopped ? ` when ${stopped}` : ""}`;
  return [
    { label: "scheduled", state: "done", detail: isoTime(u.scheduled.time) },
    {
      label: "time lock",
      state: stepState(lockDone, lockEnds !== undefined && !lockDone && s.activated === undefined),
      detail: s.rules.timelock
        ? `${spokenDuration(s.rules.timelock)}${lockEnds !== undefined && !lockDone && !timelockOver(now, lockEnds) ? left(lockEnds) : ""}`
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
      detail: `${spokenDuration(s.rules.observationWindow)}${windowEnds !== undefined && !windowDone && !windowOver ? left(windowEnds) : windowOver && !s.verified ? ", over" : ""}${stopped && s.activated && !s.verified ? ` · ${stopped}` : ""}`,
    },
    {
      label: "verified",
      state: stepState(s.verified !== undefined, false),
      detail: s.verified ? `block ${s.verified.block}` : "",
    },
  ];
}

/** Where an upgrade is, at a glance: "stage 2 of 3 · early". */
export function stepIndicator(u: UpgradeHistory): string {
  const s = u.stages[u.currentStage];
  if (!s) return "";
  const done = u.state === "Completed";
  return done
    ? `all ${u.stages.length} stages verified`
    : `stage ${s.index + 1} of ${u.stages.length} · ${cohortName(s.cohort)}`;
}

/** A marker on a tally bar at `pct` percent from its left (healthy) or right (unhealthy) end. */
const tick = (pct: number, from: "left" | "right", label: string, cls: string) =>
  `<span class="tick ${cls}" style="${from}:${Math.min(100, pct)}%" title="${esc(label)}" aria-hidden="true"></span>`;

function tally(u: UpgradeHistory, s: StageHistory): string {
  const total = s.cohortStake;
  const healthy = s.healthyStake;
  const unhealthy = s.unhealthyStake;
  const missing = total > healthy + unhealthy ? total - healthy - unhealthy : 0n;
  const pct = (x: bigint) => ratio(x, total);
  const rollback =
    s.rollbackLimit === MAX_UINT96 ? "off" : `${tokens(s.rollbackLimit)} (${bpsPercent(s.rules.rollbackBps)})`;
  const label =
    `healthy ${pct(healthy)}% (needs ${bpsPercent(s.rules.healthyBps)}), unhealthy ${pct(unhealthy)}% ` +
    `(pauses at ${bpsPercent(s.rules.unhealthyBps)}), missing ${pct(missing)}%`;
  // Healthy grows from the left towards its threshold, unhealthy from the right towards its limit.
  return `
    <div class="tally" data-testid="tally-${u.id}-${s.index}" data-healthy="${healthy}" data-unhealthy="${unhealthy}" data-missing="${missing}"
         data-cohort-stake="${total}" data-healthy-needed="${s.healthyNeeded}" data-unhealthy-limit="${s.unhealthyLimit}" data-ready="${s.readyStake}">
      <div class="bar" role="img" aria-label="${esc(label)}" title="${esc(label)}">
        <span class="healthy" style="width:${pct(healthy)}%"></span><span class="missing" style="width:${pct(missing)}%"></span><span class="unhealthy" style="width:${pct(unhealthy)}%"></span>
        ${tick(pct(s.healthyNeeded), "left", `healthy needed: ${bpsPercent(s.rules.healthyBps)}`, "need")}
        ${tick(pct(s.unhealthyLimit), "right", `pauses at ${bpsPercent(s.rules.unhealthyBps)} unhealthy`, "limit")}
      </div>
      <span class="t-healthy">✓ healthy ${tokens(healthy)} / ${tokens(s.healthyNeeded)} needed (${bpsPercent(s.rules.healthyBps)})</span> ·
      <span class="t-unhealthy">✗ unhealthy ${tokens(unhealthy)} / pause at ${tokens(s.unhealthyLimit)} (${bpsPercent(s.rules.unhealthyBps)}), rollback ${rollback}</span> ·
      <span class="t-missing">? missing ${tokens(missing)}</span> ·
      <span class="t-ready">ready ${tokens(s.readyStake)} / ${tokens(s.readyNeeded)} needed (${s.readyCount} validator(s))</span>
      <span class="muted">of cohort stake ${tokens(total)}</span>
    </div>`;
}

/** The manifest in plain words: what it installs, and each stage's rules as sentences. */
export function manifestSummary(u: UpgradeHistory): string {
  const m = u.manifest;
  const stages = u.stages
    .map((s) => {
      const name = cohortName(s.cohort);
      const r = s.rules;
      const rollback = r.rollbackBps ? `rolls back at ${bpsPercent(r.rollbackBps)} unhealthy` : "no automatic rollback";
      return `<li data-testid="stage-summary">Stage ${s.index + 1}, the <b>${esc(name)}</b> cohort (${tokens(s.cohortStake)} stake):
        starts ${r.timelock ? `${spokenDuration(r.timelock)} after ${s.index === 0 ? "scheduling" : "the stage before is verified"}` : s.index === 0 ? "at once" : "as soon as the stage before is verified"}${r.readinessBps ? `, once ${bpsPercent(r.readinessBps)} of its stake is ready` : ""};
        watched for ${spokenDuration(r.observationWindow)}; validators have ${spokenDuration(r.attestationDeadline)} to report.
        It needs ${bpsPercent(r.healthyBps)} of the ${esc(name)} cohort's stake healthy; pauses at ${bpsPercent(r.unhealthyBps)} unhealthy; ${rollback}.</li>`;
    })
    .join("");
  return `<div class="summary" data-testid="manifest-summary">
    <p>Upgrades validators from <b>${esc(m.previousVersion)}</b> to <b>${esc(m.version)}</b>, in ${u.stages.length} stage${u.stages.length === 1 ? "" : "s"}${m.stateIncompatible ? "; the new version changes the node's state format, so a rollback restores a state snapshot" : ""}${m.featureFlags.length ? `; turns on ${m.featureFlags.map(esc).join(", ")}` : ""}.</p>
    <ol class="stage-summary">${stages}</ol>
  </div>`;
}

/** How an ended upgrade ended: the cause, who acted, and for a rollback how far it converged. */
function endedNote(u: UpgradeHistory): string {
  if (inFlight(u.state)) return "";
  const last = [...u.transitions]
    .reverse()
    .find((t) => t.kind === "UpgradeCompleted" || t.kind === "UpgradeWithdrawn" || t.kind === "RollbackOrdered");
  if (!last) return "";
  const who =
    last.actor === "automatic" ? "automatically" : last.by ? `by ${last.actor ?? "unknown"} ${shortHex(last.by)}` : "";
  const when = `block ${last.block}${last.time !== undefined ? ` · ${isoTime(last.time)}` : ""}`;
  let text: string;
  if (u.state === "Completed") text = `Completed: every stage verified (${when}).`;
  else if (u.state === "Withdrawn") text = `Withdrawn ${who} at stage ${(last.stage ?? 0) + 1} (${when}).`;
  else {
    const cause =
      last.reason === "AutomaticThreshold"
        ? "unhealthy stake reached the rollback limit"
        : u.pauseReason === "UnhealthyThreshold"
          ? "after an automatic pause for unhealthy stake"
          : "ordered by hand";
    const upgraded = [...u.validators.values()].filter((v) => v.status !== Status.Ready);
    const upgradedStake = upgraded.reduce((t, v) => t + v.weight, 0n);
    text =
      `Rolled back ${who} at stage ${(last.stage ?? 0) + 1} (${cause}; ${when}). ` +
      `Restored: ${u.restoredCount} of ${upgraded.length} validator(s) back on ${u.manifest.previousVersion}, ${tokens(u.restoredStake)} of ${tokens(upgradedStake)} stake (${ratio(u.restoredStake, upgradedStake)}%).`;
  }
  return `<p class="ended ${u.state}" data-testid="ended-note">${esc(text)}</p>`;
}

function upgradeCard(
  u: UpgradeHistory,
  snap: Snapshot,
  explorerUrl: string,
  actor?: Actor,
  related?: RelatedProposal[],
  open?: ReadonlySet<string>,
): string {
  const m = u.manifest;
  const now = snap.head.timestamp;
  const stages = u.stages
    .map((s) => {
      const steps = stageSteps(u, s, now)
        .map(
          (p) =>
            `<li class="${p.state}"><span aria-hidden="true">${STEP_MARK[p.state]}</span> ${esc(p.label)}<span class="sr-only"> (${p.state === "now" ? "under way" : p.state})</span>${p.detail ? `<br><span class="muted">${esc(p.detail)}</span>` : ""}</li>`,
        )
        .join("");
      return `<div class="stage" data-testid="stage-${u.id}-${s.index}">
        <h3>Stage ${s.index + 1} of ${u.stages.length} · ${esc(cohortName(s.cohort))} cohort (${s.cohort}) <span class="state ${s.state}">${s.state}</span></h3>
        <ol class="timeline">${steps}</ol>
        ${tally(u, s)}
        <div class="chart" data-chart="${u.id}-${s.index}" data-testid="chart-${u.id}-${s.index}"></div>
      </div>`;
    })
    .join("");
  const artifacts = m.artifacts
    .map(
      (a) =>
        `<tr><td>${esc(a.platform)}</td><td class="mono">${esc(a.uri)}</td><td class="mono">${esc(a.sha256Digest)}</td></tr>`,
    )
    .join("");
  const incident = incidentOf(u, snap);
  const key = `upgrade-${u.id}-technical`;
  return `<article class="card upgrade" data-testid="upgrade-${u.id}" data-state="${u.state}">
    <h2>#${u.id} ${esc(u.name)} <span class="state ${u.state}" data-testid="upgrade-state">${STATE_MARK[u.state] ?? ""} ${u.state}</span>
      <span class="step" data-testid="step-indicator">${esc(stepIndicator(u))}</span></h2>
    ${incident ? incidentBar(incident, "", "card") : ""}
    ${u.state === "Paused" ? pauseNote(u, explorerUrl) : ""}
    ${endedNote(u)}
    ${upgradeActions(u, actor, snap.head.timestamp)}
    ${relatedHtml(related)}
    ${manifestSummary(u)}
    ${leasesPanel(u, snap, explorerUrl)}
    <details data-key="${key}" ${open?.has(key) ? "open" : ""} data-testid="technical-details">
      <summary>Technical details: manifest hash, artifacts and digests</summary>
      <dl>
        <dt>version</dt><dd>${esc(m.version)}</dd>
        <dt>previous version</dt><dd>${esc(m.previousVersion)}</dd>
        <dt>manifest hash</dt><dd class="mono" data-testid="manifest-hash">${esc(m.manifestHash)}</dd>
        <dt>feature flags</dt><dd>${m.featureFlags.length ? m.featureFlags.map(esc).join(", ") : '<span class="muted">none</span>'}</dd>
        <dt>state-incompatible</dt><dd>${m.stateIncompatible ? "yes" : "no"}</dd>
        ${m.metadataURI ? `<dt>metadata</dt><dd class="mono">${esc(m.metadataURI)}</dd>` : ""}
        <dt>scheduled</dt><dd>block ${blockLink(u.scheduled.block, explorerUrl)} · ${isoTime(u.scheduled.time)} · ${txLink(u.scheduled.tx, explorerUrl)} · snapshot block ${blockLink(u.snapshot, explorerUrl)}</dd>
      </dl>
      <div class="table-wrap" tabindex="0"><table class="artifacts"><thead><tr><th>platform</th><th>artifact</th><th>sha256 digest</th></tr></thead><tbody>${artifacts}</tbody></table></div>
    </details>
    ${stages}
  </article>`;
}

/** A state's mark beside its word and colour. */
const STATE_MARK: Record<string, string> = {
  Scheduled: "○",
  Rolling: "▶",
  Paused: "‖",
  Completed: "✓",
  Withdrawn: "■",
  RolledBack: "↶",
};

export function upgradesView(
  snap: Snapshot,
  explorerUrl: string,
  actor?: Actor,
  related?: Map<bigint, RelatedProposal[]>,
  open?: ReadonlySet<string>,
): string {
  // Those in flight first, then the ended ones, newest first within each.
  const ups = [...snap.history.upgrades]
    .reverse()
    .sort((a, b) => Number(inFlight(b.state)) - Number(inFlight(a.state)));
  if (ups.length === 0)
    return `<p class="muted" data-testid="no-upgrades">No upgrade has been scheduled on this coordinator yet.</p>`;
  return ups.map((u) => upgradeCard(u, snap, explorerUrl, actor, related?.get(u.id), open)).join("");
}
