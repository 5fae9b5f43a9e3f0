// Operator hooks run before the node is stopped for an upgrade:
//   preUpgrade     Cosmovisor's exit-code convention (tools/cosmovisor, doPreUpgrade): 0 go on; 1 go on (the
//                  command has no pre-upgrade step); 30 failed, abort the upgrade; 31 failed, retry, at most
//                  maxRetries times, then abort. Any other code, or a timeout, aborts (Cosmovisor goes on).
//   restartWindow  must exit 0 before the node may stop (e.g. `agave-validator wait-for-restart-window`); run
//                  again every retryIntervalMs until deadlineMs, each attempt limited to timeoutMs.
// Both get the command adapter's minimal environment plus LOCKSTEP_UPGRADE_NAME, _VERSION and _HEIGHT, and
// LOCKSTEP_ACTION: "upgrade", or "rollback" when the stop goes back to the previous version (then only the restart
// window runs: Cosmovisor runs its pre-upgrade step on upgrades alone; see executors.ts, fallBack).
// An order from the network (`signal`) kills a hook's whole process group at once and ends the wait between tries:
// the node was not touched yet.
import { spawn } from "node:child_process";
import { once } from "node:events";
import type { WatcherConfig } from "../config";
import type { Clock } from "../ports";
import { nodeEnv } from "./nodeEnv";
import { abortable, throwIfAborted } from "../preempt";

export type HooksConfig = NonNullable<WatcherConfig["hooks"]>;

export interface HookUpgrade {
  name: string;
  /** The version the node is stopped for: the new one, or the previous one on a rollback. */
  version: string;
  height: bigint;
  /** Why the node stops (default "upgrade"). */
  action?: "upgrade" | "rollback";
}

/**
 * Runs the configured hooks in order; resolves to undefined to go on, or to the reason the upgrade aborts. Rejects
 * with the signal's reason when `signal` is aborted (a hook still running is killed first).
 */
export async function runUpgradeHooks(
  hooks: HooksConfig | undefined,
  upgrade: HookUpgrade,
  clock: Clock,
  log: (message: string) => void = () => undefined,
  signal?: AbortSignal,
): Promise<string | undefined> {
  const env = {
    ...nodeEnv(),
    LOCKSTEP_UPGRADE_NAME: upgrade.name,
    LOCKSTEP_UPGRADE_VERSION: upgrade.version,
    LOCKSTEP_UPGRADE_HEIGHT: upgrade.height.toString(),
    LOCKSTEP_ACTION: upgrade.action ?? "upgrade",
  };
  const pre = hooks?.preUpgrade;
  if (pre) {
    for (let attempt = 0; ; attempt++) {
      const result = await runCommand(pre.command, env, pre.timeoutMs, signal);
      const last = result.lastLine ? `: ${result.lastLine}` : "";
      if (result.timedOut) return `preUpgrade hook did not finish in ${pre.timeoutMs} ms (hooks.preUpgrade.timeoutMs)`;
      if (result.code === 0) break;
      if (result.code === 1) {
        log("preUpgrade hook exited 1 (no pre-upgrade step): going on, as Cosmovisor does");
        break;
      }
      if (result.code === 30) return `preUpgrade hook failed with exit 30 (abort)${last}`;
      if (result.code === 31) {
        if (attempt < pre.maxRetries) {
          log(`preUpgrade hook exited 31: retrying (${attempt + 1} of ${pre.maxRetries})`);
          continue;
        }
        return `preUpgrade hook failed with exit 31 after ${pre.maxRetries} retries (hooks.preUpgrade.maxRetries)${last}`;
      }
      const how = result.code === null ? `killed by ${result.signal}` : `exit ${result.code}`;
      return `preUpgrade hook failed with ${how}${last}`;
    }
  }
  const window = hooks?.restartWindow;
  if (window) {
    const until = clock.now() + window.deadlineMs;
    for (;;) {
      const result = await runCommand(window.command, env, window.timeoutMs, signal);
      if (result.code === 0 && !result.timedOut) break;
      const why = result.timedOut
        ? `timed out after ${window.timeoutMs} ms`
        : `${result.code === null ? `killed by ${result.signal}` : `exit ${result.code}`}${result.lastLine ? `: ${result.lastLine}` : ""}`;
      if (clock.now() + window.retryIntervalMs > until) {
        return `restartWindow hook did not succeed within ${window.deadlineMs} ms (hooks.restartWindow.deadlineMs); last: ${why}`;
      }
      log(`restartWindow hook: not yet (${why}); again in ${window.retryIntervalMs} ms`);
      await abortable(clock.sleep(window.retryIntervalMs), signal);
    }
  }
  return undefined;
}

/**
 * Runs `command` with /bin/sh in its own process group, killed whole after `timeoutMs`, or when `signal` is aborted
 * (then it rejects with the signal's reason once the group is gone).
 */
async function runCommand(command: string, env: Record<string, string>, timeoutMs: number, signal?: AbortSignal) {
  throwIfAborted(signal);
  const child = spawn("/bin/sh", ["-c", command], { env, detached: true, stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => {
    stderr = (stderr + chunk.toString("utf8")).slice(-4096);
  });
  let timedOut = false;
  const killGroup = () => {
    try {
      process.kill(-child.pid!, "SIGKILL");
    } catch {
      // gone already
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, timeoutMs);
  signal?.addEventListener("abort", killGroup, { once: true });
  const [code, killedBy] = (await once(child, "close").finally(() => {
    clearTimeout(timer);
    signal?.removeEventListener("abort", killGroup);
  })) as [number | null, string | null];
  throwIfAborted(signal);
  return { code, signal: killedBy, timedOut, lastLine: stderr.trim().split("\n").pop() ?? "" };
}
