// The Cosmovisor layout, against a tree shaped as Cosmovisor's README gives it (tools/cosmovisor, "Folder
// Layout"): genesis/ and upgrades/<name>/ each with bin/$DAEMON_NAME, `current` linking to one of them, and
// upgrade-info.json as x/upgrade writes it (encoding/json of its Plan) in data/ and in the current upgrade.
import { expect } from "chai";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BinaryStore } from "../../watcher/src/adapters/binaries";
import { cosmovisorLayout } from "../../watcher/src/adapters/layouts";
import { ConfigError, parseConfig, paths as pathsOf } from "../../watcher/src/config";
import { execute } from "../../watcher/src/executors";
import { createLogger } from "../../watcher/src/log";
import type { Job } from "../../watcher/src/machine/types";
import { FakeClock, FakeNode, FakeWriter } from "../fakes/ports";

const temps: string[] = [];
after(async () => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const gaiad = (version: string) => `#!/bin/sh\necho gaiad ${version}\n`;
const planJson = (name: string, height: number) =>
  `{"name":"${name}","time":"0001-01-01T00:00:00Z","height":${height}}`;

/** A node Cosmovisor has run through one upgrade, v2 at height 100: exactly the documented tree. */
async function cosmovisorHome() {
  const home = await mkdtemp(join(tmpdir(), "lockstep-cosmovisor-"));
  temps.push(home);
  const root = join(home, "cosmovisor");
  for (const [dir, version] of [
    ["genesis", "v1.0.0"],
    ["upgrades/v2", "v2.0.0"],
  ]) {
    await mkdir(join(root, dir, "bin"), { recursive: true });
    await writeFile(join(root, dir, "bin", "gaiad"), gaiad(version));
    await chmod(join(root, dir, "bin", "gaiad"), 0o755);
  }
  await writeFile(join(root, "upgrades/v2/upgrade-info.json"), planJson("v2", 100));
  await symlink(join(root, "upgrades", "v2"), join(root, "current"));
  await mkdir(join(home, "data"), { recursive: true });
  await writeFile(join(home, "data", "upgrade-info.json"), planJson("v2", 100));
  const config = parseConfig({
    chain: { rpcUrl: "http://127.0.0.1:1", chainId: 31337, coordinator: "0x" + "11".repeat(20), startBlock: 1 },
    validator: { operator: "0x" + "22".repeat(20), attesterKey: { env: "UNUSED" } },
    dataDir: join(home, "lockstep"),
    layout: "cosmovisor",
    cosmovisor: { home, daemonName: "gaiad", versions: { genesis: "v1.0.0", v2: "v2.0.0" } },
    node: { adapter: "process", statusUrl: "http://127.0.0.1:1/status", stateDir: join(home, "data") },
    health: { deadlineMs: 1_000, probeIntervalMs: 100, minHeightGain: 1, observeIntervalMs: 100 },
  });
  const p = pathsOf(config);
  const store = new BinaryStore(p, cosmovisorLayout(config.cosmovisor!));
  return { home, root, config, p, store };
}

describe("Cosmovisor layout", function () {
  it("reads the versions of a tree Cosmovisor made, and the active one through `current`", async function () {
    const { p, root, store } = await cosmovisorHome();
    expect(p.currentBinary).to.equal(join(root, "current", "bin", "gaiad"));
    expect(await store.active()).to.equal("v2.0.0");
    expect(await store.isStaged("v1.0.0")).to.equal(true);
    expect(await store.isStaged("v2.0.0", sha256(gaiad("v2.0.0")))).to.equal(false); // no record: not by digest
    await store.activate("v1.0.0");
    expect(await readlink(join(root, "current"))).to.equal(join(root, "genesis"));
  });

  it("stages under upgrades/<name>, switches `current` and writes upgrade-info.json as x/upgrade does", async function () {
    const ctx = await cosmovisorHome();
    const node = new FakeNode({ version: "v3.0.0", height: 250n, syncing: false });
    const status = node.status.bind(node);
    node.status = async () => {
      const reading = await status();
      if (node.calls.includes("start")) node.reading = { ...reading!, height: reading!.height + 1n }; // blocks grow
      return reading;
    };
    const body = gaiad("v3.0.0");
    const job: Job = {
      upgradeId: 3,
      stage: 0,
      manifest: {
        name: "V3-Upgrade",
        version: "v3.0.0",
        previousVersion: "v2.0.0",
        artifact: { platform: "linux-amd64", uri: "https://example.test/gaiad", sha256: `0x${sha256(body)}` },
        manifestHash: "0x" + "00".repeat(32),
        stateIncompatible: false,
      },
      stageActive: true,
      paused: false,
      ended: null,
      local: "prepared",
      attested: null,
      health: null,
      steps: 0,
    };
    const deps = {
      config: ctx.config,
      paths: ctx.p,
      chain: undefined as never,
      writer: new FakeWriter(),
      node,
      downloader: {
        fetch: async (_uri: string, destination: string) => {
          await mkdir(join(destination, ".."), { recursive: true });
          await writeFile(destination, body);
          return { sha256: sha256(body), bytes: body.length };
        },
      },
      binaries: ctx.store,
      clock: new FakeClock(),
      log: createLogger("silent", false),
    };
    expect(await execute({ kind: "prepare", upgradeId: 3, step: 1 }, job, deps)).to.include({ type: "Prepared" });
    // Cosmovisor's name rule: the plan's name, lower-cased, is the directory.
    expect(await readFile(join(ctx.root, "upgrades", "v3-upgrade", "bin", "gaiad"), "utf8")).to.equal(body);
    expect(await execute({ kind: "upgrade", upgradeId: 3, step: 2 }, job, deps)).to.include({ type: "Upgraded" });
    expect(node.calls).to.deep.equal(["stop", "snapshot before-upgrade-3", "start"]);
    expect(await readlink(join(ctx.root, "current"))).to.equal(join(ctx.root, "upgrades", "v3-upgrade"));
    const info = JSON.stringify({
      binaries: { "linux/amd64": `https://example.test/gaiad?checksum=sha256:${sha256(body)}` },
    });
    const expected = `{"name":"V3-Upgrade","time":"0001-01-01T00:00:00Z","height":250,"info":${JSON.stringify(info)}}`;
    expect(await readFile(join(ctx.home, "data", "upgrade-info.json"), "utf8")).to.equal(expected);
    expect(await readFile(join(ctx.root, "current", "upgrade-info.json"), "utf8")).to.equal(expected);
    // The history Cosmovisor kept is untouched.
    expect(await readFile(join(ctx.root, "upgrades", "v2", "upgrade-info.json"), "utf8")).to.equal(planJson("v2", 100));
    expect(await readFile(join(ctx.root, "genesis", "bin", "gaiad"), "utf8")).to.equal(gaiad("v1.0.0"));
    expect(await ctx.store.active()).to.equal("v3.0.0");
    // Back to the previous version: `current` names Cosmovisor's own upgrades/v2 again.
    await ctx.store.activate("v2.0.0");
    expect(await readlink(join(ctx.root, "current"))).to.equal(join(ctx.root, "upgrades", "v2"));
  });

  it("needs cosmovisor.home and .daemonName with layout cosmovisor", function () {
    expect(() =>
      parseConfig({
        chain: { rpcUrl: "http://127.0.0.1:1", chainId: 1, coordinator: "0x" + "11".repeat(20), startBlock: 1 },
        validator: { operator: "0x" + "22".repeat(20), attesterKey: { env: "UNUSED" } },
        dataDir: "d",
        layout: "cosmovisor",
        node: { adapter: "process", statusUrl: "http://127.0.0.1:1/status", stateDir: "s" },
      }),
    )
      .to.throw(ConfigError)
      .with.property("message", 'config cosmovisor: layout "cosmovisor" needs cosmovisor.home and .daemonName');
  });
});
