// The drill end to end: the real command, a small validator set, every process it started gone afterwards.
import { expect } from "chai";
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { DEFAULT_RPC_PORT, ROOT, tempDir } from "../../rehearsal/localnet";
import { drillInProcess, processesMentioning, runDrill } from "../helpers/drill";
import { waitFor } from "../helpers/e2e";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("npm run drill", function () {
  this.timeout(240_000);
  let deployments: ReturnType<typeof tempDir>;

  before(() => (deployments = tempDir("lockstep-drill-deployments-")));
  after(() => deployments.cleanup());

  it("rehearses a completed upgrade and a failed one that pauses and rolls back, and leaves nothing running", async function () {
    const run = await runDrill(["--validators", "5", "--seed", "test"], { LOCKSTEP_DEPLOYMENTS_DIR: deployments.path });
    const out = run.stdout;
    expect(run.code, `${out.slice(-3000)}\n${run.stderr}`).to.equal(0);
    expect(out).to.include("✓ upgrade 1 completed");
    expect(out).to.include("✓ every node runs v1.1.0");
    expect(out).to.match(/paused\s+UnhealthyThreshold at stage 1 \(early\)/);
    expect(out).to.include("✓ the coordinator paused the rollout by itself (unhealthy threshold) in the early stage");
    expect(out).to.match(/rollback\s+ordered by the guardian · tx 0x[0-9a-f]{64}/);
    expect(out).to.include("✓ watchers restored the previous version and attested RolledBack for all activated stake");
    expect(out).to.include("✓ every node runs v1.1.0 again");
    expect(out).to.match(/canonical keccak256 0x[0-9a-f]{64}/);
    expect(out).to.match(/upgrade 2 ROLLBACK ordered at stage 1 \(Manual\) by the guardian\s+tx 0x[0-9a-f]{64}/);
    expect(out).to.include("✓ nothing left running");
    // The restart budget: the highest stake leased at once, replayed from the lease events, within the budget.
    const leases = /highest offline \(leased\) stake measured: ([\d,]+) LSTK; restart budget ([\d,]+) LSTK/.exec(out);
    expect(leases, out.slice(-3000)).to.not.equal(null);
    const [highest, budget] = [leases![1], leases![2]].map((n) => BigInt(n.replace(/,/g, "")));
    expect(highest > 0n, "some stake was leased").to.equal(true);
    expect(highest <= budget, `${highest} ≤ ${budget}`).to.equal(true);
    expect(out).to.include(
      "✓ every restart took a lease, and the leased (offline) stake never exceeded the restart budget",
    );
    expect(out).to.match(/drill passed: \d+ expectations held · took [\d.]+s/);
    expect(out).not.to.include("✗");

    // Independently of the drill's own check: no chain, watcher or node process survives it.
    const workDir = /work directory (\S+)/.exec(out)![1];
    const chainPid = Number(/\(pid (\d+), network/.exec(out)![1]);
    expect(alive(chainPid), "the hardhat node").to.equal(false);
    expect(processesMentioning(workDir), "watchers and nodes").to.deep.equal([]);
    expect(readdirSync(deployments.path)).to.have.length(1);
  });

  it("runs the same rehearsal with the watchers in one process (--in-process), real attestations on chain", async function () {
    const run = await runDrill(["--validators", "24", "--in-process", "--fault", "crash"], {
      LOCKSTEP_DEPLOYMENTS_DIR: deployments.path,
    });
    const out = run.stdout;
    expect(run.code, `${out.slice(-3000)}\n${run.stderr}`).to.equal(0);
    expect(out).to.include("24 watcher runtimes in this process");
    expect(out).to.match(/rollout across 24 validators took [\d.]+s/);
    expect(out).to.include("✓ upgrade 1 completed");
    expect(out).to.include("✓ the coordinator paused the rollout by itself (unhealthy threshold) in the early stage");
    expect(out).to.include("✓ watchers restored the previous version and attested RolledBack for all activated stake");
    expect(out).to.match(/\d+ attestations for upgrade 1: Ready ×24, Healthy ×24/);
    expect(out).not.to.include("✗");
  });

  it("with --keep, leaves the chain up with a live dashboard, and Ctrl-C stops everything", async function () {
    const child = spawn(
      process.execPath,
      [
        "-r",
        "ts-node/register/transpile-only",
        join(ROOT, "scripts", "drill", "index.ts"),
        "--validators",
        "6",
        "--in-process",
        "--keep",
      ],
      {
        cwd: ROOT,
        env: { ...process.env, LOCKSTEP_DEPLOYMENTS_DIR: deployments.path },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let out = "";
    child.stdout!.on("data", (c) => (out += c));
    child.stderr!.on("data", (c) => (out += c));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      await waitFor(
        "the drill to hold",
        async () => {
          if (child.exitCode !== null) throw new Error(`the drill ended: ${out.slice(-2000)}`);
          return out.includes("Ctrl-C stops everything");
        },
        200_000,
        250,
      );
      const url = /dashboard\s+(http:\/\/\S+)/.exec(out)?.[1];
      expect(url, out.slice(-1500)).to.match(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(url!);
      expect(page.status).to.equal(200);
      expect(await page.text()).to.include("Lockstep");
      const config = (await (await fetch(`${url}config.json`)).json()) as {
        deployment: { network: string; contracts: { UpgradeCoordinator: string } };
      };
      // Hardhat's `localhost` network when the drill got the default port; its own `drill` network when something else
      // (another developer's node, say) holds that port.
      const chainUrl = /RPC URL\s+(\S+)/.exec(out)![1];
      expect(config.deployment.network).to.equal(chainUrl.endsWith(`:${DEFAULT_RPC_PORT}`) ? "localhost" : "drill");
      const call = async (method: string, params: unknown[] = []) => {
        const rpc = await fetch(`${url}rpc`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
        });
        return ((await rpc.json()) as { result: string }).result;
      };
      expect(Number(await call("eth_blockNumber"))).to.be.greaterThan(0);
      // The dashboard relays to the drill's own chain: the coordinator it names is deployed there.
      expect(await call("eth_getCode", [config.deployment.contracts.UpgradeCoordinator, "latest"])).to.not.equal("0x");
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).to.equal(0);
    expect(out).to.include("✓ nothing left running");
    const chainPid = Number(/\(pid (\d+), network/.exec(out)![1]);
    expect(alive(chainPid), "the hardhat node").to.equal(false);
    const rpcUrl = /RPC URL\s+(\S+)/.exec(out)![1];
    expect(processesMentioning(rpcUrl), "the dashboard server, started with the chain's RPC URL").to.deep.equal([]);
  });

  it("refuses bad options with a one-line error and exit code 2", async function () {
    const cases = [
      ["--fault", "explode"],
      ["--validators", "two"],
      ["--cohorts", "1,2"],
      ["--validators", "9", "--cohorts", "1,1,1"],
      ["--bogus"],
    ];
    // The first as a process (the exit code is the process's), the others through the same entry in this process.
    for (const [i, args] of cases.entries()) {
      const run = i === 0 ? await runDrill(args) : await drillInProcess(args);
      expect(run.code, args.join(" ")).to.equal(2);
      expect(run.stderr.trim().split("\n"), args.join(" ")).to.have.length(1);
      expect(run.stderr).to.match(/^drill: /);
      expect(run.stdout).to.equal("");
    }
  });

  it("prints its usage with --help", async function () {
    const run = await drillInProcess(["--help"]);
    expect(run.code).to.equal(0);
    expect(run.stdout)
      .to.include("--validators N")
      .and.include("--fault KIND")
      .and.include("--in-process")
      .and.include("--keep");
  });
});
