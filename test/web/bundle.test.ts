// The dashboard ships one Ethereum library, viem: a build of the bundle must hold nothing of ethers.
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers/e2e";

/** Strings every ethers v6 build carries: its version constant and the message of its bytes check. */
function ethersMarkers(): string[] {
  const version = /version = "([^"]+)"/.exec(
    readFileSync(join(ROOT, "node_modules", "ethers", "lib.commonjs", "_version.js"), "utf8"),
  )![1];
  return [`"${version}"`, "invalid BytesLike value"];
}

describe("dashboard bundle", function () {
  this.timeout(300_000);
  let out: string;
  let buildLog: string;

  before(function () {
    out = mkdtempSync(join(tmpdir(), "lockstep-bundle-"));
    const build = spawnSync(
      join(ROOT, "node_modules", ".bin", "vite"),
      ["build", "web", "--config", "web/vite.config.ts", "--outDir", out, "--logLevel", "warn"],
      { cwd: ROOT, encoding: "utf8" },
    );
    if (build.status !== 0) throw new Error(`vite build failed:\n${build.stdout}\n${build.stderr}`);
    buildLog = `${build.stdout}\n${build.stderr}`;
  });

  after(function () {
    rmSync(out, { recursive: true, force: true });
  });

  it("bundles nothing Node-only (lib/ modules the page imports load node: built-ins only when called)", function () {
    // Vite swaps a node: built-in for an empty stub in a browser build and says so; the page would break at the call.
    expect(buildLog).to.not.match(/externalized for browser compatibility/);
  });

  it("contains no ethers", function () {
    const scripts = readdirSync(join(out, "assets")).filter((f) => f.endsWith(".js"));
    expect(scripts).to.not.be.empty;
    const bytes = scripts.reduce((sum, f) => sum + statSync(join(out, "assets", f)).size, 0);
    for (const f of scripts) {
      const text = readFileSync(join(out, "assets", f), "utf8");
      for (const marker of ethersMarkers())
        expect(text, `${f} (${bytes} bytes of JS) holds ${marker}`).to.not.include(marker);
    }
  });
});
