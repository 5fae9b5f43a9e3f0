// preUpgrade (Cosmovisor's exit codes: 0 and 1 go on, 30 aborts, 31 retries up to maxRetries) and restartWindow
// (retried until its deadline), run as real shell commands before the node is stopped.
import { expect } from "chai";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runUpgradeHooks, type HooksConfig } from "../../watcher/src/adapters/hooks";
import { systemClock } from "../../watcher/src/build";
import type { WatcherConfig } from "../../watcher/src/config";
import { execute, type ExecutorDeps } from "../../watcher/src/executors";
import type { Job } from "../../watcher/src/machine/types";
import type { Binaries, NodeController, NodeStatus } from "../../watcher/src/ports";
import { FakeClock } from "../fakes/ports";
import { executorDeps } from "../helpers/watcherHarness";

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
  return {
    command,
    runs: async () => Number((await readFile(counter, "utf8").catch(() => "0")).trim()),
    runsNow: () => (existsSync(counter) ? Number(readFileSync(counter, "utf8").trim()) : 0),
  };
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
      expect(env).to.include("LOCKSTEP_ACTION=upgrade\n");
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

/** A node on `version` whose height grows at each reading; it records its stops and starts. */
class GrowingNode implements NodeController {
  calls: string[] = [];
  height = 100n;
  answers = true;
  /** Called at each stop (a test notes what had run by then). */
  onStop = () => undefined as void;
  constructor(public version: string) {}
  async stop() {
    this.onStop();
    this.calls.push("stop");
  }
  async start() {
    this.calls.push("start");
    this.answers = true;
  }
  async status(): Promise<NodeStatus | undefined> {
    return this.answers ? { version: this.version, height: (this.height += 1n), syncing: false } : undefined;
  }
  async snapshot(tag: string) {
    this.calls.push(`snapshot ${tag}`);
  }
  async restore(tag: string) {
    this.calls.push(`restore ${tag}`);
  }
}

/** Two versions on disk; activating one makes the node report it. */
function binariesFor(node: GrowingNode): Binaries {
  return {
    isStaged: async () => true,
    stage: async () => undefined,
    activate: async (version) => {
      node.version = version;
    },
    active: async () => node.version,
    discard: async () => undefined,
    verify: async () => undefined,
  };
}

const job: Job = {
  upgradeId: 1,
  stage: 0,
  manifest: {
    name: "v2",
    version: "v2.0.0",
    previousVersion: "v1.0.0",
    artifact: { platform: "linux-amd64", uri: "https://example.test/node", sha256: "0x" + "ab".repeat(32) },
    manifestHash: "0x" + "00".repeat(32),
    stateIncompatible: true,
  },
  stageActive: true,
  paused: false,
  ended: null,
  local: "upgraded",
  attested: null,
  health: null,
  steps: 0,
};

function fallBackDeps(node: GrowingNode, hooks: HooksConfig): ExecutorDeps {
  const config = {
    hooks,
    health: { deadlineMs: 10_000, probeIntervalMs: 100, minHeightGain: 1, observeIntervalMs: 100 },
  } as unknown as WatcherConfig;
  return executorDeps({ config, paths: undefined as never, node, binaries: binariesFor(node) });
}

describe("hooks before a rollback, fall-back or revert", function () {
  const effects = [
    { kind: "rollbackLocally", upgradeId: 1, step: 1 },
    { kind: "restore", upgradeId: 1, restoreState: true, step: 1 },
    { kind: "revert", upgradeId: 1, restoreState: false, step: 1 },
  ] as const;

  for (const effect of effects) {
    it(`${effect.kind}: the restart window opens before the stop; preUpgrade does not run`, async function () {
      const dir = await mkdtemp(join(tmpdir(), "lockstep-hooks-back-"));
      temps.push(dir);
      const window = await sequence([1, 1, 0]);
      const marker = join(dir, "pre-upgrade-ran");
      const node = new GrowingNode("v2.0.0");
      let runsAtStop = -1;
      node.onStop = () => {
        runsAtStop = window.runsNow();
      };
      const hooks: HooksConfig = {
        preUpgrade: { command: `touch ${marker}`, timeoutMs: 10_000, maxRetries: 0 },
        restartWindow: {
          command: `env > ${join(dir, "env")}; ${window.command}`,
          timeoutMs: 10_000,
          retryIntervalMs: 1_000,
          deadlineMs: 60_000,
        },
      };
      await execute(effect, job, fallBackDeps(node, hooks));
      expect(await window.runs()).to.equal(3);
      expect(runsAtStop).to.equal(3);
      expect(node.calls[0]).to.equal("stop");
      expect(node.version).to.equal("v1.0.0");
      expect(node.calls).to.include("start");
      const env = await readFile(join(dir, "env"), "utf8");
      expect(env).to.include("LOCKSTEP_ACTION=rollback\n");
      expect(env).to.include("LOCKSTEP_UPGRADE_NAME=v2\n");
      expect(env).to.include("LOCKSTEP_UPGRADE_VERSION=v1.0.0\n");
      expect(env).to.match(/LOCKSTEP_UPGRADE_HEIGHT=10\d\n/);
      expect(
        await readFile(marker).then(
          () => true,
          () => false,
        ),
      ).to.equal(false);
    });
  }

  it("a node that does not answer is not made to wait for a window", async function () {
    const window = await sequence([1]);
    const node = new GrowingNode("v2.0.0");
    node.answers = false;
    const hooks: HooksConfig = {
      restartWindow: { command: window.command, timeoutMs: 10_000, retryIntervalMs: 1_000, deadlineMs: 60_000 },
    };
    await execute({ kind: "rollbackLocally", upgradeId: 1, step: 1 }, job, fallBackDeps(node, hooks));
    expect(await window.runs()).to.equal(0);
    expect(node.calls).to.deep.equal(["stop", "restore before-upgrade-1", "start"]);
    expect(node.version).to.equal("v1.0.0");
  });

  it("past the window's deadline the node still goes back: the order is not the node's to decline", async function () {
    const window = await sequence([1]);
    const node = new GrowingNode("v2.0.0");
    const hooks: HooksConfig = {
      restartWindow: { command: window.command, timeoutMs: 10_000, retryIntervalMs: 1_000, deadlineMs: 3_000 },
    };
    const deps = fallBackDeps(node, hooks);
    expect(await execute({ kind: "restore", upgradeId: 1, restoreState: false, step: 1 }, job, deps)).to.deep.equal({
      type: "Restored",
      upgradeId: 1,
    });
    expect(await window.runs()).to.equal(4);
    expect(node.calls).to.deep.equal(["stop", "start"]);
    expect(node.version).to.equal("v1.0.0");
  });

  it("no stop, no window: a node already back on the previous version", async function () {
    const window = await sequence([0]);
    const node = new GrowingNode("v1.0.0");
    const hooks: HooksConfig = {
      restartWindow: { command: window.command, timeoutMs: 10_000, retryIntervalMs: 1_000, deadlineMs: 60_000 },
    };
    await execute({ kind: "revert", upgradeId: 1, restoreState: false, step: 1 }, job, fallBackDeps(node, hooks));
    expect(await window.runs()).to.equal(0);
    expect(node.calls).to.deep.equal(["start"]);
  });
});
