// The dashboard in a real browser (Debian's chromium driven by playwright-core) against a Hardhat node with the
// system deployed and an upgrade in flight: tallies, live updates, validators, history, CSV, RPC outage.
import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Wallet, ZeroHash, keccak256, parseEther, toUtf8Bytes } from "ethers";
import { chromium, type Browser, type Page } from "playwright-core";
import { Status } from "../../lib/coordinator";
import { writeDeployment } from "../../lib/deployments";
import { deploymentRecord } from "../../lib/deploy";
import { stageRules } from "../../lib/manifest";
import { versionTag } from "../../lib/version";
import { Chain, Deployment, ROOT, deployOn, freePort, rpcProxy, startChain, stopProcess, tempDir, waitFor } from "../helpers/e2e";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const ARTIFACTS = join(ROOT, "test-artifacts");
const EXPLORER = "https://explorer.example";
const stake = (n: number) => parseEther(String(n));
// Code that runs in the page is written as strings or typed by hand: the project's TypeScript has no DOM library.
type Dataset = { dataset: Record<string, string> };

interface Validator {
  name: string;
  operator: Wallet;
  attester: Wallet;
}

describe("dashboard in a browser", function () {
  this.timeout(120_000);
  let chain: Chain;
  let d: Deployment;
  let dir: ReturnType<typeof tempDir>;
  let proxy: Awaited<ReturnType<typeof rpcProxy>>;
  let server: ChildProcess | undefined;
  let browser: Browser | undefined;
  let page: Page;
  let id: bigint;
  const v: Record<string, Validator> = {};
  const pageErrors: string[] = [];

  /** Waits for the page's state (body[data-state]); on timeout, says what the page showed instead. */
  const waitState = async (state: string) => {
    try {
      await page.waitForFunction(`document.body.dataset.state === ${JSON.stringify(state)}`, undefined, { timeout: 15_000 });
    } catch (e) {
      const shown = await page.evaluate('`${document.body.dataset.state}: ${document.getElementById("banner").textContent}`');
      throw new Error(`the page never reached "${state}" (it shows ${shown}; errors: ${[...new Set(pageErrors)].slice(0, 5).join(" | ") || "none"})`);
    }
  };
  const txs: Record<string, string> = {};

  const attest = async (who: string, stage: number, status: Status) => {
    const r = await (await d.coordinator.connect(v[who].attester).attest(v[who].operator.address, id, stage, status, versionTag("v2.0.0"), 42, ZeroHash)).wait();
    txs[`${who}:${Status[status]}`] = r!.hash;
  };

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`no browser at ${CHROMIUM}: the dashboard's browser tests drive Debian's chromium; install it with \`apt-get install -y chromium\``);
    }
    const build = spawnSync(join(ROOT, "node_modules", ".bin", "vite"), ["build", "web", "--config", "web/vite.config.ts"], { cwd: ROOT, encoding: "utf8" });
    if (build.status !== 0) throw new Error(`vite build failed:\n${build.stdout}\n${build.stderr}`);

    dir = tempDir("lockstep-web-");
    chain = await startChain();
    d = await deployOn(chain);

    // Cohort 1: three validators (100 + 200 + 100); cohort 3 (the default): one of 500.
    for (const [name, amount, cohort] of [["a", 100, 1], ["b", 200, 1], ["c", 100, 1], ["m", 500, 3]] as const) {
      const operator = new Wallet(keccak256(toUtf8Bytes(`web:${name}:operator`)), chain.provider);
      const attester = new Wallet(keccak256(toUtf8Bytes(`web:${name}:attester`)), chain.provider);
      for (const w of [operator, attester]) await chain.provider.send("hardhat_setBalance", [w.address, "0x56BC75E2D63100000"]);
      await (await d.token.connect(d.deployer).transfer(operator.address, stake(amount))).wait();
      await (await d.token.connect(operator).delegate(operator.address)).wait();
      await (await d.coordinator.connect(operator).register(attester.address, `ipfs://web/${name}`)).wait();
      if (cohort !== 3) await (await d.coordinator.connect(d.timelockSigner).setCohort(operator.address, cohort)).wait();
      v[name] = { name, operator, attester };
    }
    const manifest = {
      name: "v2-web",
      version: "v2.0.0",
      previousVersion: "v1.9.3",
      artifacts: [{ platform: "linux-amd64", uri: "https://dl.example/node-v2.0.0", sha256Digest: keccak256(toUtf8Bytes("binary")) }],
      featureFlags: ["fast-sync"],
      metadataURI: "",
      manifestHash: keccak256(toUtf8Bytes("web manifest")),
      stateIncompatible: false,
      stages: [
        stageRules(1, { observationWindow: 600, healthyBps: 5000, unhealthyBps: 6000 }),
        stageRules(3, { observationWindow: 600, healthyBps: 5000, unhealthyBps: 6000 }),
      ],
    };
    txs.schedule = (await (await d.coordinator.connect(d.timelockSigner).schedule(manifest)).wait())!.hash;
    id = await d.coordinator.upgradeCount();
    txs.advance = (await (await d.coordinator.advance(id)).wait())!.hash;
    await attest("a", 0, Status.Healthy);
    await attest("b", 0, Status.Unhealthy);

    writeDeployment(
      await deploymentRecord(d, { network: "webtest", chainId: 31337, startBlock: d.startBlock, guardian: d.guardian.address }),
      dir.path,
    );

    proxy = await rpcProxy(chain.url);
    const port = await freePort();
    server = spawn(
      process.execPath,
      ["-r", "ts-node/register/transpile-only", "web/serve.ts", "--network", "webtest", "--rpc", proxy.url, "--port", String(port), "--explorer", EXPLORER, "--poll-ms", "250"],
      { cwd: ROOT, env: { ...process.env, LOCKSTEP_DEPLOYMENTS_DIR: dir.path }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let output = "";
    server.stdout!.on("data", (c) => (output += c));
    server.stderr!.on("data", (c) => (output += c));
    await waitFor("the dashboard server", async () => {
      if (server!.exitCode !== null) throw new Error(`the dashboard server exited: ${output}`);
      return output.includes("dashboard http://");
    });

    mkdirSync(ARTIFACTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && pageErrors.push(m.text()));
    const opened = Date.now();
    await page.goto(`http://127.0.0.1:${port}/`);
    await waitState("live");
    expect(Date.now() - opened, "time to a live page").to.be.below(2_000);
  });

  after(async function () {
    await browser?.close();
    if (server) await stopProcess(server);
    await proxy?.stop();
    await chain?.stop();
    dir?.cleanup();
  });

  const tally = (stage: number) =>
    page.locator(`[data-testid="tally-${id}-${stage}"]`).evaluate((el) => ({ ...(el as unknown as Dataset).dataset }));

  it("shows the upgrade's manifest and its stake-weighted tallies against the stage's thresholds", async function () {
    const card = page.locator(`[data-testid="upgrade-${id}"]`);
    await expect(await card.getAttribute("data-state")).to.equal("Rolling");
    const text = await card.innerText();
    for (const s of ["v2-web", "v2.0.0", "v1.9.3", keccak256(toUtf8Bytes("web manifest")), keccak256(toUtf8Bytes("binary")), "linux-amd64", "fast-sync"]) {
      expect(text).to.include(s);
    }
    expect(await tally(0)).to.include({
      healthy: stake(100).toString(),
      unhealthy: stake(200).toString(),
      missing: stake(100).toString(),
      cohortStake: stake(400).toString(),
      healthyNeeded: stake(200).toString(),
      unhealthyLimit: stake(240).toString(),
    });
    const stage0 = await page.locator(`[data-testid="stage-${id}-0"]`).innerText();
    expect(stage0).to.include("healthy 100 / 200 needed (50%)").and.include("unhealthy 200 / pause at 240 (60%)").and.include("missing 100");
    expect(await tally(1)).to.include({ healthy: "0", unhealthy: "0", missing: stake(500).toString() });
    // The timeline: stage 0 is active and in its observation window; stage 1 waits.
    expect(await page.locator(`[data-testid="stage-${id}-0"] li.done`).allInnerTexts()).to.have.length(3);
    expect(await page.locator(`[data-testid="stage-${id}-0"] li.now`).innerText()).to.include("observation window");
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-upgrades.png"), fullPage: true });
  });

  it("updates the tallies as new attestations land, without a reload", async function () {
    await page.evaluate("window.reloadMarker = 1");
    await attest("c", 0, Status.Healthy);
    await page.waitForFunction(`document.querySelector('[data-testid="tally-${id}-0"]')?.dataset.healthy === "${stake(200)}"`, undefined, { timeout: 10_000 });
    expect(await tally(0)).to.include({ missing: "0", unhealthy: stake(200).toString() });
    expect(await page.evaluate("window.reloadMarker"), "the page was not reloaded").to.equal(1);
  });

  it("lists validators with cohort, stake weight and last attestation, filtered by cohort", async function () {
    await page.click('nav a[data-view="validators"]');
    const rows = page.locator('[data-testid="validator-row"]');
    expect(await rows.count()).to.equal(4);
    const b = page.locator(`[data-testid="validator-row"][data-operator="${v.b.operator.address}"]`);
    expect(await b.getAttribute("data-weight")).to.equal(stake(200).toString());
    expect(await b.getAttribute("data-status")).to.equal("Unhealthy");
    expect(await b.innerText()).to.include("v2.0.0").and.include("42");
    await page.selectOption('[data-testid="filter-cohort"]', "1");
    expect(await rows.count()).to.equal(3);
    expect(await rows.evaluateAll((els) => els.map((e) => (e as unknown as Dataset).dataset.cohort))).to.deep.equal(["1", "1", "1"]);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-validators.png"), fullPage: true });
    await page.selectOption('[data-testid="filter-cohort"]', "3");
    expect(await rows.count()).to.equal(1);
    expect(await rows.first().getAttribute("data-status")).to.equal("no attestation");
  });

  it("lists every coordinator event newest first, each linked to its transaction, and exports them as CSV", async function () {
    await page.click('nav a[data-view="history"]');
    const logs = await chain.provider.getLogs({ address: await d.coordinator.getAddress(), fromBlock: d.startBlock });
    const rows = page.locator('[data-testid="event-row"]');
    expect(await rows.count()).to.equal(logs.length);
    const shown = await rows.evaluateAll((els) => els.map((e) => ({ event: (e as unknown as Dataset).dataset.event, tx: (e as unknown as Dataset).dataset.tx })));
    expect(shown[0]).to.deep.equal({ event: "Attested", tx: txs["c:Healthy"] });
    expect(shown).to.deep.include({ event: "UpgradeScheduled", tx: txs.schedule });
    expect(shown).to.deep.include({ event: "StageActivated", tx: txs.advance });
    expect(shown).to.deep.include({ event: "Attested", tx: txs["b:Unhealthy"] });
    expect(shown.filter((r) => r.event === "ValidatorRegistered")).to.have.length(4);
    expect(await page.locator(`a[href="${EXPLORER}/tx/${txs.schedule}"]`).count()).to.be.greaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-history.png"), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="export-csv"]')]);
    const csv = readFileSync((await download.path())!, "utf8").trim().split("\n");
    expect(csv[0]).to.equal("block,time,logIndex,event,upgradeId,details,transactionHash");
    expect(csv).to.have.length(logs.length + 1);
    expect(csv.some((l) => l.includes("UpgradeScheduled") && l.endsWith(txs.schedule))).to.equal(true);
  });

  it("says so when the RPC is unreachable, keeps what it knew, and recovers", async function () {
    await page.click('nav a[data-view="upgrades"]');
    proxy.down = true;
    await waitState("rpc-unreachable");
    const banner = page.locator('[data-testid="banner"]');
    expect(await banner.isVisible()).to.equal(true);
    expect(await banner.innerText()).to.include("RPC unreachable").and.include(proxy.url);
    expect(await tally(0)).to.include({ healthy: stake(200).toString() });
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-rpc-unreachable.png"), fullPage: true });
    proxy.down = false;
    await waitState("live");
    expect(await banner.isVisible()).to.equal(false);
  });
});
