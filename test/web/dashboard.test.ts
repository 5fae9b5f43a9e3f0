// The dashboard in a real browser (Debian's chromium driven by playwright-core) against a Hardhat node with the
// system deployed and an upgrade in flight: tallies, live updates, validators, history, CSV, RPC outage; and, with
// an injected EIP-1193 wallet backed by Hardhat accounts, connecting, switching chains, delegating, voting,
// queueing and executing, a rejected signature, a reverted transaction, and the guardian's pause.
import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Wallet, keccak256, parseEther, toUtf8Bytes } from "ethers";
import type { Page } from "playwright-core";
import { Status } from "../../lib/coordinator";
import { stageRules } from "../../lib/manifest";
import { Chain, Deployment, rpcProxy } from "../helpers/e2e";
import { attesterProof } from "../helpers/system";
import { injectWallet, type TestWallet } from "../helpers/browser-wallet";
import { ARTIFACTS, attestAs, testManifest, DashboardBench } from "../helpers/dashboard";
import { descriptionHash } from "../../lib/governance";

const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
const EXPLORER = "https://explorer.example";
const stake = (n: number) => parseEther(String(n));
// Code that runs in the page is written as strings or typed by hand: the project's TypeScript has no DOM library.
type Dataset = { dataset: Record<string, string> };

describe("dashboard in a browser", function () {
  this.timeout(120_000);
  const bench = new DashboardBench("web");
  const { v, pageErrors } = bench;
  let chain: Chain;
  let d: Deployment;
  let proxy: Awaited<ReturnType<typeof rpcProxy>>;
  let page: Page;
  let id: bigint;
  let wallet: TestWallet;
  let voter: string;
  const VOTER_STAKE = stake(50_000_000);

  /** Waits for the page's state (body[data-state]); on timeout, says what the page showed instead. */
  const waitState = async (state: string) => {
    try {
      await page.waitForFunction(`document.body.dataset.state === ${JSON.stringify(state)}`, undefined, {
        timeout: 15_000,
      });
    } catch (e) {
      const shown = await page.evaluate(
        '`${document.body.dataset.state}: ${document.getElementById("banner").textContent}`',
      );
      throw new Error(
        `the page never reached "${state}" (it shows ${shown}; errors: ${[...new Set(pageErrors)].slice(0, 5).join(" | ") || "none"})`,
        { cause: e },
      );
    }
  };
  const txs: Record<string, string> = {};

  const attest = async (who: string, stage: number, status: Status) => {
    txs[`${who}:${Status[status]}`] = (await attestAs(d, v[who], id, stage, status, 42)).hash;
  };

  before(async function () {
    // The build, the node and the set-up's transactions: minutes on a machine shared by many test runs.
    this.timeout(600_000);
    // Cohort 1: three validators (100 + 200 + 100); cohort 3 (the default): one of 500.
    ({ chain, d } = await bench.open([
      ["a", 100, 1],
      ["b", 200, 1],
      ["c", 100, 1],
      ["m", 500, 3],
    ]));
    const manifest = testManifest(
      "v2-web",
      [
        stageRules(1, { observationWindow: 600, healthyBps: 5000, unhealthyBps: 6000 }),
        stageRules(3, { observationWindow: 600, healthyBps: 5000, unhealthyBps: 6000 }),
      ],
      { binary: "binary", hashOf: "web manifest", featureFlags: ["fast-sync"] },
    );
    txs.schedule = (await (await d.coordinator.connect(d.timelockSigner).schedule(manifest)).wait())!.hash;
    id = await d.coordinator.upgradeCount();
    txs.advance = (await (await d.coordinator.advance(id)).wait())!.hash;
    await attest("a", 0, Status.Healthy);
    await attest("b", 0, Status.Unhealthy);
    // A token holder who has not delegated yet: the wallet's account.
    voter = (await chain.provider.getSigner(5)).address;
    await (await d.token.connect(d.deployer).transfer(voter, VOTER_STAKE)).wait();

    proxy = await rpcProxy(chain.url);
    const { port } = await bench.serve({
      rpc: proxy.url,
      args: ["--explorer", EXPLORER, "--poll-ms", "250"],
      chromium: CHROMIUM_FLAGS,
    });
    page = await bench.browser!.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on("pageerror", (e) => pageErrors.push(String(e)));
    page.on("console", (m) => m.type() === "error" && pageErrors.push(m.text()));
    // The wallet starts on another chain (1), not yet connected to the page.
    // It knows only chain 1: switching to the local chain makes the page offer to add it.
    wallet = await injectWallet(page, {
      rpcUrl: chain.url,
      account: voter,
      chainId: 1,
      knownChains: [1],
      nodeChain: 31337,
    });
    // How fast the page opens is measured by `npm run bench:dashboard`, not held here.
    await page.goto(`http://127.0.0.1:${port}/`);
    await waitState("live");
  });

  after(async function () {
    // Nothing reads through the proxy once the page and the server are gone.
    await bench.close();
    await proxy?.stop();
  });

  /** Opens a view as a user would and waits until it shows the current state. */
  const goto = async (view: string) => {
    await page.click(`nav a[data-view="${view}"]`);
    await page.waitForFunction(`document.body.dataset.view === ${JSON.stringify(view)}`, undefined, {
      timeout: 10_000,
    });
  };

  const tally = (stage: number) =>
    page.locator(`[data-testid="tally-${id}-${stage}"]`).evaluate((el) => ({ ...(el as unknown as Dataset).dataset }));

  it("shows the upgrade's manifest and its stake-weighted tallies against the stage's thresholds", async function () {
    const card = page.locator(`[data-testid="upgrade-${id}"]`);
    await expect(await card.getAttribute("data-state")).to.equal("Rolling");
    // The digests and the manifest hash are under "technical details".
    await card.locator('[data-testid="technical-details"] summary').click();
    const text = await card.innerText();
    for (const s of [
      "v2-web",
      "v2.0.0",
      "v1.9.3",
      keccak256(toUtf8Bytes("web manifest")),
      keccak256(toUtf8Bytes("binary")),
      "linux-amd64",
      "fast-sync",
    ]) {
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
    expect(stage0)
      .to.include("healthy 100 / 200 needed (50%)")
      .and.include("unhealthy 200 / pause at 240 (60%)")
      .and.include("missing 100");
    expect(await tally(1)).to.include({ healthy: "0", unhealthy: "0", missing: stake(500).toString() });
    // The timeline: stage 0 is active and in its observation window; stage 1 waits.
    expect(await page.locator(`[data-testid="stage-${id}-0"] li.done`).allInnerTexts()).to.have.length(3);
    expect(await page.locator(`[data-testid="stage-${id}-0"] li.now`).innerText()).to.include("observation window");
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-upgrades.png"), fullPage: true });
  });

  it("updates the tallies as new attestations land, without a reload", async function () {
    await page.evaluate("window.reloadMarker = 1");
    await attest("c", 0, Status.Healthy);
    await page.waitForFunction(
      `document.querySelector('[data-testid="tally-${id}-0"]')?.dataset.healthy === "${stake(200)}"`,
      undefined,
      { timeout: 10_000 },
    );
    expect(await tally(0)).to.include({ missing: "0", unhealthy: stake(200).toString() });
    expect(await page.evaluate("window.reloadMarker"), "the page was not reloaded").to.equal(1);
  });

  it("lists validators with cohort, stake weight and last attestation, filtered by cohort", async function () {
    await goto("validators");
    const rows = page.locator('[data-testid="validator-row"]');
    expect(await rows.count()).to.equal(4);
    const b = page.locator(`[data-testid="validator-row"][data-operator="${v.b.operator.address}"]`);
    expect(await b.getAttribute("data-weight")).to.equal(stake(200).toString());
    expect(await b.getAttribute("data-status")).to.equal("Unhealthy");
    expect(await b.innerText())
      .to.include("v2.0.0")
      .and.include("42");
    // Participation over the upgrade: cohort 1's stage is active and all three reported; cohort 3's has not begun.
    expect(await b.locator('[data-testid="participation"]').innerText()).to.equal("100% (1 of 1 stage)");
    const m = page.locator(`[data-testid="validator-row"][data-operator="${v.m.operator.address}"]`);
    expect(await m.locator('[data-testid="participation"]').innerText()).to.equal("not due yet");
    expect(await page.locator('[data-testid="participation-summary"]').innerText())
      .to.include("3 of 3 validator(s) due have reported")
      .and.include("400 of 400 stake (100%)");
    await page.selectOption('[data-testid="filter-cohort"]', "1");
    expect(await rows.count()).to.equal(3);
    expect(await rows.evaluateAll((els) => els.map((e) => (e as unknown as Dataset).dataset.cohort))).to.deep.equal([
      "1",
      "1",
      "1",
    ]);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-validators.png"), fullPage: true });
    await page.selectOption('[data-testid="filter-cohort"]', "3");
    expect(await rows.count()).to.equal(1);
    expect(await rows.first().getAttribute("data-status")).to.equal("no attestation");
  });

  it("lists every coordinator event newest first, each linked to its transaction, and exports them as CSV", async function () {
    await goto("history");
    const logs = await chain.provider.getLogs({ address: await d.coordinator.getAddress(), fromBlock: d.startBlock });
    const rows = page.locator('[data-testid="event-row"]');
    expect(await rows.count()).to.equal(logs.length);
    const shown = await rows.evaluateAll((els) =>
      els.map((e) => ({ event: (e as unknown as Dataset).dataset.event, tx: (e as unknown as Dataset).dataset.tx })),
    );
    expect(shown[0]).to.deep.equal({ event: "Attested", tx: txs["c:Healthy"] });
    expect(shown).to.deep.include({ event: "UpgradeScheduled", tx: txs.schedule });
    expect(shown).to.deep.include({ event: "StageActivated", tx: txs.advance });
    expect(shown).to.deep.include({ event: "Attested", tx: txs["b:Unhealthy"] });
    expect(shown.filter((r) => r.event === "ValidatorRegistered")).to.have.length(4);
    expect(await page.locator(`a[href="${EXPLORER}/tx/${txs.schedule}"]`).count()).to.be.greaterThan(0);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-history.png"), fullPage: true });

    const [download] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="export-csv"]')]);
    const csv = readFileSync((await download.path())!, "utf8")
      .trim()
      .split("\n");
    // The details in words, and the arguments as on chain in a column of their own.
    expect(csv[0]).to.equal("block,time,logIndex,event,upgradeId,details,raw,transactionHash");
    expect(csv).to.have.length(logs.length + 1);
    expect(csv.some((l) => l.includes("UpgradeScheduled") && l.endsWith(txs.schedule))).to.equal(true);
  });

  it("says so when the RPC is unreachable, keeps what it knew, and recovers", async function () {
    await goto("upgrades");
    proxy.down = true;
    await waitState("rpc-unreachable");
    const banner = page.locator('[data-testid="banner"]');
    expect(await banner.isVisible()).to.equal(true);
    expect(await banner.innerText())
      .to.include("RPC unreachable")
      .and.include(proxy.url);
    expect(await tally(0)).to.include({ healthy: stake(200).toString() });
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-rpc-unreachable.png"), fullPage: true });
    proxy.down = false;
    await waitState("live");
    expect(await banner.isVisible()).to.equal(false);
  });

  // ---------------------------------------------------------------- the wallet

  // Each outcome is told from the one before by the status line's sequence number.
  let seenSeq = 0;
  /** Waits for the next transaction outcome to be one of `states`; returns it and the status line's text. */
  const txOutcome = async (...states: string[]) => {
    const el = 'document.getElementById("tx-status")';
    try {
      await page.waitForFunction(
        `${JSON.stringify(states)}.includes(${el}?.dataset.state) && Number(${el}.dataset.seq) > ${seenSeq}`,
        undefined,
        { timeout: 20_000 },
      );
    } catch {
      const shown = await page.evaluate(`\`\${${el}.dataset.state}: \${${el}.textContent}\``);
      throw new Error(
        `the transaction status never became ${states.join(" or ")} (it shows ${shown}; page errors: ${[...new Set(pageErrors)].slice(0, 5).join(" | ") || "none"})`,
      );
    }
    const [state, seq, text] = (await page.evaluate(`[${el}.dataset.state, ${el}.dataset.seq, ${el}.innerText]`)) as [
      string,
      string,
      string,
    ];
    seenSeq = Number(seq);
    return { state, text };
  };
  const txStatus = async (state: string) => (await txOutcome(state)).text;
  const account = () => page.locator('[data-testid="account"]');
  const proposalCard = (pid: bigint) => page.locator(`[data-testid="proposal"][data-id="${pid}"]`);
  const waitProposalState = (pid: bigint, state: string) =>
    page.waitForFunction(
      `document.querySelector('[data-testid="proposal"][data-id="${pid}"]')?.dataset.state === "${state}"`,
      undefined,
      { timeout: 15_000 },
    );
  const mine = (blocks: number) => chain.provider.send("hardhat_mine", [`0x${blocks.toString(16)}`]);
  let proposal: { id: bigint; targets: string[]; values: bigint[]; calldatas: string[]; description: string };

  it("offers to connect a wallet; on the wrong chain it says so and switches when asked", async function () {
    await goto("proposals");
    expect(await account().getAttribute("data-state")).to.equal("disconnected");
    expect(await page.locator('[data-testid="wallet-button"]').innerText()).to.equal("Connect wallet");
    await account().locator('[data-action="connect"]').click();
    await page.waitForFunction(`document.querySelector('[data-testid="account"]')?.dataset.state === "wrong-chain"`);
    expect(await account().innerText())
      .to.include("chain 1")
      .and.include("chain 31337");
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-wrong-chain.png"), fullPage: true });
    await page.click('[data-testid="switch-chain"]');
    await page.waitForFunction(`document.querySelector('[data-testid="account"]')?.dataset.state === "ready"`);
    expect(await page.locator('[data-testid="account-address"]').innerText()).to.equal(voter);
    expect(wallet.chainId).to.equal(31337);
    expect(wallet.added, "the wallet did not know the chain: the page added it").to.deep.equal([
      { chainId: 31337, rpcUrls: [proxy.url] },
    ]);
  });

  it("reports a rejected signature, and nothing is sent", async function () {
    wallet.rejectNext = true;
    const sent = wallet.requests.filter((m) => m === "eth_sendTransaction").length;
    await account().locator('[data-action="delegate-self"]').click();
    expect(await txStatus("rejected")).to.include("You rejected the request in your wallet");
    expect(await d.token.delegates(voter)).to.equal("0x0000000000000000000000000000000000000000");
    expect(wallet.requests.filter((m) => m === "eth_sendTransaction")).to.have.length(sent + 1);
    expect(await account().innerText()).to.include("not delegated");
  });

  it("delegates, shows the voting power at the snapshot, votes with a reason, and the vote appears in the counts", async function () {
    // "Delegate to…" the account itself, confirmed with Enter in the address field.
    await account().locator('[data-action="delegate-other"]').click();
    await page.fill('[data-testid="delegate-to"]', voter);
    await page.press('[data-testid="delegate-to"]', "Enter");
    await txStatus("confirmed");
    await page.waitForFunction(`document.querySelector('[data-testid="account"]')?.dataset.votes === "${VOTER_STAKE}"`);
    expect(await d.token.getVotes(voter)).to.equal(VOTER_STAKE);

    const coordinator = await d.coordinator.getAddress();
    proposal = {
      id: 0n,
      targets: [coordinator],
      values: [0n],
      calldatas: [d.coordinator.interface.encodeFunctionData("setDefaultCohort", [2])],
      // Markup and a right-to-left override in the text: shown as text, never run or reordered.
      description:
        '# New validators join cohort 2 <img src=x onerror="window.__xss=1">\u202Eevil\n\nCohort 3 is full; new registrations go to cohort 2.',
    };
    await (
      await d.governor
        .connect(d.deployer)
        .propose(proposal.targets, proposal.values, proposal.calldatas, proposal.description)
    ).wait();
    proposal.id = await d.governor.hashProposal(
      proposal.targets,
      proposal.values,
      proposal.calldatas,
      descriptionHash(proposal.description),
    );
    await mine(2);
    await waitProposalState(proposal.id, "Active");
    const card = proposalCard(proposal.id);
    expect(await card.locator("h2").innerText()).to.include(
      'New validators join cohort 2 <img src=x onerror="window.__xss=1">\uFFFDevil',
    );
    expect(await card.locator('[data-testid="your-power"]').getAttribute("data-power")).to.equal(
      VOTER_STAKE.toString(),
    );
    await card.locator("details summary").click();
    expect(await card.innerText()).to.include("UpgradeCoordinator.setDefaultCohort(2)");

    await card.locator('[data-action="vote"]').click();
    expect(await page.locator('[data-testid="dialog-power"]').innerText()).to.include("50,000,000");
    await page.check('[data-testid="support-for"]');
    await page.fill('[data-testid="vote-reason"]', 'Cohort 3 has no room left "><script>window.__xss=2</script>');
    await page.click('[data-testid="dialog-confirm"]');
    await txStatus("confirmed");

    await page.waitForFunction(
      `document.querySelector('[data-testid="proposal"][data-id="${proposal.id}"] [data-testid="counts"]')?.dataset.for === "${VOTER_STAKE}"`,
    );
    const votes = await d.governor.proposalVotes(proposal.id);
    expect(votes.forVotes).to.equal(VOTER_STAKE);
    expect(await d.governor.hasVoted(proposal.id, voter)).to.equal(true);
    expect(await card.locator('[data-testid="voted"]').innerText()).to.include("You voted For with 50,000,000");
    const row = card.locator(`[data-testid="vote-row"][data-voter="${voter}"]`);
    expect(await row.getAttribute("data-support")).to.equal("For");
    expect(await row.innerText()).to.include("Cohort 3 has no room left");
    expect(await card.locator('[data-testid="counts"]').innerText()).to.include("reached");
    expect(await row.innerText()).to.include('"><script>window.__xss=2</script>');
    expect(await page.evaluate("window.__xss"), "no text from the chain ran as code").to.equal(undefined);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-proposals.png"), fullPage: true });
  });

  it("reports a transaction that reverts on chain with the contract's error in words", async function () {
    const extended = await d.governor.proposalDeadline(proposal.id);
    await mine(Number(extended - BigInt(await chain.provider.getBlockNumber())) + 1);
    await waitProposalState(proposal.id, "Succeeded");
    const queueButton = proposalCard(proposal.id).locator('[data-action="queue"]');
    expect(await queueButton.isEnabled()).to.equal(true);
    // Someone else queues it after the page's transaction was sent, with a higher tip: theirs is mined first.
    await chain.provider.send("evm_setAutomine", [false]);
    try {
      await queueButton.click();
      expect(await page.locator('[data-testid="dialog"] [data-testid="calls"]').innerText()).to.include(
        "UpgradeCoordinator.setDefaultCohort(2)",
      );
      await page.click('[data-testid="dialog-confirm"]');
      await txStatus("pending");
      await d.governor
        .connect(d.deployer)
        .queue(proposal.targets, proposal.values, proposal.calldatas, descriptionHash(proposal.description), {
          gasLimit: 500_000,
          maxPriorityFeePerGas: parseEther("0.00000005"),
          maxFeePerGas: parseEther("0.0000005"),
        });
      await chain.provider.send("evm_mine", []);
    } finally {
      await chain.provider.send("evm_setAutomine", [true]);
    }
    const text = await txStatus("reverted");
    expect(text, text)
      .to.include("Queue did not happen")
      .and.match(
        /0x[0-9a-f]{64} was mined in block \d+ but reverted: the proposal is Queued; this needs it to be Succeeded\./,
      );
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-reverted.png"), fullPage: true });
    await waitProposalState(proposal.id, "Queued");
  });

  it("executes a queued proposal once the timelock's delay has passed", async function () {
    const execute = proposalCard(proposal.id).locator('[data-action="execute"]');
    expect(await execute.isDisabled(), "execute waits for the timelock").to.equal(true);
    await chain.provider.send("evm_increaseTime", [3601]);
    await mine(1);
    await page.waitForFunction(
      `!document.querySelector('[data-testid="proposal"][data-id="${proposal.id}"] [data-action="execute"]')?.disabled`,
      undefined,
      { timeout: 15_000 },
    );
    await execute.click();
    await page.click('[data-testid="dialog-confirm"]');
    await txStatus("confirmed");
    await waitProposalState(proposal.id, "Executed");
    expect(await d.coordinator.defaultCohort()).to.equal(2n);
    expect(await proposalCard(proposal.id).locator('[data-testid="calls-heading"]').innerText()).to.equal("It called:");
  });

  it("lets anyone advance a stage that is due, and refuses one that is not before signing, in words", async function () {
    // The execute test moved the clock an hour on: stage 0's observation window is over and it is healthy.
    await goto("upgrades");
    const card = page.locator(`[data-testid="upgrade-${id}"]`);
    let refusal = "";
    for (let i = 0; i < 4 && !refusal; i++) {
      const sent = wallet.requests.filter((m) => m === "eth_sendTransaction").length;
      await card.locator('[data-action="advance"]').click();
      const outcome = await txOutcome("confirmed", "refused");
      if (outcome.state === "refused") {
        refusal = outcome.text;
        expect(
          wallet.requests.filter((m) => m === "eth_sendTransaction"),
          "a refused call is never sent",
        ).to.have.length(sent);
      }
    }
    expect(refusal).to.match(
      /^Advance upgrade #1 did not happen\. The contract refused: stage 1 of upgrade #1 is still in its observation window until \d{4}-\d\d-\d\dT[\d:]+Z\. Nothing was sent\.$/,
    );
    await page.waitForFunction(
      `document.querySelector('[data-testid="stage-${id}-1"] .state')?.textContent === "Active"`,
      undefined,
      { timeout: 15_000 },
    );
    expect(await page.locator(`[data-testid="stage-${id}-0"] .state`).innerText()).to.equal("Verified");
    // Cohort 3's stage is now active: its validator's report is awaited, not yet missed.
    await goto("validators");
    await page.selectOption('[data-testid="filter-cohort"]', "all");
    const m = page.locator(`[data-testid="validator-row"][data-operator="${v.m.operator.address}"]`);
    expect(await m.locator('[data-testid="participation"]').innerText()).to.equal("awaiting 1 report");
    const b = page.locator(`[data-testid="validator-row"][data-operator="${v.b.operator.address}"]`);
    expect(await b.locator('[data-testid="participation"]').innerText()).to.equal("100% (1 of 1 stage)");
    await goto("upgrades");
  });

  it("shows the guardian's pause and rollback only to the guardian, behind a confirmation, and the pause works", async function () {
    await goto("upgrades");
    const card = page.locator(`[data-testid="upgrade-${id}"]`);
    expect(await card.getAttribute("data-state")).to.equal("Rolling");
    // Rendered with the connected account's roles known, and still no guardian action for a non-guardian.
    await page.waitForFunction(`document.body.dataset.account === ${JSON.stringify(voter)}`);
    expect(await page.locator('[data-testid="upgrade-actions"]').count()).to.equal(1);
    expect(
      await page.locator('[data-testid="guardian-actions"]').count(),
      "a non-guardian sees no guardian action",
    ).to.equal(0);
    expect(await page.locator('[data-action="pause"], [data-action="rollback"]').count()).to.equal(0);

    await wallet.useAccount(d.guardian.address);
    await page.waitForSelector('[data-testid="guardian-actions"]', { timeout: 15_000 });
    // The rollback cannot be confirmed without typing the upgrade's name; cancelling sends nothing.
    const sent = wallet.requests.filter((m) => m === "eth_sendTransaction").length;
    await card.locator('[data-action="rollback"]').click();
    expect(await page.locator('[data-testid="dialog-confirm"]').isDisabled()).to.equal(true);
    await page.fill('[data-testid="dialog-confirm-text"]', "rollback 1");
    expect(await page.locator('[data-testid="dialog-confirm"]').isEnabled()).to.equal(true);
    await page.click('[data-testid="dialog-cancel"]');
    expect(
      wallet.requests.filter((m) => m === "eth_sendTransaction"),
      "a cancelled rollback sends nothing",
    ).to.have.length(sent);
    expect((await d.coordinator.getUpgrade(id)).state).to.equal(2n);

    await card.locator('[data-action="pause"]').click();
    expect(await page.locator('[data-testid="dialog"]').innerText()).to.include("Only governance can resume it");
    await page.click('[data-testid="dialog-confirm"]');
    await txStatus("confirmed");
    await page.waitForFunction(
      `document.querySelector('[data-testid="upgrade-${id}"]')?.dataset.state === "Paused"`,
      undefined,
      { timeout: 15_000 },
    );
    expect((await d.coordinator.getUpgrade(id)).state).to.equal(3n);
    expect(await card.locator('[data-testid="pause-reason"]').innerText())
      .to.include("paused by hand (guardian 0x")
      .and.include("Only governance can resume it");
    expect(await card.locator('[data-action="pause"]').count(), "no second pause offered").to.equal(0);
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-guardian-paused.png"), fullPage: true });
  });

  it("lets anyone propose resuming the paused upgrade, and the proposal appears", async function () {
    const card = page.locator(`[data-testid="upgrade-${id}"]`);
    // A first draft (a withdrawal) that its proposer thinks better of and cancels before voting opens.
    await card.locator('[data-action="propose-withdraw"]').click();
    await page.click('[data-testid="dialog-confirm"]');
    await txStatus("confirmed");
    await goto("proposals");
    const withdraw = page.locator('[data-testid="proposal"]', { hasText: "Withdraw upgrade #1 v2-web" });
    expect(await withdraw.getAttribute("data-state")).to.equal("Pending");
    await withdraw.locator('[data-action="cancel"]').click();
    await page.click('[data-testid="dialog-confirm"]');
    await txStatus("confirmed");
    await page.waitForFunction(
      `[...document.querySelectorAll('[data-testid="proposal"]')].some((e) => e.textContent.includes("Withdraw upgrade #1") && e.dataset.state === "Canceled")`,
    );
    await goto("upgrades");

    await card.locator('[data-action="propose-resume"]').click();
    const draft = await page.inputValue('[data-testid="proposal-description"]');
    expect(draft).to.match(/^# Resume upgrade #1 v2-web\n/);
    await page.fill('[data-testid="proposal-description"]', `${draft}the stall was a monitoring fault`);
    await page.click('[data-testid="dialog-confirm"]');
    await txStatus("confirmed");
    // The upgrade's card links to it; the link opens it in the proposals view, details open.
    const link = card.locator('[data-testid="related-proposal"]', { hasText: "Resume upgrade #1 v2-web" });
    await link.waitFor({ timeout: 15_000 });
    await link.click();
    await page.waitForFunction(`document.body.dataset.view === "proposals"`);
    expect(page.url()).to.match(/#proposals\/\d+$/);
    const resume = page.locator('[data-testid="proposal"]', { hasText: "Resume upgrade #1 v2-web" });
    expect(await resume.getAttribute("data-state")).to.be.oneOf(["Pending", "Active"]);
    expect(await resume.locator("details").getAttribute("open")).to.not.equal(null);
    expect(await resume.innerText())
      .to.include("UpgradeCoordinator.resume(1)")
      .and.include("the stall was a monitoring fault");
  });

  it("once governance resumed it and the attestation deadline passed short of healthy stake, lets anyone pause it", async function () {
    // The resume proposal made from the page passes: the voter votes for it, it is queued and executed.
    const filter = d.governor.filters.ProposalCreated();
    const created = (await d.governor.queryFilter(filter)).map((l) => d.governor.interface.parseLog(l)!.args);
    const resume = created.find((a) => String(a.description).startsWith("# Resume upgrade #1"))!;
    const calls = {
      targets: [...resume.targets] as string[],
      values: [...resume[3]] as bigint[],
      calldatas: [...resume.calldatas] as string[],
    };
    const voterSigner = await chain.provider.getSigner(5);
    await mine(
      Number((await d.governor.proposalSnapshot(resume.proposalId)) - BigInt(await chain.provider.getBlockNumber())) +
        1,
    );
    await (await d.governor.connect(voterSigner).castVote(resume.proposalId, 1)).wait();
    await mine(
      Number((await d.governor.proposalDeadline(resume.proposalId)) - BigInt(await chain.provider.getBlockNumber())) +
        1,
    );
    const hash = descriptionHash(String(resume.description));
    await (await d.governor.connect(d.deployer).queue(calls.targets, calls.values, calls.calldatas, hash)).wait();
    await chain.provider.send("evm_increaseTime", [3601]);
    await mine(1);
    // Cohort 3's deadline has run past while the upgrade was paused: the contract does not count that time.
    await goto("validators");
    const mRow = page.locator(
      `[data-testid="validator-row"][data-operator="${v.m.operator.address}"] [data-testid="participation"]`,
    );
    await page.waitForFunction(
      `document.getElementById("chain").dataset.block === "${await chain.provider.getBlockNumber()}"`,
      undefined,
      { timeout: 15_000 },
    );
    expect(await mRow.innerText(), "a deadline passed during a pause is not missed").to.equal("awaiting 1 report");
    await (await d.governor.connect(d.deployer).execute(calls.targets, calls.values, calls.calldatas, hash)).wait();
    await goto("upgrades");
    await page.waitForFunction(
      `document.querySelector('[data-testid="upgrade-${id}"]')?.dataset.state === "Rolling"`,
      undefined,
      { timeout: 15_000 },
    );
    expect(
      await page.locator('[data-action="pause-missing"]').count(),
      "the deadline counts afresh from the resume",
    ).to.equal(0);

    // Cohort 3's validator never reports; the deadline passes.
    await chain.provider.send("evm_increaseTime", [3601]);
    await mine(1);
    const button = page.locator(`[data-testid="upgrade-${id}"] [data-action="pause-missing"]`);
    await button.waitFor({ timeout: 15_000 });
    await button.click();
    await txStatus("confirmed");
    await page.waitForFunction(
      `document.querySelector('[data-testid="upgrade-${id}"]')?.dataset.state === "Paused"`,
      undefined,
      { timeout: 15_000 },
    );
    expect(await page.locator(`[data-testid="upgrade-${id}"] [data-testid="pause-reason"]`).innerText()).to.include(
      "paused: not enough healthy stake reported before the attestation deadline",
    );
    await goto("validators");
    const m = page.locator(`[data-testid="validator-row"][data-operator="${v.m.operator.address}"]`);
    expect(await m.locator('[data-testid="participation"]').innerText(), "a missed report counts against it").to.equal(
      "0% (0 of 1 stage)",
    );
  });

  it("rewinds when the chain reorganises under it: the abandoned branch's events go, and it says so", async function () {
    await goto("history");
    const rows = page.locator('[data-testid="event-row"]');
    const before = await rows.count();
    const fork = await chain.provider.send("evm_snapshot", []);
    const late = new Wallet(keccak256(toUtf8Bytes("web:late:operator")), chain.provider);
    await chain.provider.send("hardhat_setBalance", [late.address, "0x56BC75E2D63100000"]);
    const proof = await attesterProof(d.coordinator, late, late);
    const registered = (await (
      await d.coordinator.connect(late).register(late.address, "ipfs://web/late", proof)
    ).wait())!.hash;
    await page.waitForSelector(`[data-testid="event-row"][data-tx="${registered}"]`, { timeout: 15_000 });
    expect(await rows.count()).to.equal(before + 1);
    // The branch is abandoned for a longer one without the registration.
    await chain.provider.send("evm_revert", [fork]);
    await mine(5);
    await page.waitForSelector('[data-testid="reorg-notice"]:not([hidden])', { timeout: 15_000 });
    await page.waitForFunction(
      `!document.querySelector('[data-testid="event-row"][data-tx="${registered}"]')`,
      undefined,
      { timeout: 15_000 },
    );
    expect(await rows.count()).to.equal(before);
    expect(await page.locator('[data-testid="reorg-notice"]').innerText()).to.match(
      /^The chain reorganised \(noticed at block \d+\): the page went back to block \d+ and read forward again; 1 event\(s\) from the abandoned branch were dropped\.$/,
    );
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-reorg.png"), fullPage: true });
  });

  it("audits the history it rebuilt, as the audit task does, and checks manifest files against the hashes voted", async function () {
    await goto("audit");
    const summary = page.locator('[data-testid="audit-summary"]');
    const checks = page.locator('[data-testid="check-row"]');
    expect(await summary.getAttribute("data-ok"), await summary.innerText()).to.equal("true");
    expect(await summary.innerText()).to.match(
      new RegExp(`^audit passed: ${await checks.count()} checks over 1 upgrade\\(s\\), blocks ${d.startBlock}-\\d+$`),
    );
    expect(await checks.count()).to.be.greaterThan(5);
    expect(
      await page.locator('[data-testid="check-row"][data-kind="authority"]').count(),
      "the pauses' authority was checked",
    ).to.be.greaterThan(0);
    const [report] = await Promise.all([page.waitForEvent("download"), page.click('[data-testid="report-md"]')]);
    expect(readFileSync((await report.path())!, "utf8")).to.include("Every check passed");

    // A file claiming to be the manifest voted for "v2-web", and a file that is not a manifest.
    const forged = {
      name: "v2-web",
      version: "v2.0.0",
      previousVersion: "v1.9.3",
      artifacts: [
        {
          platform: "linux-amd64",
          uri: "https://dl.example/node-v2.0.0",
          sha256: keccak256(toUtf8Bytes("other binary")),
        },
      ],
      stages: [1, 3].map((cohort) => ({
        cohort,
        timelock: 0,
        observationWindow: 600,
        attestationDeadline: 3600,
        readinessBps: 0,
        healthyBps: 5000,
        unhealthyBps: 6000,
        rollbackBps: 0,
      })),
    };
    await page.setInputFiles('[data-testid="manifest-files"]', [
      { name: "v2-web.json", mimeType: "application/json", buffer: Buffer.from(JSON.stringify(forged)) },
      { name: "notes.json", mimeType: "application/json", buffer: Buffer.from("{ not json") },
    ]);
    await page.waitForFunction(`document.querySelector('[data-testid="audit-summary"]')?.dataset.ok === "false"`);
    expect(await summary.innerText())
      .to.include("audit FAILED: 1 of")
      .and.include("[manifest-hash] v2-web.json: canonical hash");
    const failed = page.locator('[data-testid="check-row"][data-ok="false"]');
    expect(await failed.count()).to.equal(1);
    expect(await failed.innerText()).to.include('differs from the hash voted for "v2-web"');
    expect(await page.locator('[data-testid="manifest-errors"]').innerText()).to.include("notes.json");
    await page.screenshot({ path: join(ARTIFACTS, "dashboard-audit.png"), fullPage: true });
  });

  it("lets the user pick among several wallets announced by EIP-6963, and remembers the choice", async function () {
    const second = await bench.browser!.newPage({ viewport: { width: 1400, height: 1000 } });
    try {
      const other = (await chain.provider.getSigner(7)).address;
      await injectWallet(second, {
        rpcUrl: chain.url,
        account: voter,
        chainId: 31337,
        knownChains: [31337],
        nodeChain: 31337,
        legacy: false,
        announce: { rdns: "org.example.alpha", name: "Alpha Wallet" },
      });
      const beta = await injectWallet(second, {
        rpcUrl: chain.url,
        account: other,
        chainId: 31337,
        knownChains: [31337],
        nodeChain: 31337,
        legacy: false,
        announce: { rdns: "org.example.beta", name: "Beta <Wallet>" },
      });
      await second.goto(page.url());
      await second.waitForFunction(`document.body.dataset.state === "live"`, undefined, { timeout: 15_000 });
      await second.click('[data-testid="wallet-button"]');
      const dialog = second.locator('[data-testid="dialog"]');
      expect(await dialog.innerText())
        .to.include("Alpha Wallet")
        .and.include("Beta <Wallet>");
      await second.check('[data-testid="wallet-org.example.beta"]');
      await second.click('[data-testid="dialog-confirm"]');
      await second.waitForFunction(
        `document.querySelector('[data-testid="wallet-button"]').dataset.state === "ready"`,
        undefined,
        { timeout: 15_000 },
      );
      expect(beta.connected).to.equal(true);
      await second.waitForFunction(`document.body.dataset.account === ${JSON.stringify(other)}`, undefined, {
        timeout: 15_000,
      });
      // A reload takes up the same wallet, without asking again.
      await second.reload();
      await second.waitForFunction(`document.body.dataset.account === ${JSON.stringify(other)}`, undefined, {
        timeout: 15_000,
      });
      // And the user can move to the other wallet.
      await second.click('nav a[data-view="proposals"]');
      await second.click('[data-testid="choose-wallet"]');
      await second.check('[data-testid="wallet-org.example.alpha"]');
      await second.click('[data-testid="dialog-confirm"]');
      await second.waitForFunction(`document.body.dataset.account === ${JSON.stringify(voter)}`, undefined, {
        timeout: 15_000,
      });
      expect(await second.locator('[data-testid="account"]').innerText()).to.include("via Alpha Wallet");
    } finally {
      await second.close();
    }
  });
});
