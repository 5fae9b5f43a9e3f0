// What the buttons do: connect and switch chains, delegate, vote, queue, execute, and the guardian's pause and
// rollback, each behind a dialog that says what will happen. Progress and failures, in words, go to #tx-status.
import { encodeFunctionData, getAddress, isAddress, type Abi } from "viem";
import { lockstepGovernorAbi, stakeTokenAbi, upgradeCoordinatorAbi } from "../../lib/abi/generated";
import { cancelProposal } from "../../lib/actions/cancelProposal";
import { castVote } from "../../lib/actions/castVote";
import { executeProposal } from "../../lib/actions/executeProposal";
import { propose } from "../../lib/actions/propose";
import { queueProposal } from "../../lib/actions/queueProposal";
import type { ChainView, Snapshot } from "./chain";
import type { DashboardConfig } from "./dashboardConfig";
import { openDialog } from "./dialog";
import { esc, tokens } from "./format";
import { txLink } from "./views/html";
import type { GovernanceSnapshot, GovernanceView, ProposalRecord } from "./governance";
import { SUPPORT, hashProposal, proposalArgs, type Proposal } from "../../lib/governance";
import { manifestHash, parseManifest, toOnChain, type ManifestFile } from "../../lib/manifest";
import { decodeRevert, revertDataOf } from "../../lib/revert";
import { scheduleUpgradeProposal } from "../../lib/actions/scheduleUpgrade";
import { SafeBatchError, safeBatch, type SafeCall } from "../../lib/safeBatch";
import { SUPPORT_NAMES, proposalTitle } from "../../lib/proposals";
import { callsHtml, manifestPanel, type ManifestCheck, type ManifestPanelState } from "./views/proposals";
import { TxFailure, explain, type ContractCall, type SendAction, type Wallet } from "./wallet";

type Hex = `0x${string}`;

export interface App {
  config: DashboardConfig;
  chain: ChainView;
  gov: GovernanceView;
  wallet: Wallet;
  snap?: Snapshot;
  govSnap?: GovernanceSnapshot;
  /** Why the last attempt to read the Governor failed, while the chain view stayed live. */
  govError?: string;
  /** Refreshes chain, proposals and account now (after a transaction, a wallet change). */
  refreshNow(): Promise<void>;
}

type TxState = "checking" | "signing" | "pending" | "confirmed" | "downloaded" | TxFailure["kind"];
let statusSeq = 0;
/** One transaction at a time: a second click while one is pending would be simulated against stale state. */
let inFlight: string | undefined;

/** Shows a transaction's progress; data-seq tells one outcome from the next when two end the same way. */
function status(app: App, state: TxState, text: string, hash?: string) {
  const el = document.getElementById("tx-status")!;
  el.hidden = false;
  el.dataset.state = state;
  el.dataset.seq = String(++statusSeq);
  el.innerHTML = esc(text) + (hash ? ` ${txLink(hash, app.config.explorerUrl, hash)}` : "");
}

/** Sends `call` through the wallet, reporting each step; refreshes the page once it is mined. */
async function run(app: App, what: string, call: ContractCall | SendAction): Promise<boolean> {
  if (inFlight) {
    status(app, "failed", `${what} was not started: wait until "${inFlight}" has an outcome.`);
    return false;
  }
  inFlight = what;
  status(app, "checking", `${what}: checking that it would succeed…`);
  try {
    const receipt = await app.wallet.send(app.chain.client, call, (stage, hash) =>
      status(
        app,
        stage,
        stage === "signing" ? `${what}: confirm in your wallet…` : `${what}: sent, waiting for it to be mined…`,
        hash,
      ),
    );
    await app.refreshNow();
    status(app, "confirmed", `${what}: done in block ${receipt.blockNumber}.`, receipt.transactionHash);
    return true;
  } catch (e) {
    const f = explain(e);
    status(
      app,
      f.kind,
      f.kind === "unknown" ? `${what}: ${f.message}` : `${what} did not happen. ${f.message}`,
      f.hash,
    );
    return false;
  } finally {
    inFlight = undefined;
  }
}

const contracts = (app: App) => app.config.deployment.contracts as Record<string, Hex>;
const governor = (app: App) => contracts(app).LockstepGovernor;

/**
 * The governance snapshot, without what was read for another account: right after the wallet switches accounts,
 * the last snapshot still describes the previous one (its power, its votes, its roles) until the next refresh.
 */
export function currentGov(app: App): GovernanceSnapshot | undefined {
  const g = app.govSnap;
  if (!g) return undefined;
  const w = app.wallet.status;
  const now = w.kind === "ready" || w.kind === "wrong-chain" ? w.account.toLowerCase() : undefined;
  if (g.readFor?.toLowerCase() === now) return g;
  return {
    ...g,
    readFor: undefined,
    account: undefined,
    proposals: g.proposals.map((p) => ({ ...p, mine: undefined })),
  };
}

function proposal(app: App, id: string | undefined): ProposalRecord | undefined {
  return currentGov(app)?.proposals.find((p) => p.id.toString() === id);
}

async function vote(app: App, p: ProposalRecord, preset?: number, safeOnly = false) {
  const power = p.mine?.power;
  const warning =
    power === 0n && !safeOnly
      ? `<p class="warn-text">You had no voting power at block ${p.snapshot}: your vote would count 0. Delegate before a proposal's snapshot to vote on it.</p>`
      : "";
  const options = [SUPPORT.for, SUPPORT.against, SUPPORT.abstain]
    .map(
      (i) =>
        `<label class="choice"><input type="radio" name="support" value="${i}" data-testid="support-${SUPPORT_NAMES[i].toLowerCase()}" ${i === preset ? "checked" : ""} required> ${SUPPORT_NAMES[i]}</label>`,
    )
    .join("");
  const fields = await openDialog({
    title: `Vote on "${proposalTitle(p.description)}"`,
    body: `<p><b>It would call:</b></p>${callsHtml(p, app.config.deployment)}
      ${safeOnly ? "" : `<p data-testid="dialog-power">Your voting power at the snapshot (block ${p.snapshot}): <b>${power === undefined ? "unknown" : tokens(power)}</b></p>${warning}`}
      <div class="choices">${options}</div>
      <label>Reason (optional, public, kept on chain)<textarea name="reason" rows="3" data-testid="vote-reason"></textarea></label>
      ${safeField(undefined, "The Safe that votes (with the votes delegated to it at the snapshot)")}`,
    confirmLabel: safeOnly ? "Download Safe batch" : "Sign and cast vote",
    alternatives: safeOnly ? [] : [SAFE_ALTERNATIVE],
  });
  if (!fields) return;
  if (!fields.get("support")) return status(app, "failed", "The vote was not made: choose For, Against or Abstain.");
  const support = Number(fields.get("support"));
  const reason = String(fields.get("reason") ?? "").trim();
  if (safeOnly || fields.get("choice") === "safe-batch")
    return downloadBatch(app, fields, `Lockstep: vote ${SUPPORT_NAMES[support]} on proposal ${p.id}`, [
      {
        to: governor(app),
        abi: lockstepGovernorAbi as Abi,
        functionName: "castVoteWithReason",
        args: [p.id, support, reason],
      },
    ]);
  await run(app, `Vote ${SUPPORT_NAMES[support]}`, (wallet, options) =>
    castVote(wallet, { ...options, governor: governor(app), proposalId: p.id, support, reason }),
  );
}

// ------------------------------------------------------------------ Safe Transaction Builder batches

/** The dialog's second way out: a batch file for a Safe to sign, instead of sending from the connected wallet. */
const SAFE_ALTERNATIVE = { value: "safe-batch", label: "Download Safe batch" };

/** The Safe address field a batch needs (the Transaction Builder loads a batch into that Safe only). */
function safeField(safe: string | undefined, label = "The Safe that signs"): string {
  return `<label>${esc(label)}, for a Safe batch<input name="safe" data-testid="safe-address" autocomplete="off" placeholder="0x…" value="${esc(safe ?? "")}"></label>`;
}

/**
 * Downloads `calls` as a Safe Transaction Builder batch for the Safe named in the dialog; sends nothing. A missing or
 * malformed Safe address is one line in #tx-status, and nothing is downloaded.
 */
function downloadBatch(app: App, fields: FormData, name: string, calls: SafeCall[], description = "") {
  const safe = String(fields.get("safe") ?? "").trim();
  if (!isAddress(safe, { strict: false }) || /^0x0{40}$/i.test(safe))
    return status(
      app,
      "failed",
      `No Safe batch was made: ${!safe ? "give the Safe's address" : isAddress(safe, { strict: false }) ? "the zero address is no Safe" : `"${safe}" is not an address`}.`,
    );
  let text: string;
  try {
    const file = safeBatch({ chainId: app.config.deployment.chainId, safe, name, description, calls });
    text = JSON.stringify(file, null, 2) + "\n";
  } catch (e) {
    if (e instanceof SafeBatchError) return status(app, "failed", `No Safe batch was made: ${e.message}.`);
    throw e;
  }
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "")
    .slice(0, 60);
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
  a.download = `${slug}.safe-batch.json`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  status(
    app,
    "downloaded",
    `${name}: Safe batch for ${getAddress(safe)} downloaded as ${a.download}; nothing was sent. Load it in the Safe's Transaction Builder.`,
  );
}

/** A Governor step (propose, queue, execute, cancel) as the one call a Safe batch makes. */
function governorCall(app: App, step: "propose" | "queue" | "execute" | "cancel", p: Proposal): SafeCall {
  return {
    to: governor(app),
    abi: lockstepGovernorAbi as Abi,
    functionName: step,
    args: step === "propose" ? [p.targets, p.values, p.calldatas, p.description] : proposalArgs(p),
  };
}

const STEPS = {
  queue: {
    label: "Queue",
    says: "Queue the passed proposal in the timelock; after its delay anyone can execute it. It will call:",
  },
  execute: { label: "Execute", says: "Execute the proposal now, through the timelock. It will call:" },
  cancel: {
    label: "Cancel proposal",
    says: "Cancel your proposal before voting opens; it can never be voted on. It would have called:",
  },
} as const;

/** Queue, execute or cancel, after a confirmation that shows what the proposal does; or its Safe batch. */
async function proposalStep(app: App, p: ProposalRecord, step: keyof typeof STEPS, safeOnly = false) {
  const s = STEPS[step];
  const fields = await openDialog({
    title: `${s.label}: "${proposalTitle(p.description)}"`,
    body: `<p>${s.says}</p>${callsHtml(p, app.config.deployment)}${safeField(undefined, step === "cancel" ? "The Safe that proposed it" : "The Safe that sends it")}`,
    confirmLabel: safeOnly ? "Download Safe batch" : s.label,
    danger: step === "cancel" && !safeOnly,
    alternatives: safeOnly ? [] : [SAFE_ALTERNATIVE],
  });
  if (!fields) return;
  if (safeOnly || fields.get("choice") === "safe-batch")
    return downloadBatch(
      app,
      fields,
      `Lockstep: ${step} proposal ${p.id}`,
      [governorCall(app, step, p)],
      proposalTitle(p.description),
    );
  const send = { queue: queueProposal, execute: executeProposal, cancel: cancelProposal }[step];
  await run(app, s.label, (wallet, options) => send(wallet, { ...options, governor: governor(app), proposal: p }));
}

async function delegate(app: App, to: Hex) {
  await run(app, `Delegate to ${to}`, {
    address: contracts(app).StakeToken,
    abi: stakeTokenAbi as Abi,
    functionName: "delegate",
    args: [to],
  });
}

async function delegateOther(app: App) {
  const fields = await openDialog({
    title: "Delegate your voting power",
    body: `<p>Your tokens stay yours; the delegate votes with their weight from the next block on. Proposals already made keep the weights of their snapshot.</p>
      <label>Delegate address<input name="to" data-testid="delegate-to" pattern="0x[0-9a-fA-F]{40}" required placeholder="0x…"></label>`,
    confirmLabel: "Delegate",
  });
  if (!fields) return;
  const to = String(fields.get("to")).trim();
  if (!isAddress(to)) return status(app, "failed", `Delegation did not happen. "${to}" is not an address.`);
  await delegate(app, to);
}

/**
 * The guardian's pause or rollback. Sent from the connected wallet when it is the guardian; otherwise (the guardian
 * is a Safe, or another key) only written as a Safe batch for the guardian to sign.
 */
async function guardian(app: App, kind: "pause" | "rollback", id: string, safeOnly = false) {
  const u = app.snap?.history.upgrades.find((x) => x.id.toString() === id);
  if (!u) return;
  const coordinator = contracts(app).UpgradeCoordinator;
  const what = `#${u.id} ${esc(u.name)} (${esc(u.manifest.previousVersion)} → ${esc(u.manifest.version)})`;
  // A rollback goes the other way: from the new version back to the previous one.
  const back = `#${u.id} ${esc(u.name)} (<span data-testid="rollback-direction">${esc(u.manifest.version)} → ${esc(u.manifest.previousVersion)}</span>)`;
  const guardianAddress = app.govSnap?.guardian;
  const safe = safeOnly
    ? `<p>Your account is not the guardian${guardianAddress ? ` (<span class="mono">${esc(guardianAddress)}</span>)` : ""}: download the call as a Safe batch for the guardian's owners to sign. Nothing is sent from here.</p>
      ${safeField(guardianAddress, "The guardian Safe")}`
    : "";
  const confirm = safeOnly ? { confirmLabel: "Download Safe batch", danger: false } : undefined;
  const fields =
    kind === "pause"
      ? await openDialog({
          title: `Pause upgrade #${u.id}?`,
          body: `<p>Pause upgrade ${what}. No further stage activates and every watcher holds where it is; validators already upgraded stay upgraded.
            Only governance can resume it.</p>${safe}`,
          confirmLabel: "Pause the upgrade",
          danger: true,
          ...confirm,
        })
      : await openDialog({
          title: `Order a rollback of upgrade #${u.id}?`,
          body: `<p>Roll back upgrade ${back}. Every validator that upgraded restores ${esc(u.manifest.previousVersion)}${u.manifest.stateIncompatible ? " and its state snapshot" : ""}.
            The upgrade ends for good: this cannot be undone, and trying again needs a new proposal.</p>${safe}`,
          confirmLabel: "Order the rollback",
          danger: true,
          // Typing guards what is sent at once; a batch still waits for the Safe's owners.
          typeToConfirm: safeOnly ? undefined : `rollback ${u.id}`,
          ...confirm,
        });
  if (!fields) return;
  const functionName = kind === "pause" ? "pause" : "orderRollback";
  const title = kind === "pause" ? `Pause upgrade #${u.id}` : `Rollback of upgrade #${u.id}`;
  if (safeOnly)
    return downloadBatch(app, fields, `Lockstep: ${title.toLowerCase()}`, [
      { to: coordinator, abi: upgradeCoordinatorAbi as Abi, functionName, args: [u.id] },
    ]);
  await run(app, title, { address: coordinator, abi: upgradeCoordinatorAbi as Abi, functionName, args: [u.id] });
}

const PROPOSALS = {
  "propose-resume": {
    fn: "resume",
    verb: "Resume",
    effect: "The rollout continues from the stage where it was paused.",
  },
  "propose-withdraw": {
    fn: "withdraw",
    verb: "Withdraw",
    effect:
      "The upgrade ends; stages not yet activated never will be. Validators already upgraded keep the new version.",
  },
  "propose-rollback": {
    fn: "orderRollback",
    verb: "Roll back",
    effect: "Every validator that upgraded restores the previous version; the upgrade ends.",
  },
} as const;

/** A Governor proposal for one coordinator call on upgrade `id`, with a description the proposer can edit. */
async function proposeFor(app: App, kind: keyof typeof PROPOSALS, id: string) {
  const u = app.snap?.history.upgrades.find((x) => x.id.toString() === id);
  if (!u) return;
  const p = PROPOSALS[kind];
  // Dated, so a draft made again (after a cancelled or defeated one) is a new proposal, not the old one's id.
  const draft = `# ${p.verb} upgrade #${u.id} ${u.name}\n\n${p.effect}\n\nDrafted ${new Date().toISOString()}.\n\nWhy: `;
  const g = app.govSnap?.params;
  const fields = await openDialog({
    title: `Propose: ${p.verb.toLowerCase()} upgrade #${u.id}`,
    body: `<p>This creates a Governor proposal calling <span class="mono">UpgradeCoordinator.${p.fn}(${u.id})</span>. ${esc(p.effect)}</p>
      ${g ? `<p class="muted">Voting opens ${g.votingDelay} block(s) after it is made and lasts ${g.votingPeriod}; if it passes it waits in the timelock before anyone can execute it.</p>` : ""}
      <label>Description (the first line is its title)<textarea name="description" rows="6" data-testid="proposal-description">${esc(draft)}</textarea></label>
      ${safeField(undefined, "The Safe that proposes")}`,
    confirmLabel: "Submit proposal",
    alternatives: [SAFE_ALTERNATIVE],
  });
  if (!fields) return;
  const description = String(fields.get("description") ?? "").trim();
  if (!description) return status(app, "failed", "The proposal was not made: it needs a description.");
  const coordinator = contracts(app).UpgradeCoordinator;
  const calldata = encodeFunctionData({ abi: upgradeCoordinatorAbi, functionName: p.fn, args: [u.id] });
  const proposal = { targets: [coordinator], values: [0n], calldatas: [calldata], description };
  if (fields.get("choice") === "safe-batch")
    return downloadBatch(
      app,
      fields,
      `Lockstep: propose to ${p.verb.toLowerCase()} upgrade #${u.id}`,
      [governorCall(app, "propose", proposal)],
      proposalTitle(description),
    );
  await run(app, `Proposal to ${p.verb.toLowerCase()} upgrade #${u.id}`, (wallet, options) =>
    propose(wallet, { ...options, governor: governor(app), proposal }),
  );
}

/** Connects, first asking which wallet when the browser has several (or when asked to use another). */
async function connect(app: App, choose = false) {
  if (!choose && !app.wallet.needsChoice) return app.wallet.connect();
  const options = app.wallet.wallets
    .map(
      (
        w,
        i,
      ) => `<label class="choice wallet-choice"><input type="radio" name="wallet" value="${esc(w.id)}" ${i === 0 ? "checked" : ""} data-testid="wallet-${esc(w.id)}">
        ${w.icon ? `<img src="${esc(w.icon)}" alt="" width="20" height="20">` : ""} ${esc(w.name)}</label>`,
    )
    .join("");
  const fields = await openDialog({
    title: "Connect a wallet",
    body: `<p>Several wallets are installed. Use:</p><div class="wallets">${options}</div>`,
    confirmLabel: "Connect",
  });
  if (fields) await app.wallet.connect(String(fields.get("wallet")));
}

export function bindActions(app: App) {
  document.addEventListener("click", (e) => {
    const el = (e.target as HTMLElement).closest<HTMLElement>("[data-action]");
    const action = el?.dataset.action;
    if (!el || !action || (el as HTMLButtonElement).disabled) return;
    const account = app.wallet.status.kind === "ready" ? app.wallet.status.account : undefined;
    const p = proposal(app, el.dataset.proposal);
    const guarded = async (work: () => Promise<unknown>) => {
      try {
        await work();
      } catch (err) {
        const f = explain(err);
        status(app, f.kind, f.message);
      }
    };
    switch (action) {
      case "connect":
        return void guarded(() => connect(app));
      case "choose-wallet":
        return void guarded(() => connect(app, true));
      case "switch-chain":
        return void guarded(() => app.wallet.switchChain());
      case "delegate-self":
        return void (account && guarded(() => delegate(app, account)));
      case "delegate-other":
        return void guarded(() => delegateOther(app));
      case "vote":
        return void (
          p && guarded(() => vote(app, p, el.dataset.support === undefined ? undefined : Number(el.dataset.support)))
        );
      case "queue":
      case "execute":
      case "cancel":
        return void (p && guarded(() => proposalStep(app, p, action)));
      case "safe-batch": {
        const step = el.dataset.step;
        if (!p) return;
        if (step === "vote") return void guarded(() => vote(app, p, undefined, true));
        if (step === "queue" || step === "execute" || step === "cancel")
          return void guarded(() => proposalStep(app, p, step, true));
        return;
      }
      case "pause":
      case "rollback":
        return void guarded(() => guardian(app, action, el.dataset.upgrade!));
      case "safe-pause":
      case "safe-rollback":
        return void guarded(() =>
          guardian(app, action === "safe-pause" ? "pause" : "rollback", el.dataset.upgrade!, true),
        );
      case "advance":
        return void guarded(() =>
          run(app, `Advance upgrade #${el.dataset.upgrade}`, {
            address: contracts(app).UpgradeCoordinator,
            abi: upgradeCoordinatorAbi as Abi,
            functionName: "advance",
            args: [BigInt(el.dataset.upgrade!)],
          }),
        );
      case "pause-missing":
        return void guarded(() =>
          run(app, `Pause of upgrade #${el.dataset.upgrade} for missing participation`, {
            address: contracts(app).UpgradeCoordinator,
            abi: upgradeCoordinatorAbi as Abi,
            functionName: "pauseForMissingParticipation",
            args: [BigInt(el.dataset.upgrade!)],
          }),
        );
      case "propose-resume":
      case "propose-withdraw":
      case "propose-rollback":
        return void guarded(() => proposeFor(app, action, el.dataset.upgrade!));
    }
  });
}

// ------------------------------------------------------------------ proposing an upgrade from a manifest file

/** Larger than any manifest (16 artifacts, 16 stages): a bigger file is refused before it is read. */
const MANIFEST_MAX_BYTES = 256 * 1024;

/** The checks beyond the file's own validity: the name is free, the coordinator would accept it, the proposer. */
async function manifestChecks(app: App, m: ManifestFile, proposal: Proposal): Promise<ManifestCheck[]> {
  const checks: ManifestCheck[] = [
    { key: "valid", ok: true, text: "Valid manifest: every field checked as manifest:check checks it." },
    { key: "hash", ok: true, text: `Manifest hash (keccak256 of the canonical form): ${manifestHash(m)}` },
  ];
  const c = contracts(app);
  try {
    const existing = await app.chain.client.readContract({
      address: c.UpgradeCoordinator,
      abi: upgradeCoordinatorAbi,
      functionName: "upgradeIdOf",
      args: [m.name],
    });
    checks.push(
      existing === 0n
        ? { key: "name", ok: true, text: `No upgrade is named "${m.name}" yet.` }
        : { key: "name", ok: false, text: `An upgrade named "${m.name}" already exists (#${existing}): rename it.` },
    );
  } catch (e) {
    checks.push({ key: "name", ok: "warn", text: `Could not check the name: ${explain(e).message}` });
  }
  const already = currentGov(app)?.proposals.find(
    (p) => ["Pending", "Active", "Succeeded", "Queued"].includes(p.state) && hashProposal(p) === hashProposal(proposal),
  );
  if (already)
    checks.push({ key: "duplicate", ok: false, text: `This exact proposal exists already (${already.state}).` });
  // What the timelock would meet executing it now; the state may differ by then, so a refusal is a warning.
  try {
    await app.chain.client.simulateContract({
      address: c.UpgradeCoordinator,
      abi: upgradeCoordinatorAbi,
      functionName: "schedule",
      args: [toOnChain(m)],
      account: c.LockstepTimelock,
    });
    checks.push({ key: "simulation", ok: true, text: "The coordinator would accept it, executed now." });
  } catch (e) {
    const data = revertDataOf(e);
    const why = (data && decodeRevert(data)?.words) || explain(e).message;
    checks.push({ key: "simulation", ok: "warn", text: `Executed now, the coordinator would refuse it: ${why}` });
  }
  const g = currentGov(app);
  if (g?.account) {
    const enough = g.account.votes >= g.params.proposalThreshold;
    checks.push({
      key: "threshold",
      ok: enough ? true : "warn",
      text: enough
        ? `Your voting power (${tokens(g.account.votes)}) meets the proposal threshold (${tokens(g.params.proposalThreshold)}).`
        : `Your voting power (${tokens(g.account.votes)}) is below the proposal threshold (${tokens(g.params.proposalThreshold)}): propose from a Safe that holds it.`,
    });
  }
  return checks;
}

/**
 * The Proposals view's manifest panel: a file dropped anywhere on the view or picked is parsed (a bad one is a
 * one-line error and nothing else), summarised, checked, and proposed with the wallet or downloaded as a Safe batch.
 */
export function bindProposeFromManifest(app: App, panel: HTMLElement) {
  let state: ManifestPanelState = { kind: "empty" };
  let shown: ManifestPanelState | undefined;
  let seq = 0;
  const show = () => {
    // The description typed for this same file survives its checks arriving; another file starts from its own.
    const typed = panel.querySelector<HTMLTextAreaElement>('[data-testid="manifest-description"]')?.value;
    if (shown === state && state.kind === "ready" && typed !== undefined) state.description = typed;
    panel.innerHTML = manifestPanel(state, app.config.deployment);
    shown = state;
  };
  const load = async (file: File) => {
    const mine = ++seq;
    try {
      if (file.size > MANIFEST_MAX_BYTES)
        throw new Error(`${file.name}: ${file.size} bytes is too large for a manifest (at most ${MANIFEST_MAX_BYTES})`);
      const m = parseManifest(await file.text(), file.name);
      const proposal = scheduleUpgradeProposal({ coordinator: contracts(app).UpgradeCoordinator, manifest: m });
      state = {
        kind: "ready",
        file: file.name,
        manifest: m,
        checks: undefined,
        proposal,
        description: proposal.description,
        canPropose: app.wallet.status.kind === "ready",
      };
      show();
      const checks = await manifestChecks(app, m, proposal);
      if (mine !== seq || state.kind !== "ready") return;
      state.checks = checks;
      state.canPropose = app.wallet.status.kind === "ready";
    } catch (e) {
      if (mine !== seq) return;
      // One line: the first problem is enough to fix first; parseManifest lists them all, joined by "; ".
      state = { kind: "error", message: (e as Error).message.split("\n")[0] };
    }
    show();
  };
  show();
  const view = panel.parentElement!;
  view.addEventListener("dragover", (e) => {
    if (!e.dataTransfer?.types.includes("Files")) return;
    e.preventDefault();
    view.classList.add("dropping");
  });
  view.addEventListener("dragleave", () => view.classList.remove("dropping"));
  view.addEventListener("drop", (e) => {
    view.classList.remove("dropping");
    const files = e.dataTransfer?.files;
    if (!files?.length) return;
    e.preventDefault();
    if (location.hash !== "#proposals") location.hash = "#proposals";
    if (files.length > 1) {
      state = { kind: "error", message: `Drop one manifest file at a time (${files.length} were dropped).` };
      return show();
    }
    void load(files[0]);
  });
  panel.addEventListener("change", (e) => {
    const input = e.target as HTMLInputElement;
    if (input.dataset.testid === "manifest-pick" && input.files?.[0]) void load(input.files[0]);
  });
  panel.addEventListener("click", (e) => {
    const button = (e.target as HTMLElement).closest<HTMLButtonElement>("button");
    if (!button || button.disabled || state.kind !== "ready") return;
    const s = state;
    const description = (
      panel.querySelector<HTMLTextAreaElement>('[data-testid="manifest-description"]')?.value ?? ""
    ).trim();
    if (button.dataset.testid === "manifest-clear") {
      seq++;
      state = { kind: "empty" };
      return show();
    }
    if (!description) return status(app, "failed", "The proposal was not made: it needs a description.");
    const proposal = { ...s.proposal, description };
    if (button.dataset.testid === "manifest-safe-batch") {
      const fields = new FormData();
      fields.set("safe", panel.querySelector<HTMLInputElement>('[data-testid="manifest-safe"]')?.value ?? "");
      return downloadBatch(
        app,
        fields,
        `Lockstep: propose to schedule ${s.manifest.name}`,
        [governorCall(app, "propose", proposal)],
        proposalTitle(description),
      );
    }
    if (button.dataset.testid === "manifest-propose" && app.wallet.status.kind !== "ready")
      return status(
        app,
        "failed",
        "The proposal was not made: connect a wallet on this chain, or download a Safe batch.",
      );
    if (button.dataset.testid === "manifest-propose")
      void (async () => {
        const sent = await run(app, `Proposal to schedule ${s.manifest.name}`, (wallet, options) =>
          propose(wallet, { ...options, governor: governor(app), proposal }),
        );
        if (!sent) return;
        seq++;
        state = { kind: "empty" };
        show();
        location.hash = `#proposals/${hashProposal(proposal)}`;
      })();
  });
}
