// One watcher per data directory: the lock on `<dataDir>/watcher.lock`, in process and with real watcher
// processes (a second one refused, a SIGKILLed one's lock taken over on restart).
import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { WatcherError } from "../../watcher/src/errors";
import { lockDataDir, lockFile } from "../../watcher/src/lock";
import { freePort, spawnWatcher, tempDir, waitFor, type WatcherProcess } from "../helpers/e2e";

const holder = (dataDir: string) => JSON.parse(readFileSync(lockFile(dataDir), "utf8")) as { pid: number };

/** A pid that no process has any more. */
function deadPid(): number {
  const pid = spawnSync("true").pid;
  expect(pid).to.be.a("number");
  return pid!;
}

describe("data directory lock", function () {
  let dir: ReturnType<typeof tempDir>;
  beforeEach(function () {
    dir = tempDir("lockstep-lock-");
  });
  afterEach(function () {
    dir.cleanup();
  });

  describe("in process", function () {
    it("is held until released, and refused meanwhile naming the directory and the holder", function () {
      const dataDir = join(dir.path, "data");
      const lock = lockDataDir(dataDir);
      expect(holder(dataDir).pid).to.equal(process.pid);
      // Our own pid in the file reads as a restart that reused it, so fake another live holder: our parent.
      const text = readFileSync(lock.path, "utf8");
      writeFileSync(lock.path, JSON.stringify({ pid: process.ppid, started: null }));
      const error = (() => {
        try {
          lockDataDir(dataDir);
        } catch (e) {
          return e as WatcherError;
        }
      })();
      expect(error).to.be.instanceOf(WatcherError);
      expect([error!.code, error!.retryable]).to.deep.equal(["data-dir-locked", false]);
      expect(error!.message).to.equal(
        `data directory ${dataDir} is in use by another watcher (pid ${process.ppid}, lock ${lock.path})`,
      );
      writeFileSync(lock.path, text);
      lock.release();
      expect(existsSync(lock.path)).to.equal(false);
      lockDataDir(dataDir).release();
    });

    it("takes over a stale lock: a dead pid, a reused pid, or a file cut short", function () {
      const dataDir = join(dir.path, "data");
      mkdirSync(dataDir);
      for (const stale of [
        JSON.stringify({ pid: deadPid(), started: null }),
        JSON.stringify({ pid: process.ppid, started: "1" }), // alive, but started at another time
        JSON.stringify({ pid: process.pid, started: "1" }),
        '{"pid":',
      ]) {
        writeFileSync(lockFile(dataDir), stale);
        const lock = lockDataDir(dataDir);
        expect(holder(dataDir).pid, stale).to.equal(process.pid);
        lock.release();
      }
      expect(existsSync(join(dataDir, "watcher.lock"))).to.equal(false);
    });
  });

  describe("with watcher processes", function () {
    this.timeout(120_000);
    const key = "0x" + "5".repeat(64);
    let configPath: string;
    let dataDir: string;
    const running: WatcherProcess[] = [];

    beforeEach(async function () {
      dataDir = join(dir.path, "data");
      configPath = join(dir.path, "watcher.json");
      // No chain: the watcher retries the unreachable RPC node for ever, holding its lock. A short poll interval
      // keeps its backoff sleeps (which SIGTERM does not cut short) within stopProcess's grace period.
      const unreachable = `http://127.0.0.1:${await freePort()}`;
      writeFileSync(
        configPath,
        JSON.stringify({
          chain: {
            rpcUrl: unreachable,
            chainId: 31337,
            coordinator: "0x" + "11".repeat(20),
            startBlock: 1,
            pollIntervalMs: 100,
          },
          validator: { operator: "0x" + "22".repeat(20), attesterKey: { env: "LOCKSTEP_LOCK_TEST_KEY" } },
          dataDir,
          node: { adapter: "process", statusUrl: `${unreachable}/status`, stateDir: join(dir.path, "state") },
          metrics: { port: 0 },
        }),
      );
    });
    afterEach(async function () {
      for (const w of running.splice(0)) await w.stop("SIGKILL");
    });

    const start = () => {
      const w = spawnWatcher(configPath, { LOCKSTEP_LOCK_TEST_KEY: key });
      running.push(w);
      return w;
    };
    const exited = (w: WatcherProcess) =>
      new Promise<number | null>((r) =>
        w.child.exitCode !== null ? r(w.child.exitCode) : w.child.once("exit", (code) => r(code)),
      );
    /** Waits until `w` holds the lock (and has got as far as retrying the chain); returns how long that took. */
    async function holding(w: WatcherProcess): Promise<number> {
      const started = Date.now();
      await waitFor(
        `watcher ${w.child.pid} to hold the lock and start`,
        async () =>
          existsSync(lockFile(dataDir)) &&
          holder(dataDir).pid === w.child.pid &&
          /cannot reach the chain/.test(w.output()),
        60_000,
      );
      return Date.now() - started;
    }

    it("refuses a second watcher on the same data directory with a one-line message naming the holder", async function () {
      const first = start();
      const startup = await holding(first);
      const journal = readFileSync(join(dataDir, "journal.sqlite"));

      const second = start();
      const code = await Promise.race([
        exited(second),
        new Promise<"running">((r) => setTimeout(() => r("running"), Math.max(10_000, 5 * startup))),
      ]);
      expect(code, second.output()).to.equal(1);
      expect(second.output()).to.equal(
        `lockstep-watcher: data directory ${dataDir} is in use by another watcher (pid ${first.child.pid}, lock ${lockFile(dataDir)})\n`,
      );
      expect(first.child.exitCode).to.equal(null); // the first one runs on, still holding the lock
      expect(holder(dataDir).pid).to.equal(first.child.pid);
      expect(readFileSync(join(dataDir, "journal.sqlite")).equals(journal)).to.equal(true);

      await first.stop("SIGTERM");
      expect(existsSync(lockFile(dataDir))).to.equal(false); // released on a clean stop
    });

    it("lets a watcher restart after one was SIGKILLed, its lock left behind", async function () {
      const killed = start();
      await holding(killed);
      await killed.stop("SIGKILL");
      expect(holder(dataDir).pid).to.equal(killed.child.pid); // stale, still on disk

      const restarted = start();
      await holding(restarted);
      expect(restarted.child.exitCode).to.equal(null);
    });
  });
});
