import "./shims";
import { loadConfig, type DashboardConfig } from "./config";
import { ChainView, type Snapshot } from "./chain";
import { upgradesView } from "./views/upgrades";
import { validatorRows, validatorsTable } from "./views/validators";
import { eventRows, historyCsv, historyTable } from "./views/history";

type ViewName = "upgrades" | "validators" | "history";
const VIEWS: ViewName[] = ["upgrades", "validators", "history"];
const $ = <T extends HTMLElement>(sel: string) => document.querySelector(sel) as T;

let config: DashboardConfig;
let snap: Snapshot | undefined;
const filters = { cohort: "all", status: "all" };

function showView() {
  const name = (VIEWS.find((v) => `#${v}` === location.hash) ?? "upgrades") as ViewName;
  for (const v of VIEWS) $(`#view-${v}`).hidden = v !== name;
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("current", (a as HTMLElement).dataset.view === name));
}

function banner(text: string | undefined) {
  const b = $("#banner");
  b.hidden = !text;
  b.textContent = text ?? "";
}

/** The parts of each view that survive a refresh (filters, buttons) are laid out once. */
function layout() {
  $("#view-validators").innerHTML = `
    <div class="toolbar">
      <label>cohort <select id="filter-cohort" data-testid="filter-cohort"><option value="all">all</option></select></label>
      <label>status <select id="filter-status" data-testid="filter-status"><option value="all">all</option></select></label>
      <span id="validator-count" class="muted"></span>
    </div>
    <div id="validators-table"></div>`;
  $("#view-history").innerHTML = `
    <div class="toolbar">
      <button id="export-csv" data-testid="export-csv">Export CSV</button>
      <span id="event-count" class="muted"></span>
    </div>
    <div id="history-table"></div>`;
  $<HTMLSelectElement>("#filter-cohort").addEventListener("change", (e) => ((filters.cohort = (e.target as HTMLSelectElement).value), render()));
  $<HTMLSelectElement>("#filter-status").addEventListener("change", (e) => ((filters.status = (e.target as HTMLSelectElement).value), render()));
  $("#export-csv").addEventListener("click", () => {
    if (!snap) return;
    const blob = new Blob([historyCsv(eventRows(snap))], { type: "text/csv" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = `lockstep-${config.deployment.network}-history.csv`;
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  });
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

function render() {
  if (!snap) return;
  const d = config.deployment;
  $("#chain").textContent = `${d.network} · chain ${snap.chainId} · block ${snap.head.number}`;
  $("#chain").dataset.block = String(snap.head.number);
  $("#view-upgrades").innerHTML = upgradesView(snap, config.explorerUrl);

  const all = validatorRows(snap);
  syncOptions($("#filter-cohort"), [...new Set(all.map((r) => String(r.cohort)))].sort((a, b) => Number(a) - Number(b)));
  syncOptions($("#filter-status"), [...new Set(all.map((r) => r.status))].sort());
  const rows = all.filter((r) => (filters.cohort === "all" || String(r.cohort) === filters.cohort) && (filters.status === "all" || r.status === filters.status));
  const latest = snap.history.upgrades[snap.history.upgrades.length - 1];
  $("#validators-table").innerHTML = validatorsTable(rows, config.explorerUrl, latest);
  $("#validator-count").textContent = `${rows.length} of ${all.length} validator(s)`;

  const events = eventRows(snap);
  $("#history-table").innerHTML = historyTable(events, config.explorerUrl);
  $("#event-count").textContent = `${events.length} event(s), newest first`;
}

async function follow(view: ChainView) {
  let busy = false;
  let failing = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const next = await view.refresh();
      const moved = !snap || next.head.number !== snap.head.number || next.events.length !== snap.events.length;
      snap = next;
      if (failing) banner(undefined);
      failing = false;
      document.body.dataset.state = "live";
      if (moved) render();
    } catch (e) {
      failing = true;
      document.body.dataset.state = "rpc-unreachable";
      const shown = snap ? ` Showing what was known at block ${snap.head.number}.` : "";
      banner(`RPC unreachable: ${config.rpcUrl} did not answer (${(e as Error).message.split("\n")[0]}).${shown} Retrying every ${config.pollMs / 1000}s.`);
    } finally {
      busy = false;
    }
  };
  await tick();
  setInterval(tick, config.pollMs);
}

async function start() {
  document.body.dataset.state = "loading";
  window.addEventListener("hashchange", showView);
  showView();
  try {
    config = await loadConfig();
  } catch (e) {
    document.body.dataset.state = "no-config";
    banner(`The dashboard has no configuration: ${(e as Error).message}`);
    return;
  }
  layout();
  await follow(new ChainView(config));
}

void start();
