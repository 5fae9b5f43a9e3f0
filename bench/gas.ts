// Gas benchmark: `npm run bench:gas`. Measures the hot operations at 10, 1,000 and 10,000 registered validators
// (one vote checkpoint each) and at 1,000 validators with 10 and 100 checkpoints, prints a table and writes
// bench/results/gas.json. Ceilings are held by test/contracts/gas.test.ts.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GasRow, measureGas } from "./gasScenario";

const RUNS: { validators: number; checkpoints: number }[] = [
  { validators: 10, checkpoints: 1 },
  { validators: 1_000, checkpoints: 1 },
  { validators: 10_000, checkpoints: 1 },
  { validators: 1_000, checkpoints: 10 },
  { validators: 1_000, checkpoints: 100 },
];

async function main() {
  const rows: GasRow[] = [];
  for (const run of RUNS) {
    const started = Date.now();
    rows.push(...(await measureGas(run.validators, run.checkpoints)));
    console.error(
      `measured ${run.validators} validators, ${run.checkpoints} checkpoint(s) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  }
  const header = ["operation", "validators", "checkpoints", "batch", "gas"];
  const table = rows.map((r) => [
    r.operation,
    String(r.validators),
    String(r.checkpoints ?? 1),
    String(r.batch ?? ""),
    String(r.gas),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join("  ");
  console.log(line(header));
  for (const t of table) console.log(line(t));
  const dir = join(__dirname, "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "gas.json"), JSON.stringify({ rows }, null, 2) + "\n");
  console.log(`\nwrote ${join("bench", "results", "gas.json")}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
