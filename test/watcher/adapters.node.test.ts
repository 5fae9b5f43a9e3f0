// The node-side adapters against the real thing: the simulated validator node as the "binary", real
// processes, real files, and a local HTTP server for downloads.
import { expect } from "chai";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { paths } from "../../watcher/src/config";
import { BinaryStore } from "../../watcher/src/adapters/binaries";
import { CommandNodeConfig, CommandNodeController } from "../../watcher/src/adapters/commandNode";
import { HttpDownloader } from "../../watcher/src/adapters/downloader";
import { ProcessNodeConfig, ProcessNodeController } from "../../watcher/src/adapters/processNode";
import type { NodeController, NodeStatus } from "../../watcher/src/ports";
import { freePort } from "../../rehearsal/localnet";
import { paced } from "../../rehearsal/pace";
import { rejection } from "../helpers/watcherHarness";

const repo = resolve(__dirname, "../..");
const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

const temps: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "lockstep-node-"));
  temps.push(dir);
  return dir;
}

/** A "release" of the simulated node: a shell script that runs it as `version`. */
function simBinary(version: string): string {
  const register = require.resolve("ts-node/register/transpile-only");
  return `#!/bin/sh\nexec "${process.execPath}" -r "${register}" "${repo}/sim/validator-node.ts" --version ${version} "$@"\n`;
}

/** Polls `probe` until `accept` holds, or fails after `timeoutMs`. */
async function waitFor<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + paced(timeoutMs); // written for a quiet machine
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting; last value ${String(value)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The pid in a pid file (`<pid> <start time>`). */
const recordedPid = (text: string) => Number(text.trim().split(/\s+/)[0]);

const groupAlive = (pid: number) => {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A data directory with v1 and v2 of the simulated node staged, and a free port for it. */
async function setup(binaryName = "node") {
  const dataDir = await tempDir();
  const p = paths({ dataDir }, binaryName);
  const store = new BinaryStore(p);
  for (const version of ["v1.0.0", "v2.0.0"]) {
    const download = join(p.downloads, `${version}.part`);
    const script = simBinary(version);
    await mkdir(p.downloads, { recursive: true });
    await writeFile(download, script);
    await store.stage(version, download, sha256(script));
  }
  const port = await freePort();
  const stateDir = join(dataDir, "state");
  const statusUrl = `http://127.0.0.1:${port}/status`;
  const args = ["--port", String(port), "--state-dir", stateDir, "--tick-ms", "50"];
  return { dataDir, p, store, port, stateDir, statusUrl, args };
}

const running =
  (version: string, above = -1n) =>
  (s: NodeStatus | undefined) =>
    s?.version === version && s.height > above;

after(async function () {
  await Promise.all(temps.map((dir) => rm(dir, { recursive: true, force: true })));
});

describe("node adapters", function () {
  describe("binary store", function () {
    it("stages a binary only when its digest matches, as an executable, once", async function () {
      const { p, store } = await setup();
      expect(await store.isStaged("v1.0.0")).to.equal(true);
      expect((await stat(p.binary("v1.0.0"))).mode & 0o777).to.equal(0o755);
      expect(await readFile(p.binary("v2.0.0"), "utf8")).to.equal(simBinary("v2.0.0"));
      expect(await readdir(p.downloads)).to.deep.equal([]); // the downloads were moved
      expect((await readdir(p.versions)).sort()).to.deep.equal(["v1.0.0", "v2.0.0"]);
      // Staging again is a no-op, even with the download gone and the digest spelled as bytes32 hex.
      await store.stage("v1.0.0", join(p.downloads, "gone"), `0x${sha256(simBinary("v1.0.0")).toUpperCase()}`);
    });

    it("refuses a digest mismatch without touching versions/", async function () {
      const dataDir = await tempDir();
      const p = paths({ dataDir });
      const store = new BinaryStore(p);
      const download = join(dataDir, "artifact");
      await writeFile(download, simBinary("v3.0.0"));
      const error = await rejection(store.stage("v3.0.0", download, sha256("something else")));
      expect(error.code).to.equal("digest-mismatch");
      expect(error.retryable).to.equal(false);
      expect(existsSync(p.versions)).to.equal(false);
      expect((await stat(download)).mode & 0o111).to.equal(0); // never made executable
      expect(await store.isStaged("v3.0.0")).to.equal(false);
    });

    it("switches `current` between staged versions and keeps the active one", async function () {
      const { p, store } = await setup();
      expect(await store.active()).to.equal(undefined);
      await store.activate("v1.0.0");
      expect(await store.active()).to.equal("v1.0.0");
      expect(await readlink(p.current)).to.equal(join("versions", "v1.0.0"));
      await store.activate("v1.0.0");
      await store.activate("v2.0.0");
      expect(await readFile(p.currentBinary, "utf8")).to.equal(simBinary("v2.0.0"));
      expect((await rejection(store.discard("v2.0.0"))).code).to.equal("version-active");
      await store.discard("v1.0.0");
      expect(await store.isStaged("v1.0.0")).to.equal(false);
      expect((await rejection(store.activate("v1.0.0"))).code).to.equal("version-not-staged");
      expect(await readdir(p.root)).to.not.include("current.tmp");
    });

    it("refuses version names that would leave versions/", async function () {
      const { store } = await setup();
      for (const name of ["../x", "/abs", "", "v1/../../x"]) {
        await store.stage(name, "/dev/null", sha256("")).then(
          () => expect.fail(`staged ${JSON.stringify(name)}`),
          (e: Error) => expect(e.message).to.match(/cannot name a directory/),
        );
        await store.activate(name).then(
          () => expect.fail(`activated ${JSON.stringify(name)}`),
          () => undefined,
        );
      }
    });
  });

  describe("process adapter", function () {
    const controllers: NodeController[] = [];
    afterEach(async function () {
      await Promise.all(controllers.splice(0).map((c) => c.stop()));
    });

    async function processNode() {
      const s = await setup("validator");
      const config: ProcessNodeConfig = {
        adapter: "process",
        statusUrl: s.statusUrl,
        stateDir: s.stateDir,
        binaryName: "validator",
        args: s.args,
        env: {},
      };
      const node = new ProcessNodeController(config, s.p, { stopTimeoutMs: 5_000 });
      controllers.push(node);
      return { ...s, config, node };
    }

    it("runs the active version, runs the next after the switch, and restores a snapshot", async function () {
      const { p, store, node, stateDir } = await processNode();
      await store.activate("v1.0.0");
      expect(await node.status()).to.equal(undefined);
      await node.start();
      const first = await waitFor(() => node.status(), running("v1.0.0"));
      await waitFor(() => node.status(), running("v1.0.0", first!.height));

      await node.stop();
      expect(existsSync(p.pidFile)).to.equal(false);
      expect(await node.status()).to.equal(undefined);
      await node.snapshot("before-v2");
      const snapshotHeight = await readFile(join(p.snapshot("before-v2"), "height"), "utf8");
      expect(Number(snapshotHeight)).to.be.greaterThan(Number(first!.height));

      await store.activate("v2.0.0");
      await node.start();
      await waitFor(() => node.status(), running("v2.0.0", BigInt(snapshotHeight) + 2n));
      await node.stop();
      expect(Number(await readFile(join(stateDir, "height"), "utf8"))).to.be.greaterThan(Number(snapshotHeight));

      await node.snapshot("before-v2"); // exists already: a no-op
      expect(await readFile(join(p.snapshot("before-v2"), "height"), "utf8")).to.equal(snapshotHeight);
      await node.restore("before-v2");
      expect(await readFile(join(stateDir, "height"), "utf8")).to.equal(snapshotHeight);
      expect((await readdir(p.root)).filter((f) => f.includes("~"))).to.deep.equal([]);
      expect((await rejection(node.restore("never-taken"))).code).to.equal("snapshot-missing");
    });

    it("leaves a running node alone, finds it again after a restart, and copes with a stale pid file", async function () {
      const { p, store, node, config } = await processNode();
      await store.activate("v1.0.0");
      await node.start();
      const pid = recordedPid(await readFile(p.pidFile, "utf8"));
      await node.start(); // already running: a no-op
      expect(recordedPid(await readFile(p.pidFile, "utf8"))).to.equal(pid);
      await waitFor(() => node.status(), running("v1.0.0"));

      // As after a SIGKILL of the watcher: a new controller finds the node through the pid file.
      const restarted = new ProcessNodeController(config, p, { stopTimeoutMs: 5_000 });
      await restarted.start();
      expect(recordedPid(await readFile(p.pidFile, "utf8"))).to.equal(pid);
      await restarted.stop();
      expect(groupAlive(pid)).to.equal(false);
      await restarted.stop(); // nothing runs: a no-op

      // A pid file left by a node that died on its own.
      const dead = spawnSync("true").pid;
      await writeFile(p.pidFile, `${dead}\n`);
      await restarted.stop();
      expect(existsSync(p.pidFile)).to.equal(false);
      await writeFile(p.pidFile, `${dead}\n`);
      await restarted.start();
      expect(recordedPid(await readFile(p.pidFile, "utf8"))).to.not.equal(dead);
      await waitFor(() => restarted.status(), running("v1.0.0"));
    });

    it("refuses to start without an active version", async function () {
      const { node } = await processNode();
      expect((await rejection(node.start())).code).to.equal("no-active-binary");
    });
  });

  describe("command adapter", function () {
    const pidFiles: string[] = [];
    afterEach(async function () {
      for (const file of pidFiles.splice(0)) {
        const pid = Number(await readFile(file, "utf8").catch(() => "NaN"));
        if (pid > 1 && groupAlive(pid)) process.kill(pid, "SIGKILL");
      }
    });

    type Commands = Partial<CommandNodeConfig["commands"]>;
    async function commandNode(commands: (s: { stateDir: string }) => Commands, timeoutMs?: number) {
      const s = await setup();
      const pidFile = join(s.dataDir, "sim.pid");
      pidFiles.push(pidFile);
      const config: CommandNodeConfig = {
        adapter: "command",
        statusUrl: s.statusUrl,
        stateDir: s.stateDir,
        commands: {
          start: `"$LOCKSTEP_BINARY" ${s.args.join(" ")} & echo $! > ${pidFile}; echo "$LOCKSTEP_VERSION" > ${s.dataDir}/started`,
          stop: `[ ! -f ${pidFile} ] || { kill $(cat ${pidFile}); rm ${pidFile}; }`,
          ...commands(s),
        },
      };
      return { ...s, pidFile, node: new CommandNodeController(config, s.p, { timeoutMs }) };
    }

    it("drives the node through shell commands with the LOCKSTEP_ variables set", async function () {
      const { dataDir, store, node, stateDir, p } = await commandNode((s) => ({
        snapshot: `cp -R ${s.stateDir} "$LOCKSTEP_SNAPSHOT"`,
      }));
      await store.activate("v1.0.0");
      await node.start();
      await waitFor(() => node.status(), running("v1.0.0", 1n));
      expect(await readFile(join(dataDir, "started"), "utf8")).to.equal("v1.0.0\n");
      await node.stop();
      await waitFor(
        () => node.status(),
        (s) => s === undefined,
      );

      await node.snapshot("before-v2"); // the snapshot command
      const snapshotHeight = await readFile(join(p.snapshot("before-v2"), "height"), "utf8");
      await store.activate("v2.0.0");
      await node.start();
      await waitFor(() => node.status(), running("v2.0.0", BigInt(snapshotHeight) + 2n));
      expect(await readFile(join(dataDir, "started"), "utf8")).to.equal("v2.0.0\n");
      await node.stop();
      await waitFor(
        () => node.status(),
        (s) => s === undefined,
      );

      await node.restore("before-v2"); // no restore command: the directory copy
      expect(await readFile(join(stateDir, "height"), "utf8")).to.equal(snapshotHeight);
    });

    it("reports a failing command by its last stderr line, and kills one that runs too long", async function () {
      const shellPid = join(await tempDir(), "shell.pid");
      const { node, dataDir } = await commandNode(
        () => ({
          stop: `echo "stopping" >&2; echo "unit lockstep-node not found" >&2; exit 5`,
          start: `echo $$ > ${shellPid}; sleep 30`,
        }),
        300,
      );
      const failed = await rejection(node.stop());
      expect(failed.message).to.equal("node stop command failed: unit lockstep-node not found");
      expect(failed.code).to.equal("node-command-failed");
      expect(await readFile(join(dataDir, "node.log"), "utf8")).to.include("stopping");

      const began = Date.now();
      const timedOut = await rejection(node.start());
      expect(timedOut.code).to.equal("node-command-timeout");
      expect(timedOut.retryable).to.equal(true);
      expect(Date.now() - began).to.be.lessThan(5_000);
      const group = Number(await readFile(shellPid, "utf8")); // the shell led the command's process group
      await waitFor(
        async () => groupAlive(group),
        (alive) => !alive,
      ); // sleep 30 included
    });
  });

  describe("http downloader", function () {
    const artifact = Buffer.alloc(300_000, "lockstep");
    let server: Server;
    let base: string;
    let requests: string[];
    let dir: string;

    before(async function () {
      server = createServer((req, res) => {
        requests.push(req.url!);
        if (req.url === "/artifact") return res.end(artifact);
        if (req.url === "/stream") {
          // No Content-Length: the limit must hold while streaming. 2 MB in 64 kB chunks.
          res.writeHead(200);
          let sent = 0;
          const timer = setInterval(() => (++sent < 32 ? res.write(Buffer.alloc(64 * 1024)) : res.end()), 5);
          res.on("close", () => clearInterval(timer));
          return;
        }
        res.writeHead(req.url === "/broken" ? 500 : 404).end();
      });
      server.listen(0, "127.0.0.1");
      await new Promise((r) => server.once("listening", r));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(async function () {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });
    beforeEach(async function () {
      requests = [];
      dir = await tempDir();
    });

    const local = new HttpDownloader({ allowInsecureHttp: true });
    const leftovers = () => readdir(dir);

    it("streams an artifact to its destination and returns its sha256 and size", async function () {
      const destination = join(dir, "downloads", "upgrade-1.part");
      const result = await local.fetch(`${base}/artifact`, destination, 1_000_000);
      expect(result).to.deep.equal({ sha256: sha256(artifact), bytes: artifact.length });
      expect((await readFile(destination)).equals(artifact)).to.equal(true);
      expect(await readdir(join(dir, "downloads"))).to.deep.equal(["upgrade-1.part"]);
    });

    it("refuses an artifact over the size limit, declared or streamed, leaving no file", async function () {
      for (const path of ["/artifact", "/stream"]) {
        const error = await rejection(local.fetch(`${base}${path}`, join(dir, "a"), 100_000));
        expect([path, error.code, error.retryable]).to.deep.equal([path, "artifact-too-large", false]);
      }
      expect(await leftovers()).to.deep.equal([]);
    });

    it("refuses http unless allowed, and every other scheme always", async function () {
      const strict = new HttpDownloader();
      const error = await rejection(strict.fetch(`${base}/artifact`, join(dir, "a"), 1_000_000));
      expect([error.code, error.retryable]).to.deep.equal(["artifact-uri", false]);
      for (const uri of ["file:///etc/passwd", "ftp://127.0.0.1/a", "data:,hello", "not a url"]) {
        expect((await rejection(local.fetch(uri, join(dir, "a"), 1_000_000))).code).to.equal("artifact-uri");
      }
      expect(requests).to.deep.equal([]);
      expect(await leftovers()).to.deep.equal([]);
    });

    it("gives up on a 404 and asks for a retry on a 500 or a refused connection", async function () {
      expect((await rejection(local.fetch(`${base}/missing`, join(dir, "a"), 1_000))).retryable).to.equal(false);
      expect((await rejection(local.fetch(`${base}/broken`, join(dir, "a"), 1_000))).retryable).to.equal(true);
      const closed = `http://127.0.0.1:${await freePort()}/artifact`;
      expect((await rejection(local.fetch(closed, join(dir, "a"), 1_000))).retryable).to.equal(true);
      expect(await leftovers()).to.deep.equal([]);
    });
  });
});
