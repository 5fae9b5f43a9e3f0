// Dashboard benchmark: `npm run bench:dashboard [-- --events 3000,10000 --proposals 20 --runs 5 --idle-s 30]`.
// For each history size: starts a Hardhat node, deploys, writes N coordinator events (bench/dashboardHistory.ts),
// serves the built page with web/serve.ts and opens it in chromium, cold (a fresh browser context) each run: the
// time from navigation to the first render (body[data-state] = "live"), and the JSON-RPC traffic it took. On the
// first size it also counts the JSON-RPC calls an open tab makes a minute while nobody does anything, with the
// upgrade in flight and then after it was withdrawn, the node mining an empty block every 12 s as a live network
// does. It records the size of the page's bundle. Prints the figures and writes bench/results/dashboard.json.
// Targets (a first render under 2 s at 3,000 events; at most 60 idle calls a minute) are reported, not enforced.
import type { ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { encodeFunctionData, getAddress, toHex } from "viem";
import { chromium, type Browser } from "playwright-core";
import { upgradeCoordinatorAbi } from "../lib/abi/generated";
import { parseFlags, wholeNumber } from "../lib/cliOptions";
import { writeDeployment } from "../lib/deployments";
import { deploymentRecord } from "../lib/deploy";
import {
  ROOT,
  deployLocal,
  freePort,
  startChain,
  startDashboardServer,
  stopProcess,
  tempDir,
  type Chain,
  type LocalDeployment,
} from "../rehearsal/localnet";
import { writeHistory, writeProposals } from "./dashboardHistory";

const TARGET_MS = 2_000;
const IDLE_TARGET_PER_MIN = 60;
const BLOCK_EVERY_MS = 12_000;
const CHROMIUM = "/usr/bin/chromium";
const NETWORK = "bench";

interface Options {
  events: number[];
  runs: number;
  proposals: number;
  idleSeconds: number;
}

function parseArgs(argv: string[]): Options {
  return parseFlags(
    argv,
    { events: [3_000, 10_000], runs: 5, proposals: 20, idleSeconds: 30 },
    {
      flags: {
        "--events": (o, v) => (o.events = v.split(",").map(wholeNumber)),
        "--runs": (o, v) => (o.runs = wholeNumber(v)),
        "--proposals": (o, v) => (o.proposals = wholeNumber(v)),
        "--idle-s": (o, v) => (o.idleSeconds = wholeNumber(v)),
      },
      usage: "--events N[,N...], --runs N, --proposals N, --idle-s SECONDS",
      check: (o) => [
        ...(!o.events.length || o.events.some((n) => !Number.isInteger(n) || n < 1)
          ? ["--events must be positive whole numbers, separated by commas"]
          : []),
        ...(!Number.isInteger(o.runs) || o.runs < 1 ? ["--runs must be a positive whole number"] : []),
        ...(!Number.isInteger(o.proposals) ? ["--proposals must be a whole number"] : []),
        ...(!Number.isInteger(o.idleSeconds) ? ["--idle-s must be a whole number"] : []),
      ],
    },
  );
}

async function serve(chain: Chain, deployments: string): Promise<{ url: string; child: ChildProcess }> {
  // The default poll interval: what a user who runs `npm run dashboard` gets.
  const port = await freePort();
  const { child } = await startDashboardServer({ network: NETWORK, rpc: chain.url, port, deployments });
  return { url: `http://127.0.0.1:${port}/`, child };
}

interface Run {
  ms: number;
  /** HTTP requests to /rpc, and the JSON-RPC calls they carried (a batch carries many). */
  rpcRequests: number;
  rpcCalls: number;
}

/** Opens the page in a fresh context and times navigation to the first render. */
async function openOnce(browser: Browser, url: string): Promise<Run> {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const run: Run = { ms: 0, rpcRequests: 0, rpcCalls: 0 };
    let live = false;
    page.on("request", (r) => {
      if (live || !r.url().endsWith("/rpc")) return;
      const body = r.postDataJSON() as unknown;
      run.rpcRequests += 1;
      run.rpcCalls += Array.isArray(body) ? body.length : 1;
    });
    const started = performance.now();
    await page.goto(url);
    await page.waitForFunction(
      `document.body.dataset.state !== "loading" && document.body.dataset.state !== undefined`,
      undefined,
      { timeout: 120_000, polling: 5 },
    );
    run.ms = Math.round(performance.now() - started);
    live = true;
    const state = await page.evaluate("document.body.dataset.state");
    if (state !== "live") throw new Error(`the page showed "${state}": ${await page.locator("#banner").innerText()}`);
    return run;
  } finally {
    await context.close();
  }
}

/** JSON-RPC calls an open, untouched tab makes in `seconds`, per minute; the node mines a block every 12 s. */
async function idleCallsPerMinute(browser: Browser, url: string, chain: Chain, seconds: number): Promise<number> {
  const context = await browser.newContext();
  const miner = setInterval(() => void chain.send("hardhat_mine", ["0x1"]).catch(() => {}), BLOCK_EVERY_MS);
  try {
    const page = await context.newPage();
    await page.goto(url);
    await page.waitForFunction(`document.body.dataset.state === "live"`, undefined, { timeout: 120_000 });
    // The first refreshes after opening are the load, not idling.
    await new Promise((r) => setTimeout(r, 3_000));
    let calls = 0;
    page.on("request", (r) => {
      if (!r.url().endsWith("/rpc")) return;
      const body = r.postDataJSON() as unknown;
      calls += Array.isArray(body) ? body.length : 1;
    });
    await new Promise((r) => setTimeout(r, seconds * 1000));
    return Math.round((calls * 60) / seconds);
  } finally {
    clearInterval(miner);
    await context.close();
  }
}

/** The built page's JavaScript and CSS, raw and gzipped (bytes). */
function bundleSize(): { bytes: number; gzipBytes: number; files: number } {
  const dir = join(ROOT, "web", "dist", "assets");
  const files = readdirSync(dir).filter((f) => /\.(js|css)$/.test(f));
  let bytes = 0;
  let gzipBytes = 0;
  for (const f of files) {
    const data = readFileSync(join(dir, f));
    bytes += data.length;
    gzipBytes += gzipSync(data).length;
  }
  return { bytes, gzipBytes, files: files.length };
}

/** The governance's withdrawal of the upgrade in flight (through the impersonated timelock): nothing is in flight. */
async function withdrawUpgrade(chain: Chain, d: LocalDeployment) {
  const coordinator = getAddress(d.addresses.coordinator);
  const id = (await chain.client.readContract({
    address: coordinator,
    abi: upgradeCoordinatorAbi,
    functionName: "upgradeCount",
  })) as bigint;
  const data = encodeFunctionData({ abi: upgradeCoordinatorAbi, functionName: "withdraw", args: [id] });
  await chain.send("eth_sendTransaction", [{ from: d.timelock, to: coordinator, data, gas: toHex(1_000_000) }]);
}

interface SizeResult {
  events: number;
  validators: number;
  eventBlocks: number;
  head: number;
  proposals: number;
  runs: number[];
  medianMs: number;
  minMs: number;
  maxMs: number;
  warmupMs: number;
  rpcRequests: number;
  rpcCalls: number;
}

async function measureSize(browser: Browser, o: Options, events: number, idle: boolean) {
  const dir = tempDir("lockstep-bench-dashboard-");
  let chain: Chain | undefined;
  let server: ChildProcess | undefined;
  try {
    chain = await startChain();
    const d = await deployLocal(chain);
    const t = performance.now();
    const shape = { ...(await writeHistory(chain, d, events)), proposals: 0 };
    shape.proposals = await writeProposals(chain, d, o.proposals);
    console.error(
      `wrote ${shape.events} events in ${shape.eventBlocks} blocks (${shape.validators} validators) and ${shape.proposals} proposals in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    writeDeployment(
      deploymentRecord(d.addresses, {
        network: NETWORK,
        chainId: 31337,
        startBlock: d.startBlock,
        guardian: d.guardian,
      }),
      dir.path,
    );
    const page = await serve(chain, dir.path);
    server = page.child;
    // Warm-up, reported apart: the node's, the server's and chromium's first requests are slower.
    const warmup = await openOnce(browser, page.url);
    const runs: Run[] = [];
    for (let i = 0; i < o.runs; i++) {
      runs.push(await openOnce(browser, page.url));
      console.error(`${shape.events} events, run ${i + 1}: ${runs[i].ms} ms`);
    }
    const sorted = runs.map((r) => r.ms).sort((a, b) => a - b);
    const result: SizeResult = {
      ...shape,
      runs: runs.map((r) => r.ms),
      medianMs: sorted[Math.floor(sorted.length / 2)],
      minMs: sorted[0],
      maxMs: sorted[sorted.length - 1],
      warmupMs: warmup.ms,
      rpcRequests: runs[0].rpcRequests,
      rpcCalls: runs[0].rpcCalls,
    };
    let idleCalls: { inFlight: number; nothingInFlight: number } | undefined;
    if (idle && o.idleSeconds > 0) {
      const inFlight = await idleCallsPerMinute(browser, page.url, chain, o.idleSeconds);
      await withdrawUpgrade(chain, d);
      const nothingInFlight = await idleCallsPerMinute(browser, page.url, chain, o.idleSeconds);
      idleCalls = { inFlight, nothingInFlight };
      console.error(`idle JSON-RPC calls a minute: ${inFlight} with the upgrade in flight, ${nothingInFlight} without`);
    }
    return { result, idleCalls };
  } finally {
    if (server) await stopProcess(server);
    await chain?.stop();
    dir.cleanup();
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const loadAtStart = loadavg().map(round2);
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu"],
    });
    const sizes: SizeResult[] = [];
    let idle: { inFlight: number; nothingInFlight: number } | undefined;
    for (const [i, events] of o.events.entries()) {
      const m = await measureSize(browser, o, events, i === 0);
      sizes.push(m.result);
      idle ??= m.idleCalls;
    }
    const bundle = bundleSize();
    // The machine's load while the bench ran: first-render times on a busy machine are not a quiet machine's.
    const machine = { cpus: cpus().length, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg().map(round2) };
    const first = sizes[0];
    const result = {
      machine,
      firstRender: sizes,
      idleCallsPerMinute: idle
        ? {
            ...idle,
            blockEverySeconds: BLOCK_EVERY_MS / 1000,
            pollMs: 1000,
            targetPerMinute: IDLE_TARGET_PER_MIN,
            targetMet: idle.nothingInFlight <= IDLE_TARGET_PER_MIN,
          }
        : undefined,
      bundle,
      targetMs: TARGET_MS,
      targetMet: first.medianMs < TARGET_MS,
    };
    for (const s of sizes) {
      console.log(
        `${String(s.events).padStart(6)} events  navigation -> live median ${s.medianMs} ms (min ${s.minMs}, max ${s.maxMs}, ${s.runs.length} runs; warm-up ${s.warmupMs} ms); ${s.rpcCalls} calls in ${s.rpcRequests} HTTP requests`,
      );
    }
    if (idle)
      console.log(
        `idle               ${idle.inFlight} calls/min with an upgrade in flight, ${idle.nothingInFlight} without (target <= ${IDLE_TARGET_PER_MIN}; a block every ${BLOCK_EVERY_MS / 1000} s)`,
      );
    console.log(`bundle             ${bundle.bytes} bytes (${bundle.gzipBytes} gzipped) in ${bundle.files} files`);
    console.log(
      `machine            ${machine.cpus} CPUs, load average ${machine.loadAverageAtStart.join(" ")} at start, ${machine.loadAverageAtEnd.join(" ")} at end`,
    );
    console.log(
      `target             < ${TARGET_MS} ms at ${first.events} events: ${result.targetMet ? "met" : "NOT met"}`,
    );
    const out = join(__dirname, "results");
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "dashboard.json"), JSON.stringify(result, null, 2) + "\n");
    console.log(`\nwrote ${join("bench", "results", "dashboard.json")}`);
  } finally {
    await browser?.close();
  }
}

main().catch((e) => {
  console.error(`bench:dashboard: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
});
