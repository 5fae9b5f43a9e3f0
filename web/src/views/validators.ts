// Validators: cohort, stake weight, last attestation and participation over the latest upgrade.
import { Status } from "../../../lib/coordinator";
import type { UpgradeHistory } from "../../../lib/history";
import type { Snapshot } from "../chain";
import { age, esc, tokens } from "../format";
import { txLink } from "./html";

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

