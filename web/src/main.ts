// The dashboard's shell: reads /config.json, follows the chain (coordinator history and Governor proposals) and
// the wallet, and renders the current view whenever what it shows has changed.
import { loadConfig } from "./config";
import { ChainView, type Snapshot } from "./chain";
import { GovernanceView } from "./governance";
import { Wallet } from "./wallet";
import { discoverWallets } from "./walletDiscovery";
import { bindActions, bindProposeFromManifest, currentGov, type App } from "./actions";
import { esc, shortHex } from "./format";
import { upgradesView, type RelatedProposal } from "./views/upgrades";
import { proposalTitle, upgradesTouched } from "../../lib/proposals";
import type { GovernanceSnapshot } from "./governance";
import {
  nextSort,
  participationSummary,
  validatorPage,
  validatorRows,
  validatorsTable,
  type SortKey,
  type SortState,
} from "./views/validators";
import { eventRows, historyCsv, historyTable } from "./views/history";
import { auditDownload, auditView, manifestVerdicts } from "./views/audit";
import { REPORT_FORMATS, audit, type ManifestFileInput, type ReportFormat } from "../../lib/audit";
import { parseManifest } from "../../lib/manifest";
import { accountPanel, proposalPage, proposalsView } from "./views/proposals";
import { alertSwitches, bindAlertSwitches, incidentBar, incidents, signalIncidents } from "./incident";
import { drawCharts } from "./views/charts";
import { inFlight } from "../../lib/history/reducer";
import { PollPacer } from "./poll";

type ViewName = "upgrades" | "validators" | "proposals" | "history" | "audit";
const VIEWS: ViewName[] = ["upgrades", "validators", "proposals", "history", "audit"];
const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;

const filters = { cohort: "all", status: "all", event: "all", text: "" };
/** <details> the user opened (by data-key), kept open across refreshes. */
const openDetails = new Set<string>();
let app: App;

// "#proposals/<id>" opens the proposals view at that proposal (a link to share).
const currentView = () => (VIEWS.find((v) => `#${v}` === location.hash.split("/")[0]) ?? "upgrades") as ViewName;
const linkedProposal = () => (/^#proposals\/(\d+)$/.exec(location.hash) ?? [])[1];
// "#validators/<operator>" is that validator's page.
const linkedValidator = () => (/^#validators\/(0x[0-9a-fA-F]{40})$/.exec(location.hash) ?? [])[1];
let validatorSort: SortState | undefined;
let scrolledTo: string | undefined;

/** Proposals about each upgrade, from what their calls do. */
function relatedProposals(gov: GovernanceSnapshot | undefined, snap: Snapshot): Map<bigint, RelatedProposal[]> {
  const out = new Map<bigint, RelatedProposal[]>();
  if (!gov) return out;
  const byName = new Map(snap.history.upgrades.map((u) => [u.name, u.id]));
  for (const p of gov.proposals) {
    const touched = upgradesTouched(p, app.config.deployment.contracts.UpgradeCoordinator);
    const ids = new Set([
      ...touched.ids,
      ...touched.scheduled.map((n) => byName.get(n)).filter((x): x is bigint => x !== undefined),
    ]);
    for (const id of ids)
      out.set(id, [...(out.get(id) ?? []), { id: p.id, title: proposalTitle(p.description), state: p.state }]);
  }
  return out;
}

function showView() {
  const name = currentView();
  for (const v of VIEWS) $(`#view-${v}`).hidden = v !== name;
  document
    .querySelectorAll("nav a")
    .forEach((a) => a.classList.toggle("current", (a as HTMLElement).dataset.view === name));
  render();
}

function banner(text: string | undefined) {
  const b = $("#banner");
  b.hidden = !text;
  b.textContent = text ?? "";
}

/** Sets innerHTML only when it changed, so an unchanged view keeps its scroll, focus and open <details>. */
function setHtml(el: HTMLElement, html: string) {
  if ((el as HTMLElement & { _html?: string })._html === html) return;
  (el as HTMLElement & { _html?: string })._html = html;
  el.innerHTML = html;
}

/** The parts of each view that survive a refresh (filters, buttons) are laid out once. */
function layout() {
  $("#alerts").innerHTML = alertSwitches();
  bindAlertSwitches($("#alerts"));
  $("#wallet-button").addEventListener("click", () => {
    if (app.wallet.status.kind !== "ready") return;
    location.hash = "#proposals";
    $("#account-panel").focus();
  });
  const toggle = $<HTMLButtonElement>("#nav-toggle");
  toggle.addEventListener("click", () => {
    const open = toggle.getAttribute("aria-expanded") !== "true";
    toggle.setAttribute("aria-expanded", String(open));
    document.body.classList.toggle("nav-open", open);
  });
  $("#nav").addEventListener("click", () => {
    toggle.setAttribute("aria-expanded", "false");
    document.body.classList.remove("nav-open");
  });
  $("#view-validators").innerHTML = `
    <div class="toolbar">
      <label>cohort <select id="filter-cohort" data-testid="filter-cohort"><option value="all">all</option></select></label>
      <label>status <select id="filter-status" data-testid="filter-status"><option value="all">all</option></select></label>
      <span id="validator-count" class="muted"></span>
    </div>
    <div id="validators-table"></div><div id="validator-page" hidden></div>`;
  $("#validators-table").addEventListener("click", (e) => {
    const key = (e.target as HTMLElement).closest<HTMLElement>("button[data-sort]")?.dataset.sort as SortKey;
    if (!key) return;
    validatorSort = nextSort(validatorSort, key);
    render();
    $<HTMLButtonElement>(`button[data-sort="${key}"]`).focus();
  });
  $("#view-history").innerHTML = `
    <div class="toolbar">
      <label>event <select id="filter-event" data-testid="filter-event"><option value="all">all</option></select></label>
      <label>search <input id="filter-text" type="search" data-testid="filter-text" placeholder="address, upgrade, word…"></label>
      <button id="export-csv" data-testid="export-csv">Export CSV</button>
      <span id="event-count" class="muted"></span>
    </div>
    <div id="history-table"></div>`;
  $("#view-proposals").innerHTML =
    `<div id="account-panel" tabindex="-1"></div><div id="propose-panel"></div><div id="proposals-list"></div>`;
  $("#view-audit").innerHTML = `
    <div class="toolbar">
      <span>Report:</span>
      ${REPORT_FORMATS.map((f) => `<button data-report="${f}" data-testid="report-${f}">${f}</button>`).join("")}
      <label>Check manifest files against the hashes voted <input type="file" accept=".json,application/json" multiple data-testid="manifest-files"></label>
      <span class="muted" id="drop-hint">or drop them anywhere on this view</span>
    </div>
    <div id="audit-body"></div>`;
  // The whole Audit view takes dropped manifest files.
  const auditEl = $("#view-audit");
  auditEl.addEventListener("dragover", (e) => {
    if (![...(e.dataTransfer?.types ?? [])].includes("Files")) return;
    e.preventDefault();
    auditEl.classList.add("dropping");
  });
  auditEl.addEventListener("dragleave", (e) => {
    if (!auditEl.contains(e.relatedTarget as Node | null)) auditEl.classList.remove("dropping");
  });
  auditEl.addEventListener("drop", (e) => {
    e.preventDefault();
    auditEl.classList.remove("dropping");
    void checkManifestFiles([...(e.dataTransfer?.files ?? [])]);
  });
  document.querySelectorAll<HTMLButtonElement>("[data-report]").forEach((b) =>
    b.addEventListener("click", () => {
      if (!app.snap) return;
      const format = b.dataset.report as ReportFormat;
      const d = app.config.deployment;
      const report = auditDownload(audit(app.snap.history, manifestFiles), format, {
        explorer: app.config.explorerUrl || undefined,
        network: d.network,
        chainId: d.chainId,
      });
      download(
        report,
        `lockstep-audit-${d.network}.${format}`,
        format === "json" ? "application/json" : format === "csv" ? "text/csv" : "text/markdown",
      );
    }),
  );
  $<HTMLInputElement>('[data-testid="manifest-files"]').addEventListener(
    "change",
    (e) => void checkManifestFiles([...((e.target as HTMLInputElement).files ?? [])]),
  );
  $<HTMLSelectElement>("#filter-cohort").addEventListener(
    "change",
    (e) => ((filters.cohort = (e.target as HTMLSelectElement).value), render()),
  );
  $<HTMLSelectElement>("#filter-status").addEventListener(
    "change",
    (e) => ((filters.status = (e.target as HTMLSelectElement).value), render()),
  );
  $<HTMLSelectElement>("#filter-event").addEventListener(
    "change",
    (e) => ((filters.event = (e.target as HTMLSelectElement).value), render()),
  );
  $<HTMLInputElement>("#filter-text").addEventListener(
    "input",
    (e) => ((filters.text = (e.target as HTMLInputElement).value.trim().toLowerCase()), render()),
  );
  $("#export-csv").addEventListener("click", () => {
    if (app.snap)
      download(historyCsv(eventRows(app.snap)), `lockstep-${app.config.deployment.network}-history.csv`, "text/csv");
  });
}

function download(text: string, name: string, type: string) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** Manifest files the auditor chose or dropped, checked with every audit; and those that did not parse. */
let manifestFiles: ManifestFileInput[] = [];
let manifestErrors: string[] = [];

/** Reads and parses the files (each a manifest, or a one-line error), then shows the verdict first on the view. */
async function checkManifestFiles(files: File[]) {
  const parsed: ManifestFileInput[] = [];
  const errors: string[] = [];
  for (const file of files) {
    try {
      parsed.push({ path: file.name, manifest: parseManifest(await file.text(), file.name) });
    } catch (err) {
      errors.push(`${file.name}: ${(err as Error).message.split("\n")[0].replace(`${file.name}: `, "")}`);
    }
  }
  manifestFiles = parsed;
  manifestErrors = errors;
  render();
  document.querySelector<HTMLElement>('[data-testid="manifest-verdicts"] h2')?.focus();
}

/** Keeps a select's options equal to `values` (plus "all") without losing the user's choice. */
function syncOptions(select: HTMLSelectElement, values: string[]) {
  const want = ["all", ...values];
  const have = [...select.options].map((o) => o.value);
  if (want.join("|") === have.join("|")) return;
  const chosen = select.value;
  select.innerHTML = want.map((v) => `<option value="${v}">${v}</option>`).join("");
  select.value = want.includes(chosen) ? chosen : "all";
}

function renderWalletButton() {
  const w = app.wallet.status;
  const b = $<HTMLButtonElement>("#wallet-button");
  b.dataset.state = w.kind;
  b.dataset.action = w.kind === "disconnected" ? "connect" : w.kind === "wrong-chain" ? "switch-chain" : "";
  // Connected, it stays a button (to the account panel), so focus stays on it instead of falling to <body>.
  b.disabled = w.kind === "no-wallet";
  b.title = w.kind === "ready" ? `${w.account}: open the account panel` : "";
  b.textContent = w.kind === "ready" ? shortHex(w.account) : WALLET_BUTTON[w.kind];
}

/** The wallet button's words until an account is ready on the right chain. */
const WALLET_BUTTON = {
  "no-wallet": "No wallet",
  disconnected: "Connect wallet",
  "wrong-chain": "Wrong chain: switch",
} as const;

/** The incident bar above every view, with the actions a guardian and governance have; the tab's title and icon. */
function renderIncidents(snap: Snapshot, isGuardian: boolean) {
  const list = incidents(snap);
  const bar = $("#incident-bar");
  const canAct = app.wallet.status.kind === "ready";
  const disabled = canAct ? "" : "disabled";
  const html = list
    .map((i) => {
      const u = snap.history.upgrades.find((x) => x.id === i.upgradeId)!;
      const button = (action: string, label: string, cls = "") =>
        `<button class="${cls}" data-action="${action}" data-upgrade="${u.id}" ${disabled}>${label}</button>`;
      const actions = inFlight(u.state)
        ? `<div class="actions" data-testid="incident-actions">${isGuardian ? `<span>Guardian:</span> ${button("rollback", "Order rollback", "danger")}` : `<span>Guardian (a Safe batch):</span> <button data-action="safe-rollback" data-upgrade="${u.id}">Rollback: download Safe batch</button>`}
            <span>Propose to governance:</span> ${button("propose-resume", "Resume")} ${button("propose-rollback", "Rollback")} ${button("propose-withdraw", "Withdraw")}
            ${canAct ? "" : '<span class="hint">(connect a wallet on this chain to act)</span>'}
            <a href="#upgrades">See the upgrade</a></div>`
        : "";
      return incidentBar(i, actions);
    })
    .join("");
  setHtml(bar, html);
  bar.hidden = list.length === 0;
  // A success line from before ("Advance… done") would read above the incident as if all were well.
  const tx = $("#tx-status");
  const keys = list.map((i) => i.key).join("|");
  if (keys && keys !== shownIncidents && tx.dataset.state === "confirmed") tx.hidden = true;
  // The refresh that first showed the current incidents (the tests hold it to one poll after the stop).
  if (keys !== shownIncidents) document.body.dataset.incidentShownAt = keys ? String(refreshes + 1) : "";
  shownIncidents = keys;
  signalIncidents(list);
}
let shownIncidents = "";
/** Refreshes done: the tests tell from it within how many polls something appeared. */
let refreshes = 0;
let lastWalletKind = "";

function render() {
  if (!app) return;
  renderWalletButton();
  const snap = app.snap;
  if (!snap) return;
  const d = app.config.deployment;
  $("#chain").textContent = `${d.network} · chain ${snap.chainId} · block ${snap.head.number}`;
  $("#chain").dataset.block = String(snap.head.number);
  const gov = currentGov(app);
  const account = gov?.account;
  document.body.dataset.account = account?.address ?? "";
  renderIncidents(snap, account?.isGuardian ?? false);
  const actor = {
    isGuardian: account?.isGuardian ?? false,
    canAct: app.wallet.status.kind === "ready",
    guardian: gov?.guardian,
  };
  switch (currentView()) {
    case "upgrades":
      setHtml(
        $("#view-upgrades"),
        upgradesView(snap, app.config.explorerUrl, actor, relatedProposals(gov, snap), openDetails),
      );
      drawCharts($("#view-upgrades"), snap);
      break;
    case "validators": {
      const operator = linkedValidator();
      $("#validator-page").hidden = !operator;
      $("#view-validators .toolbar").hidden = !!operator;
      $("#validators-table").hidden = !!operator;
      if (operator) {
        setHtml($("#validator-page"), validatorPage(snap, operator, app.config.explorerUrl));
        // Opened from a link: the page's heading takes focus, as a new page would.
        if (scrolledTo !== location.hash) {
          scrolledTo = location.hash;
          $("#validator-page h2")?.focus();
        }
        break;
      }
      const all = validatorRows(snap);
      syncOptions(
        $("#filter-cohort"),
        [...new Set(all.map((r) => String(r.cohort)))].sort((a, b) => Number(a) - Number(b)),
      );
      syncOptions($("#filter-status"), [...new Set(all.map((r) => r.status))].sort());
      const rows = all.filter(
        (r) =>
          (filters.cohort === "all" || String(r.cohort) === filters.cohort) &&
          (filters.status === "all" || r.status === filters.status),
      );
      const latest = snap.history.upgrades[snap.history.upgrades.length - 1];
      setHtml($("#validators-table"), validatorsTable(rows, app.config.explorerUrl, latest, validatorSort));
      $("#validator-count").textContent = `${rows.length} of ${all.length} validator(s)`;
      $("#validator-count").title = participationSummary(all);
      break;
    }
    case "proposals":
      setHtml(
        $("#account-panel"),
        accountPanel(app.wallet.status, account, d.chainId, app.wallet.name, app.wallet.wallets.length > 1),
      );
      {
        // "#proposals/<id>": the proposal's own page; the list (and proposing from a manifest) otherwise.
        const id = linkedProposal();
        const shown = id === undefined ? undefined : gov?.proposals.find((p) => p.id.toString() === id);
        $("#propose-panel").hidden = id !== undefined;
        setHtml(
          $("#proposals-list"),
          (app.govError
            ? `<p class="card warn" data-testid="proposals-error">Proposals could not be read at block ${snap.head.number}: ${esc(app.govError)}${gov ? " Showing the last ones read." : ""}</p>`
            : "") +
            (!gov
              ? '<p class="muted">Loading proposals…</p>'
              : shown
                ? proposalPage(shown, {
                    g: gov,
                    d,
                    now: snap.head.timestamp,
                    explorerUrl: app.config.explorerUrl,
                    w: app.wallet.status,
                    account,
                  })
                : id !== undefined
                  ? `<p class="card warn" data-testid="no-such-proposal">No proposal ${esc(id)} on this Governor at block ${gov.clock}. <a href="#proposals">All proposals</a></p>`
                  : proposalsView(gov, d, snap.head.timestamp, app.config.explorerUrl, app.wallet.status, openDetails)),
        );
        break;
      }
    case "audit":
      setHtml(
        $("#audit-body"),
        auditView(
          audit(snap.history, manifestFiles),
          app.config.explorerUrl,
          manifestErrors,
          manifestVerdicts(snap.history, manifestFiles),
        ),
      );
      break;
    case "history": {
      const all = eventRows(snap);
      syncOptions($("#filter-event"), [...new Set(all.map((r) => r.event))].sort());
      // The search looks in the words and in the raw arguments, so a full address or a wei amount finds its rows.
      const events = all.filter(
        (r) =>
          (filters.event === "all" || r.event === filters.event) &&
          (!filters.text ||
            `${r.event} #${r.upgradeId} ${r.details} ${r.raw} ${r.tx} ${r.block}`.toLowerCase().includes(filters.text)),
      );
      setHtml($("#history-table"), historyTable(events, app.config.explorerUrl, new Set(snap.history.registry.keys())));
      $("#event-count").textContent =
        events.length === all.length
          ? `${all.length} event(s), newest first`
          : `${events.length} of ${all.length} event(s), newest first`;
      break;
    }
  }
  // A shared link to a proposal: scroll to it and open its details, once.
  const linked = linkedProposal();
  const target = linked && document.getElementById(`proposal-${linked}`);
  if (target && scrolledTo !== location.hash) {
    scrolledTo = location.hash;
    target.querySelector("details")?.setAttribute("open", "");
    target.scrollIntoView({ block: "start" });
  }
  // Which view is on screen and current (tests and scripts wait for it after navigating).
  document.body.dataset.view = currentView();
}

const connectedAccount = () => {
  const w = app.wallet.status;
  return w.kind === "ready" || w.kind === "wrong-chain" ? w.account : undefined;
};

/** Says when the chain reorganised under the page, and what the page did about it. */
function reorgNotice(snap: Snapshot) {
  const r = snap.lastReorg;
  const el = $("#notice");
  el.hidden = !r;
  if (!r) return;
  el.dataset.ancestor = String(r.ancestor);
  el.textContent =
    `The chain reorganised (noticed at block ${r.detectedAt}): the page went back to block ${r.ancestor} and read forward again; ` +
    `${r.dropped} event(s) from the abandoned branch were dropped.`;
}

let lastKey = "";

/** A view that fails to render is a bug to report as such, not an unreachable RPC. */
function renderSafely() {
  try {
    render();
  } catch (e) {
    console.error(e);
    banner(`The dashboard could not show this view: ${(e as Error).message}. Please report it.`);
  }
}

function follow() {
  let busy: Promise<void> | undefined;
  let failing = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pacer = new PollPacer(app.config.pollMs);
  const tick = async () => {
    const callsBefore = app.chain.calls;
    const loaded = refreshes > 0;
    try {
      const before = app.snap;
      const snap = await app.chain.refresh();
      app.snap = snap;
      // The Governor is read at the chain view's block; failing to read it leaves the rest of the page live. The
      // same block, the same account and no error before: nothing of the Governor's can have changed.
      const account = connectedAccount();
      const focus = linkedProposal();
      const same =
        snap === before &&
        app.govSnap &&
        !app.govError &&
        (app.govSnap.readFor ?? "") === (account ?? "") &&
        String(app.govSnap.focus ?? "") === (focus ?? "");
      if (!same) {
        try {
          app.govSnap = await app.gov.refresh(
            snap.head,
            account,
            snap.revision,
            focus === undefined ? undefined : BigInt(focus),
          );
          app.govError = undefined;
        } catch (e) {
          app.govError = (e as Error).message.split("\n")[0];
        }
      }
      document.body.dataset.govError = app.govError ?? "";
      if (failing) banner(undefined);
      failing = false;
      reorgNotice(snap);
      // Nothing new (same events, same head, same wallet): the views would come out the same.
      // The account is in twice: the wallet's, and the one the Governor was last read for, which catches up a tick later.
      const g = app.govSnap;
      const govKey = g
        ? `${g.readFor ?? ""}:${g.focus ?? ""}:${g.blockTimes.size}:${g.proposals.map((p) => `${p.id}${p.state}${p.forVotes}${p.againstVotes}${p.abstainVotes}${p.votes.length}`).join()}`
        : "";
      const key = `${snap.revision}:${snap.head.number}:${app.wallet.status.kind}:${connectedAccount() ?? ""}:${govKey}:${app.govError ?? ""}`;
      if (key !== lastKey) renderSafely();
      lastKey = key;
      // "live" once what is shown is current: the benchmark and the tests wait for it.
      document.body.dataset.state = "live";
      document.body.dataset.refreshes = String(++refreshes);
      pacer.sawHead(snap.head.number, snap.head.timestamp, performance.now());
    } catch (e) {
      failing = true;
      document.body.dataset.state = "rpc-unreachable";
      const shown = app.snap ? ` Showing what was known at block ${app.snap.head.number}.` : "";
      banner(
        `RPC unreachable: ${app.config.rpcUrl} did not answer (${(e as Error).message.split("\n")[0]}).${shown} Retrying every ${app.config.pollMs / 1000}s.`,
      );
    } finally {
      // The first load is not counted against the budget; every refresh after it is (the Governor's reads too).
      if (loaded) pacer.spent(app.chain.calls - callsBefore, performance.now());
      document.body.dataset.rpcCalls = String(app.chain.calls);
    }
  };
  /** Something is moving: an upgrade in flight, or a transaction this page sent. */
  const active = () =>
    failing ||
    !app.snap ||
    app.snap.history.upgrades.some((u) => inFlight(u.state)) ||
    ["checking", "signing", "pending"].includes(document.getElementById("tx-status")?.dataset.state ?? "");
  const schedule = () => {
    clearTimeout(timer);
    const delay = pacer.delay(active(), document.hidden, performance.now());
    document.body.dataset.pollMs = String(delay);
    timer = setTimeout(() => void refreshNow(), delay);
  };
  /** One refresh at a time; a caller that asks during one waits for the next. */
  const refreshNow = async () => {
    while (busy) await busy;
    busy = tick().finally(() => (busy = undefined));
    await busy;
    schedule();
  };
  app.refreshNow = refreshNow;
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && !busy) void refreshNow();
    else schedule();
  });
  void refreshNow();
}

async function start() {
  document.body.dataset.state = "loading";
  window.addEventListener("hashchange", () => {
    scrolledTo = undefined;
    showView();
    // A proposal's page reads the times of its timeline's blocks.
    void app?.refreshNow();
  });
  // "toggle" does not bubble: listen in the capture phase.
  document.addEventListener(
    "toggle",
    (e) => {
      const el = e.target as HTMLDetailsElement;
      if (!el.dataset?.key) return;
      if (el.open) openDetails.add(el.dataset.key);
      else openDetails.delete(el.dataset.key);
    },
    true,
  );
  // Wallets answer the EIP-6963 request while the config loads.
  const discovery = discoverWallets((w) => app?.wallet.add(w));
  let config;
  try {
    config = await loadConfig();
  } catch (e) {
    document.body.dataset.state = "no-config";
    banner(`The dashboard has no configuration: ${(e as Error).message}`);
    return;
  }
  const chain = new ChainView(config);
  const wallets = await discovery;
  app = {
    config,
    chain,
    gov: new GovernanceView(chain.client, config),
    wallet: new Wallet(
      wallets,
      { chainId: config.deployment.chainId, rpcUrl: config.rpcUrl, name: `Lockstep ${config.deployment.network}` },
      () => {
        const before = lastWalletKind;
        render();
        lastWalletKind = app.wallet.status.kind;
        // Connecting re-renders the panel whose button was pressed: focus goes to the account button, not <body>.
        const connected = lastWalletKind === "ready" || lastWalletKind === "wrong-chain";
        const lost = !document.activeElement || document.activeElement === document.body;
        if (connected && before !== lastWalletKind && lost) $("#wallet-button").focus();
        void app.refreshNow?.();
      },
    ),
    refreshNow: async () => {},
  };
  layout();
  bindActions(app);
  bindProposeFromManifest(app, $("#propose-panel"));
  showView();
  try {
    await app.wallet.init();
  } catch {
    // A wallet that fails to answer leaves the page read-only; the wallet button says so.
  }
  follow();
}

void start();
