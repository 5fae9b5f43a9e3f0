// manifest:from-cosmos-plan against plans shaped as Cosmovisor's README gives them ("Auto-Download").
import { expect } from "chai";
import hre from "hardhat";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { manifestFromCosmosPlan } from "../../lib/cosmosPlan";
import { ManifestError, parseManifest, stageRules, toOnChain } from "../../lib/manifest";

const fixture = (name: string) => join(__dirname, "..", "fixtures", "cosmos", name);
const digest = "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f";
const options = { version: "v2.0.0", previousVersion: "v1.0.0", stages: [stageRules(1)], daemon: "gaiad" };

describe("manifest:from-cosmos-plan", function () {
  it("turns the plan's binaries map into artifacts: checksum as digest, archives with bin/<daemon>", function () {
    const m = manifestFromCosmosPlan(readFileSync(fixture("plan.json"), "utf8"), options);
    expect(m.name).to.equal("v2-Upgrade");
    expect(m.artifacts).to.deep.equal(
      ["linux-amd64", "linux-arm64", "darwin-amd64"].map((platform) => ({
        platform,
        uri: "https://example.com/gaia.zip",
        sha256: digest,
        archive: { format: "zip", binary: "bin/gaiad" },
      })),
    );
    expect(toOnChain(m).artifacts[0].uri).to.equal("https://example.com/gaia.zip#archive=zip&binary=bin/gaiad");
  });

  it("takes a raw binary's URL as it is, and the plan object without its wrapper", function () {
    const plan = {
      name: "Vega",
      height: "7368420",
      info: JSON.stringify({
        binaries: {
          "linux/amd64": `https://github.com/cosmos/gaia/releases/download/v6.0.0-rc1/gaiad-v6.0.0-rc1-linux-amd64?checksum=sha256:${digest}`,
        },
      }),
    };
    const m = manifestFromCosmosPlan(JSON.stringify(plan), { ...options, daemon: undefined });
    expect(m.artifacts).to.deep.equal([
      {
        platform: "linux-amd64",
        uri: "https://github.com/cosmos/gaia/releases/download/v6.0.0-rc1/gaiad-v6.0.0-rc1-linux-amd64",
        sha256: digest,
      },
    ]);
  });

  it("reports every problem at once: a URL without a sha256 checksum, an archive with no daemon named", function () {
    const plan = {
      name: "Vega",
      info: JSON.stringify({
        binaries: {
          "linux/amd64": "https://github.com/cosmos/gaia/releases/download/v6.0.0-rc1/gaiad-v6.0.0-rc1-linux-amd64",
          "linux/arm64": `https://example.com/gaia.tar.gz?checksum=sha256:${digest}`,
          "darwin/amd64": `https://example.com/gaia?checksum=md5:${"0".repeat(32)}`,
        },
      }),
    };
    let error: unknown;
    try {
      manifestFromCosmosPlan(JSON.stringify(plan), { ...options, daemon: undefined });
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(ManifestError);
    expect((error as ManifestError).problems).to.deep.equal([
      'info.binaries["linux/amd64"]: needs ?checksum=sha256:<64 hex digits> (got none)',
      'info.binaries["linux/arm64"]: an archive; give the daemon\'s name (--daemon) or --binary-path',
      `info.binaries["darwin/amd64"]: needs ?checksum=sha256:<64 hex digits> (got md5:${"0".repeat(32)})`,
    ]);
  });

  it("writes a manifest file that manifest:check accepts, with the stages from a file", async function () {
    const dir = mkdtempSync(join(tmpdir(), "lockstep-plan-"));
    try {
      const out = join(dir, "manifest.json");
      await hre.run("manifest:from-cosmos-plan", {
        plan: fixture("plan.json"),
        newVersion: "v2.0.0",
        previousVersion: "v1.0.0",
        stages: fixture("stages.json"),
        daemon: "gaiad",
        out,
      });
      const m = parseManifest(readFileSync(out, "utf8"));
      expect(m.stages.map((s) => s.label)).to.deep.equal(["canary", "main"]);
      expect(m.artifacts).to.have.length(3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
