// The release build never loads Node's bundled undici, which global fetch, Headers, Request and Response load on first
// touch (about 13 MB of resident memory that an idle watcher never gives back: bench:watcher's idle RSS). Every
// request the watcher makes goes through watcher/src/adapters/httpClient.ts instead. Checked on the built release,
// by what Node.js itself lists as loaded (test/helpers/moduleLog.cjs): idle, then after a rollout that read the chain,
// attested, probed the node, downloaded the new binary and notified a webhook.
import { expect } from "chai";
import { execFile } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, get, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import { spawnWatcher, waitFor, type WatcherProcess } from "../helpers/e2e";
import { addValidator, nodeStatus, stake, startNode, watcherEnv } from "../helpers/fleet";
import { RolloutBench } from "../helpers/rollout";

const run = promisify(execFile);
const PRELOAD = join(__dirname, "..", "helpers", "moduleLog.cjs");
const UNDICI = "NativeModule internal/deps/undici/undici";
const OLD = "v4.0.0";
const NEW = "v4.1.0";

interface Snapshot {
  when: "signal" | "exit";
  pid: number;
  modules: string[];
}

/** The snapshots moduleLog.cjs wrote to `file`, from process `pid`. */
function snapshots(file: string, pid: number): Snapshot[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, "utf8")
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as Snapshot)
    .filter((s) => s.pid === pid);
}

/** The status `url` answers with, or undefined when nothing answers (node:http: this test touches no fetch either). */
function statusOf(url: string): Promise<number | undefined> {
  return new Promise((resolve) =>
    get(url, (res) => {
      res.resume();
      resolve(res.statusCode);
    }).on("error", () => resolve(undefined)),
  );
}

describe("watcher release: never loads undici (global fetch)", function () {
  this.timeout(300_000);
  const bench = new RolloutBench({ old: OLD, intervalMiningMs: 250 });
  let hook: Server;
  let notices: { event: string }[];
  let watcher: WatcherProcess | undefined;

  before(async function () {
    await bench.start();
    notices = [];
    hook = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      notices.push(JSON.parse(Buffer.concat(chunks).toString()));
      res.end();
    });
    await new Promise<void>((done) => hook.listen(0, "127.0.0.1", done));
  });

  after(async function () {
    await bench.stop();
    hook?.closeAllConnections();
    await new Promise((done) => hook?.close(done));
  });

  it("would see undici loaded: a process that touches Headers lists it, one that does not, not", async function () {
    const file = join(bench.dir.path, "control.jsonl");
    const env = { ...process.env, NODE_OPTIONS: `--require ${PRELOAD}`, LOCKSTEP_MODULE_LOG: file };
    const touched = (await run(process.execPath, ["-e", "new Headers(); console.log(process.pid)"], { env })).stdout;
    const bare = (await run(process.execPath, ["-e", "console.log(process.pid)"], { env })).stdout;
    const [withHeaders] = snapshots(file, Number(touched));
    const [without] = snapshots(file, Number(bare));
    expect(withHeaders.modules).to.include(UNDICI);
    expect(without.modules).to.not.include(UNDICI);
  });

  it("idle, then through a rollout with a webhook, the watcher never loads it", async function () {
    const { d, options } = bench;
    const newBinary = bench.artifact(NEW);
    const v = await addValidator(d, bench.chain.provider, options, { name: "lean", cohort: 1, stake: stake(100) });
    bench.fleet.push(v);
    await startNode(v, OLD);
    const config = JSON.parse(readFileSync(v.configPath, "utf8"));
    const webhook = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hooks/secret`;
    writeFileSync(v.configPath, JSON.stringify({ ...config, notify: { webhooks: [webhook] } }));
    const log = join(bench.dir.path, "watcher-modules.jsonl");
    watcher = spawnWatcher(v.configPath, {
      ...watcherEnv(v),
      NODE_OPTIONS: `--require ${PRELOAD}`,
      LOCKSTEP_MODULE_LOG: log,
    });
    bench.watchers.push(watcher);
    const w = watcher;
    const pid = w.child.pid!;
    const explain = (e: Error) => new Error(`${e.message}\n${w.output().slice(-3000)}`);

    // Idle: up (it read the chain and its registration), serving /healthz, following blocks.
    await waitFor("the watcher to serve /healthz", async () => {
      if (w.child.exitCode !== null) throw explain(new Error("the watcher exited"));
      return (await statusOf(`http://127.0.0.1:${v.metricsPort}/healthz`)) === 200;
    }).catch((e) => {
      throw explain(e);
    });
    process.kill(pid, "SIGUSR2");
    const [idle] = await waitFor(
      "the idle snapshot",
      async () => snapshots(log, pid).length > 0 && snapshots(log, pid),
    );
    expect(idle.when).to.equal("signal");
    expect(idle.modules).to.include("NativeModule http");
    expect(idle.modules, "an idle watcher loaded undici").to.not.include(UNDICI);

    await bench.rollOut(v, "lean-rollout", NEW, newBinary, explain);
    expect((await nodeStatus(v))?.version).to.equal(NEW);
    await waitFor("a webhook notice of the swap", async () => notices.some((n) => n.event === "step-succeeded"));

    await w.stop();
    const exit = await waitFor("the exit snapshot", async () => snapshots(log, pid).find((s) => s.when === "exit"));
    expect(exit.modules, "the watcher loaded undici during the rollout").to.not.include(UNDICI);
  });
});
