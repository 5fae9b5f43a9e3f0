import { expect } from "chai";
import hre from "hardhat";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { GAS_RUNS, GasRow, diffGasRows, measureGas } from "../../bench/gasScenario";

// Ceilings from the issue; the benchmark (`npm run bench:gas`) records the same figures in bench/results/gas.json.
const CEILING = { attest: 55_000, attestRelayedPerAttestation: 25_000, advance: 60_000, takeLease: 35_000 };
const FLATNESS = 0.05;

function gasOf(rows: GasRow[], operation: string, batch?: number): GasRow {
  const row = rows.find((r) => r.operation === operation && (batch === undefined || r.batch === batch));
  if (!row) throw new Error(`no ${operation} row`);
  return row;
}

function expectFlat(figures: number[], what: string) {
  const low = Math.min(...figures);
  const high = Math.max(...figures);
  expect((high - low) / low, `${what} varies ${figures.join(" / ")}`).to.be.at.most(FLATNESS);
}

describe("gas ceilings", function () {
  this.timeout(300_000);
  // Coverage instruments the contracts: their gas says nothing about the real build.
  if ((hre as unknown as { __SOLIDITY_COVERAGE_RUNNING?: boolean }).__SOLIDITY_COVERAGE_RUNNING) return;
  const sizes = [10, 1_000, 10_000];
  const runs: Record<number, GasRow[]> = {};

  before(async function () {
    for (const n of sizes) runs[n] = await measureGas(n);
  });

  it("a validator's first direct attestation costs at most 55,000 gas at every registry size", function () {
    for (const n of sizes) expect(gasOf(runs[n], "attest").gas, `${n} validators`).to.be.at.most(CEILING.attest);
  });

  it("a relayed batch of 100 first attestations costs at most 25,000 gas per attestation", function () {
    for (const n of sizes.filter((s) => s > 100)) {
      const row = gasOf(runs[n], "attestRelayedPerAttestation", 100);
      expect(row.gas, `${n} validators`).to.be.at.most(CEILING.attestRelayedPerAttestation);
    }
  });

  it("verifying a stage with advance costs at most 60,000 gas", function () {
    for (const n of sizes) expect(gasOf(runs[n], "advance").gas, `${n} validators`).to.be.at.most(CEILING.advance);
  });

  it("taking a restart lease costs at most 35,000 gas at every registry size", function () {
    for (const n of sizes) {
      expect(gasOf(runs[n], "takeLease").gas, `${n} validators`).to.be.at.most(CEILING.takeLease);
    }
  });

  it("attest, relay, advance and takeLease stay flat (within 5%) from 10 to 10,000 validators", function () {
    expectFlat(
      sizes.map((n) => gasOf(runs[n], "attest").gas),
      "attest",
    );
    expectFlat(
      sizes.map((n) => gasOf(runs[n], "advance").gas),
      "advance",
    );
    expectFlat(
      sizes.map((n) => gasOf(runs[n], "takeLease").gas),
      "takeLease",
    );
    // A 10-validator registry can relay only 8 at once: compare equal batches across registry sizes.
    expectFlat(
      sizes.map((n) => gasOf(runs[n], "attestRelayedPerAttestation", 8).gas),
      "relayed attestation (8)",
    );
    expectFlat(
      [1_000, 10_000].map((n) => gasOf(runs[n], "attestRelayedPerAttestation", 100).gas),
      "relayed (100)",
    );
  });

  it("more vote checkpoints per operator do not make attestations dearer", async function () {
    const heavy = await measureGas(200, 100);
    expect(gasOf(heavy, "attest").gas).to.be.at.most(CEILING.attest);
    expect(gasOf(heavy, "attestRelayedPerAttestation", 100).gas).to.be.at.most(CEILING.attestRelayedPerAttestation);
    expectFlat([gasOf(runs[1_000], "attest").gas, gasOf(heavy, "attest").gas], "attest across checkpoints");
  });

  it("the committed bench/results/gas.json equals a fresh run of npm run bench:gas", async function () {
    const fresh: GasRow[] = [];
    for (const run of GAS_RUNS) {
      const reused = run.checkpoints === 1 ? runs[run.validators] : undefined;
      fresh.push(...(reused ?? (await measureGas(run.validators, run.checkpoints))));
    }
    const file = join(__dirname, "..", "..", "bench", "results", "gas.json");
    const committed = (JSON.parse(readFileSync(file, "utf8")) as { rows: GasRow[] }).rows;
    const differing = diffGasRows(committed, fresh);
    expect(differing, `bench/results/gas.json is stale (run npm run bench:gas):\n  ${differing.join("\n  ")}`).to.be
      .empty;
  });
});
