// Watcher benchmark: `npm run bench:watcher [-- --idle-seconds 180 --runs 10 --only startup,idle]`. Builds the
// release (packaging/build.ts), packs it and installs it into an empty prefix as an operator would, then measures
// the installed command beside today's ts-node start (watcher/bin/lockstep-watcher.js). Prints the figures and
// writes bench/results/watcher.json. Goals (reported, not enforced): --help in <= 0.3 s, idle RSS <= 80 MB.
//
// Each measurement is a section: a name and a function returning its figures, stored under results.sections[name].
// A section added later (rollout latency, ...) goes in SECTIONS; `--only` runs some sections and keeps the others'
// figures from the results file.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { createWalletClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signAttesterProof } from "../lib/actions/signAttesterProof";
import { upgradeCoordinatorAbi } from "../lib/abi/generated";
import { buildRelease, cleanEnv, installRelease, packRelease, type Release } from "../packaging/build";
import {
  ROOT,
  deployLocal,
  layoutWatcher,
  spawnWatcher,
  startChain,
  stopProcess,
  tempDir,
  waitFor,
  type WatcherProcess,
} from "../rehearsal/localnet";

const RESULTS = join(ROOT, "bench", "results", "watcher.json");
const GOALS = { helpSeconds: 0.3, idleRssMB: 80 };
const DEV_BIN = join(ROOT, "watcher", "bin", "lockstep-watcher.js");

interface Context {
  release: Release;
  /** The installed command (`<prefix>/bin/lockstep-watcher`). */
  installed: string;
  home: string;
  work: string;
  runs: number;
  idleSeconds: number;
}

interface Section {
  name: string;
  run(ctx: Context): Promise<Record<string, unknown>>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x: number, digits = 3) => Number(x.toFixed(digits));

/** CPU seconds (user + system) of this process's waited-for children so far, from /proc (cutime, cstime). */
function childrenCpu(): number {
  const fields = readFileSync("/proc/self/stat", "utf8").split(") ")[1].split(" ");
  return (Number(fields[13]) + Number(fields[14])) / CLK_TCK;
}
const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

/** Wall-clock and CPU seconds of `command args` to exit 0 (CPU time hardly depends on what else the machine runs). */
function timeRun(command: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): { wall: number; cpu: number } {
  const cpu = childrenCpu();
  const started = process.hrtime.bigint();
  const r = spawnSync(command, args, { env, cwd, stdio: ["ignore", "ignore", "pipe"] });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  return { wall: seconds, cpu: childrenCpu() - cpu };
}

const startup: Section = {
  name: "startup",
  async run(ctx) {
    const env = cleanEnv(ctx.home);
    const series = (command: string, args: string[], runs: number, cwd = ctx.home, e: NodeJS.ProcessEnv = env) => {
      timeRun(command, args, e, cwd); // warm the file cache
      return Array.from({ length: runs }, () => timeRun(command, args, e, cwd));
    };
    const releaseRuns = series(ctx.installed, ["--help"], ctx.runs);
    const bareRuns = series(process.execPath, ["-e", "0"], ctx.runs);
    const [release, bare] = [releaseRuns, bareRuns].map((xs) => xs.map((x) => x.wall));
    const tsNodeRuns = series(
      process.execPath,
      [DEV_BIN, "--help"],
      Math.max(3, Math.ceil(ctx.runs / 2)),
      ROOT,
      process.env,
    );
    const tsNode = tsNodeRuns.map((x) => x.wall);
    return {
      what: "wall-clock seconds of `lockstep-watcher --help` to exit, median of the runs after one warm-up",
      loadAverage1m: round(loadavg()[0], 2),
      releaseSeconds: round(median(release)),
      releaseMinSeconds: round(Math.min(...release)),
      tsNodeSeconds: round(median(tsNode)),
      tsNodeOverRelease: round(median(tsNode) / median(release), 1),
      bareNodeSeconds: round(median(bare)),
      releaseCpuSeconds: round(median(releaseRuns.map((x) => x.cpu)), 2),
      bareNodeCpuSeconds: round(median(bareRuns.map((x) => x.cpu)), 2),
      goalSeconds: GOALS.helpSeconds,
      goalMet: median(release) <= GOALS.helpSeconds,
      bundleBytes: ctx.release.bytes,
    };
  },
};

/** Resident memory (bytes) and CPU time (seconds, user + system) of `pid` now, from /proc. */
function sample(pid: number): { rss: number; cpu: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) * 1024;
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  const ticks = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim();
  const cpu = (Number(fields[11]) + Number(fields[12])) / Number(ticks || 100);
  return { rss, cpu };
}

const idle: Section = {
  name: "idle",
  async run(ctx) {
    const chain = await startChain();
    const watchers: WatcherProcess[] = [];
    try {
      const d = await deployLocal(chain);
      await chain.send("evm_setIntervalMining", [1_000]); // a block a second, as a chain keeps moving
      const [, , operator] = await chain.accounts();
      const key = `0x${"42".repeat(32)}` as const;
      // A registered validator (a watcher refuses to run for one the coordinator does not know), never scheduled.
      const wallet = createWalletClient({ account: operator, transport: http(chain.url) });
      const proof = await signAttesterProof(wallet, {
        account: privateKeyToAccount(key),
        chainId: await chain.client.getChainId(),
        coordinator: d.addresses.coordinator,
        operator,
      });
      const hash = await wallet.writeContract({
        address: d.addresses.coordinator,
        abi: upgradeCoordinatorAbi,
        functionName: "register",
        args: [privateKeyToAccount(key).address, "ipfs://bench", proof],
        chain: null,
      });
      await chain.client.waitForTransactionReceipt({ hash });
      // No upgrade comes, so the node is never started: any file stands for its binary.
      const binary = join(ctx.work, "node-v1.0.0");
      writeFileSync(binary, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
      const watch = async (name: string, bin: string, cwd: string, env: Record<string, string>) => {
        const layout = await layoutWatcher({
          name,
          root: ctx.work,
          rpcUrl: chain.url,
          coordinator: d.addresses.coordinator,
          startBlock: d.startBlock,
          operator,
          initial: { version: "v1.0.0", binary },
          pollIntervalMs: 2_000,
          logLevel: "info",
        });
        const w = spawnWatcher(layout.configPath, { ...env, [layout.keyEnv]: key }, [], { bin, cwd });
        watchers.push(w);
        await waitFor(
          `the ${name} watcher to serve /healthz`,
          async () => {
            if (w.child.exitCode !== null) throw new Error(`the ${name} watcher exited: ${w.output().slice(-500)}`);
            return (await fetch(`http://127.0.0.1:${layout.metricsPort}/healthz`)).status === 200;
          },
          120_000,
          250,
        );
        return w;
      };
      // Both at once, over the same window of the same chain.
      const [release, tsNode] = await Promise.all([
        watch("release", ctx.installed, ctx.home, cleanEnv(ctx.home)),
        watch("ts-node", DEV_BIN, ROOT, {}),
      ]);
      const pids = { release: release.child.pid!, tsNode: tsNode.child.pid! };
      const first = { release: sample(pids.release), tsNode: sample(pids.tsNode) };
      const rss = { release: [] as number[], tsNode: [] as number[] };
      const started = Date.now();
      while (Date.now() - started < ctx.idleSeconds * 1000) {
        await new Promise((r) => setTimeout(r, 1_000));
        rss.release.push(sample(pids.release).rss);
        rss.tsNode.push(sample(pids.tsNode).rss);
      }
      const seconds = (Date.now() - started) / 1000;
      const last = { release: sample(pids.release), tsNode: sample(pids.tsNode) };
      const mb = (b: number) => round(b / 1024 / 1024, 1);
      const cpuPercent = (k: "release" | "tsNode") => round(((last[k].cpu - first[k].cpu) / seconds) * 100, 2);
      return {
        what: "a watcher with nothing to do, polling a chain that mines a block a second (chain.pollIntervalMs 2000)",
        windowSeconds: round(seconds, 1),
        releaseRssMaxMB: mb(Math.max(...rss.release)),
        releaseRssMedianMB: mb(median(rss.release)),
        releaseRssEndMB: mb(last.release.rss),
        tsNodeRssMaxMB: mb(Math.max(...rss.tsNode)),
        tsNodeOverReleaseRss: round(Math.max(...rss.tsNode) / Math.max(...rss.release), 1),
        releaseCpuPercent: cpuPercent("release"),
        tsNodeCpuPercent: cpuPercent("tsNode"),
        goalRssMB: GOALS.idleRssMB,
        goalMet: Math.max(...rss.release) / 1024 / 1024 <= GOALS.idleRssMB,
      };
    } finally {
      for (const w of watchers) await stopProcess(w.child);
      await chain.stop();
    }
  },
};

const SECTIONS: Section[] = [startup, idle];

function parseArgs(argv: string[]): { runs: number; idleSeconds: number; only: string[] } {
  const o = { runs: 10, idleSeconds: 180, only: SECTIONS.map((s) => s.name) };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = inline ?? argv[++i];
    if (flag === "--runs") o.runs = Number(value);
    else if (flag === "--idle-seconds") o.idleSeconds = Number(value);
    else if (flag === "--only") o.only = (value ?? "").split(",");
    else throw new Error(`unknown option ${argv[i]} (options: --runs N, --idle-seconds S, --only a,b)`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error("--runs must be a positive whole number");
  if (!Number.isFinite(o.idleSeconds) || o.idleSeconds < 5) throw new Error("--idle-seconds must be at least 5");
  const unknown = o.only.filter((n) => !SECTIONS.some((s) => s.name === n));
  if (unknown.length) throw new Error(`--only: no section "${unknown[0]}" (${SECTIONS.map((s) => s.name).join(", ")})`);
  return o;
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const dir = tempDir("lockstep-bench-watcher-");
  try {
    const release = buildRelease(join(dir.path, "build"));
    const home = join(dir.path, "home");
    const installed = installRelease(packRelease(release, join(dir.path, "dist")), join(dir.path, "prefix"), home);
    const work = join(dir.path, "work");
    mkdirSync(work, { recursive: true });
    const ctx: Context = { release, installed, home, work, runs: o.runs, idleSeconds: o.idleSeconds };
    const previous = existsSync(RESULTS) ? JSON.parse(readFileSync(RESULTS, "utf8")) : {};
    const sections: Record<string, unknown> = { ...(previous.sections ?? {}) };
    for (const section of SECTIONS.filter((s) => o.only.includes(s.name))) {
      process.stdout.write(`${section.name} ...\n`);
      const figures = await section.run(ctx);
      sections[section.name] = figures;
      for (const [k, v] of Object.entries(figures)) process.stdout.write(`  ${k}: ${v}\n`);
    }
    const results = {
      machine: { cpus: cpus().length, node: process.versions.node, platform: `${process.platform}-${process.arch}` },
      sections,
    };
    writeFileSync(RESULTS, JSON.stringify(results, null, 2) + "\n");
    process.stdout.write(`wrote ${RESULTS}\n`);
  } finally {
    dir.cleanup();
  }
}

main().catch((e) => {
  process.stderr.write(`bench:watcher: ${(e as Error).message}\n`);
  process.exit(1);
});
