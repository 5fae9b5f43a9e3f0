// The Cosmovisor layout, against a tree shaped as Cosmovisor's README gives it (tools/cosmovisor, "Folder
// Layout"): genesis/ and upgrades/<name>/ each with bin/$DAEMON_NAME, `current` linking to one of them, and
// upgrade-info.json as x/upgrade writes it (encoding/json of its Plan) in data/ and in the current upgrade.
import { expect } from "chai";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, readlink, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BinaryStore } from "../../watcher/src/adapters/binaries";
import { CommandNodeController } from "../../watcher/src/adapters/commandNode";
import { cosmovisorLayout } from "../../watcher/src/adapters/layouts";
import { ConfigError, parseConfig, paths as pathsOf } from "../../watcher/src/config";
import { execute } from "../../watcher/src/executors";
import { FakeNode } from "../fakes/ports";
import { executorDeps, preparedJob } from "../helpers/watcherHarness";

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
    const job = preparedJob(3, {
      name: "V3-Upgrade",
      version: "v3.0.0",
      previousVersion: "v2.0.0",
      artifact: { platform: "linux-amd64", uri: "https://example.test/gaiad", sha256: `0x${sha256(body)}` },
    });
    const downloader = {
      fetch: async (_uri: string, destination: string) => {
        await mkdir(join(destination, ".."), { recursive: true });
        await writeFile(destination, body);
        return { sha256: sha256(body), bytes: body.length };
      },
    };
    const deps = executorDeps({ config: ctx.config, paths: ctx.p, node, binaries: ctx.store, downloader });
    expect(await execute({ kind: "prepare", upgradeId: 3, step: 1 }, job, deps)).to.include({ type: "Prepared" });
    // Cosmovisor's name rule: the plan's name, lower-cased, is the directory.
    expect(await readFile(join(ctx.root, "upgrades", "v3-upgrade", "bin", "gaiad"), "utf8")).to.equal(body);
    expect(await execute({ kind: "upgrade", upgradeId: 3, step: 2 }, job, deps)).to.include({ type: "Upgraded" });
    expect(node.calls).to.deep.equal(["stop", "snapshot before-upgrade-3", "start"]);
    expect(await readlink(join(ctx.root, "current"))).to.equal(join(ctx.root, "upgrades", "v3-upgrade"));
    const info = JSON.stringify({
      binaries: { "linux/amd64": `https://example.test/gaiad?checksum=sha256:${sha256(body)}` },
    });
    // x/upgrade's height: the block the old version halted in, one above the last it committed (250).
    const expected = `{"name":"V3-Upgrade","time":"0001-01-01T00:00:00Z","height":251,"info":${JSON.stringify(info)}}`;
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

  describe("upgrade-info.json, when and what x/upgrade and Cosmovisor write", function () {
    /** The v3 upgrade of cosmovisorHome's node, prepared, with a node that notes the tree at its stop and snapshot. */
    async function upgradeV3(options: { answers?: boolean } = {}) {
      const ctx = await cosmovisorHome();
      const seen: Record<string, { data?: string; current: string; v3copy?: string }> = {};
      const look = async () => ({
        data: await readFile(join(ctx.home, "data", "upgrade-info.json"), "utf8").catch(() => undefined),
        current: await readlink(join(ctx.root, "current")),
        v3copy: await readFile(join(ctx.root, "upgrades", "v3", "upgrade-info.json"), "utf8").catch(() => undefined),
      });
      const node = new FakeNode(options.answers === false ? undefined : { version: "v2.0.0", height: 250n });
      node.stop = async () => {
        node.calls.push("stop");
        seen.stop = await look();
      };
      node.snapshot = async (tag: string) => {
        node.calls.push(`snapshot ${tag}`);
        seen.snapshot = await look();
      };
      node.start = async () => {
        node.calls.push("start");
        node.reading = { version: "v3.0.0", height: 300n };
      };
      const status = node.status.bind(node);
      node.status = async () => {
        const r = await status();
        if (r?.version === "v3.0.0") node.reading = { ...r, height: r.height + 1n };
        return r;
      };
      const body = gaiad("v3.0.0");
      const job = preparedJob(3, {
        name: "v3",
        version: "v3.0.0",
        previousVersion: "v2.0.0",
        artifact: { platform: "linux-amd64", uri: "https://example.test/gaiad", sha256: sha256(body) },
      });
      const download = join(ctx.home, "gaiad-v3");
      await writeFile(download, body);
      await ctx.store.stage("v3.0.0", download, sha256(body), { upgradeName: "v3" });
      const deps = executorDeps({ config: ctx.config, paths: ctx.p, node, binaries: ctx.store });
      return { ...ctx, node, job, deps, seen, look };
    }
    const plan = (text: string | undefined) => JSON.parse(text ?? "null") as Record<string, unknown> | null;

    it("data/upgrade-info.json once the old version halted, before the snapshot and the switch", async function () {
      const t = await upgradeV3();
      expect(await execute({ kind: "upgrade", upgradeId: 3, step: 2 }, t.job, t.deps)).to.include({ type: "Upgraded" });
      // At the stop: nothing written yet.
      expect(plan(t.seen.stop.data)).to.include({ name: "v2", height: 100 });
      // At the snapshot (Cosmovisor's backup point): the halt's plan is in data/, `current` is still the old one.
      const halted = plan(t.seen.snapshot.data)!;
      expect(Object.keys(halted)).to.deep.equal(["name", "time", "height", "info"]);
      expect(halted).to.include({ name: "v3", time: "0001-01-01T00:00:00Z", height: 251 });
      expect(JSON.parse(halted.info as string)).to.have.nested.property("binaries.linux/amd64");
      expect(t.seen.snapshot.current).to.equal(join(t.root, "upgrades", "v2"));
      expect(t.seen.snapshot.v3copy).to.equal(undefined);
      // After the switch: the upgrade's own copy, the same plan (Cosmovisor's SetCurrentUpgrade).
      expect(await readFile(join(t.root, "current", "upgrade-info.json"), "utf8")).to.equal(t.seen.snapshot.data);
      expect(await readFile(join(t.root, "upgrades", "v2", "upgrade-info.json"), "utf8")).to.equal(planJson("v2", 100));
    });

    it("a node that did not answer before its stop: the height above the last plan's, never 0", async function () {
      const t = await upgradeV3({ answers: false });
      await execute({ kind: "upgrade", upgradeId: 3, step: 2 }, t.job, t.deps);
      expect(plan(await readFile(join(t.home, "data", "upgrade-info.json"), "utf8"))).to.include({
        name: "v3",
        height: 101,
      });
    });

    it("a crash after the halt's record: the resumed upgrade keeps it and completes the switch's copy", async function () {
      const t = await upgradeV3();
      await t.store.recordUpgrade({ name: "v3", height: 251n, info: "" }); // then the watcher died
      t.node.reading = undefined; // the node is down now: no height to read
      await execute({ kind: "upgrade", upgradeId: 3, step: 2 }, t.job, t.deps);
      const expected = `{"name":"v3","time":"0001-01-01T00:00:00Z","height":251}`;
      expect(await readFile(join(t.home, "data", "upgrade-info.json"), "utf8")).to.equal(expected);
      expect(await readFile(join(t.root, "upgrades", "v3", "upgrade-info.json"), "utf8")).to.equal(expected);
    });

    it("a switch back puts data/upgrade-info.json back to the plan that runs; the history stays", async function () {
      const t = await upgradeV3();
      await execute({ kind: "upgrade", upgradeId: 3, step: 2 }, t.job, t.deps);
      const v3 = await readFile(join(t.root, "upgrades", "v3", "upgrade-info.json"), "utf8");
      await execute({ kind: "revert", upgradeId: 3, restoreState: false, step: 3 }, t.job, t.deps);
      expect(await readlink(join(t.root, "current"))).to.equal(join(t.root, "upgrades", "v2"));
      expect(await readFile(join(t.home, "data", "upgrade-info.json"), "utf8")).to.equal(planJson("v2", 100));
      expect(await readFile(join(t.root, "upgrades", "v3", "upgrade-info.json"), "utf8")).to.equal(v3);
      await t.store.activate("v1.0.0"); // genesis runs no plan: Cosmovisor would find none in data/ either
      expect(await readFile(join(t.home, "data", "upgrade-info.json"), "utf8").catch(() => "none")).to.equal("none");
      expect(await readFile(join(t.root, "upgrades", "v2", "upgrade-info.json"), "utf8")).to.equal(planJson("v2", 100));
    });

    it("a snapshot that fails after the halt's record: the old version runs again, and the record names it", async function () {
      const t = await upgradeV3();
      t.node.snapshot = async () => {
        throw new Error("no space left on device");
      };
      const r = await execute({ kind: "upgrade", upgradeId: 3, step: 2 }, t.job, t.deps);
      expect(r).to.include({ type: "UpgradeFailed" });
      expect(await readlink(join(t.root, "current"))).to.equal(join(t.root, "upgrades", "v2"));
      expect(await readFile(join(t.home, "data", "upgrade-info.json"), "utf8")).to.equal(planJson("v2", 100));
    });
  });

  it("the command adapter (systemctl and the like) runs `current`, with DAEMON_HOME and DAEMON_NAME set", async function () {
    const ctx = await cosmovisorHome();
    const out = join(ctx.home, "service.log");
    // A unit written for Cosmovisor: ExecStart=$DAEMON_HOME/cosmovisor/current/bin/$DAEMON_NAME start.
    const run = (what: string) =>
      `echo "${what} $DAEMON_HOME $DAEMON_NAME $LOCKSTEP_VERSION $LOCKSTEP_BINARY" >> ${out}; ` +
      `"$DAEMON_HOME/cosmovisor/current/bin/$DAEMON_NAME" >> ${out}`;
    const config = parseConfig({
      ...ctx.config,
      node: {
        adapter: "command",
        statusUrl: "http://127.0.0.1:1/status",
        stateDir: join(ctx.home, "data"),
        commands: { start: run("start"), stop: run("stop") },
      },
    });
    await mkdir(ctx.p.root, { recursive: true }); // the watcher's data directory (build() makes it)
    const node = new CommandNodeController(config.node as never, pathsOf(config), { cosmovisor: config.cosmovisor });
    await node.stop();
    await ctx.store.activate("v1.0.0");
    await node.start();
    const bin = join(ctx.root, "current", "bin", "gaiad");
    expect((await readFile(out, "utf8")).split("\n")).to.deep.equal([
      `stop ${ctx.home} gaiad v2.0.0 ${bin}`,
      "gaiad v2.0.0",
      `start ${ctx.home} gaiad v1.0.0 ${bin}`,
      "gaiad v1.0.0",
      "",
    ]);
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
