// Gas benchmark: `npm run bench:gas`. Measures the hot operations at 10, 1,000 and 10,000 registered validators
// (one vote checkpoint each) and at 1,000 validators with 10 and 100 checkpoints, prints a table and writes
// bench/results/gas.json. Ceilings are held by test/contracts/gas.test.ts.
//
// With GAS_CHECK=1 (`GAS_CHECK=1 npx hardhat run bench/gas.ts`) it writes nothing: it compares a fresh run with the
// committed bench/results/gas.json, names every row that differs and exits 1 if any does. The figures repeat
// exactly from run to run (the scenario pins the chain's clock), so any difference means the file is stale.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GAS_RUNS, GasRow, diffGasRows, measureGas } from "./gasScenario";

const RESULTS = join(__dirname, "results", "gas.json");

async function main() {
  const check = process.env.GAS_CHECK === "1";
  const rows: GasRow[] = [];
  for (const run of GAS_RUNS) {
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
  if (check) {
    const committed = (JSON.parse(readFileSync(RESULTS, "utf8")) as { rows: GasRow[] }).rows;
    const differing = diffGasRows(committed, rows);
    if (differing.length > 0) {
      console.error(`\nbench/results/gas.json is stale in ${differing.length} row(s); run npm run bench:gas:`);
      for (const d of differing) console.error(`  ${d}`);
      process.exit(1);
    }
    console.log("\nbench/results/gas.json equals a fresh run");
    return;
  }
  mkdirSync(join(__dirname, "results"), { recursive: true });
  writeFileSync(RESULTS, JSON.stringify({ rows }, null, 2) + "\n");
  console.log(`\nwrote ${join("bench", "results", "gas.json")}`);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
