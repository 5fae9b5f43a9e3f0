// Running the drill from a test: as a process (scripts/drill/index.ts, the entry `npm run drill` runs once the
// contracts are compiled), or through the same entry in this process for what ends before anything starts.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, runNode } from "../../rehearsal/localnet";
import { main } from "../../scripts/drill/index";

/** Runs the drill as a process with `args`, to its end. */
export function runDrill(args: string[], env: Record<string, string> = {}) {
  return runNode(["-r", "ts-node/register/transpile-only", join(ROOT, "scripts", "drill", "index.ts"), ...args], env);
}

/**
 * The drill's entry called in this process as its command line calls it, with what it prints captured: for usage and
 * refusals, which end before anything starts, without paying a process and a TypeScript compile each time.
 */
export async function drillInProcess(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(args, { out: { write: (t) => void (stdout += t), isTTY: false }, err: (t) => (stderr += t) });
  return { code, stdout, stderr };
}

/** Pids of live processes (other than this one) whose command line mentions `needle`. */
export function processesMentioning(needle: string): number[] {
  return readdirSync("/proc").flatMap((entry) => {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) return [];
    try {
      return readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(needle) ? [Number(entry)] : [];
    } catch {
      return []; // gone meanwhile
    }
  });
}
