// The dashboard's validator pages and auditors' tools, in chromium at 1440x900 and 390x844: the validators list sorts
// by any column from the keyboard, each validator has a page (running version beside the target, never the target
// for one that only said Ready; health history; attestations in words; its restart lease; explorer links), the Audit
// view takes manifest files dropped anywhere and puts its verdict first, and its downloads read in words with the
// raw values in columns of their own. Every new view fits a phone and has no axe-core violation.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { keccak256, parseEther, toUtf8Bytes } from "ethers";
import type { Page } from "playwright-core";
import { Status } from "../../lib/coordinator";
import { DEFAULT_STAGE_RULES, toOnChain, type ManifestFile } from "../../lib/manifest";
import type { Deployment } from "../helpers/e2e";
import { SIZES, attestAs, checkView, DashboardBench } from "../helpers/dashboard";

const EXPLORER = "https://explorer.example";
const stake = (n: number) => parseEther(String(n));

const MANIFEST: ManifestFile = {
  name: "v2-pages",
  version: "v2.0.0",
  previousVersion: "v1.9.3",
  artifacts: [
    { platform: "linux-amd64", uri: "https://dl.example/node-v2.0.0", sha256: keccak256(toUtf8Bytes("bin")).slice(2) },
  ],
  featureFlags: [],
  metadataURI: "",
  stateIncompatible: false,
  stages: [2, 3].map((cohort) => ({ cohort, ...DEFAULT_STAGE_RULES, healthyBps: 8000, unhealthyBps: 3400 })),
};

describe("dashboard: validator pages and auditors' tools", function () {
  this.timeout(600_000);
  const bench = new DashboardBench("pages");
  const { v, pageErrors } = bench;
  let d: Deployment;
  let page: Page;
  let id: bigint;

  const attest = (who: string, stage: number, status: Status) => attestAs(d, v[who], id, stage, status, 7);
  const open = async (hash: string, view: string) => {
    await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
    await page.waitForFunction(`document.body.dataset.view === ${JSON.stringify(view)}`, undefined, {
      timeout: 10_000,
    });
  };
  const rowOrder = () =>
    page.locator('[data-testid="validator-row"]').evaluateAll((els) => els.map((e) => e.getAttribute("data-operator")));
  /** Drops files on an element as a user dragging them from the desktop would. */
  const drop = (selector: string, files: { name: string; text: string }[]) =>
    page.evaluate(`(() => {
      const dt = new DataTransfer();
      for (const f of ${JSON.stringify(files)}) dt.items.add(new File([f.text], f.name, { type: "application/json" }));
      const target = document.querySelector(${JSON.stringify(selector)});
      target.dispatchEvent(new DragEvent("dragover", { dataTransfer: dt, bubbles: true, cancelable: true }));
      target.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
    })()`);

  before(async function () {
    // The early cohort (2): a, b, c; the main cohort (3): m.
    ({ d } = await bench.open([
      ["a", 300, 2],
      ["b", 100, 2],
      ["c", 200, 2],
      ["m", 500, 3],
    ]));
    await (await d.coordinator.connect(d.timelockSigner).setRestartBudget(6000, 600)).wait();
    await (await d.coordinator.connect(d.timelockSigner).schedule(toOnChain(MANIFEST))).wait();
    id = await d.coordinator.upgradeCount();
    // m only says it is ready (and takes a restart lease): it runs nothing new yet.
    await attest("m", 1, Status.Ready);
    await (await d.coordinator.connect(v.m.attester).takeLease()).wait();
    await (await d.coordinator.advance(id)).wait();
    await attest("a", 0, Status.Healthy);
    await attest("c", 0, Status.Unhealthy);
    await attest("c", 0, Status.Healthy);

    await bench.serve({ args: ["--poll-ms", "250", "--explorer", EXPLORER] });
    ({ page } = await bench.openPage({
      hash: "#validators",
      acceptDownloads: true,
      liveWithinMs: 60_000,
    }));
  });

  after(() => bench.close());

  it("sorts the validators by any column, from the keyboard, with aria-sort on the column", async function () {
    await open("#validators", "validators");
    await page.waitForSelector('[data-testid="validator-row"]');
    const weight = page.locator('[data-testid="sort-weight"]');
    await weight.focus();
    await page.keyboard.press("Enter");
    await page.waitForFunction(`document.querySelector('[data-testid="sort-weight"]').closest("th").ariaSort`);
    expect(await page.locator("th:has([data-testid=sort-weight])").getAttribute("aria-sort")).to.equal("descending");
    expect(await rowOrder()).to.deep.equal([v.m, v.a, v.c, v.b].map((x) => x.operator.address));
    expect(await page.evaluate("document.activeElement?.dataset.testid"), "focus stays on the header").to.equal(
      "sort-weight",
    );
    await page.keyboard.press("Space");
    await page.waitForFunction(
      `document.querySelector('[data-testid="sort-weight"]').closest("th").getAttribute("aria-sort") === "ascending"`,
    );
    expect(await rowOrder()).to.deep.equal([v.b, v.c, v.a, v.m].map((x) => x.operator.address));
    // Only the sorted column carries aria-sort.
    expect(await page.locator("th[aria-sort]").count()).to.equal(1);
    await page.locator('[data-testid="sort-status"]').click();
    const statuses = await page
      .locator('[data-testid="validator-row"]')
      .evaluateAll((els) => els.map((e) => e.getAttribute("data-status")));
    expect(statuses).to.deep.equal(["Healthy", "Healthy", "Ready", "no attestation"]);
  });

  it("opens a validator's page from the list: running version beside the target, never the target when only Ready", async function () {
    await page
      .locator(`[data-testid="validator-row"][data-operator="${v.m.operator.address}"] [data-testid="validator-link"]`)
      .click();
    await page.waitForSelector('[data-testid="validator-page"]');
    expect(page.url()).to.match(new RegExp(`#validators/${v.m.operator.address}$`));
    const p = page.locator('[data-testid="validator-page"]');
    expect(await p.locator('[data-testid="version-running"]').getAttribute("data-version")).to.equal("");
    expect(await p.locator('[data-testid="version-running"]').innerText()).to.equal("not reported");
    expect(await p.innerText()).to.include("it said it is ready for v2.0.0");
    expect(await p.locator('[data-testid="version-target"]').getAttribute("data-version")).to.equal("v2.0.0");
    // Its restart lease, and explorer links for its addresses and registration.
    expect(await p.locator('[data-testid="validator-lease"]').getAttribute("data-held")).to.equal("true");
    expect(await p.locator('[data-testid="validator-lease"]').innerText()).to.include(
      "Holds a restart lease for 500 stake",
    );
    expect(await p.locator(`a[href="${EXPLORER}/address/${v.m.operator.address}"]`).count()).to.be.greaterThan(0);
    expect(await p.locator(`a[href="${EXPLORER}/address/${v.m.attester.address}"]`).count()).to.be.greaterThan(0);
    expect(await p.locator(`a[href^="${EXPLORER}/tx/0x"]`).count()).to.be.greaterThan(0);
    expect(await page.evaluate("document.activeElement?.tagName")).to.equal("H2");
  });

  it("shows a validator's health history and last attestations in words", async function () {
    await open(`#validators/${v.c.operator.address}`, "validators");
    await page.waitForSelector(`[data-testid="validator-page"][data-operator="${v.c.operator.address}"]`);
    const p = page.locator('[data-testid="validator-page"]');
    expect(await p.locator('[data-testid="version-running"]').getAttribute("data-version")).to.equal("v2.0.0");
    const strip = page.locator('[data-testid="health-timeline"] li');
    expect(await strip.evaluateAll((els) => els.map((e) => e.getAttribute("data-status")))).to.deep.equal([
      "Unhealthy",
      "Healthy",
    ]);
    const rows = page.locator('[data-testid="attestation-row"]');
    expect(await rows.count()).to.equal(2);
    expect(await rows.first().innerText())
      .to.include("Healthy")
      .and.include("runs the new version and reports itself healthy")
      .and.include("200");
    expect(await rows.nth(1).innerText()).to.include("runs the new version but reports itself unhealthy");
    expect(await page.locator(`[data-testid="attestation-row"] a[href^="${EXPLORER}/block/"]`).count()).to.equal(2);
  });

  it("says so when no validator has the address", async function () {
    await open(`#validators/0x${"12".repeat(20)}`, "validators");
    expect(await page.locator('[data-testid="validator-unknown"]').innerText()).to.include(
      "No validator is registered",
    );
  });

  it("links addresses in History to the validator's page and the explorer", async function () {
    await open("#history", "history");
    const attested = page.locator('[data-testid="event-row"][data-event="Attested"]').first();
    expect(await attested.locator('a[href^="#validators/0x"]').count()).to.equal(1);
    const registered = page.locator('[data-testid="event-row"][data-event="ValidatorRegistered"]').first();
    expect(await registered.locator(`a[href^="${EXPLORER}/address/0x"]`).count()).to.be.greaterThan(0);
  });

  it("takes manifest files dropped anywhere on the Audit view, and puts the verdict first", async function () {
    await open("#audit", "audit");
    await page.waitForSelector('[data-testid="audit-summary"]');
    const forged = { ...MANIFEST, artifacts: [{ ...MANIFEST.artifacts[0], sha256: "ab".repeat(32) }] };
    const other = { ...MANIFEST, name: "v9-elsewhere" };
    await drop("#view-audit .toolbar", [
      { name: "v2-pages.json", text: JSON.stringify(MANIFEST) },
      { name: "forged.json", text: JSON.stringify(forged) },
      { name: "other.json", text: JSON.stringify(other) },
      { name: "notes.json", text: "{ not json" },
    ]);
    await page.waitForSelector('[data-testid="manifest-verdicts"]');
    // The verdict is the first thing in the view's body.
    expect(await page.evaluate(`document.querySelector("#audit-body").firstElementChild?.dataset.testid`)).to.equal(
      "manifest-verdicts",
    );
    const verdicts = page.locator('[data-testid="manifest-verdict"]');
    expect(await verdicts.count()).to.equal(4);
    const good = page.locator('[data-testid="manifest-verdict"][data-path="v2-pages.json"]');
    expect(await good.getAttribute("data-match")).to.equal("true");
    expect(await good.getAttribute("data-upgrade")).to.equal(String(id));
    expect(await good.innerText()).to.include(`MATCHES the manifest voted for upgrade #${id} "v2-pages"`);
    const bad = page.locator('[data-testid="manifest-verdict"][data-path="forged.json"]');
    expect(await bad.getAttribute("data-match")).to.equal("false");
    expect(await bad.innerText()).to.include(`DOES NOT MATCH upgrade #${id} "v2-pages"`);
    expect(await page.locator('[data-testid="manifest-verdict"][data-path="other.json"]').innerText()).to.include(
      "MATCHES NO UPGRADE",
    );
    expect(await verdicts.nth(3).innerText())
      .to.include("NOT A MANIFEST")
      .and.include("notes.json");
    expect(await page.locator('[data-testid="manifest-verdicts"] h2').innerText()).to.equal(
      "3 of 4 manifest file(s) do not match an upgrade voted on chain",
    );
    expect(await page.locator('[data-testid="manifest-verdicts"]').getAttribute("data-ok")).to.equal("false");
    // Blocks and transactions link to the explorer.
    expect(await good.locator(`a[href^="${EXPLORER}/block/"]`).count()).to.equal(1);
    expect(await page.locator(`[data-testid="check-row"] a[href^="${EXPLORER}/block/"]`).count()).to.be.greaterThan(0);
  });

  it("downloads the audit in words, with the raw values in columns of their own", async function () {
    const [csvFile] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="report-csv"]')]);
    const csv = readFileSync((await csvFile.path())!, "utf8")
      .trimEnd()
      .split("\n");
    expect(csv[0]).to.equal("section,upgradeId,name,block,time,tx,what,result,detail,rawWhat,rawResult,rawDetail");
    const stageRow = csv.find((l) => l.startsWith("stage,"))!;
    expect(stageRow).to.include("stage 1 (early cohort)").and.include("cohort 600 stake");
    expect(stageRow, "the raw column keeps wei").to.include(stake(600).toString());
    const cRow = csv.find((l) => l.startsWith("validator,") && l.includes(v.c.operator.address))!;
    expect(cRow).to.include("Healthy: runs the new version and reports itself healthy").and.include("200 stake");
    // Words never carry a wei amount: the first nine columns have no figure of 16 digits or more.
    for (const line of csv.slice(1)) {
      const words = line.split(",").slice(0, 9).join(",");
      expect(words, line).to.not.match(/(?<![0-9a-fA-Fx])\d{16,}(?![0-9a-fA-F])/);
    }
    const [md] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="report-md"]')]);
    const text = readFileSync((await md.path())!, "utf8");
    // The dropped manifests are checked with the audit: two of them fail it (the third is no manifest).
    expect(text).to.include("2 check(s) FAILED").and.include("600 stake").and.include(`${EXPLORER}/tx/0x`);
    const [json] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="report-json"]')]);
    const parsed = JSON.parse(readFileSync((await json.path())!, "utf8"));
    expect(parsed.ok).to.equal(false);
    expect(parsed.readable.length).to.be.greaterThan(5);
  });

  for (const viewport of Object.values(SIZES)) {
    it(`fits the new views at ${viewport.width}x${viewport.height}, with no axe violation, and keeps screenshots`, async function () {
      await page.setViewportSize(viewport);
      for (const [hash, view, name] of [
        ["#validators", "validators", "validators-sorted"],
        [`#validators/${v.m.operator.address}`, "validators", "validator-page"],
        ["#audit", "audit", "audit-verdict"],
      ] as const) {
        await open(hash, view);
        await page.waitForTimeout(300);
        await checkView(page, name, viewport, `pages-${name}`);
      }
      expect(pageErrors).to.deep.equal([]);
    });
  }
});
