// Audit: the checks `npx hardhat audit` runs (lib/audit.ts), over the history this page rebuilt from the logs,
// each with the transaction that proves it; the report for download, in words with the raw values beside them; and
// manifest files (chosen or dropped anywhere on the view) checked against the hashes voted on chain.
import {
  auditSummary,
  renderReport,
  reportLines,
  type AuditResult,
  type ManifestFileInput,
  type RenderOptions,
  type ReportFormat,
  type ReportLine,
  REPORT_COLUMNS,
} from "../../../lib/audit";
import { PAUSE_REASON_WORDS, PauseReason, Status } from "../../../lib/coordinator";
import { MAX_UINT96, type History } from "../../../lib/history";
import { manifestHash } from "../../../lib/manifest";
import { cohortName, csvCell, esc, isoTime, readableAmounts, shortHex, tokens } from "../format";
import { blockLink, txLink } from "./html";
import { statusWords } from "./validators";

// ------------------------------------------------------------------ manifest files: the verdict

export interface ManifestVerdict {
  path: string;
  hash: string;
  /** The upgrades whose voted manifest hash is this file's. */
  matches: { id: bigint; name: string; block: bigint; tx: string }[];
  /** When none matches: the upgrade of the same name, whose voted hash differs. */
  sameName?: { id: bigint; name: string; hash: string; block: bigint; tx: string };
}

/** Each file's canonical hash against every upgrade's voted hash: which it matches, or which of its name it does not. */
export function manifestVerdicts(history: History, files: ManifestFileInput[]): ManifestVerdict[] {
  return files.map(({ path, manifest }) => {
    const hash = manifestHash(manifest);
    const matches = history.upgrades
      .filter((u) => u.manifest.manifestHash.toLowerCase() === hash.toLowerCase())
      .map((u) => ({ id: u.id, name: u.name, block: u.scheduled.block, tx: u.scheduled.tx }));
    const named = matches.length ? undefined : history.upgrades.find((u) => u.name === manifest.name);
    return {
      path,
      hash,
      matches,
      sameName: named && {
        id: named.id,
        name: named.name,
        hash: named.manifest.manifestHash,
        block: named.scheduled.block,
        tx: named.scheduled.tx,
      },
    };
  });
}

function verdictItem(v: ManifestVerdict, explorerUrl: string): string {
  const at = (m: { block: bigint; tx: string }) =>
    `scheduled at block ${blockLink(m.block, explorerUrl)}, ${txLink(m.tx, explorerUrl)}`;
  const body = v.matches.length
    ? `<b class="t-healthy"><span aria-hidden="true">✓</span> MATCHES</b> the manifest voted for ${v.matches
        .map((m) => `upgrade #${m.id} "${esc(m.name)}" (${at(m)})`)
        .join("; ")}`
    : v.sameName
      ? `<b class="t-unhealthy"><span aria-hidden="true">✗</span> DOES NOT MATCH</b> upgrade #${v.sameName.id} "${esc(v.sameName.name)}" of the same name: its voted hash is <span class="mono" title="${esc(v.sameName.hash)}">${esc(shortHex(v.sameName.hash))}</span> (${at(v.sameName)})`
      : `<b class="t-unhealthy"><span aria-hidden="true">✗</span> MATCHES NO UPGRADE</b>: no upgrade on chain was voted with this hash, and none has its name`;
  return `<li data-testid="manifest-verdict" data-path="${esc(v.path)}" data-match="${v.matches.length ? "true" : "false"}" data-upgrade="${v.matches[0]?.id ?? v.sameName?.id ?? ""}">
    <span class="mono">${esc(v.path)}</span> (hash <span class="mono" title="${esc(v.hash)}">${esc(shortHex(v.hash))}</span>): ${body}.</li>`;
}

/** The verdict on the files checked, first on the view: all match, or which do not. */
export function verdictPanel(verdicts: ManifestVerdict[], errors: string[], explorerUrl: string): string {
  if (!verdicts.length && !errors.length) return "";
  const bad = verdicts.filter((v) => !v.matches.length).length + errors.length;
  const headline = bad
    ? `${bad} of ${verdicts.length + errors.length} manifest file(s) do not match an upgrade voted on chain`
    : `Every manifest file checked (${verdicts.length}) matches an upgrade voted on chain`;
  const errorItems = errors
    .map(
      (e) =>
        `<li data-testid="manifest-verdict" data-match="false"><b class="t-unhealthy"><span aria-hidden="true">✗</span> NOT A MANIFEST</b>: ${esc(e)}</li>`,
    )
    .join("");
  return `<section class="card ${bad ? "warn" : "ok"} verdict" data-testid="manifest-verdicts" data-ok="${bad === 0}" aria-labelledby="verdict-title">
    <h2 id="verdict-title" tabindex="-1">${esc(headline)}</h2>
    <ul>${verdicts.map((v) => verdictItem(v, explorerUrl)).join("")}${errorItems}</ul></section>`;
}

// ------------------------------------------------------------------ the view

export function auditView(
  result: AuditResult,
  explorerUrl: string,
  manifestErrors: string[],
  verdicts: ManifestVerdict[] = [],
): string {
  const rows = [...result.checks]
    .sort((a, b) => Number(a.ok) - Number(b.ok)) // failures first
    .map(
      (c) => `<tr data-testid="check-row" data-ok="${c.ok}" data-kind="${esc(c.kind)}">
        <td class="${c.ok ? "t-healthy" : "t-unhealthy"}"><span aria-hidden="true">${c.ok ? "✓" : "✗"}</span> ${c.ok ? "PASS" : "FAIL"}</td><td>${esc(c.kind)}</td>
        <td>${c.upgradeId === undefined ? "" : `#${c.upgradeId}`}</td><td class="details">${esc(readableAmounts(c.detail))}</td>
        <td>${c.block === undefined ? "" : blockLink(c.block, explorerUrl)}</td><td>${c.tx ? txLink(c.tx, explorerUrl) : ""}</td></tr>`,
    )
    .join("");
  const errors = manifestErrors.map((e) => `<li>${esc(e)}</li>`).join("");
  return `${verdictPanel(verdicts, manifestErrors, explorerUrl)}
    <div class="card ${result.ok ? "" : "warn"}" data-testid="audit-summary" data-ok="${result.ok}">${esc(auditSummary(result))}</div>
    ${errors ? `<ul class="warn-text" data-testid="manifest-errors">${errors}</ul>` : ""}
    <div class="table-wrap" tabindex="0" role="region" aria-label="Audit checks"><table class="cards"><thead><tr><th>result</th><th>check</th><th>upgrade</th><th>detail</th><th>block</th><th>tx</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}

// ------------------------------------------------------------------ downloads, in words

/** A line of the report in words, with the line as lib/audit writes it (wei, enum names, 0-based stages) beside. */
export interface ReadableLine extends ReportLine {
  rawWhat: string;
  rawResult: string;
  rawDetail: string;
}

/** Amount-like figures of a transition, shown in tokens. */
const AMOUNT = /stake|weight|needed|limit|budget|inuse/i;
const stake = (x: bigint) => `${tokens(x)} stake`;

function figureWords(figures: Record<string, string | number | boolean>): string {
  return Object.entries(figures)
    .map(([k, v]) => {
      if (AMOUNT.test(k) && /^\d+$/.test(String(v))) return `${k} ${stake(BigInt(String(v)))}`;
      if (k === "stage" && typeof v === "number") return `stage ${v + 1}`;
      return `${k} ${v}`;
    })
    .join(", ");
}

function reasonWords(kind: string, reason: string | undefined): string {
  if (!reason) return "";
  if (kind === "UpgradePaused") return PAUSE_REASON_WORDS[reason as keyof typeof PauseReason] ?? reason;
  if (kind === "RollbackOrdered")
    return reason === "AutomaticThreshold" ? "automatic: unhealthy stake reached the rollback limit" : "by hand";
  return reason;
}

/**
 * The report's lines in words: stake in tokens, stages counted from 1 and named by cohort, reasons and statuses in
 * words; each with the raw line of `reportLines` (what the audit task writes) in its own columns.
 */
export function readableLines(result: AuditResult): ReadableLine[] {
  const raw = reportLines(result);
  const words: Pick<ReadableLine, "what" | "result" | "detail">[] = [];
  for (const u of result.history.upgrades) {
    words.push({
      what: "upgrade",
      result: u.state,
      detail:
        `${u.manifest.previousVersion} → ${u.manifest.version}; stake weights at block ${u.snapshot}; manifest hash ${u.manifest.manifestHash}; ` +
        `rollback restored ${stake(u.restoredStake)} (${u.restoredCount} validator(s))`,
    });
    for (const s of u.stages)
      words.push({
        what: `stage ${s.index + 1} (${cohortName(s.cohort)} cohort)`,
        result: s.state,
        detail:
          `cohort ${stake(s.cohortStake)}; ready ${stake(s.readyStake)} of ${stake(s.readyNeeded)} needed (${s.readyCount} validator(s)); ` +
          `healthy ${stake(s.healthyStake)} of ${stake(s.healthyNeeded)} needed; not healthy ${stake(s.unhealthyStake)} ` +
          `(pauses at ${stake(s.unhealthyLimit)}; automatic rollback ${s.rules.rollbackBps === 0 || s.rollbackLimit === MAX_UINT96 ? "off" : `at ${stake(s.rollbackLimit)}`})`,
      });
    for (const t of u.transitions) {
      const who = t.by
        ? `; by ${t.actor === "automatic" ? `the contract (sent by ${t.by})` : `${t.actor} ${t.by}`}`
        : "";
      words.push({
        what: t.kind + (t.stage !== undefined ? ` stage ${t.stage + 1}` : ""),
        result: reasonWords(t.kind, t.reason),
        detail: `${figureWords(t.figures)}${who}`.replace(/^; /, ""),
      });
    }
    for (const v of [...u.validators.values()].sort(
      (a, b) => a.stage - b.stage || a.operator.localeCompare(b.operator),
    ))
      words.push({
        what: v.operator,
        result: `${Status[v.status]}: ${statusWords(v.status)}`,
        detail: `stage ${v.stage + 1}; ${stake(v.weight)}; version ${v.version}; height ${v.height}; ${v.attestations} attestation(s)${v.restored ? "; back on the previous version" : ""}`,
      });
  }
  for (const c of result.checks)
    words.push({ what: c.kind, result: c.ok ? "PASS" : "FAIL", detail: readableAmounts(c.detail) });
  if (words.length !== raw.length) throw new Error("the audit report's lines changed shape: update readableLines");
  return raw.map((l, i) => ({
    ...l,
    ...words[i],
    rawWhat: l.what,
    rawResult: l.result,
    rawDetail: l.detail,
  }));
}

const CSV_COLUMNS: (keyof ReadableLine)[] = [...REPORT_COLUMNS, "rawWhat", "rawResult", "rawDetail"];

function readableMarkdown(result: AuditResult, o: RenderOptions): string {
  const base = o.explorer?.replace(/\/+$/, "");
  const tx = (h: string) => (!h ? "" : base ? `[${h.slice(0, 10)}…${h.slice(-6)}](${base}/tx/${h})` : `\`${h}\``);
  const block = (n: string) => (!n ? "" : base ? `[${n}](${base}/block/${n})` : n);
  const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  const h = result.history;
  const lines = readableLines(result);
  const out = [
    `# Lockstep audit${o.network ? `: ${o.network}` : ""}`,
    "",
    `Coordinator \`${h.coordinator ?? "?"}\`${o.chainId ? ` on chain ${o.chainId}` : ""}, blocks ${h.fromBlock ?? "?"} to ${h.toBlock ?? "?"}: ` +
      `${h.eventCount} events, ${h.upgrades.length} upgrade(s). ` +
      `**${result.ok ? "Every check passed" : `${result.failed.length} check(s) FAILED`}** (${result.checks.length} checks).`,
    "",
    "Amounts are in tokens, stages counted from 1; the last column holds the values as on chain (wei, enum names, stages from 0).",
    "",
  ];
  const groups = [...new Set(lines.map((l) => l.upgradeId))];
  for (const id of groups) {
    const u = h.upgrades.find((x) => x.id.toString() === id);
    out.push(id ? `## Upgrade #${id}: ${u?.name ?? ""} (${u?.state ?? ""})` : "## Other checks", "");
    out.push(
      "| section | what | result | details | block | time (UTC) | tx | on chain |",
      "|---|---|---|---|---|---|---|---|",
    );
    for (const l of lines.filter((x) => x.upgradeId === id))
      out.push(
        `| ${[
          l.section,
          l.what,
          l.result === "FAIL" ? "**FAIL**" : l.result,
          l.detail,
          block(l.block),
          l.time,
          tx(l.tx),
          `${l.rawWhat} ${l.rawResult} ${l.rawDetail}`.trim(),
        ]
          .map(cell)
          .join(" | ")} |`,
      );
    out.push("");
  }
  if (h.guardians.length) {
    out.push("## Guardians", "", "| guardian | block | time (UTC) | tx |", "|---|---|---|---|");
    for (const g of h.guardians)
      out.push(`| \`${g.guardian}\` | ${block(g.ref.block.toString())} | ${isoTime(g.ref.time)} | ${tx(g.ref.tx)} |`);
    out.push("");
  }
  return out.join("\n");
}

/**
 * The Audit view's download: md and csv in words with the raw values in columns of their own; json as the audit task
 * writes it (values as on chain), with the lines in words added under `readable`.
 */
export function auditDownload(result: AuditResult, format: ReportFormat, o: RenderOptions): string {
  if (format === "csv")
    return (
      [
        CSV_COLUMNS.join(","),
        ...readableLines(result).map((l) => CSV_COLUMNS.map((c) => csvCell(l[c])).join(",")),
      ].join("\n") + "\n"
    );
  if (format === "md") return readableMarkdown(result, o);
  const value = JSON.parse(renderReport(result, "json", o)) as Record<string, unknown>;
  value.readable = readableLines(result);
  return JSON.stringify(value, null, 2) + "\n";
}
