// Watcher benchmark: `npm run bench:watcher [-- --idle-seconds 180 --runs 10 --observe-seconds 60 --only rollout]`. Builds the
// release (packaging/build.ts), packs it and installs it into an empty prefix as an operator would, then measures
// the installed command beside today's ts-node start (watcher/bin/lockstep-watcher.js), and a rollout on a chain with
// 1-second blocks (activation to swap, to Healthy mined; attestations per hour of a healthy node). Prints the figures
// and writes bench/results/watcher.json. Goals (reported, not enforced): --help in <= 0.3 s, idle RSS <= 80 MB.
//
// Each measurement is a section: a name and a function returning its figures, stored under results.sections[name].
// A section added later (rollout latency, ...) goes in SECTIONS; `--only` runs some sections and keeps the others'
// figures from the results file.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { createWalletClient, http, parseEther, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signAttesterProof } from "../lib/actions/signAttesterProof";
import { parseFlags } from "../lib/cliOptions";
import { stakeTokenAbi, upgradeCoordinatorAbi } from "../lib/abi/generated";
import { Status } from "../lib/coordinator";
import { stageRules } from "../lib/manifest";
import { mineEvery } from "../rehearsal/chaos";
import { buildRelease, cleanEnv, installRelease, packRelease, type Release } from "../packaging/build";
import {
  ROOT,
  deployLocal,
  layoutWatcher,
  makeBinary,
  nodeStatusAt,
  oneStageManifest,
  serveArtifacts,
  spawnWatcher,
  startChain,
  stopProcess,
  tempDir,
  waitFor,
  type Chain,
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
  /** How long the rollout section watches a healthy node after its Healthy attestation. */
  observeSeconds: number;
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
      what:
        "`lockstep-watcher --help` to exit, median of the runs after one warm-up: wall-clock seconds, and beside them " +
        "CPU seconds (user + system), which hardly depend on what else runs. On a loaded 2-core machine (see " +
        "loadAverage1m) the wall time is mostly waiting for a core: compare the CPU seconds, and the bare node's",
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

/** Attested events for `operator` in `upgradeId`: status names and the timestamps (ms) of their blocks. */
async function attestations(chain: Chain, coordinator: Address, upgradeId: bigint, operator: Address) {
  const logs = await chain.client.getContractEvents({
    address: coordinator,
    abi: upgradeCoordinatorAbi,
    eventName: "Attested",
    args: { upgradeId, operator },
    fromBlock: 0n,
  });
  return Promise.all(
    logs.map(async (l) => ({
      status: Status[Number(l.args.status)] ?? String(l.args.status),
      at: Number((await chain.client.getBlock({ blockNumber: l.blockNumber })).timestamp) * 1000,
      block: l.blockNumber,
    })),
  );
}

/** The time (ms) of the first log line of `output` (pino JSON, one object a line) whose msg is `msg`. */
function loggedAt(output: string, msg: string): number | undefined {
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const entry = JSON.parse(line) as { msg?: string; time?: number };
      if (entry.msg === msg && typeof entry.time === "number") return entry.time;
    } catch {
      // not a log line
    }
  }
  return undefined;
}

const rollout: Section = {
  name: "rollout",
  async run(ctx) {
    const chain = await startChain();
    const watchers: WatcherProcess[] = [];
    let node: Awaited<ReturnType<typeof layoutWatcher>>["node"] | undefined;
    const artifacts = await serveArtifacts(join(ctx.work, "artifacts"));
    try {
      const d = await deployLocal(chain);
      const [deployer, , operator] = await chain.accounts();
      const key = `0x${"43".repeat(32)}` as Hex;
      const attester = privateKeyToAccount(key).address;
      await chain.send("hardhat_setBalance", [attester, "0x56BC75E2D63100000"]); // it pays for its attestations
      const send = async (
        from: Address,
        call: {
          address: Address;
          abi: typeof stakeTokenAbi | typeof upgradeCoordinatorAbi;
          functionName: string;
          args: unknown[];
        },
      ) => {
        const wallet = createWalletClient({ account: from, transport: http(chain.url) });
        const hash = await wallet.writeContract({
          ...(call as unknown as Parameters<typeof wallet.writeContract>[0]),
          chain: null,
        });
        return chain.client.waitForTransactionReceipt({ hash });
      };
      // A staked, registered validator in the default cohort.
      const token = { address: d.addresses.token, abi: stakeTokenAbi };
      await send(deployer, { ...token, functionName: "transfer", args: [operator, parseEther("100")] });
      await send(operator, { ...token, functionName: "delegate", args: [operator] });
      const proof = await signAttesterProof(createWalletClient({ account: operator, transport: http(chain.url) }), {
        account: privateKeyToAccount(key),
        chainId: await chain.client.getChainId(),
        coordinator: d.addresses.coordinator,
        operator,
      });
      const coordinator = { address: d.addresses.coordinator, abi: upgradeCoordinatorAbi };
      await send(operator, { ...coordinator, functionName: "register", args: [attester, "ipfs://bench", proof] });
      const cohort = await chain.client.readContract({ ...coordinator, functionName: "defaultCohort" });
      mkdirSync(join(ctx.work, "artifacts"), { recursive: true });
      const next = makeBinary(join(ctx.work, "artifacts"), "v2.0.0");
      const reattestIntervalMs = 10_000;
      const layout = await layoutWatcher({
        name: "rollout",
        root: ctx.work,
        rpcUrl: chain.url,
        coordinator: d.addresses.coordinator,
        startBlock: d.startBlock,
        operator,
        initial: { version: "v1.0.0", binary: makeBinary(join(ctx.work, "bin"), "v1.0.0").path },
        pollIntervalMs: 1_000,
        // A health rule scaled down so the window below spans several re-attestation intervals.
        health: {
          deadlineMs: 30_000,
          probeIntervalMs: 250,
          minHeightGain: 2,
          observeIntervalMs: 1_000,
          unhealthyAfterMs: 5_000,
          reattestIntervalMs,
        },
        logLevel: "info",
      });
      node = layout.node;
      await node.start();
      await waitFor("the node", async () => (await nodeStatusAt(layout.port))?.version === "v1.0.0", 60_000, 250);
      await mineEvery(chain, 1_000); // a block a second, and a mempool, from here on
      const w = spawnWatcher(layout.configPath, { ...cleanEnv(ctx.home), [layout.keyEnv]: key }, [], {
        bin: ctx.installed,
        cwd: ctx.home,
      });
      watchers.push(w);
      const timelock = createWalletClient({ account: d.timelock, transport: http(chain.url) });
      const scheduled = await timelock.writeContract({
        ...coordinator,
        functionName: "schedule",
        chain: null,
        args: [
          oneStageManifest({
            name: "bench",
            version: "v2.0.0",
            previousVersion: "v1.0.0",
            uri: `${artifacts.url}/${next.path.split("/").pop()}`,
            sha256: next.sha256,
            stage: stageRules(Number(cohort), { observationWindow: 3600, healthyBps: 5000, readinessBps: 10_000 }),
          }),
        ],
      });
      await chain.client.waitForTransactionReceipt({ hash: scheduled });
      const id = await chain.client.readContract({ ...coordinator, functionName: "upgradeCount" });
      const seen = () => attestations(chain, d.addresses.coordinator, id, operator);
      await waitFor("Ready", async () => (await seen()).some((a) => a.status === "Ready"), 180_000, 500).catch((e) => {
        throw new Error(`${(e as Error).message}; the watcher said: ${w.output().slice(-3000)}`);
      });
      // Wall-clock times throughout (the chain's block times are whole seconds, and drift under interval mining):
      // the activation when its receipt is seen, Healthy when its log is, each polled every 100 ms.
      const advance = await createWalletClient({ account: deployer, transport: http(chain.url) }).writeContract({
        ...coordinator,
        functionName: "advance",
        args: [id],
        chain: null,
      });
      await chain.client.waitForTransactionReceipt({ hash: advance, pollingInterval: 100 });
      const activatedAt = Date.now();
      await waitFor("Healthy", async () => (await seen()).some((a) => a.status === "Healthy"), 180_000, 100);
      const healthyAt = Date.now();
      const healthy = (await seen()).find((a) => a.status === "Healthy")!;
      const swapAt = loggedAt(w.output(), "stopping the node to snapshot its state and swap its binary");
      // The node stays healthy; count what is attested over a window of several re-attestation intervals.
      const windowStart = Date.now();
      await new Promise((r) => setTimeout(r, ctx.observeSeconds * 1000));
      const windowSeconds = (Date.now() - windowStart) / 1000;
      const all = await seen();
      const after = all.filter((a) => a.block > healthy.block);
      const sinceScheduled = (Date.now() - activatedAt) / 1000;
      return {
        what:
          "one validator on a chain mining a block a second (confirmations 1, chain.pollIntervalMs 1000): wall-clock " +
          "seconds from the stage's activation being mined to the swap starting (the watcher's log) and to Healthy " +
          "being mined (each seen within 0.1 s); then attestations while the node stays healthy",
        activationToSwapSeconds: swapAt === undefined ? null : round((swapAt - activatedAt) / 1000, 1),
        activationToHealthyMinedSeconds: round((healthyAt - activatedAt) / 1000, 1),
        statuses: all.map((a) => a.status).join(","),
        reattestIntervalSeconds: reattestIntervalMs / 1000,
        healthyWindowSeconds: round(windowSeconds, 1),
        attestationsInHealthyWindow: after.length,
        attestationsPerHourHealthy: round((after.length / windowSeconds) * 3600, 1),
        attestationsPerHourWholeRun: round((all.length / sinceScheduled) * 3600, 1),
        goal: "Ready once, then Healthy once: 0 attestations in the healthy window",
        goalMet: all.map((a) => a.status).join(",") === "Ready,Healthy",
      };
    } finally {
      for (const w of watchers) await stopProcess(w.child);
      await node?.stop().catch(() => undefined);
      await artifacts.stop();
      await chain.stop();
    }
  },
};

const SECTIONS: Section[] = [startup, idle, rollout];

function parseArgs(argv: string[]): { runs: number; idleSeconds: number; observeSeconds: number; only: string[] } {
  const defaults = { runs: 10, idleSeconds: 180, observeSeconds: 60, only: SECTIONS.map((s) => s.name) };
  return parseFlags(argv, defaults, {
    flags: {
      "--runs": (o, v) => (o.runs = Number(v)),
      "--idle-seconds": (o, v) => (o.idleSeconds = Number(v)),
      "--observe-seconds": (o, v) => (o.observeSeconds = Number(v)),
      "--only": (o, v) => (o.only = v.split(",")),
    },
    usage: "--runs N, --idle-seconds S, --observe-seconds S, --only a,b",
    check: (o) => {
      const problems: string[] = [];
      if (!Number.isInteger(o.runs) || o.runs < 1) problems.push("--runs must be a positive whole number");
      if (!Number.isFinite(o.idleSeconds) || o.idleSeconds < 5) problems.push("--idle-seconds must be at least 5");
      // At least two re-attestation intervals of the rollout section's scaled-down health rule (10 s).
      if (!Number.isFinite(o.observeSeconds) || o.observeSeconds < 20)
        problems.push("--observe-seconds must be at least 20");
      const unknown = o.only.filter((n) => !SECTIONS.some((s) => s.name === n));
      if (unknown.length)
        problems.push(`--only: no section "${unknown[0]}" (${SECTIONS.map((s) => s.name).join(", ")})`);
      return problems;
    },
  });
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
    const ctx: Context = {
      release,
      installed,
      home,
      work,
      runs: o.runs,
      idleSeconds: o.idleSeconds,
      observeSeconds: o.observeSeconds,
    };
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
