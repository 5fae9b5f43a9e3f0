// Supervises the node binary directly. The node runs detached in its own process group, so it outlives the
// watcher (a SIGKILL of the watcher leaves it running). The node records itself: it starts as a short shell
// prologue that claims paths.pidFile (its pid and start time, created whole and exclusively) and only then execs
// the binary, so no node runs without its record however the watcher dies, and a second one cannot claim it.
// A record names the node only while a process with that pid and that start time runs (a reused pid is not
// mistaken for it). The status endpoint has the last word: a node that answers is running, recorded or not.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { open, readFile, realpath, rm } from "node:fs/promises";
import type { NodeConfig, Paths } from "../config";
import { fatal, fsCall, retryable } from "../errors";
import type { KillPoints } from "../faults";
import { startTime } from "../lock";
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
  /** How long a started node gets to record itself in the pid file. */
  recordTimeoutMs?: number;
  /** Crash-drill points (`node:spawned`: after the spawn, before the record is read back). */
  kill?: KillPoints;
}

/** The node's record in the pid file: `<pid> <start time>` ("-" for the start time where /proc is absent). */
export interface NodeRecord {
  pid: number;
  started: string | null;
}

/** The exit code of the prologue when the pid file is claimed already (another node runs). */
const CLAIMED = 75;

/**
 * Run as `/bin/sh -c PROLOGUE <binary> <args...>`: writes the record under a private name, links it to the pid
 * file (which fails when the file exists), then becomes the node. The start time is field 22 of /proc/$$/stat
 * (the shell's name, "sh", holds no space); exec keeps both the pid and the start time.
 */
const PROLOGUE = [
  'f=$LOCKSTEP_PID_FILE; unset LOCKSTEP_PID_FILE; s=-; t="$f.$$"',
  '[ -r /proc/$$/stat ] && s=$(cut -d" " -f22 /proc/$$/stat)',
  'printf "%s %s\\n" "$$" "$s" > "$t" && ln "$t" "$f" 2>/dev/null; r=$?; rm -f "$t"',
  `[ "$r" -eq 0 ] || exit ${CLAIMED}`,
  'exec "$0" "$@"',
].join("\n");

export class ProcessNodeController implements NodeController {
  private readonly probe: Probe;
  /** The node this controller started, and why it exited if it did (until the next stop or start). */
  private launched?: { pid: number; exited?: string };

  constructor(
    private readonly node: ProcessNodeConfig,
    private readonly paths: Paths,
    private readonly options: ProcessNodeOptions = {},
  ) {
    this.probe = nodeProbe(node);
  }

  /** Starts the active version, unless a node runs already: the recorded one (adopted), or one that answers. */
  async start(): Promise<void> {
    if (await this.runningPid()) return;
    if (await this.probe().catch(() => undefined)) return; // it answers: running, if untracked (stop() says so)
    let binary: string;
    try {
      binary = await realpath(this.paths.currentBinary); // the version active now, not whatever `current` becomes
    } catch (e) {
      throw fatal("no-active-binary", `there is no active node binary at ${this.paths.currentBinary}`, {}, e);
    }
    await fsCall("remove", this.paths.pidFile, () => rm(this.paths.pidFile, { force: true })); // its node is gone
    const log = await fsCall("open", this.paths.nodeLog, () => open(this.paths.nodeLog, "a"));
    let child: ChildProcess;
    try {
      child = spawn("/bin/sh", ["-c", PROLOGUE, binary, ...this.node.args], {
        detached: true,
        stdio: ["ignore", log.fd, log.fd],
        env: { ...nodeEnv(), ...this.node.env, LOCKSTEP_PID_FILE: this.paths.pidFile },
      });
      await once(child, "spawn").catch((e: Error) => {
        throw fatal("node-spawn-failed", `cannot run ${binary}: ${e.message}`, { binary }, e);
      });
    } finally {
      await log.close();
    }
    this.options.kill?.hit("node:spawned");
    const launched: { pid: number; exited?: string } = { pid: child.pid! };
    this.launched = launched;
    child.once("exit", (code, signal) => {
      launched.exited = signal ? `killed by ${signal}` : `exit code ${code}`;
    });
    child.unref();
    await this.awaitRecord(launched, binary);
  }

  /** Waits until the started node's record names it; fails fast when it exits first. */
  private async awaitRecord(launched: { pid: number; exited?: string }, binary: string): Promise<void> {
    const deadline = Date.now() + (this.options.recordTimeoutMs ?? 10_000);
    for (;;) {
      const record = await this.record();
      if (record?.pid === launched.pid) return;
      if (launched.exited === `exit code ${CLAIMED}`) {
        if (await this.runningPid()) return; // another start won the race: that node is the one
        throw fatal("node-claimed", `another node holds ${this.paths.pidFile}`, { pidFile: this.paths.pidFile });
      }
      if (launched.exited) throw await this.exitError(binary, launched.exited);
      if (Date.now() > deadline) {
        signalGroup(launched.pid, "SIGKILL");
        throw retryable("node-unrecorded", `node ${binary} did not record itself in ${this.paths.pidFile}`, {
          binary,
        });
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async stop(): Promise<void> {
    this.launched = undefined; // an exit from here on is asked for
    const pid = await this.runningPid();
    if (pid !== undefined) {
      signalGroup(pid, "SIGTERM");
      if (!(await exited(pid, this.options.stopTimeoutMs ?? 30_000))) {
        signalGroup(pid, "SIGKILL");
        if (!(await exited(pid, 5_000)))
          throw retryable("node-stop-failed", `node process ${pid} does not exit`, { pid });
      }
    }
    await fsCall("remove", this.paths.pidFile, () => rm(this.paths.pidFile, { force: true }));
    if (await this.probe().catch(() => undefined)) {
      throw fatal(
        "node-untracked",
        `the node still answers at ${this.node.statusUrl ?? "its status endpoint"} after it was stopped: a process ` +
          `the watcher did not start serves it; stop it by hand (two instances of one key can double-sign)`,
        { pidFile: this.paths.pidFile },
      );
    }
  }

  /** The node's status; a node this controller started that exited since is reported as an error naming why. */
  async status(): Promise<NodeStatus | undefined> {
    const exited = this.launched?.exited;
    if (exited) {
      throw fatal("node-exited", `the node exited: ${exited}${await this.lastLogLine()}`, { reason: exited });
    }
    return this.probe();
  }

  snapshot(tag: string): Promise<void> {
    return copyDirOnce(this.node.stateDir, this.paths.snapshot(tag));
  }

  restore(tag: string): Promise<void> {
    return replaceDir(this.node.stateDir, this.paths.snapshot(tag));
  }

  /** The recorded node's pid while that very process (same pid, same start time) or its group runs. */
  private async runningPid(): Promise<number | undefined> {
    const record = await this.record();
    if (!record || !groupAlive(record.pid)) return undefined;
    const now = startTime(record.pid);
    // A live pid with another start time is another process that reuses the pid: not ours, never signalled.
    if (record.started !== null && now !== null && now !== record.started) return undefined;
    return record.pid;
  }

  private async record(): Promise<NodeRecord | undefined> {
    const text = await readFile(this.paths.pidFile, "utf8").catch(() => "");
    return parseRecord(text);
  }

  private async exitError(binary: string, how: string) {
    return fatal("node-exited", `node ${binary} exited at once: ${how}${await this.lastLogLine()}`, {
      binary,
      reason: how,
    });
  }

  private async lastLogLine(): Promise<string> {
    const text = await readFile(this.paths.nodeLog, "utf8").catch(() => "");
    const line = text.trim().split("\n").pop()?.slice(0, 300);
    return line ? ` (node.log: ${line})` : "";
  }
}

/** Parses a pid file: `<pid> <start time>`, or a bare pid (written before start times were recorded). */
export function parseRecord(text: string): NodeRecord | undefined {
  const [pidText, started] = text.trim().split(/\s+/);
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 1) return undefined;
  return { pid, started: started && started !== "-" ? started : null };
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
