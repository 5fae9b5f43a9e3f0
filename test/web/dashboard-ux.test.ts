// The dashboard as a stakeholder, a guardian and an auditor read it, in chromium at 1440x900 and 390x844: the
// figures the review found wrong now read right, the incident bar comes within one poll of an automatic pause,
// every view fits a phone, axe-core finds nothing in any view or dialog, and a screenshot of each view at both
// sizes goes to test-artifacts/.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { keccak256, parseEther, toUtf8Bytes } from "ethers";
import type { Page } from "playwright-core";
import { Status } from "../../lib/coordinator";
import { stageRules } from "../../lib/manifest";
import { Chain, Deployment } from "../helpers/e2e";
import {
  HEADLESS,
  SIZES,
  attestAs,
  checkDialogOnPhone,
  checkView,
  testManifest,
  DashboardBench,
} from "../helpers/dashboard";

const VIEWS = ["upgrades", "validators", "proposals", "history", "audit"] as const;
const POLL_MS = 250;
const stake = (n: number) => parseEther(String(n));

describe("dashboard for people: figures, incidents, phones and accessibility", function () {
  this.timeout(600_000);
  const bench = new DashboardBench("ux");
  const { v, pageErrors } = bench;
  let chain: Chain;
  let d: Deployment;
  let page: Page;
  let id: bigint;

  const attest = (who: string, stage: number, status: Status) => attestAs(d, v[who], id, stage, status, 7);

  const goto = async (view: string) => {
    if (await page.locator("#nav-toggle").isVisible()) await page.click("#nav-toggle");
    await page.click(`nav a[data-view="${view}"]`);
    await page.waitForFunction(`document.body.dataset.view === ${JSON.stringify(view)}`, undefined, {
      timeout: 10_000,
    });
  };
  const waitBlock = async () => {
    const n = await chain.provider.getBlockNumber();
    await page.waitForFunction(`Number(document.getElementById("chain").dataset.block) >= ${n}`, undefined, {
      timeout: 15_000,
    });
  };

  before(async function () {
    // The early cohort (2): three validators; the main cohort (3): one.
    ({ chain, d } = await bench.open([
      ["a", 100, 2],
      ["b", 200, 2],
      ["c", 100, 2],
      ["m", 500, 3],
    ]));
    const manifest = testManifest(
      "v2-ux",
      [
        stageRules(2, { observationWindow: 1800, healthyBps: 8000, unhealthyBps: 3400 }),
        stageRules(3, { observationWindow: 1800, healthyBps: 8000, unhealthyBps: 3400 }),
      ],
      { binary: "b", hashOf: "ux manifest" },
    );
    // A restart budget of 60% of the registered stake (900): 540.
    await (await d.coordinator.connect(d.timelockSigner).setRestartBudget(6000, 600)).wait();
    await (await d.coordinator.connect(d.timelockSigner).schedule(manifest)).wait();
    id = await d.coordinator.upgradeCount();
    // The main cohort's validator says it is ready before its stage: it runs nothing new yet. Its watcher takes a
    // restart lease.
    await attest("m", 1, Status.Ready);
    await (await d.coordinator.connect(v.m.attester).takeLease()).wait();
    await (await d.coordinator.advance(id)).wait();
    await attest("a", 0, Status.Healthy);
    // A proposal whose description is Markdown with markup and a script link in it.
    await (await d.token.connect(d.deployer).delegate(await d.deployer.getAddress())).wait();
    await (
      await d.governor
        .connect(d.deployer)
        .propose(
          [await d.coordinator.getAddress()],
          [0n],
          [d.coordinator.interface.encodeFunctionData("setDefaultCohort", [2])],
          '# Move new validators to the early cohort\n\nThe **main** cohort is full.\n\n- one\n- two\n\n<img src=x onerror="window.__xss=1"> [click](javascript:window.__xss=2)',
        )
    ).wait();

    await bench.serve({
      args: ["--poll-ms", String(POLL_MS)],
      chromium: [...HEADLESS, "--autoplay-policy=no-user-gesture-required"],
    });
    ({ page } = await bench.openPage({
      permissions: ["notifications"],
      wallet: {
        rpcUrl: chain.url,
        account: d.guardian.address,
        chainId: 31337,
        knownChains: [31337],
        nodeChain: 31337,
      },
    }));
  });

  after(() => bench.close());

  it("says where the upgrade is and what its manifest means, in words", async function () {
    const card = page.locator(`[data-testid="upgrade-${id}"]`);
    expect(await card.locator('[data-testid="step-indicator"]').innerText()).to.equal("stage 1 of 2 · early");
    const summary = await card.locator('[data-testid="manifest-summary"]').innerText();
    expect(summary)
      .to.include("from v1.9.3 to v2.0.0")
      .and.include("watched for 30 min")
      .and.include("needs 80% of the early cohort's stake healthy; pauses at 34% unhealthy");
    // The digests are under "technical details", closed until asked for.
    expect(await card.locator('[data-testid="manifest-hash"]').isVisible()).to.equal(false);
    await card.locator('[data-testid="technical-details"] summary').click();
    expect(await card.locator('[data-testid="manifest-hash"]').innerText()).to.equal(
      keccak256(toUtf8Bytes("ux manifest")),
    );
    // The tally bar carries its thresholds as ticks; the chart of stake over time is drawn.
    expect(await card.locator(`[data-testid="tally-${id}-0"] .tick`).count()).to.equal(2);
    await page.waitForSelector(`[data-testid="chart-${id}-0"] canvas`, { timeout: 10_000 });
    // The leases panel: the budget, the stake in use and who holds a lease.
    const leases = card.locator(`[data-testid="leases-${id}"]`);
    expect(await leases.getAttribute("data-budget")).to.equal(stake(540).toString());
    expect(await leases.innerText()).to.include("500 of 540 stake in use (92.59%)");
    expect(await leases.locator('[data-testid="lease-holder"]').getAttribute("data-attester")).to.equal(
      v.m.attester.address,
    );
  });

  it("shows the version a validator reported running, not the one it is only ready for", async function () {
    await goto("validators");
    const m = page.locator(`[data-testid="validator-row"][data-operator="${v.m.operator.address}"]`);
    const cell = m.locator('[data-testid="version-reported"]');
    expect(await cell.getAttribute("data-version")).to.equal("");
    expect(await cell.innerText()).to.equal("not yet: ready for v2.0.0");
    const a = page.locator(`[data-testid="validator-row"][data-operator="${v.a.operator.address}"]`);
    expect(await a.locator('[data-testid="version-reported"]').getAttribute("data-version")).to.equal("v2.0.0");
    expect(await a.innerText()).to.include("✓ Healthy");
    await goto("upgrades");
  });

  it("renders a proposal's Markdown description, sanitised", async function () {
    await goto("proposals");
    const description = page.locator('[data-testid="description"]').first();
    await page.locator('[data-testid="proposal"] details summary').first().click();
    expect(await description.locator("strong").first().innerText()).to.equal("Move new validators to the early cohort");
    expect(await description.locator("li").count()).to.equal(2);
    expect(await description.innerText()).to.include('<img src=x onerror="window.__xss=1">');
    expect(await description.locator("img").count()).to.equal(0);
    expect(await description.locator('a[href^="javascript"]').count()).to.equal(0);
    expect(await page.evaluate("window.__xss")).to.equal(undefined);
  });

  it("focuses the account button after connecting, not the page's body", async function () {
    await page.locator('[data-testid="account"] [data-action="connect"]').click();
    await page.waitForFunction(`document.querySelector('[data-testid="wallet-button"]').dataset.state === "ready"`);
    expect(await page.evaluate("document.activeElement && document.activeElement.id")).to.equal("wallet-button");
  });

  it("opts in to notifications and a sound, remembered by the browser", async function () {
    await page.check('[data-testid="alert-notify"]');
    await page.check('[data-testid="alert-sound"]');
    await page.reload();
    await page.waitForFunction(`document.body.dataset.state === "live"`, undefined, { timeout: 30_000 });
    expect(await page.isChecked('[data-testid="alert-notify"]')).to.equal(true);
    expect(await page.isChecked('[data-testid="alert-sound"]')).to.equal(true);
    expect(await page.title()).to.equal("Lockstep dashboard");
  });

  it("clears a success line, and shows the incident within one poll of an automatic pause", async function () {
    await goto("proposals");
    await page.waitForFunction(`document.querySelector('[data-testid="account"]')?.dataset.state === "ready"`);
    await page.locator('[data-testid="account"] [data-action="delegate-self"]').click();
    await page.waitForFunction(`document.getElementById("tx-status").dataset.state === "confirmed"`, undefined, {
      timeout: 20_000,
    });
    await goto("upgrades");
    // b's FailedToUpgrade takes the unhealthy stake to 50% of the early cohort's: the upgrade pauses itself.
    await attest("b", 0, Status.FailedToUpgrade);
    expect((await d.coordinator.getUpgrade(id)).state).to.equal(3n);
    const pausedAtRefresh = Number(await page.evaluate("document.body.dataset.refreshes"));
    await page.waitForSelector('[data-testid="incident-page"]', { timeout: 15_000 });
    const shownAt = Number(await page.evaluate("document.body.dataset.incidentShownAt"));
    expect(shownAt, "shown by the refresh after the pause at the latest").to.be.at.most(pausedAtRefresh + 2);
    const headline = () => page.locator('[data-testid="incident-page"] [data-testid="incident-headline"]').innerText();
    expect(await headline()).to.equal(`#${id} PAUSED — early cohort: 1 of 3 FailedToUpgrade, 200 stake (50% ≥ 34%)`);
    expect(await page.locator('[data-testid="tx-status"]').isHidden(), "no stale success line").to.equal(true);
    await page.waitForFunction(`document.body.dataset.notified === "1"`, undefined, { timeout: 5_000 });
    expect(await page.evaluate("document.body.dataset.sounded")).to.equal("1");

    // The rest of the cohort fails too: the bar follows.
    await attest("c", 0, Status.FailedToUpgrade);
    await attest("a", 0, Status.FailedToUpgrade);
    await waitBlock();
    const all = `#${id} PAUSED — early cohort: 3 of 3 FailedToUpgrade, 400 stake (100% ≥ 34%)`;
    expect(await headline()).to.equal(all);
    expect(await page.locator('[data-testid="incident-card"] [data-testid="incident-headline"]').innerText()).to.equal(
      all,
    );
    const failing = page.locator('[data-testid="incident-page"] [data-testid="failing-validator"]');
    expect(await failing.count()).to.equal(3);
    expect(await failing.first().innerText())
      .to.include("FailedToUpgrade")
      .and.include("could not start the new version");
    expect(await page.locator('[data-testid="incident-page"] [data-action="rollback"]').count()).to.equal(1);
    expect(await page.title()).to.match(new RegExp(`^⚠ #${id} PAUSED`));
    expect(await page.locator('link[rel="icon"]').getAttribute("data-state")).to.equal("incident");
  });

  it("freezes a paused stage's timeline: its window never turns green", async function () {
    const window0 = page.locator(`[data-testid="stage-${id}-0"] ol.timeline li`).nth(3);
    expect(await window0.getAttribute("class")).to.equal("stopped");
    const before = await window0.innerText();
    expect(before).to.include("left when paused");
    await chain.provider.send("evm_increaseTime", [3_600]);
    await chain.provider.send("hardhat_mine", ["0x1"]);
    await waitBlock();
    expect(await window0.getAttribute("class")).to.equal("stopped");
    expect(await window0.innerText(), "the countdown stopped at the pause").to.equal(before);
  });

  it("shows the rollback's own direction in the guardian's dialog, which is labelled and fits a phone", async function () {
    await page.locator('[data-testid="incident-page"] [data-action="rollback"]').click();
    expect(await page.locator('[data-testid="rollback-direction"]').innerText()).to.equal("v2.0.0 → v1.9.3");
    expect(await page.locator("#dialog").getAttribute("aria-labelledby")).to.equal("dialog-title");
    expect(await page.evaluate("document.activeElement?.dataset.testid")).to.equal("dialog-confirm-text");
    await checkDialogOnPhone(page, "the rollback dialog", "ux-rollback-dialog");
    await page.click('[data-testid="dialog-cancel"]');
    expect(await page.locator("#dialog").isVisible()).to.equal(false);
  });

  it("formats History and its CSV (keeping a raw column), and the table fits at 1440 px", async function () {
    await goto("history");
    const text = await page.locator("#history-table").innerText();
    expect(text).to.not.match(/\d{16,}/);
    expect(text).to.include("paused automatically");
    const [download] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="export-csv"]')]);
    const csv = readFileSync((await download.path())!, "utf8");
    expect(csv.split("\n")[0]).to.equal("block,time,logIndex,event,upgradeId,details,raw,transactionHash");
    expect(csv).to.include("reason=2").and.include(stake(200).toString()).and.include("200 stake");
    const fits = await page.evaluate(
      "(() => { const w = document.querySelector('#history-table .table-wrap'); return w.scrollWidth <= w.clientWidth; })()",
    );
    expect(fits, "the History table fits its container at 1440 px").to.equal(true);
    // Filters: by event, and a search that finds a full address in the raw arguments.
    const rows = page.locator('[data-testid="event-row"]');
    const total = await rows.count();
    await page.selectOption('[data-testid="filter-event"]', "UpgradePaused");
    expect(await rows.count()).to.equal(1);
    await page.selectOption('[data-testid="filter-event"]', "all");
    await page.fill('[data-testid="filter-text"]', v.b.operator.address);
    const found = await rows.count();
    expect(found).to.be.greaterThan(0).and.lessThan(total);
    await page.fill('[data-testid="filter-text"]', "");
    expect(await rows.count()).to.equal(total);
  });

  it("marks PASS and FAIL with a colour and a sign", async function () {
    await goto("audit");
    const pass = page.locator('[data-testid="check-row"][data-ok="true"] td').first();
    expect(await pass.innerText()).to.equal("✓ PASS");
    expect(
      await page.evaluate(
        `getComputedStyle(document.querySelector('[data-testid="check-row"][data-ok="true"] td')).color`,
      ),
    ).to.equal("rgb(20, 83, 45)");
  });

  for (const viewport of Object.values(SIZES)) {
    it(`fits every view at ${viewport.width}x${viewport.height}, with no axe violation, and keeps a screenshot`, async function () {
      await page.setViewportSize(viewport);
      for (const view of VIEWS) {
        await goto(view);
        await waitBlock();
        await checkView(page, view, viewport, `ux-${view}`);
      }
      const wallet = (await page.locator('[data-testid="wallet-button"]').boundingBox())!;
      expect(wallet.x + wallet.width, "the wallet button is on screen").to.be.at.most(viewport.width);
      expect(pageErrors).to.deep.equal([]);
    });
  }
});
