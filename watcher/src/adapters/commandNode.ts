// Controls the node through the operator's shell commands (systemd, docker, anything). Each command runs
// under /bin/sh -c in its own process group, with $LOCKSTEP_BINARY, $LOCKSTEP_VERSION and, for snapshot and
// restore, $LOCKSTEP_SNAPSHOT set. Its stdout and stderr are appended to <dataDir>/node.log.
// In Cosmovisor's layout the service runs $DAEMON_HOME/cosmovisor/current/bin/$DAEMON_NAME (that is
// $LOCKSTEP_BINARY, through the `current` link the watcher switches), the version is read through that layout, and
// DAEMON_HOME and DAEMON_NAME are set as Cosmovisor sets them, so a unit written for Cosmovisor keeps its paths.
import { spawn } from "node:child_process";
import { once } from "node:events";
import { appendFile, mkdir, mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { CosmovisorConfig, NodeConfig, Paths } from "../config";
import { fsCall, retryable } from "../errors";
import type { NodeController, NodeStatus } from "../ports";
import { BinaryStore } from "./binaries";
import { nodeEnv } from "./nodeEnv";
import type { Probe } from "./probes";
import { cosmovisorLayout } from "./layouts";
import { copyDirOnce, exists, replaceDir } from "./stateCopy";
import { nodeProbe } from "./statusProbe";

export type CommandNodeConfig = Extract<NodeConfig, { adapter: "command" }>;

export interface CommandNodeOptions {
  /** How long a command may run before its process group is killed. */
  timeoutMs?: number;
  /** Set with `layout: "cosmovisor"`: versions live in Cosmovisor's tree under this home. */
  cosmovisor?: CosmovisorConfig;
}

export class CommandNodeController implements NodeController {
  private readonly binaries: BinaryStore;
  private readonly probe: Probe;

  constructor(
    private readonly node: CommandNodeConfig,
    private readonly paths: Paths,
    private readonly options: CommandNodeOptions = {},
  ) {
    const { cosmovisor } = options;
    this.binaries = new BinaryStore(paths, cosmovisor ? cosmovisorLayout(cosmovisor) : undefined);
    this.probe = nodeProbe(node);
  }

  stop(): Promise<void> {
    return this.run("stop", this.node.commands.stop);
  }

  start(): Promise<void> {
    return this.run("start", this.node.commands.start);
  }

  status(): Promise<NodeStatus | undefined> {
    return this.probe();
  }

  /** Runs the snapshot command, or copies the state directory; a no-op when the snapshot directory exists. */
  async snapshot(tag: string): Promise<void> {
    const dir = this.paths.snapshot(tag);
    if (!this.node.commands.snapshot) return copyDirOnce(this.node.stateDir, dir);
    if (await exists(dir)) return;
    await fsCall("create directory", dirname(dir), () => mkdir(dirname(dir), { recursive: true }));
    await this.run("snapshot", this.node.commands.snapshot, dir);
  }

  async restore(tag: string): Promise<void> {
    const dir = this.paths.snapshot(tag);
    if (!this.node.commands.restore) return replaceDir(this.node.stateDir, dir);
    await this.run("restore", this.node.commands.restore, dir);
  }

  private async run(name: string, command: string, snapshot?: string): Promise<void> {
    const version = await this.binaries.active();
    const env: Record<string, string> = { ...nodeEnv(), LOCKSTEP_BINARY: this.paths.currentBinary };
    if (version) env.LOCKSTEP_VERSION = version;
    if (this.options.cosmovisor) {
      env.DAEMON_HOME = this.options.cosmovisor.home;
      env.DAEMON_NAME = this.options.cosmovisor.daemonName;
    }
    if (snapshot) env.LOCKSTEP_SNAPSHOT = snapshot;
    const timeoutMs = this.options.timeoutMs ?? 120_000;
    const result = await runShell(command, env, this.paths.nodeLog, timeoutMs);
    const details = { command: name, exitCode: result.code, signal: result.signal, stderr: result.lastLine };
    if (result.timedOut)
      throw retryable("node-command-timeout", `node ${name} command did not finish in ${timeoutMs} ms`, details);
    if (result.code !== 0) {
      const why = result.lastLine || (result.signal ? `killed by ${result.signal}` : `exit ${result.code}`);
      throw retryable("node-command-failed", `node ${name} command failed: ${why}`, details);
    }
  }
}

/**
 * Runs `command` in its own process group, killing the group after `timeoutMs`. Stderr goes to a scratch file
 * rather than a pipe, so a node the command leaves running in the background never writes into a closed pipe.
 */
async function runShell(command: string, env: Record<string, string>, logFile: string, timeoutMs: number) {
  const scratch = await fsCall("create directory in", tmpdir(), () => mkdtemp(join(tmpdir(), "lockstep-command-")));
  const stderrFile = join(scratch, "stderr");
  const [out, err] = await Promise.all([
    fsCall("open", logFile, () => open(logFile, "a")),
    fsCall("open", stderrFile, () => open(stderrFile, "w")),
  ]);
  try {
    const child = spawn("/bin/sh", ["-c", command], { env, detached: true, stdio: ["ignore", out.fd, err.fd] });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // gone already
      }
    }, timeoutMs);
    const [code, signal] = (await once(child, "exit").finally(() => clearTimeout(timer))) as [
      number | null,
      string | null,
    ];
    const stderr = await fsCall("read", stderrFile, () => readFile(stderrFile, "utf8"));
    await fsCall("append to", logFile, () => appendFile(logFile, stderr));
    const lastLine = stderr.trim().split("\n").pop() ?? "";
    return { code, signal, timedOut, lastLine };
  } finally {
    await Promise.all([out.close(), err.close()]);
    await fsCall("remove", scratch, () => rm(scratch, { recursive: true, force: true }));
  }
}
