// The release as an operator gets it: built and packed by packaging/build.ts, installed with `npm install -g` into
// an empty prefix by an npm with an empty cache and no registry, run from outside the repository. It answers
// --help, then upgrades a validator's node through a real rollout and attests on chain.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync, readFileSync, readdirSync, readlinkSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { buildRelease, cleanEnv, installRelease, packRelease } from "../../packaging/build";
import { ROOT, WatcherProcess, spawnWatcher, tempDir } from "../helpers/e2e";
import { addValidator, nodeStatus, stake, startNode, watcherEnv } from "../helpers/fleet";
import { RolloutBench } from "../helpers/rollout";

const run = promisify(execFile);
const OLD = "v3.0.0";
const NEW = "v3.1.0";

describe("watcher release: packed, installed into an empty prefix, run", function () {
  this.timeout(300_000);
  let dir: ReturnType<typeof tempDir>;
  let prefix: string;
  let home: string;
  let installed: string;
  let watcher: WatcherProcess | undefined;
  const bench = new RolloutBench({ old: OLD, intervalMiningMs: 250, fleetDir: "fleet" });

  before(async function () {
    dir = tempDir("lockstep-release-");
    prefix = join(dir.path, "prefix");
    home = join(dir.path, "home");
    const tarball = packRelease(buildRelease(join(dir.path, "build")), join(dir.path, "dist"));
    installed = installRelease(tarball, prefix, home);
  });

  after(async function () {
    await bench.stop();
    dir?.cleanup();
  });

  it("installs a small command, the watcher's bundle and the addon, with no dependencies and nothing from the repository", function () {
    const pkg = join(prefix, "lib", "node_modules", "@lockstep", "watcher");
    expect(realpathSync(installed)).to.equal(join(pkg, "bin", "lockstep-watcher.js"));
    expect(existsSync(join(pkg, "node_modules"))).to.equal(false);
    expect(readdirSync(pkg).sort()).to.deep.equal(["README.md", "bin", "lib", "package.json", "share"]);
    expect(readdirSync(join(pkg, "bin"))).to.deep.equal(["lockstep-watcher.js"]);
    expect(readdirSync(join(pkg, "lib")).sort()).to.deep.equal(["better_sqlite3.node", "watcher.js"]);
    const manifest = JSON.parse(readFileSync(join(pkg, "package.json"), "utf8"));
    expect(manifest.dependencies).to.equal(undefined);
    // --help reads the command alone: a few kilobytes, not the watcher's 1.3 MB.
    expect(statSync(join(pkg, "bin", "lockstep-watcher.js")).size).to.be.below(16 * 1024);
    for (const file of [join(pkg, "bin", "lockstep-watcher.js"), join(pkg, "lib", "watcher.js")]) {
      const bundle = readFileSync(file, "utf8");
      expect(bundle, file).to.not.include(ROOT);
      expect(bundle, file).to.not.match(/require\("(ethers|hardhat|ts-node|typescript)"\)/);
    }
  });

  it("answers --help when run as the installed command, from outside the repository", async function () {
    const { stdout } = await run(installed, ["--help"], { cwd: home, env: cleanEnv(home) });
    expect(stdout).to.match(/^lockstep-watcher: follows a Lockstep upgrade coordinator/);
    expect(stdout).to.include("--config <file>");
  });

  it("ships a systemd unit for the installed command that systemd-analyze accepts", async function () {
    const unitFile = join(
      prefix,
      "lib",
      "node_modules",
      "@lockstep",
      "watcher",
      "share",
      "systemd",
      "lockstep-watcher.service",
    );
    const unit = readFileSync(unitFile, "utf8");
    expect(unit).to.match(/^ExecStart=\/usr\/local\/bin\/lockstep-watcher --config /m);
    expect(unit).to.not.match(/^ExecStart=.*npx/m);
    const analyze = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"].find((p) => existsSync(p));
    if (!analyze) this.skip();
    // Pointed at this test's prefix, the unit must verify cleanly (the command exists and is executable).
    const local = join(dir.path, "lockstep-watcher.service");
    writeFileSync(local, unit.replace("/usr/local/bin/lockstep-watcher", installed));
    const { stderr } = await run(analyze!, ["verify", local]);
    expect(stderr).to.equal("");
  });

  it("upgrades its validator's node through a rollout and attests Ready then Healthy", async function () {
    const { chain, d, options } = await bench.start();
    const newBinary = bench.artifact(NEW);
    const v = await addValidator(d, chain.provider, options, { name: "installed", cohort: 1, stake: stake(100) });
    bench.fleet.push(v);
    await startNode(v, OLD);
    // The installed command itself (its shebang picks node from PATH), run from the operator's home.
    writeFileSync(join(home, "watcher.json"), readFileSync(v.configPath));
    watcher = spawnWatcher(join(home, "watcher.json"), { ...cleanEnv(home), ...watcherEnv(v) }, [], {
      bin: installed,
      cwd: home,
    });
    bench.watchers.push(watcher);

    const explain = (e: Error) => new Error(`${e.message}\n${watcher!.output().slice(-3000)}`);
    await bench.rollOut(v, "release-rollout", NEW, newBinary, explain);
    expect((await nodeStatus(v))?.version).to.equal(NEW);
    expect(readlinkSync(join(v.dataDir, "current"))).to.equal(join("versions", NEW));
    expect(watcher.child.exitCode, watcher.output().slice(-2000)).to.equal(null);
  });
});
