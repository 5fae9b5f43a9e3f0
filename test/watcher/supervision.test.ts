// The process adapter cannot lose its node: the node records itself before it runs, a restarted watcher adopts
// it, and the status endpoint has the last word.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { once } from "node:events";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { BinaryStore } from "../../watcher/src/adapters/binaries";
import { ProcessNodeController, type ProcessNodeConfig } from "../../watcher/src/adapters/processNode";
import { paths } from "../../watcher/src/config";
import { WatcherError } from "../../watcher/src/errors";
import type { NodeStatus } from "../../watcher/src/ports";
import { freePort } from "../../rehearsal/localnet";
import { paced } from "../../rehearsal/pace";

const repo = resolve(__dirname, "../..");
const register = require.resolve("ts-node/register/transpile-only");
const sha256 = (data: string) => createHash("sha256").update(data).digest("hex");
const simBinary = (version: string) =>
  `#!/bin/sh\nexec "${process.execPath}" -r "${register}" "${repo}/sim/validator-node.ts" --version ${version} "$@"\n`;

const temps: string[] = [];
const controllers: ProcessNodeController[] = [];

async function waitFor<T>(what: string, probe: () => Promise<T>, accept: (v: T) => boolean, timeoutMs = 20_000) {
  const deadline = Date.now() + paced(timeoutMs); // written for a quiet machine
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The processes whose command line names `marker` (the node's unique state directory). */
async function processesNaming(marker: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await readFile(`/proc/${entry}/cmdline`, "utf8").catch(() => "");
    const stat = await readFile(`/proc/${entry}/stat`, "utf8").catch(() => "");
    if (cmdline.includes(marker) && !stat.slice(stat.lastIndexOf(")") + 2).startsWith("Z")) pids.push(Number(entry));
  }
  return pids;
}

/** A data directory with the given versions staged (each a script), the first active, and a node config. */
async function setup(scripts: Record<string, string>) {
  const dataDir = await mkdtemp(join(tmpdir(), "lockstep-supervise-"));
  temps.push(dataDir);
  const p = paths({ dataDir }, "validator");
  const store = new BinaryStore(p);
  await mkdir(p.downloads, { recursive: true });
  for (const [version, script] of Object.entries(scripts)) {
    const download = join(p.downloads, `${version}.part`);
    await writeFile(download, script);
    await store.stage(version, download, sha256(script));
  }
  await store.activate(Object.keys(scripts)[0]);
  const port = await freePort();
  const stateDir = join(dataDir, "state");
  const config: ProcessNodeConfig = {
    adapter: "process",
    statusUrl: `http://127.0.0.1:${port}/status`,
    stateDir,
    binaryName: "validator",
    args: ["--port", String(port), "--state-dir", stateDir, "--tick-ms", "50"],
    env: {},
  };
  const node = new ProcessNodeController(config, p, { stopTimeoutMs: 5_000 });
  controllers.push(node);
  return { dataDir, p, store, config, stateDir, node };
}

const answers = (version: string) => (s: NodeStatus | undefined) => s?.version === version;

after(async function () {
  for (const node of controllers) await node.stop().catch(() => undefined);
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("node supervision", function () {
  this.timeout(60_000);

  it("a watcher killed between spawning the node and recording it comes back, adopts it, and runs one node", async function () {
    const { dataDir, p, config, stateDir, node } = await setup({ "v1.0.0": simBinary("v1.0.0") });
    const script = join(__dirname, "startNode.script.ts");
    const killed = spawn(process.execPath, ["-r", register, script, JSON.stringify({ dataDir, config })], {
      env: { ...process.env, LOCKSTEP_KILL_AT: "node:spawned" },
      stdio: "ignore",
    });
    const [, signal] = (await once(killed, "exit")) as [number | null, string | null];
    expect(signal).to.equal("SIGKILL");

    // The restarted watcher: it finds the node the killed one spawned, and starts none of its own.
    await node.start();
    await waitFor("the node", () => node.status(), answers("v1.0.0"));
    const running = await processesNaming(stateDir);
    const recorded = Number((await readFile(p.pidFile, "utf8")).split(" ")[0]);
    expect(running).to.deep.equal([recorded]);
    await node.start(); // again: still the same one
    expect(await processesNaming(stateDir)).to.deep.equal([recorded]);

    // It is the node's controller now: stopping it leaves nothing running or answering.
    await node.stop();
    expect(await processesNaming(stateDir)).to.deep.equal([]);
    expect(await node.status()).to.equal(undefined);
  });

  it("never signals a process that merely reuses the recorded pid", async function () {
    const { p, node } = await setup({ "v1.0.0": simBinary("v1.0.0") });
    // This test's own process stands in for an unrelated one that got the pid: alive, another start time.
    await writeFile(p.pidFile, `${process.pid} 1\n`);
    await node.start();
    await waitFor("the node", () => node.status(), answers("v1.0.0"));
    const recorded = Number((await readFile(p.pidFile, "utf8")).split(" ")[0]);
    expect(recorded).to.not.equal(process.pid);
    await node.stop();
  });

  it("refuses to report a node stopped while its status endpoint still answers", async function () {
    const { p, node, config } = await setup({ "v1.0.0": simBinary("v1.0.0") });
    await node.start();
    await waitFor("the node", () => node.status(), answers("v1.0.0"));
    const pid = Number((await readFile(p.pidFile, "utf8")).split(" ")[0]);
    await rm(p.pidFile); // the record is lost: the node runs untracked
    const error = await node.stop().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).to.be.instanceOf(WatcherError);
    expect((error as WatcherError).code).to.equal("node-untracked");
    expect(await node.status()).to.satisfy(answers("v1.0.0"));
    // And a start does not launch a second instance beside it.
    await node.start();
    expect(await processesNaming(config.stateDir)).to.deep.equal([pid]);
    process.kill(-pid, "SIGTERM");
    await waitFor(
      "the untracked node to go",
      () => node.status(),
      (s) => s === undefined,
    );
  });

  it("reports a binary that cannot be executed (a missing loader) at once, naming why", async function () {
    const { node, store } = await setup({
      "v1.0.0": simBinary("v1.0.0"),
      "v2.0.0": "#!/nonexistent/loader\n",
    });
    await store.activate("v2.0.0");
    let error: unknown;
    const started = Date.now();
    try {
      await node.start();
      await waitFor(
        "the node to answer or fail",
        () => node.status(),
        () => false,
        10_000,
      );
    } catch (e) {
      error = e;
    }
    expect(error).to.be.instanceOf(WatcherError);
    expect((error as WatcherError).code).to.equal("node-exited");
    expect((error as WatcherError).message).to.match(/exit code 12[67]/);
    expect(Date.now() - started).to.be.below(5_000);
  });
});
