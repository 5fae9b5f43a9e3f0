// The Proposals view in chromium: a proposal's own page (lifecycle timeline with dates and transactions, the tally
// with quorum, large For / Against / Abstain buttons disabled with the reason in words, the Markdown description),
// proposing an upgrade from a dropped or picked manifest file, and Safe Transaction Builder batches downloaded
// wherever the connected account is not the one that must sign. At 1440x900 and 390x844: nothing wider than the
// screen, dialogs fit, axe-core finds nothing; screenshots go to test-artifacts/.
import { expect } from "chai";
import { parseEther } from "ethers";
import type { Page } from "playwright-core";
import { getAddress, type Abi, type Address } from "viem";
import { lockstepGovernorAbi, upgradeCoordinatorAbi } from "../../lib/abi/generated";
import { descriptionHash } from "../../lib/governance";
import { stageRules } from "../../lib/manifest";
import { batchInWords, readSafeBatch, type SafeBatchFile } from "../../lib/safeBatch";
import { Chain, Deployment } from "../helpers/e2e";
import type { TestWallet } from "../helpers/browser-wallet";
import { SIZES, checkDialogOnPhone, checkView, testManifest, DashboardBench } from "../helpers/dashboard";

const EXPLORER = "https://explorer.example";
const stake = (n: number) => parseEther(String(n));
const VOTER_STAKE = stake(50_000_000);

/** A manifest file as `upgrade:propose` reads it. */
const manifestFile = (name: string, over: Record<string, unknown> = {}) =>
  JSON.stringify({
    name,
    version: "v3.0.0",
    previousVersion: "v2.0.0",
    artifacts: [{ platform: "linux-amd64", uri: "https://dl.example/node-v3.0.0", sha256: "ab".repeat(32) }],
    stages: [
      { label: "canary", ...stageRules(1, { observationWindow: 1800, healthyBps: 8000, unhealthyBps: 3400 }) },
      { ...stageRules(3, { observationWindow: 3600 }) },
    ],
    ...over,
  });

describe("proposals in a browser: the proposal page, proposing from a manifest, Safe batches", function () {
  this.timeout(600_000);
  const bench = new DashboardBench("prop");
  const { pageErrors } = bench;
  let chain: Chain;
  let d: Deployment;
  let page: Page;
  let wallet: TestWallet;
  let voter: string;
  let holder: string;
  let upgradeId: bigint;
  let proposalId: bigint;
  let known: Parameters<typeof batchInWords>[1];
  const proposal = {
    targets: [] as string[],
    values: [0n],
    calldatas: [] as string[],
    description:
      '# Move new validators to the early cohort\n\nThe **main** cohort is full.\n\n- one\n- two\n\n<img src=x onerror="window.__xss=1">',
  };

  const sent = () => wallet.requests.filter((m) => m === "eth_sendTransaction").length;
  const mine = (n: number) => chain.provider.send("hardhat_mine", [`0x${n.toString(16)}`]);
  const waitBlock = async () => {
    const n = await chain.provider.getBlockNumber();
    await page.waitForFunction(`Number(document.getElementById("chain").dataset.block) >= ${n}`, undefined, {
      timeout: 15_000,
    });
  };
  const txStatus = async (state: string) => {
    await page.waitForFunction(
      `document.getElementById("tx-status").dataset.state === ${JSON.stringify(state)}`,
      undefined,
      { timeout: 30_000 },
    );
    return page.locator('[data-testid="tx-status"]').innerText();
  };
  /** Clicks `selector`, takes the file the page downloads, and reads it as the tasks read a batch file. */
  const downloadBatch = async (selector: string): Promise<SafeBatchFile> => {
    const [download] = await Promise.all([page.waitForEvent("download"), page.click(selector)]);
    expect(download.suggestedFilename()).to.match(/\.safe-batch\.json$/);
    return readSafeBatch((await download.path())!);
  };
  /**
   * Opens proposal `id`'s page once it is drawn from its own reads: the first drawing can come from the list's
   * snapshot, which has no block times yet (the step "created" names its transaction before its block and date).
   */
  const openProposal = async (id: bigint) => {
    await page.evaluate(`location.hash = "#proposals/${id}"`);
    await page.waitForSelector(`[data-testid="proposal-timeline"]`, { timeout: 15_000 });
    await page.waitForFunction(
      `/block \\d+ · /.test(document.querySelector('[data-testid="timeline-created"]')?.textContent ?? "")`,
      undefined,
      { timeout: 15_000 },
    );
  };
  const step = (key: string) => page.locator(`[data-testid="timeline-${key}"]`);

  before(async function () {
    // Cohort 1 (canary): one validator; cohort 3 (the default): one.
    ({ chain, d } = await bench.open([
      ["c", 100, 1],
      ["m", 500, 3],
    ]));
    const manifest = testManifest("v2-prop", [stageRules(1), stageRules(3)], { binary: "b", hashOf: "prop manifest" });
    await (await d.coordinator.connect(d.timelockSigner).schedule(manifest)).wait();
    upgradeId = await d.coordinator.upgradeCount();
    await (await d.coordinator.advance(upgradeId)).wait();

    // The wallet's account votes with 50M delegated to itself; another holder never delegated.
    voter = (await chain.provider.getSigner(5)).address;
    holder = (await chain.provider.getSigner(6)).address;
    await (await d.token.connect(d.deployer).transfer(voter, VOTER_STAKE)).wait();
    await (await d.token.connect(d.deployer).transfer(holder, stake(1_000_000))).wait();
    await (await d.token.connect(await chain.provider.getSigner(5)).delegate(voter)).wait();
    proposal.targets = [await d.coordinator.getAddress()];
    proposal.calldatas = [d.coordinator.interface.encodeFunctionData("setDefaultCohort", [2])];
    await (
      await d.governor
        .connect(d.deployer)
        .propose(proposal.targets, proposal.values, proposal.calldatas, proposal.description)
    ).wait();
    proposalId = await d.governor.hashProposal(
      proposal.targets,
      proposal.values,
      proposal.calldatas,
      descriptionHash(proposal.description),
    );
    known = {
      UpgradeCoordinator: { address: proposal.targets[0] as Address, abi: upgradeCoordinatorAbi as Abi },
      LockstepGovernor: { address: (await d.governor.getAddress()) as Address, abi: lockstepGovernorAbi as Abi },
    };

    await bench.serve({ args: ["--explorer", EXPLORER, "--poll-ms", "250"] });
    const opened = await bench.openPage({
      acceptDownloads: true,
      wallet: { rpcUrl: chain.url, account: voter, chainId: 31337, knownChains: [31337], nodeChain: 31337 },
    });
    page = opened.page;
    wallet = opened.wallet!;
  });

  after(() => bench.close());

  describe("a proposal's page", function () {
    it("shows the lifecycle with dates and transactions, the tally with quorum, and the description", async function () {
      await openProposal(proposalId);
      const article = page.locator('[data-testid="proposal"]');
      expect(await article.getAttribute("data-state")).to.equal("Pending");
      expect(await step("created").getAttribute("data-state")).to.equal("done");
      const created = await step("created").innerText();
      expect(created).to.match(/block \d+ · \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
      expect(await step("created").locator(`a[href^="${EXPLORER}/tx/0x"]`).count()).to.equal(1);
      expect(await step("voting-starts").getAttribute("data-state")).to.equal("now");
      for (const later of ["voting-ends", "queued", "executable", "executed"])
        expect(await step(later).getAttribute("data-state"), later).to.equal("todo");
      expect(await step("executable").innerText()).to.include("1h 0m after it is queued");
      // The tally and quorum are on the page; the description is rendered and sanitised.
      expect(await page.locator('[data-testid="counts"]').count()).to.equal(1);
      const description = page.locator('[data-testid="description"]');
      expect(await description.locator("strong").first().innerText()).to.equal(
        "Move new validators to the early cohort",
      );
      expect(await description.locator("img").count()).to.equal(0);
      expect(await page.locator('[data-testid="proposal"] [data-testid="calls"]').innerText()).to.include(
        "UpgradeCoordinator.setDefaultCohort(2)",
      );
    });

    it("disables For, Against and Abstain with the reason while voting has not opened, or with no wallet", async function () {
      const buttons = page.locator('[data-testid="vote-buttons"] button');
      expect(await buttons.count()).to.equal(3);
      for (const b of await buttons.all()) expect(await b.isDisabled()).to.equal(true);
      expect(await page.locator('[data-testid="vote-disabled-reason"]').innerText()).to.match(
        /^Voting has not opened yet: it opens after block \d+\.$/,
      );
      await mine(2);
      await waitBlock();
      await page.waitForFunction(`document.querySelector('[data-testid="proposal"]').dataset.state === "Active"`);
      expect(await page.locator('[data-testid="vote-disabled-reason"]').innerText()).to.equal(
        "Connect a wallet to vote.",
      );
      expect(await step("voting-starts").getAttribute("data-state")).to.equal("done");
      expect(await step("voting-starts").innerText()).to.match(/\d{4}-\d\d-\d\dT/);
      expect(await step("voting-ends").getAttribute("data-state")).to.equal("now");
      expect(await step("voting-ends").innerText(), "a future block's date is estimated").to.include("(estimated)");
    });

    it("votes For with one press, then says the account voted already", async function () {
      await page.locator('[data-testid="account"] [data-action="connect"]').click();
      await page.waitForFunction(`!document.querySelector('[data-testid="vote-for"]').disabled`, undefined, {
        timeout: 15_000,
      });
      await page.click('[data-testid="vote-for"]');
      expect(await page.isChecked('[data-testid="support-for"]'), "For is chosen already").to.equal(true);
      expect(await page.locator('[data-testid="dialog-power"]').innerText()).to.include("50,000,000");
      await page.click('[data-testid="dialog-confirm"]');
      await txStatus("confirmed");
      expect(await d.governor.hasVoted(proposalId, voter)).to.equal(true);
      await page.waitForFunction(
        `document.querySelector('[data-testid="vote-disabled-reason"]')?.textContent === "You voted already: For with 50,000,000."`,
        undefined,
        { timeout: 15_000 },
      );
      for (const b of await page.locator('[data-testid="vote-buttons"] button').all())
        expect(await b.isDisabled()).to.equal(true);
      const counts = page.locator('[data-testid="counts"]');
      expect(await counts.getAttribute("data-for")).to.equal(VOTER_STAKE.toString());
      expect(await counts.innerText()).to.include("· reached");
    });

    it("says why an account without delegation has no voting power", async function () {
      await wallet.useAccount(holder);
      await page.waitForFunction(`document.body.dataset.account === ${JSON.stringify(holder)}`);
      await page.waitForFunction(
        `document.querySelector('[data-testid="vote-disabled-reason"]')?.textContent.startsWith("You had no voting power")`,
        undefined,
        { timeout: 15_000 },
      );
      expect(await page.locator('[data-testid="vote-disabled-reason"]').innerText()).to.match(
        /^You had no voting power at the snapshot \(block \d+\)\. Your tokens are not delegated/,
      );
      expect(await page.locator('[data-testid="vote-for"]').isDisabled()).to.equal(true);
      // The page while voting is open, as a holder without power sees it, at both sizes.
      for (const viewport of Object.values(SIZES)) {
        await page.setViewportSize(viewport);
        await checkView(page, "the voting page", viewport, "proposals-voting");
      }
      await page.setViewportSize(SIZES.desktop);
      // A Safe holding delegated votes can still vote: its batch casts the vote with the reason.
      const before = sent();
      await page.click('[data-testid="safe-batch-vote"]');
      await page.check('[data-testid="support-against"]');
      await page.fill('[data-testid="vote-reason"]', "the early cohort is too small");
      await page.fill('[data-testid="safe-address"]', holder);
      const batch = await downloadBatch('[data-testid="dialog-confirm"]');
      expect(sent()).to.equal(before);
      expect(batch.transactions[0].contractMethod!.name).to.equal("castVoteWithReason");
      expect(batch.transactions[0].contractInputsValues).to.deep.equal({
        proposalId: proposalId.toString(),
        support: "0",
        reason: "the early cohort is too small",
      });
      await wallet.useAccount(voter);
      await page.waitForFunction(`document.body.dataset.account === ${JSON.stringify(voter)}`);
    });

    it("follows the proposal through queue and execution, with a Safe batch for each step", async function () {
      const deadline = await d.governor.proposalDeadline(proposalId);
      await mine(Number(deadline) - (await chain.provider.getBlockNumber()) + 1);
      await page.waitForFunction(`document.querySelector('[data-testid="proposal"]').dataset.state === "Succeeded"`);
      expect(await step("voting-ends").getAttribute("data-state")).to.equal("done");
      expect(await step("queued").getAttribute("data-state")).to.equal("now");
      // Queueing is anyone's: a Safe can do it from a batch; nothing is sent from the page.
      const before = sent();
      await page.click('[data-testid="safe-batch-queue"]');
      await page.fill('[data-testid="safe-address"]', holder);
      const batch = await downloadBatch('[data-testid="dialog-confirm"]');
      expect(sent()).to.equal(before);
      expect(batch.chainId).to.equal("31337");
      expect(batch.meta.createdFromSafeAddress).to.equal(getAddress(holder));
      expect(batch.transactions).to.have.length(1);
      expect(batch.transactions[0].to).to.equal(known.LockstepGovernor.address);
      expect(batch.transactions[0].contractMethod!.name).to.equal("queue");
      expect(batch.transactions[0].contractInputsValues!.descriptionHash).to.equal(
        descriptionHash(proposal.description),
      );
      expect(batchInWords(batch, known)[0]).to.match(/^LockstepGovernor\.queue\(targets=\["0x/);

      await page.click('[data-testid="proposal"] [data-action="queue"]');
      await page.click('[data-testid="dialog-confirm"]');
      await txStatus("confirmed");
      await page.waitForFunction(`document.querySelector('[data-testid="proposal"]').dataset.state === "Queued"`);
      expect(await step("queued").getAttribute("data-state")).to.equal("done");
      expect(await step("queued").locator(`a[href^="${EXPLORER}/tx/0x"]`).count()).to.equal(1);
      const eta = await d.governor.proposalEta(proposalId);
      expect(await step("executable").innerText()).to.include(new Date(Number(eta) * 1000).toISOString().slice(0, 19));
      expect(await step("executable").getAttribute("data-state")).to.equal("now");

      await chain.provider.send("evm_increaseTime", [3601]);
      await mine(1);
      await waitBlock();
      const execute = await downloadBatchAfter('[data-testid="safe-batch-execute"]');
      expect(execute.transactions[0].contractMethod!.name).to.equal("execute");
      await page.click('[data-testid="proposal"] [data-action="execute"]');
      await page.click('[data-testid="dialog-confirm"]');
      await txStatus("confirmed");
      await page.waitForFunction(`document.querySelector('[data-testid="proposal"]').dataset.state === "Executed"`);
      expect(await step("executed").getAttribute("data-state")).to.equal("done");
      expect(await step("executed").locator(`a[href^="${EXPLORER}/tx/0x"]`).count()).to.equal(1);
      expect(await d.coordinator.defaultCohort()).to.equal(2n);
      expect(await page.locator('[data-testid="calls-heading"]').innerText()).to.equal("It called:");
    });
  });

  /** Opens the dialog behind `selector`, names a Safe, and downloads its batch. */
  async function downloadBatchAfter(selector: string) {
    await page.click(selector);
    await page.fill('[data-testid="safe-address"]', holder);
    return downloadBatch('[data-testid="dialog-confirm"]');
  }

  describe("Safe batches on an upgrade's card", function () {
    it("offers a non-guardian account the guardian's pause as a Safe batch for the guardian, sending nothing", async function () {
      await page.evaluate(`location.hash = "#upgrades"`);
      const offer = page.locator('[data-testid="guardian-safe-actions"]');
      await offer.waitFor({ timeout: 15_000 });
      expect(await page.locator('[data-testid="guardian-actions"]').count()).to.equal(0);
      const before = sent();
      await offer.locator('[data-action="safe-pause"]').click();
      expect(getAddress(await page.inputValue('[data-testid="safe-address"]')), "the guardian, by default").to.equal(
        getAddress(d.guardian.address),
      );
      await checkDialogOnPhone(page, "the Safe batch dialog", "proposals-safe-dialog");
      const batch = await downloadBatch('[data-testid="dialog-confirm"]');
      expect(sent(), "nothing sent").to.equal(before);
      expect(batch.version).to.equal("1.0");
      expect(batch.meta.createdFromSafeAddress).to.equal(getAddress(d.guardian.address));
      expect(batch.meta.checksum).to.match(/^0x[0-9a-f]{64}$/);
      expect(batch.transactions[0]).to.deep.include({ to: known.UpgradeCoordinator.address, value: "0" });
      expect(batch.transactions[0].contractInputsValues).to.deep.equal({ upgradeId: String(upgradeId) });
      expect(batchInWords(batch, known)).to.deep.equal([`UpgradeCoordinator.pause(upgradeId=${upgradeId})`]);
      expect((await d.coordinator.getUpgrade(upgradeId)).state, "still rolling").to.equal(2n);
      expect(await txStatus("downloaded")).to.include("nothing was sent");
    });

    it("writes a governance proposal from the upgrade's card as a Safe batch for the proposing Safe", async function () {
      const before = sent();
      await page.locator(`[data-testid="upgrade-${upgradeId}"] [data-action="propose-withdraw"]`).click();
      await page.fill('[data-testid="safe-address"]', holder);
      const batch = await downloadBatch('[data-testid="dialog-safe-batch"]');
      expect(sent(), "nothing sent").to.equal(before);
      expect(batch.meta.createdFromSafeAddress).to.equal(getAddress(holder));
      const words = batchInWords(batch, known)[0];
      expect(words).to.match(/^LockstepGovernor\.propose\(/);
      expect(words).to.include(`1. UpgradeCoordinator.withdraw(upgradeId=${upgradeId})`);
      expect(batch.meta.description).to.equal(`Withdraw upgrade #${upgradeId} v2-prop`);
    });

    it("refuses a Safe batch without a Safe address in one line, downloading nothing", async function () {
      await page.locator('[data-action="safe-rollback"]').first().click();
      await page.fill('[data-testid="safe-address"]', "not-a-safe");
      let downloaded = false;
      const listener = () => (downloaded = true);
      page.on("download", listener);
      await page.click('[data-testid="dialog-confirm"]');
      const text = await txStatus("failed");
      page.off("download", listener);
      expect(text).to.equal('No Safe batch was made: "not-a-safe" is not an address.');
      expect(downloaded).to.equal(false);
    });
  });

  describe("proposing an upgrade from a manifest file", function () {
    const pick = (name: string, text: string) =>
      page.setInputFiles('[data-testid="manifest-pick"]', {
        name,
        mimeType: "application/json",
        buffer: Buffer.from(text),
      });
    const panel = () => page.locator('[data-testid="propose-manifest"]');

    it("shows a bad file's problem in one line, and nothing else", async function () {
      await page.evaluate(`location.hash = "#proposals"`);
      await panel().waitFor({ timeout: 10_000 });
      const before = sent();
      await pick("broken.json", "{ not json");
      await page.waitForFunction(
        `document.querySelector('[data-testid="propose-manifest"]').dataset.state === "error"`,
      );
      const error = await page.locator('[data-testid="manifest-error"]').innerText();
      expect(error).to.match(/^broken\.json: not valid JSON/);
      expect(error).to.not.include("\n");
      expect(await panel().locator("button").count(), "nothing to propose").to.equal(0);

      await pick("bad-stage.json", manifestFile("v3", { version: "v2.0.0" }));
      await page.waitForFunction(
        `document.querySelector('[data-testid="manifest-error"]')?.textContent.startsWith("bad-stage.json")`,
      );
      expect(await page.locator('[data-testid="manifest-error"]').innerText()).to.equal(
        "bad-stage.json: previousVersion: must differ from version",
      );
      expect(sent()).to.equal(before);
    });

    it("refuses a manifest whose name an upgrade has already", async function () {
      await pick("again.json", manifestFile("v2-prop"));
      await page.waitForSelector('[data-testid="manifest-check"][data-key="name"]', { timeout: 15_000 });
      expect(await page.locator('[data-testid="manifest-check"][data-key="name"]').getAttribute("data-ok")).to.equal(
        "false",
      );
      expect(await page.locator('[data-testid="manifest-propose"]').isDisabled()).to.equal(true);
      expect(await page.locator('[data-testid="manifest-safe-batch"]').isDisabled()).to.equal(true);
    });

    it("summarises a dropped manifest, checks it, shows the calls, downloads its Safe batch and proposes it", async function () {
      const text = manifestFile("v3-prop");
      // A file dropped on the view, as a browser delivers one.
      const transfer = await page.evaluateHandle(
        `(() => { const t = new DataTransfer(); t.items.add(new File([${JSON.stringify(text)}], "v3-prop.json", { type: "application/json" })); return t; })()`,
      );
      await page.dispatchEvent("#view-proposals", "drop", { dataTransfer: transfer });
      await page.waitForSelector('[data-testid="manifest-check"][data-key="simulation"]', { timeout: 15_000 });
      const summary = await page.locator('[data-testid="manifest-file-summary"]').innerText();
      expect(summary)
        .to.include("validators go from v2.0.0 to v3.0.0, in 2 stages")
        .and.include("the canary cohort (cohort 1)")
        .and.include("watched for 30 min")
        .and.include("needs 80% of the canary cohort's stake healthy; pauses at 34% unhealthy");
      expect(
        await page.evaluate(
          `[...document.querySelectorAll('[data-testid="manifest-check"]')].map((e) => e.dataset.key)`,
        ),
      ).to.include.members(["valid", "hash", "name", "simulation", "threshold"]);
      for (const key of ["valid", "name", "threshold"])
        expect(
          await page.locator(`[data-testid="manifest-check"][data-key="${key}"]`).getAttribute("data-ok"),
          key,
        ).to.equal("true");
      // An upgrade is in flight: executed now, the coordinator would refuse the schedule; said as a warning.
      const simulation = page.locator('[data-testid="manifest-check"][data-key="simulation"]');
      expect(await simulation.getAttribute("data-ok")).to.equal("warn");
      expect(await simulation.innerText()).to.include("Executed now, the coordinator would refuse it:");
      expect(await panel().locator('[data-testid="calls"]').innerText())
        .to.include("UpgradeCoordinator.schedule(manifest)")
        .and.include('upgrade "v3-prop": v2.0.0 → v3.0.0');

      const before = sent();
      await page.fill('[data-testid="manifest-safe"]', holder);
      const batch = await downloadBatch('[data-testid="manifest-safe-batch"]');
      expect(sent()).to.equal(before);
      expect(batch.transactions[0].contractMethod!.name).to.equal("propose");
      expect(batchInWords(batch, known)[0])
        .to.match(/^LockstepGovernor\.propose\(/)
        .and.include("1. UpgradeCoordinator.schedule(");

      await page.click('[data-testid="manifest-propose"]');
      await txStatus("confirmed");
      await page.waitForFunction(`/^#proposals\\/\\d+$/.test(location.hash)`);
      const id = BigInt(/(\d+)$/.exec(await page.evaluate("location.hash"))![1]);
      expect(await d.governor.state(id), "Pending on chain").to.equal(0n);
      await page.waitForSelector('[data-testid="proposal-timeline"]', { timeout: 15_000 });
      expect(await page.locator('[data-testid="proposal"]').getAttribute("data-state")).to.equal("Pending");
      expect(await page.locator('[data-testid="proposal"] h2').innerText()).to.include("Schedule v3-prop");
    });
  });

  describe("on a desktop and a phone", function () {
    for (const viewport of Object.values(SIZES)) {
      it(`fits the proposal page and the manifest panel at ${viewport.width}x${viewport.height}, with no axe violation`, async function () {
        await page.setViewportSize(viewport);
        await openProposal(proposalId);
        await waitBlock();
        await checkView(page, "the proposal page", viewport, "proposals-page");
        await page.evaluate(`location.hash = "#proposals"`);
        await page.setInputFiles('[data-testid="manifest-pick"]', {
          name: "v4-prop.json",
          mimeType: "application/json",
          buffer: Buffer.from(manifestFile("v4-prop")),
        });
        await page.waitForSelector('[data-testid="manifest-check"][data-key="simulation"]', { timeout: 15_000 });
        await checkView(page, "the manifest panel", viewport, "proposals-manifest");
        expect(pageErrors).to.deep.equal([]);
      });
    }
  });
});
