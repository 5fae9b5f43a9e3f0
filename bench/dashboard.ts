// Dashboard load benchmark: `npm run bench:dashboard [-- --events 3000 --proposals 20 --runs 5]`. Starts a Hardhat node, deploys,
// writes a history of N coordinator events (bench/dashboardHistory.ts), serves the built page with web/serve.ts and
// opens it in chromium, cold (a fresh browser context) each run: the time from navigation to the first render
// (body[data-state] = "live"), and the JSON-RPC traffic it took. Prints the figures and writes
// bench/results/dashboard.json. The target, a first render under 2 s at 3,000 events, is reported, not enforced.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { writeDeployment } from "../lib/deployments";
import { deploymentRecord } from "../lib/deploy";
import { ROOT, deployOn, freePort, startChain, stopProcess, tempDir, waitFor, type Chain } from "../test/helpers/e2e";
import { writeHistory, writeProposals } from "./dashboardHistory";

const TARGET_MS = 2_000;
const CHROMIUM = "/usr/bin/chromium";
const NETWORK = "bench";

function parseArgs(argv: string[]): { events: number; runs: number; proposals: number } {
  const o = { events: 3_000, runs: 5, proposals: 20 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = Number(inline ?? argv[++i]);
    if (flag === "--events") o.events = value;
    else if (flag === "--runs") o.runs = value;
    else if (flag === "--proposals") o.proposals = value;
    else throw new Error(`unknown option ${argv[i]} (options: --events N, --runs N, --proposals N)`);
  }
  if (!Number.isInteger(o.events) || o.events < 1) throw new Error("--events must be a positive whole number");
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error("--runs must be a positive whole number");
  if (!Number.isInteger(o.proposals) || o.proposals < 0) throw new Error("--proposals must be a whole number");
  return o;
}

async function serve(chain: Chain, deployments: string): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      "-r",
      "ts-node/register/transpile-only",
      "web/serve.ts",
      "--network",
      NETWORK,
      "--rpc",
      chain.url,
      "--port",
      String(port),
    ],
    { cwd: ROOT, env: { ...process.env, LOCKSTEP_DEPLOYMENTS_DIR: deployments }, stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout!.on("data", (c) => (output += c));
  child.stderr!.on("data", (c) => (output += c));
  await waitFor("the dashboard server", async () => {
    if (child.exitCode !== null) throw new Error(`the dashboard server exited: ${output}`);
    return output.includes("dashboard http://");
  });
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

async function main() {
  const o = parseArgs(process.argv.slice(2));
  const dir = tempDir("lockstep-bench-dashboard-");
  let chain: Chain | undefined;
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  try {
    chain = await startChain();
    const d = await deployOn(chain);
    const t = performance.now();
    const shape = { ...(await writeHistory(chain, d, o.events)), proposals: 0 };
    shape.proposals = await writeProposals(chain, d, o.proposals);
    console.error(
      `wrote ${shape.events} events in ${shape.eventBlocks} blocks (${shape.validators} validators) and ${shape.proposals} proposals in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    writeDeployment(
      deploymentRecord(d.addresses, {
        network: NETWORK,
        chainId: 31337,
        startBlock: d.startBlock,
        guardian: d.guardian.address,
      }),
      dir.path,
    );

    const page = await serve(chain, dir.path);
    server = page.child;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu"],
    });
    // Warm-up, reported apart: the node's, the server's and chromium's first requests are slower.
    const warmup = await openOnce(browser, page.url);
    const runs: Run[] = [];
    for (let i = 0; i < o.runs; i++) {
      runs.push(await openOnce(browser, page.url));
      console.error(`run ${i + 1}: ${runs[i].ms} ms`);
    }

    const sorted = runs.map((r) => r.ms).sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    const result = {
      ...shape,
      runs: runs.map((r) => r.ms),
      medianMs: median,
      minMs: sorted[0],
      maxMs: sorted[sorted.length - 1],
      warmupMs: warmup.ms,
      rpcRequests: runs[0].rpcRequests,
      rpcCalls: runs[0].rpcCalls,
      targetMs: TARGET_MS,
      targetMet: median < TARGET_MS,
    };
    console.log(
      `events             ${shape.events} in ${shape.eventBlocks} blocks, ${shape.validators} validators, ${shape.proposals} proposals`,
    );
    console.log(
      `navigation -> live median ${median} ms (min ${result.minMs}, max ${result.maxMs}, ${o.runs} runs; warm-up ${warmup.ms} ms)`,
    );
    console.log(`rpc                ${result.rpcCalls} calls in ${result.rpcRequests} HTTP requests`);
    console.log(`target             < ${TARGET_MS} ms: ${result.targetMet ? "met" : "NOT met"}`);
    const out = join(__dirname, "results");
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, "dashboard.json"), JSON.stringify(result, null, 2) + "\n");
    console.log(`\nwrote ${join("bench", "results", "dashboard.json")}`);
  } finally {
    await browser?.close();
    if (server) await stopProcess(server);
    await chain?.stop();
    dir.cleanup();
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
