// The watcher's command line: clear one-line errors and non-zero exits for bad input, and --dry-run.
import { expect } from "chai";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Wallet, keccak256, toUtf8Bytes } from "ethers";
import { stageRules } from "../../lib/manifest";
import { Chain, Deployment, deployOn, makeBinary, runWatcher, startChain, tempDir } from "../helpers/e2e";
import { FleetValidator, addValidator, stake, watcherEnv } from "../helpers/fleet";

describe("watcher command line", function () {
  this.timeout(120_000);
  let chain: Chain;
  let d: Deployment;
  let dir: ReturnType<typeof tempDir>;
  let v: FleetValidator;
  let config: Record<string, any>;

  before(async function () {
    dir = tempDir();
    chain = await startChain();
    d = await deployOn(chain);
    v = await addValidator(
      d,
      chain.provider,
      {
        rpcUrl: chain.url,
        startBlock: d.startBlock,
        coordinator: await d.coordinator.getAddress(),
        root: dir.path,
        initial: { version: "v1.0.0", binary: makeBinary(join(dir.path, "bin"), "v1.0.0").path },
      },
      { name: "cli", cohort: 1, stake: stake(100) },
    );
    config = JSON.parse(require("node:fs").readFileSync(v.configPath, "utf8"));
  });

  after(async function () {
    await chain?.stop();
    dir?.cleanup();
  });

  function withConfig(change: (c: Record<string, any>) => void): string {
    const copy = structuredClone(config);
    change(copy);
    const path = join(dir.path, `config-${Math.random().toString(16).slice(2)}.json`);
    writeFileSync(path, JSON.stringify(copy));
    return path;
  }

  function expectOneLineError(result: { code: number | null; stderr: string }, code: number, pattern: RegExp) {
    expect(result.code, result.stderr).to.equal(code);
    expect(result.stderr).to.match(pattern);
    expect(result.stderr).to.not.match(/\n\s+at /); // no stack trace
  }

  it("lists every option with --help", async function () {
    const r = await runWatcher(["--help"]);
    expect(r.code).to.equal(0);
    for (const option of ["--config", "--dry-run", "--once", "--log-level", "--help"])
      expect(r.stdout).to.include(option);
  });

  it("refuses unknown options and a missing --config with exit 2", async function () {
    expectOneLineError(await runWatcher(["--frobnicate"]), 2, /^lockstep-watcher: .*frobnicate.*\(see --help\)\n$/);
    expectOneLineError(await runWatcher([]), 2, /^lockstep-watcher: --config <file> is required/);
  });

  it("names the unreadable or malformed config file", async function () {
    expectOneLineError(
      await runWatcher(["--config", "/nonexistent/watcher.json"]),
      2,
      /config file \/nonexistent\/watcher.json cannot be read/,
    );
    const broken = join(dir.path, "broken.json");
    writeFileSync(broken, "{ not json");
    expectOneLineError(await runWatcher(["--config", broken]), 2, /is not valid JSON/);
  });

  it("reports every invalid field at once, naming each and what is expected", async function () {
    const path = withConfig((c) => {
      c.chain.coordinator = "0x12";
      c.node.adapter = "docker";
      c.health.deadlineMs = -5;
    });
    const r = await runWatcher(["--config", path]);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/config chain\.coordinator: a 0x-prefixed 20-byte hex address/);
    expect(r.stderr).to.match(/config node\.adapter/);
    expect(r.stderr).to.match(/config health\.deadlineMs/);
  });

  it("refuses the wrong chain, a coordinator address without code, and a key that is not the attester", async function () {
    expectOneLineError(
      await runWatcher(["--config", withConfig((c) => (c.chain.chainId = 1)), "--once"], watcherEnv(v)),
      1,
      /serves chain 31337, not the configured 1/,
    );
    const empty = Wallet.createRandom().address;
    expectOneLineError(
      await runWatcher(["--config", withConfig((c) => (c.chain.coordinator = empty)), "--once"], watcherEnv(v)),
      1,
      /no contract at coordinator address/,
    );
    const stranger = Wallet.createRandom();
    const env = { [Object.keys(watcherEnv(v))[0]]: stranger.privateKey };
    const r = await runWatcher(["--config", v.configPath, "--once"], env);
    expectOneLineError(r, 1, /the loaded attester key is 0x[0-9a-fA-F]{40}, but operator .* has attester/);
    expect(r.stderr + r.stdout).to.not.include(stranger.privateKey.slice(2));
  });

  it("says which variable or keystore is wrong without printing the secret", async function () {
    expectOneLineError(
      await runWatcher(["--config", v.configPath, "--once"], { [Object.keys(watcherEnv(v))[0]]: "0xnot-a-key" }),
      1,
      /LOCKSTEP_KEY_CLI/,
    );
    const keystore = withConfig(
      (c) => (c.validator.attesterKey = { keystore: "missing.json", passwordFile: "password" }),
    );
    expectOneLineError(await runWatcher(["--config", keystore, "--once"]), 1, /missing\.json/);
  });

  it("prints what it would do for the current chain state with --dry-run, touching nothing", async function () {
    await (
      await d.coordinator.connect(d.timelockSigner).schedule({
        name: "dry",
        version: "v2.0.0",
        previousVersion: "v1.0.0",
        artifacts: [
          {
            platform: "linux-amd64",
            uri: "https://releases.example.org/node-v2",
            sha256Digest: keccak256(toUtf8Bytes("bin")),
          },
        ],
        featureFlags: [],
        metadataURI: "",
        manifestHash: keccak256(toUtf8Bytes("dry")),
        stateIncompatible: false,
        stages: [stageRules(1)],
      })
    ).wait();
    await chain.provider.send("evm_mine", []);
    await chain.provider.send("evm_mine", []);
    const { existsSync, statSync, readdirSync } = require("node:fs");
    const journal = join(v.dataDir, "journal.sqlite");
    const before = {
      journal: existsSync(journal) ? statSync(journal).mtimeMs : 0,
      files: readdirSync(v.dataDir).sort(),
    };
    const r = await runWatcher(["--config", v.configPath, "--dry-run"], watcherEnv(v));
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(
      /^would prepare upgrade 1 "dry" \(stage 0\): download https:\/\/releases\.example\.org\/node-v2, check sha256 0x[0-9a-f]{64}, stage .*versions\/v2\.0\.0\/bin\/node\n$/,
    );
    const after = {
      journal: existsSync(journal) ? statSync(journal).mtimeMs : 0,
      files: readdirSync(v.dataDir).sort(),
    };
    expect(after).to.deep.equal(before);
  });
});
