// preUpgrade (Cosmovisor's exit codes: 0 and 1 go on, 30 aborts, 31 retries up to maxRetries) and restartWindow
// (retried until its deadline), run as real shell commands before the node is stopped.
import { expect } from "chai";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runUpgradeHooks, type HooksConfig } from "../../watcher/src/adapters/hooks";
import { systemClock } from "../../watcher/src/build";
import { FakeClock } from "../fakes/ports";

const temps: string[] = [];
after(async () => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));
const upgrade = { name: "v2", version: "v2.0.0", height: 1234n };

/** A command that exits with the given codes in turn (the last one repeating), counting its runs in a file. */
async function sequence(codes: number[]) {
  const dir = await mkdtemp(join(tmpdir(), "lockstep-hooks-"));
  temps.push(dir);
  const counter = join(dir, "runs");
  const command =
    `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; ` +
    `set -- ${codes.join(" ")}; i=1; code=0; for c in "$@"; do code=$c; [ $i -eq $n ] && break; i=$((i+1)); done; ` +
    `echo "attempt $n: exit $code" >&2; exit $code`;
  return { command, runs: async () => Number((await readFile(counter, "utf8").catch(() => "0")).trim()) };
}

const pre = (command: string, maxRetries = 0): HooksConfig => ({
  preUpgrade: { command, timeoutMs: 10_000, maxRetries },
});

describe("upgrade hooks", function () {
  describe("preUpgrade", function () {
    it("goes on after exit 0, and after exit 1 (no pre-upgrade step), as Cosmovisor does", async function () {
      for (const code of [0, 1]) {
        const s = await sequence([code]);
        expect(await runUpgradeHooks(pre(s.command), upgrade, systemClock)).to.equal(undefined);
        expect(await s.runs()).to.equal(1);
      }
    });

    it("aborts on exit 30 without retrying, naming the hook's last line", async function () {
      const s = await sequence([30]);
      expect(await runUpgradeHooks(pre(s.command, 5), upgrade, systemClock)).to.equal(
        "preUpgrade hook failed with exit 30 (abort): attempt 1: exit 30",
      );
      expect(await s.runs()).to.equal(1);
    });

    it("retries exit 31 up to maxRetries, then goes on when it succeeds, or aborts", async function () {
      const ok = await sequence([31, 31, 0]);
      expect(await runUpgradeHooks(pre(ok.command, 2), upgrade, systemClock)).to.equal(undefined);
      expect(await ok.runs()).to.equal(3);
      const never = await sequence([31]);
      expect(await runUpgradeHooks(pre(never.command, 2), upgrade, systemClock)).to.match(
        /exit 31 after 2 retries \(hooks\.preUpgrade\.maxRetries\): attempt 3: exit 31/,
      );
      expect(await never.runs()).to.equal(3);
    });

    it("aborts on any other code and on a timeout", async function () {
      expect(await runUpgradeHooks(pre("exit 2"), upgrade, systemClock)).to.equal("preUpgrade hook failed with exit 2");
      const slow: HooksConfig = { preUpgrade: { command: "sleep 5", timeoutMs: 200, maxRetries: 0 } };
      expect(await runUpgradeHooks(slow, upgrade, systemClock)).to.equal(
        "preUpgrade hook did not finish in 200 ms (hooks.preUpgrade.timeoutMs)",
      );
    });

    it("runs with the minimal environment plus the upgrade's name, version and height", async function () {
      const dir = await mkdtemp(join(tmpdir(), "lockstep-hooks-env-"));
      temps.push(dir);
      process.env.LOCKSTEP_SECRET_FOR_TEST = "never passed on";
      try {
        await runUpgradeHooks(pre(`env > ${join(dir, "env")}`), upgrade, systemClock);
      } finally {
        delete process.env.LOCKSTEP_SECRET_FOR_TEST;
      }
      const env = await readFile(join(dir, "env"), "utf8");
      expect(env).to.include("LOCKSTEP_UPGRADE_NAME=v2\n");
      expect(env).to.include("LOCKSTEP_UPGRADE_VERSION=v2.0.0\n");
      expect(env).to.include("LOCKSTEP_UPGRADE_HEIGHT=1234\n");
      expect(env).to.not.include("LOCKSTEP_SECRET_FOR_TEST");
    });
  });

  describe("restartWindow", function () {
    const window = (command: string): HooksConfig => ({
      restartWindow: { command, timeoutMs: 10_000, retryIntervalMs: 1_000, deadlineMs: 5_000 },
    });

    it("retries until the command succeeds", async function () {
      const s = await sequence([1, 1, 0]);
      const clock = new FakeClock();
      expect(await runUpgradeHooks(window(s.command), upgrade, clock)).to.equal(undefined);
      expect(clock.sleeps).to.deep.equal([1_000, 1_000]);
      expect(await s.runs()).to.equal(3);
    });

    it("gives up at its deadline, naming the last failure", async function () {
      const s = await sequence([1]);
      const clock = new FakeClock();
      expect(await runUpgradeHooks(window(s.command), upgrade, clock)).to.equal(
        "restartWindow hook did not succeed within 5000 ms (hooks.restartWindow.deadlineMs); last: exit 1: attempt 6: exit 1",
      );
      expect(await s.runs()).to.equal(6);
    });

    it("does not run when preUpgrade aborted", async function () {
      const s = await sequence([0]);
      const hooks = { ...pre("exit 30"), ...window(s.command) };
      expect(await runUpgradeHooks(hooks, upgrade, new FakeClock())).to.match(/exit 30/);
      expect(await s.runs()).to.equal(0);
    });
  });
});
