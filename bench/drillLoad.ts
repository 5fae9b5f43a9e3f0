// Load trials: `npm run bench:drill-load [-- --rounds 2 --hogs N --only in-process,processes]`. Runs the
// 300-validator in-process drill and the 9-process drill, each `--rounds` times in a row, while `--hogs` busy loops
// (default: one per core) keep the CPU saturated beside them, as on a validator host that also runs its node.
// Records pass/fail, duration and the load average of every run in bench/results/drill-load.json; the drill's full
// output of a failed run goes to the results file's `failures` so the cause can be read afterwards.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { applyFlags, wholeNumber } from "../lib/cliOptions";
import { ROOT, stopProcess, tempDir } from "../rehearsal/localnet";

const RESULTS = join(ROOT, "bench", "results", "drill-load.json");

interface Trial {
  name: string;
  args: string[];
}

const TRIALS: Trial[] = [
  { name: "in-process", args: ["--validators", "300", "--in-process", "--seed", "load"] },
  { name: "processes", args: ["--validators", "9", "--seed", "load"] },
];

interface Run {
  trial: string;
  round: number;
  passed: boolean;
  exitCode: number | null;
  seconds: number;
  /** What the drill itself says it took (its last line), when it got that far. */
  drillSeconds?: number;
  loadAverage1mBefore: number;
  loadAverage1mAfter: number;
  /** The drill's summary line, or its last lines when it failed. */
  summary: string;
}

interface Options {
  rounds: number;
  hogs: number;
  only: string[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { rounds: 2, hogs: cpus().length, only: TRIALS.map((t) => t.name) };
  const problems = applyFlags(
    argv,
    o,
    {
      "--rounds": (o, v) => (o.rounds = wholeNumber(v)),
      "--hogs": (o, v) => (o.hogs = wholeNumber(v)),
      "--only": (o, v) => (o.only = v.split(",")),
    },
    { usage: "--rounds N, --hogs N, --only a,b" },
  );
  if (!Number.isInteger(o.rounds) || o.rounds < 1) problems.push("--rounds must be a positive whole number");
  if (!Number.isInteger(o.hogs) || o.hogs < 0 || o.hogs > 64) problems.push("--hogs must be a whole number 0..64");
  const unknown = o.only.filter((n) => !TRIALS.some((t) => t.name === n));
  if (unknown.length) problems.push(`--only: no trial "${unknown[0]}" (${TRIALS.map((t) => t.name).join(", ")})`);
  if (problems.length) throw new Error(problems.join("; "));
  return o;
}

/** A CPU-bound process that never yields: the load beside the drill. */
function hog(): ChildProcess {
  return spawn(process.execPath, ["-e", "for (;;) {}"], { stdio: "ignore" });
}

/** Runs the drill (as `npm run drill` does, after the compile) to its end; returns its exit code and output. */
function runDrill(args: string[], deploymentsDir: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(
    process.execPath,
    ["-r", "ts-node/register/transpile-only", join(ROOT, "scripts", "drill", "index.ts"), ...args],
    {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, LOCKSTEP_DEPLOYMENTS_DIR: deploymentsDir },
    },
  );
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  return new Promise((resolve) => child.once("exit", (code) => resolve({ code, output })));
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));

/** Why a drill failed: its "drill failed:" line and failed expectations, else its last lines. */
function failureSummary(output: string): string {
  const lines = output.split("\n");
  const why = lines.filter((l) => /^drill failed: |^\s*✗ |^drill FAILED/.test(l)).map((l) => l.trim());
  return (why.length ? why : lines.slice(-3)).join(" | ").slice(0, 600);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const hogs = Array.from({ length: o.hogs }, hog);
  const deployments = tempDir("lockstep-drill-load-");
  const runs: Run[] = [];
  const failures: { trial: string; round: number; output: string }[] = [];
  const started = new Date().toISOString();
  try {
    mkdirSync(deployments.path, { recursive: true });
    for (const trial of TRIALS.filter((t) => o.only.includes(t.name))) {
      for (let r = 1; r <= o.rounds; r++) {
        process.stdout.write(`${trial.name} round ${r}/${o.rounds} (${o.hogs} busy loops beside it) ...\n`);
        const before = loadavg()[0];
        const t0 = Date.now();
        const { code, output } = await runDrill(trial.args, deployments.path);
        const seconds = (Date.now() - t0) / 1000;
        const passedLine = /drill passed: .*/.exec(output)?.[0];
        // The drill's own last line ("drill passed: … · took 241.0s"), not an earlier "took" of its rollout.
        const drillSeconds = /^drill (?:passed|FAILED).* · took ([\d.]+)s$/m.exec(output)?.[1];
        const run: Run = {
          trial: trial.name,
          round: r,
          passed: code === 0 && !!passedLine,
          exitCode: code,
          seconds: round(seconds),
          ...(drillSeconds ? { drillSeconds: Number(drillSeconds) } : {}),
          loadAverage1mBefore: round(before, 2),
          loadAverage1mAfter: round(loadavg()[0], 2),
          summary: passedLine ?? failureSummary(output),
        };
        runs.push(run);
        if (!run.passed) failures.push({ trial: trial.name, round: r, output: output.slice(-8000) });
        process.stdout.write(`  ${run.passed ? "passed" : "FAILED"} in ${run.seconds}s: ${run.summary}\n`);
      }
    }
  } finally {
    await Promise.all(hogs.map((h) => stopProcess(h, "SIGKILL")));
    deployments.cleanup();
  }
  const results = {
    what:
      "the 300-validator in-process drill and the 9-process drill, each run `rounds` times in a row while `hogs` " +
      "busy loops (`node -e 'for (;;) {}'`) run beside them",
    machine: { cpus: cpus().length, node: process.versions.node, platform: `${process.platform}-${process.arch}` },
    started,
    rounds: o.rounds,
    hogs: o.hogs,
    trials: TRIALS.filter((t) => o.only.includes(t.name)).map((t) => ({
      name: t.name,
      command: `npm run drill -- ${t.args.join(" ")}`,
      passedEveryRound: runs.filter((r) => r.trial === t.name).every((r) => r.passed),
    })),
    runs,
    failures,
  };
  writeFileSync(RESULTS, JSON.stringify(results, null, 2) + "\n");
  process.stdout.write(`wrote ${RESULTS}\n`);
  if (runs.some((r) => !r.passed)) process.exitCode = 1;
}

main().catch((e) => {
  process.stderr.write(`bench:drill-load: ${(e as Error).message}\n`);
  process.exit(1);
});
