// Incidents: an upgrade that stopped (paused, rolled back) and the validators that stopped it, in one line a guardian
// reads first: "#3 PAUSED — early cohort: 3 of 3 FailedToUpgrade, 789,310 stake (100% ≥ 34%)". The same words go
// to the page's bar, the upgrade's card, the tab title, the favicon and, when the user asked for them, a browser
// notification and a sound.
import { Status } from "../../lib/coordinator";
import { cohortAt, type UpgradeHistory, type ValidatorRecord } from "../../lib/history";
import type { Snapshot } from "./chain";
import { bpsPercent, cohortName, esc, ratio, shortHex, tokens } from "./format";

export interface FailingValidator {
  operator: string;
  status: string;
  /** Why, in words: what its last attestation said. */
  reason: string;
  weight: bigint;
}

export interface Incident {
  upgradeId: bigint;
  /** "PAUSED" or "ROLLED BACK". */
  state: string;
  /** The one line: "#3 PAUSED — early cohort: 3 of 3 FailedToUpgrade, 789,310 stake (100% ≥ 34%)". */
  headline: string;
  /** What stopped it (the pause or rollback reason in words). */
  cause: string;
  failing: FailingValidator[];
  /** Tells one incident from the next (a new pause, more validators failing): notifications fire once per key. */
  key: string;
}

/** What each not-healthy status means, for someone who did not write the watcher. */
export const STATUS_REASON: Partial<Record<Status, string>> = {
  [Status.Unhealthy]: "runs the new version but reports itself unhealthy",
  [Status.FailedToUpgrade]: "could not start the new version",
  [Status.RolledBack]: "went back to the previous version",
};

const notHealthy = (v: ValidatorRecord) => v.status > Status.Healthy;

function failingOf(u: UpgradeHistory, stage: number): FailingValidator[] {
  return [...u.validators.values()]
    .filter((v) => v.stage === stage && notHealthy(v))
    .sort((a, b) => (b.weight > a.weight ? 1 : b.weight < a.weight ? -1 : 0))
    .map((v) => ({
      operator: v.operator,
      status: Status[v.status],
      reason: `${STATUS_REASON[v.status] ?? Status[v.status]}${v.version ? ` (reported ${v.version} at height ${v.height})` : ""}`,
      weight: v.weight,
    }));
}

/** The incident of an upgrade that is paused, or was rolled back: undefined for one running or ended well. */
export function incidentOf(u: UpgradeHistory, snap: Snapshot): Incident | undefined {
  if (u.state !== "Paused" && u.state !== "RolledBack") return undefined;
  const state = u.state === "Paused" ? "PAUSED" : "ROLLED BACK";
  const stop = [...u.transitions].reverse().find((t) => t.kind === "UpgradePaused" || t.kind === "RollbackOrdered");
  const s = u.stages[stop?.stage ?? u.currentStage] ?? u.stages[u.currentStage];
  const failing = failingOf(u, s.index);
  // The cohort's members at the upgrade's snapshot: "3 of 3" counts against them.
  const members = [...snap.history.registry.values()].filter((r) => cohortAt(r, u.snapshot) === s.cohort).length;
  const byStatus = new Map<string, number>();
  for (const f of failing) byStatus.set(f.status, (byStatus.get(f.status) ?? 0) + 1);
  const counts = [...byStatus].map(([status, n]) => `${n} of ${members || failing.length} ${status}`).join(", ");
  const share = ratio(s.unhealthyStake, s.cohortStake);
  const limitBps = stop?.kind === "RollbackOrdered" && s.rules.rollbackBps ? s.rules.rollbackBps : s.rules.unhealthyBps;
  const reached = share >= limitBps / 100;
  const figures = failing.length
    ? `${counts}, ${tokens(s.unhealthyStake)} stake (${share}% ${reached ? "≥" : "<"} ${bpsPercent(limitBps)})`
    : "no validator reports itself unhealthy";
  const cause =
    stop?.kind === "RollbackOrdered"
      ? `rollback ordered ${stop.actor === "automatic" ? "automatically: unhealthy stake reached the rollback limit" : `by ${stop.actor ?? "unknown"}${stop.by ? ` ${shortHex(stop.by)}` : ""}`}`
      : stop?.reason === "UnhealthyThreshold"
        ? "paused automatically: unhealthy stake reached the stage's limit"
        : stop?.reason === "ParticipationDeadline"
          ? "paused: not enough healthy stake reported before the attestation deadline"
          : `paused by ${stop?.actor ?? "hand"}${stop?.by ? ` ${shortHex(stop.by)}` : ""}`;
  return {
    upgradeId: u.id,
    state,
    headline: `#${u.id} ${state} — ${cohortName(s.cohort)} cohort: ${figures}`,
    cause,
    failing,
    key: `${u.id}:${u.state}:${stop?.block ?? ""}:${failing.length}`,
  };
}

/** Incidents that still need someone: paused upgrades, and the latest upgrade when it was rolled back. */
export function incidents(snap: Snapshot): Incident[] {
  const ups = snap.history.upgrades;
  return ups
    .filter((u, i) => u.state === "Paused" || (u.state === "RolledBack" && i === ups.length - 1))
    .map((u) => incidentOf(u, snap))
    .filter((x): x is Incident => x !== undefined)
    .reverse();
}

/** The failing validators, inline, each with its reason. */
export function failingList(i: Incident): string {
  if (!i.failing.length) return "";
  const items = i.failing
    .map(
      (f) =>
        `<li data-testid="failing-validator" data-operator="${esc(f.operator)}"><a class="mono" href="#validators/${esc(f.operator)}" title="the validator's page">${esc(shortHex(f.operator))}</a> <b>✗ ${esc(f.status)}</b>: ${esc(f.reason)} · ${tokens(f.weight)} stake</li>`,
    )
    .join("");
  return `<ul class="failing">${items}</ul>`;
}

/** The bar: headline, cause, failing validators; `actions` (the guardian's buttons) beside them. */
export function incidentBar(i: Incident, actions = "", where = "page"): string {
  return `<div class="incident" role="alert" data-testid="incident-${where}" data-upgrade="${i.upgradeId}" data-key="${esc(i.key)}">
    <p class="incident-headline"><span aria-hidden="true">⚠</span> <b data-testid="incident-headline">${esc(i.headline)}</b></p>
    <p class="incident-cause">${esc(i.cause)}.</p>
    ${failingList(i)}
    ${actions}
  </div>`;
}

// ------------------------------------------------------------------ the tab, notifications and sound

const TITLE = "Lockstep dashboard";
const ICON_OK = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><circle cx="8" cy="8" r="7" fill="#15803d"/></svg>`;
const ICON_ALERT = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><path d="M8 1l7 14H1z" fill="#b91c1c"/><text x="8" y="13" font-size="9" text-anchor="middle" fill="#fff">!</text></svg>`;
const svgIcon = (svg: string) => `data:image/svg+xml,${encodeURIComponent(svg)}`;

/** Remembered per browser (localStorage): whether to notify and whether to play a sound. */
export const ALERT_PREFS = { notify: "lockstep.alerts.notify", sound: "lockstep.alerts.sound" } as const;

export function alertPref(name: keyof typeof ALERT_PREFS): boolean {
  try {
    return localStorage.getItem(ALERT_PREFS[name]) === "on";
  } catch {
    return false;
  }
}

export function setAlertPref(name: keyof typeof ALERT_PREFS, on: boolean) {
  try {
    localStorage.setItem(ALERT_PREFS[name], on ? "on" : "off");
  } catch {
    // Storage refused (private mode): the choice lasts as long as the page.
  }
}

function beep() {
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.1;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.4);
    document.body.dataset.sounded = String(Number(document.body.dataset.sounded ?? 0) + 1);
  } catch {
    // No audio device: the title and the bar still say it.
  }
}

let announced = new Set<string>();
let first = true;

/**
 * Puts the incidents on the tab (title and favicon) and, for each new one, notifies and sounds when the user asked
 * for it. Incidents present when the page opened are shown but not announced: they are not news.
 */
export function signalIncidents(list: Incident[]) {
  document.title = list.length ? `⚠ ${list[0].headline} · ${TITLE}` : TITLE;
  let link = document.querySelector<HTMLLinkElement>('link[rel="icon"]');
  if (!link) {
    link = document.createElement("link");
    link.rel = "icon";
    document.head.append(link);
  }
  const href = svgIcon(list.length ? ICON_ALERT : ICON_OK);
  if (link.href !== href) link.href = href;
  link.dataset.state = list.length ? "incident" : "ok";
  const fresh = list.filter((i) => !announced.has(i.key));
  announced = new Set(list.map((i) => i.key));
  const wasFirst = first;
  first = false;
  if (wasFirst || fresh.length === 0) return;
  for (const i of fresh) {
    if (alertPref("notify") && typeof Notification !== "undefined" && Notification.permission === "granted") {
      new Notification(`Lockstep: upgrade #${i.upgradeId} ${i.state.toLowerCase()}`, { body: i.headline, tag: i.key });
      document.body.dataset.notified = String(Number(document.body.dataset.notified ?? 0) + 1);
    }
  }
  if (alertPref("sound")) beep();
}

/** The opt-in switches, shown in the header. */
export function alertSwitches(): string {
  const box = (name: keyof typeof ALERT_PREFS, label: string) =>
    `<label class="switch"><input type="checkbox" data-alert="${name}" data-testid="alert-${name}" ${alertPref(name) ? "checked" : ""}> ${label}</label>`;
  return `${box("notify", "Notify me")} ${box("sound", "Sound")}`;
}

export function bindAlertSwitches(root: HTMLElement) {
  root.addEventListener("change", async (e) => {
    const el = e.target as HTMLInputElement;
    const name = el.dataset.alert as keyof typeof ALERT_PREFS | undefined;
    if (!name) return;
    if (
      name === "notify" &&
      el.checked &&
      typeof Notification !== "undefined" &&
      Notification.permission !== "granted"
    ) {
      const answer = await Notification.requestPermission();
      if (answer !== "granted") el.checked = false;
    }
    setAlertPref(name, el.checked);
  });
}
