// The audit over a rebuilt history: the checks found while folding the logs, the manifest files compared with
// the hashes voted on, and the report (md, json or csv) whose every line names a transaction and its block.
import { Status } from "./coordinator";
import { csvCell, isoTime } from "./format";
import { auditChecks, type Check, type History, type HistoryState, type TxRef, type UpgradeHistory } from "./history";
import { manifestHash, type ManifestFile } from "./manifest";

export type ReportFormat = "md" | "json" | "csv";
export const REPORT_FORMATS: ReportFormat[] = ["md", "json", "csv"];

export interface ManifestFileInput {
  path: string;
  manifest: ManifestFile;
}

export interface AuditResult {
  history: History;
  checks: Check[];
  ok: boolean;
  failed: Check[];
}

/** Each file's canonical hash against the hash voted for the upgrade of the same name. */
export function manifestChecks(history: History, files: ManifestFileInput[]): Check[] {
  return files.map(({ path, manifest }) => {
    const hash = manifestHash(manifest);
    const u = history.upgrades.find((x) => x.name === manifest.name);
    if (!u) {
      return {
        kind: "manifest-hash",
        ok: false,
        detail: `${path}: no upgrade named "${manifest.name}" in the logs (file hash ${hash})`,
      } as Check;
    }
    const ok = hash.toLowerCase() === u.manifest.manifestHash.toLowerCase();
    return {
      kind: "manifest-hash",
      ok,
      upgradeId: u.id,
      name: u.name,
      block: u.scheduled.block,
      time: u.scheduled.time,
      tx: u.scheduled.tx,
      logIndex: u.scheduled.logIndex,
      detail: ok
        ? `${path}: canonical hash ${hash} equals the hash voted for "${u.name}"`
        : `${path}: canonical hash ${hash} differs from the hash voted for "${u.name}" (${u.manifest.manifestHash})`,
    } as Check;
  });
}

/**
 * The audit: the checks of the history (run by the audit pass now when given the reducer's state, as the dashboard
 * holds it; those buildHistory ran when given a History), then the manifest files against the hashes voted.
 */
export function audit(folded: History | HistoryState, files: ManifestFileInput[] = []): AuditResult {
  const history = "steps" in folded ? folded.history : folded;
  const own = "steps" in folded ? auditChecks(folded) : history.checks;
  const checks = [...own, ...manifestChecks(history, files)];
  const failed = checks.filter((c) => !c.ok);
  return { history, checks, ok: failed.length === 0, failed };
}

/** The audit in one line: "audit passed: 28 checks over 2 upgrade(s), blocks 1-362", or the first failure. */
export function auditSummary(result: AuditResult): string {
  const h = result.history;
  const first = result.failed[0];
  return result.ok
    ? `audit passed: ${result.checks.length} checks over ${h.upgrades.length} upgrade(s), blocks ${h.fromBlock ?? "?"}-${h.toBlock ?? "?"}`
    : `audit FAILED: ${result.failed.length} of ${result.checks.length} checks failed; first: [${first.kind}] ${first.detail}` +
        (first.tx ? ` (block ${first.block}, tx ${first.tx})` : "");
}

// ------------------------------------------------------------------ rendering

export interface RenderOptions {
  /** A block explorer's base URL (Etherscan, Blockscout, ...): links become `<base>/tx/<hash>` and `<base>/block/<n>`. */
  explorer?: string;
  network?: string;
  chainId?: number;
}

/** A line of the report as the audit task writes it: wei, enum names, 0-based stages. */
export interface ReportLine {
  section: "upgrade" | "stage" | "event" | "validator" | "check";
  upgradeId: string;
  name: string;
  block: string;
  time: string;
  tx: string;
  what: string;
  result: string;
  detail: string;
}

function refFields(r: Partial<TxRef>) {
  return { block: r.block?.toString() ?? "", time: isoTime(r.time), tx: r.tx ?? "" };
}

function figures(f: Record<string, unknown>) {
  return Object.entries(f)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

/** Every line of the report, in one flat form the three formats share. */
export function reportLines(result: AuditResult): ReportLine[] {
  const lines: ReportLine[] = [];
  for (const u of result.history.upgrades) {
    const id = u.id.toString();
    lines.push({
      section: "upgrade",
      upgradeId: id,
      name: u.name,
      ...refFields(u.scheduled),
      what: "upgrade",
      result: u.state,
      detail: `${u.manifest.previousVersion} -> ${u.manifest.version}; snapshot ${u.snapshot}; manifest ${u.manifest.manifestHash}; restored ${u.restoredStake} (${u.restoredCount})`,
    });
    for (const s of u.stages) {
      const r = s.verified ?? s.activated ?? u.scheduled;
      lines.push({
        section: "stage",
        upgradeId: id,
        name: u.name,
        ...refFields(r),
        what: `stage ${s.index} (cohort ${s.cohort})`,
        result: s.state,
        detail:
          `cohort stake ${s.cohortStake}; ready ${s.readyStake}/${s.readyNeeded} (${s.readyCount}); healthy ${s.healthyStake}/${s.healthyNeeded}; ` +
          `not-healthy ${s.unhealthyStake} (pause at ${s.unhealthyLimit}, rollback ${s.rules.rollbackBps === 0 ? "off" : `at ${s.rollbackLimit}`})`,
      });
    }
    for (const t of u.transitions) {
      const who = t.by ? ` by ${t.actor === "automatic" ? `automatic (sent by ${t.by})` : `${t.actor} ${t.by}`}` : "";
      lines.push({
        section: "event",
        upgradeId: id,
        name: u.name,
        ...refFields(t),
        what: t.kind + (t.stage !== undefined ? ` stage ${t.stage}` : ""),
        result: t.reason ?? "",
        detail: `${figures(t.figures)}${who}`.trim(),
      });
    }
    for (const v of [...u.validators.values()].sort(
      (a, b) => a.stage - b.stage || a.operator.localeCompare(b.operator),
    )) {
      lines.push({
        section: "validator",
        upgradeId: id,
        name: u.name,
        ...refFields(v.last),
        what: v.operator,
        result: Status[v.status],
        detail: `stage ${v.stage}; weight ${v.weight}; version ${v.version}; height ${v.height}; ${v.attestations} attestation(s)${v.restored ? "; restored" : ""}`,
      });
    }
  }
  for (const c of result.checks) {
    lines.push({
      section: "check",
      upgradeId: c.upgradeId?.toString() ?? "",
      name: c.name ?? "",
      ...refFields(c),
      what: c.kind,
      result: c.ok ? "PASS" : "FAIL",
      detail: c.detail,
    });
  }
  return lines;
}

export function renderReport(result: AuditResult, format: ReportFormat, o: RenderOptions = {}): string {
  if (format === "json") return renderJson(result, o);
  if (format === "csv") return renderCsv(result);
  return renderMarkdown(result, o);
}

/** The report's CSV columns, in order. */
export const REPORT_COLUMNS = [
  "section",
  "upgradeId",
  "name",
  "block",
  "time",
  "tx",
  "what",
  "result",
  "detail",
] as const satisfies readonly (keyof ReportLine)[];

function renderCsv(result: AuditResult): string {
  const cols = REPORT_COLUMNS;
  return (
    [cols.join(","), ...reportLines(result).map((l) => cols.map((c) => csvCell(l[c])).join(","))].join("\n") + "\n"
  );
}

function renderJson(result: AuditResult, o: RenderOptions): string {
  const h = result.history;
  const value = {
    network: o.network,
    chainId: o.chainId,
    coordinator: h.coordinator,
    fromBlock: h.fromBlock,
    toBlock: h.toBlock,
    events: h.eventCount,
    ok: result.ok,
    failed: result.failed.length,
    upgrades: h.upgrades.map((u) => ({
      ...u,
      validators: [...u.validators.values()].map((v) => ({ ...v, status: Status[v.status] })),
    })),
    guardians: h.guardians,
    checks: result.checks,
  };
  return JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2) + "\n";
}

function renderMarkdown(result: AuditResult, o: RenderOptions): string {
  const base = o.explorer?.replace(/\/+$/, "");
  const tx = (hash: string) => (!hash ? "" : base ? `[${short(hash)}](${base}/tx/${hash})` : `\`${hash}\``);
  const block = (n: string) => (!n ? "" : base ? `[${n}](${base}/block/${n})` : n);
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const h = result.history;
  const out: string[] = [];
  out.push(`# Lockstep audit${o.network ? `: ${o.network}` : ""}`, "");
  out.push(
    `Coordinator \`${h.coordinator ?? "?"}\`${o.chainId ? ` on chain ${o.chainId}` : ""}, blocks ${h.fromBlock ?? "?"} to ${h.toBlock ?? "?"}: ` +
      `${h.eventCount} events, ${h.upgrades.length} upgrade(s). ` +
      `**${result.ok ? "Every check passed" : `${result.failed.length} check(s) FAILED`}** (${result.checks.length} checks).`,
    "",
  );
  const lines = reportLines(result);
  const table = (title: string, rows: ReportLine[], cols: [string, (l: ReportLine) => string][]) => {
    if (!rows.length) return;
    out.push(`### ${title}`, "", `| ${cols.map(([c]) => c).join(" | ")} |`, `|${cols.map(() => "---").join("|")}|`);
    for (const r of rows) out.push(`| ${cols.map(([, f]) => esc(f(r))).join(" | ")} |`);
    out.push("");
  };
  const where: [string, (l: ReportLine) => string][] = [
    ["block", (l) => block(l.block)],
    ["time (UTC)", (l) => l.time],
    ["tx", (l) => tx(l.tx)],
  ];
  for (const u of h.upgrades) {
    const id = u.id.toString();
    const mine = (s: ReportLine["section"]) => lines.filter((l) => l.section === s && l.upgradeId === id);
    out.push(`## Upgrade #${id}: ${u.name} (${u.state})`, "");
    table("Manifest", mine("upgrade"), [["state", (l) => l.result], ["what", (l) => l.detail], ...where]);
    table("Stages", mine("stage"), [
      ["stage", (l) => l.what],
      ["state", (l) => l.result],
      ["tallies", (l) => l.detail],
      ...where,
    ]);
    table("Timeline", mine("event"), [
      ["event", (l) => l.what],
      ["reason", (l) => l.result],
      ["details", (l) => l.detail],
      ...where,
    ]);
    table("Validators (last attestation)", mine("validator"), [
      ["operator", (l) => `\`${l.what}\``],
      ["status", (l) => l.result],
      ["details", (l) => l.detail],
      ...where,
    ]);
    table("Checks", mine("check"), [
      ["result", (l) => (l.result === "PASS" ? "PASS" : "**FAIL**")],
      ["check", (l) => l.what],
      ["details", (l) => l.detail],
      ...where,
    ]);
  }
  table(
    "Other checks",
    lines.filter((l) => l.section === "check" && !l.upgradeId),
    [
      ["result", (l) => (l.result === "PASS" ? "PASS" : "**FAIL**")],
      ["check", (l) => l.what],
      ["details", (l) => l.detail],
      ...where,
    ],
  );
  if (h.guardians.length) {
    out.push("### Guardians", "", "| guardian | block | time (UTC) | tx |", "|---|---|---|---|");
    for (const g of h.guardians)
      out.push(`| \`${g.guardian}\` | ${block(g.ref.block.toString())} | ${isoTime(g.ref.time)} | ${tx(g.ref.tx)} |`);
    out.push("");
  }
  return out.join("\n");
}

function short(hash: string) {
  return `${hash.slice(0, 10)}…${hash.slice(-6)}`;
}

export type { UpgradeHistory };
