// Audit: the checks `npx hardhat audit` runs (lib/audit.ts), over the history this page rebuilt from the logs,
// each with the transaction that proves it; the report for download; and manifest files checked against the
// hashes voted on chain.
import { auditSummary, type AuditResult } from "../../../lib/audit";
import { esc, readableAmounts } from "../format";
import { txLink } from "./html";

export function auditView(result: AuditResult, explorerUrl: string, manifestErrors: string[]): string {
  const rows = [...result.checks]
    .sort((a, b) => Number(a.ok) - Number(b.ok)) // failures first
    .map(
      (c) => `<tr data-testid="check-row" data-ok="${c.ok}" data-kind="${esc(c.kind)}">
        <td class="${c.ok ? "t-healthy" : "t-unhealthy"}"><span aria-hidden="true">${c.ok ? "✓" : "✗"}</span> ${c.ok ? "PASS" : "FAIL"}</td><td>${esc(c.kind)}</td>
        <td>${c.upgradeId === undefined ? "" : `#${c.upgradeId}`}</td><td class="details">${esc(readableAmounts(c.detail))}</td>
        <td>${c.block ?? ""}</td><td>${c.tx ? txLink(c.tx, explorerUrl) : ""}</td></tr>`,
    )
    .join("");
  const errors = manifestErrors.map((e) => `<li>${esc(e)}</li>`).join("");
  return `<div class="card ${result.ok ? "" : "warn"}" data-testid="audit-summary" data-ok="${result.ok}">${esc(auditSummary(result))}</div>
    ${errors ? `<ul class="warn-text" data-testid="manifest-errors">${errors}</ul>` : ""}
    <div class="table-wrap" tabindex="0"><table class="cards"><thead><tr><th>result</th><th>check</th><th>upgrade</th><th>detail</th><th>block</th><th>tx</th></tr></thead><tbody>${rows}</tbody></table></div>`;
}
