// Content-addressed staging (issue 10, finding 5): a build is reused only when it was staged from the voted
// digest and is unchanged, and it is checked again right before the swap.
import { expect } from "chai";
import { createHash } from "node:crypto";
import { mkdtemp, readFile, readlink, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BinaryStore } from "../../watcher/src/adapters/binaries";
import { parseConfig, paths as pathsOf, type Paths } from "../../watcher/src/config";
import { execute, type ExecutorDeps } from "../../watcher/src/executors";
import type { Job } from "../../watcher/src/machine/types";
import type { Downloader } from "../../watcher/src/ports";
import { FakeNode } from "../fakes/ports";
import { executorDeps, preparedJob, rejection } from "../helpers/watcherHarness";

const temps: string[] = [];
after(async () => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const build = (name: string) => `#!/bin/sh\necho ${name}\n`;

/** A downloader serving fixed bodies by URI, counting fetches. */
class FakeDownloader implements Downloader {
  fetched: string[] = [];
  constructor(private readonly bodies: Record<string, string>) {}
  async fetch(uri: string, destination: string) {
    this.fetched.push(uri);
    const body = this.bodies[uri];
    if (body === undefined) throw new Error(`no body for ${uri}`);
    await mkdir(join(destination, ".."), { recursive: true });
    await writeFile(destination, body);
    return { sha256: sha256(body), bytes: body.length };
  }
}

async function setup() {
  const dataDir = await mkdtemp(join(tmpdir(), "lockstep-staging-"));
  temps.push(dataDir);
  const config = parseConfig({
    chain: { rpcUrl: "http://127.0.0.1:1", chainId: 31337, coordinator: "0x" + "11".repeat(20), startBlock: 1 },
    validator: { operator: "0x" + "22".repeat(20), attesterKey: { env: "UNUSED" } },
    dataDir,
    node: { adapter: "process", statusUrl: "http://127.0.0.1:1/status", stateDir: join(dataDir, "state") },
    health: { deadlineMs: 1_000, probeIntervalMs: 100, minHeightGain: 1, observeIntervalMs: 100 },
  });
  const p = pathsOf(config);
  const store = new BinaryStore(p);
  return { config, p, store };
}

async function stageFrom(store: BinaryStore, p: Paths, version: string, body: string) {
  const file = join(p.downloads, `${version}-${sha256(body).slice(0, 8)}`);
  await mkdir(p.downloads, { recursive: true });
  await writeFile(file, body);
  await store.stage(version, file, sha256(body));
}

const job = (version: string, body: string): Job =>
  preparedJob(7, {
    name: "upgrade-7",
    version,
    previousVersion: "v1.0.0",
    artifact: { platform: "linux-amd64", uri: "https://example.test/node", sha256: `0x${sha256(body)}` },
  });

describe("content-addressed staging", function () {
  describe("binary store", function () {
    it("counts a version as staged only for the digest it was staged from", async function () {
      const { p, store } = await setup();
      await stageFrom(store, p, "v2.0.0", build("old"));
      expect(await store.isStaged("v2.0.0", sha256(build("old")))).to.equal(true);
      expect(await store.isStaged("v2.0.0", `0x${sha256(build("old")).toUpperCase()}`)).to.equal(true);
      expect(await store.isStaged("v2.0.0", sha256(build("new")))).to.equal(false);
      await stageFrom(store, p, "v2.0.0", build("new")); // the same name, another build: replaced
      expect(await readFile(p.binary("v2.0.0"), "utf8")).to.equal(build("new"));
      expect(await store.isStaged("v2.0.0", sha256(build("old")))).to.equal(false);
    });

    it("refuses to switch to a build that changed since it was staged, leaving `current` alone", async function () {
      const { p, store } = await setup();
      await stageFrom(store, p, "v1.0.0", build("v1"));
      await stageFrom(store, p, "v2.0.0", build("v2"));
      await store.activate("v1.0.0", sha256(build("v1")));
      await writeFile(p.binary("v2.0.0"), build("tampered"));
      const error = await rejection(store.activate("v2.0.0", sha256(build("v2"))));
      expect(error.code).to.equal("staged-digest-mismatch");
      expect(error.retryable).to.equal(false);
      expect(error.message).to.match(/files changed since they were staged/);
      expect(await readlink(p.current)).to.equal(join("versions", "v1.0.0"));
      expect((await rejection(store.activate("v2.0.0", sha256(build("other"))))).message).to.match(
        /staged from sha256/,
      );
    });

    it("refuses to replace the active version's build with another under the same name", async function () {
      const { p, store } = await setup();
      await stageFrom(store, p, "v2.0.0", build("old"));
      await store.activate("v2.0.0");
      const error = await rejection(stageFrom(store, p, "v2.0.0", build("new")));
      expect(error.code).to.equal("version-active");
      expect(await readFile(p.currentBinary, "utf8")).to.equal(build("old"));
    });
  });

  describe("executors", function () {
    const deps = (ctx: Awaited<ReturnType<typeof setup>>, downloader: Downloader, node: FakeNode): ExecutorDeps =>
      executorDeps({ config: ctx.config, paths: ctx.p, node, binaries: ctx.store, downloader });

    it("never runs the old build of a version name reused with a new digest", async function () {
      const ctx = await setup();
      await stageFrom(ctx.store, ctx.p, "v1.0.0", build("v1"));
      await ctx.store.activate("v1.0.0");
      await stageFrom(ctx.store, ctx.p, "v2.0.0", build("old v2")); // an earlier manifest's v2.0.0
      const downloader = new FakeDownloader({ "https://example.test/node": build("new v2") });
      const node = new FakeNode({ version: "v2.0.0", height: 10n, syncing: false });
      const d = deps(ctx, downloader, node);
      const j = job("v2.0.0", build("new v2"));
      expect(await execute({ kind: "prepare", upgradeId: 7, step: 1 }, j, d)).to.deep.equal({
        type: "Prepared",
        upgradeId: 7,
      });
      expect(downloader.fetched).to.deep.equal(["https://example.test/node"]);
      await execute({ kind: "upgrade", upgradeId: 7, step: 2 }, j, d);
      expect(await readFile(ctx.p.currentBinary, "utf8")).to.equal(build("new v2"));
    });

    it("does not touch the node when the preUpgrade hook aborts (exit 30)", async function () {
      const ctx = await setup();
      await stageFrom(ctx.store, ctx.p, "v1.0.0", build("v1"));
      await ctx.store.activate("v1.0.0");
      await stageFrom(ctx.store, ctx.p, "v2.0.0", build("v2"));
      ctx.config.hooks = { preUpgrade: { command: "echo not now >&2; exit 30", timeoutMs: 10_000, maxRetries: 0 } };
      const node = new FakeNode({ version: "v1.0.0", height: 10n, syncing: false });
      const outcome = await execute(
        { kind: "upgrade", upgradeId: 7, step: 2 },
        job("v2.0.0", build("v2")),
        deps(ctx, new FakeDownloader({}), node),
      );
      expect(outcome).to.deep.equal({
        type: "UpgradeFailed",
        upgradeId: 7,
        reason: "preUpgrade hook failed with exit 30 (abort): not now",
      });
      expect(node.calls).to.deep.equal([]);
      expect(await readFile(ctx.p.currentBinary, "utf8")).to.equal(build("v1"));
    });

    it("does not touch the node when the staged build no longer matches the voted digest", async function () {
      const ctx = await setup();
      await stageFrom(ctx.store, ctx.p, "v1.0.0", build("v1"));
      await ctx.store.activate("v1.0.0");
      await stageFrom(ctx.store, ctx.p, "v2.0.0", build("v2"));
      await writeFile(ctx.p.binary("v2.0.0"), build("swapped behind our back"));
      const node = new FakeNode({ version: "v1.0.0", height: 10n, syncing: false });
      const outcome = await execute(
        { kind: "upgrade", upgradeId: 7, step: 2 },
        job("v2.0.0", build("v2")),
        deps(ctx, new FakeDownloader({}), node),
      );
      expect(outcome).to.include({ type: "UpgradeFailed", upgradeId: 7 });
      expect((outcome as { reason: string }).reason).to.match(/files changed since they were staged/);
      expect(node.calls).to.deep.equal([]);
      expect(await readFile(ctx.p.currentBinary, "utf8")).to.equal(build("v1"));
    });
  });
});
