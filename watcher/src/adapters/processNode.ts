// Supervises the node binary directly. The node runs detached in its own process group, so it outlives the
// watcher (a SIGKILL of the watcher leaves it running); its pid is kept in paths.pidFile so a restarted
// watcher finds it again.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { open, readFile, realpath, rename, rm, writeFile } from "node:fs/promises";
import type { NodeConfig, Paths } from "../config";
import { fatal, fsCall, retryable } from "../errors";
import type { NodeController, NodeStatus } from "../ports";
import type { Probe } from "./probes";
import { nodeEnv } from "./nodeEnv";
import { copyDirOnce, replaceDir } from "./stateCopy";
import { nodeProbe } from "./statusProbe";

export { nodeEnv };

export type ProcessNodeConfig = Extract<NodeConfig, { adapter: "process" }>;

export interface ProcessNodeOptions {
  /** How long the node gets to exit after SIGTERM before it is killed. */
  stopTimeoutMs?: number;
}

export class ProcessNodeController implements NodeController {
  private readonly probe: Probe;

  constructor(
    private readonly node: ProcessNodeConfig,
    private readonly paths: Paths,
    private readonly options: ProcessNodeOptions = {},
  ) {
    this.probe = nodeProbe(node);
  }

  async start(): Promise<void> {
    if (await this.runningPid()) return;
    let binary: string;
    try {
      binary = await realpath(this.paths.currentBinary); // the version active now, not whatever `current` becomes
    } catch (e) {
      throw fatal("no-active-binary", `there is no active node binary at ${this.paths.currentBinary}`, {}, e);
    }
    const log = await fsCall("open", this.paths.nodeLog, () => open(this.paths.nodeLog, "a"));
    try {
      const child = spawn(binary, this.node.args, {
        detached: true,
        stdio: ["ignore", log.fd, log.fd],
        env: { ...nodeEnv(), ...this.node.env },
      });
      await once(child, "spawn").catch((e: Error) => {
        throw fatal("node-spawn-failed", `cannot run ${binary}: ${e.message}`, { binary }, e);
      });
      child.unref();
      const partial = `${this.paths.pidFile}.tmp`;
      await fsCall("write", partial, () => writeFile(partial, `${child.pid}\n`));
      await fsCall("rename to", this.paths.pidFile, () => rename(partial, this.paths.pidFile));
    } finally {
      await log.close();
    }
  }

  async stop(): Promise<void> {
    const pid = await this.recordedPid();
    if (pid === undefined) return;
    if (groupAlive(pid)) {
      signalGroup(pid, "SIGTERM");
      if (!(await exited(pid, this.options.stopTimeoutMs ?? 30_000))) {
        signalGroup(pid, "SIGKILL");
        if (!(await exited(pid, 5_000)))
          throw retryable("node-stop-failed", `node process ${pid} does not exit`, { pid });
      }
    }
    await fsCall("remove", this.paths.pidFile, () => rm(this.paths.pidFile, { force: true }));
  }

  status(): Promise<NodeStatus | undefined> {
    return this.probe();
  }

  snapshot(tag: string): Promise<void> {
    return copyDirOnce(this.node.stateDir, this.paths.snapshot(tag));
  }

  restore(tag: string): Promise<void> {
    return replaceDir(this.node.stateDir, this.paths.snapshot(tag));
  }

  private async runningPid(): Promise<number | undefined> {
    const pid = await this.recordedPid();
    return pid !== undefined && groupAlive(pid) ? pid : undefined;
  }

  private async recordedPid(): Promise<number | undefined> {
    const text = await readFile(this.paths.pidFile, "utf8").catch(() => "");
    const pid = Number(text.trim());
    return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
  }
}

/** Whether the process group led by `pid` (the node and anything it started) still exists. */
function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (e) {
    const errno = (e as NodeJS.ErrnoException).code;
    if (errno !== "ESRCH") {
      throw retryable(
        "node-signal-failed",
        `cannot send ${signal} to node process group ${pid}: ${errno}`,
        {
          pid,
          signal,
          errno,
        },
        e,
      );
    }
  }
}

/** Polls until the group led by `pid` is gone or `timeoutMs` passed; whether it is gone. */
async function exited(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (groupAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}
