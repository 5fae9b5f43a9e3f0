// What the buttons do: connect and switch chains, delegate, vote, queue, execute, and the guardian's pause and
// rollback, each behind a dialog that says what will happen. Progress and failures, in words, go to #tx-status.
import { encodeFunctionData, isAddress, type Abi } from "viem";
import { stakeTokenAbi, upgradeCoordinatorAbi } from "../../lib/abi/generated";
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
import { SUPPORT } from "../../lib/governance";
import { SUPPORT_NAMES, proposalTitle } from "../../lib/proposals";
import { callsHtml } from "./views/proposals";
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

type TxState = "checking" | "signing" | "pending" | "confirmed" | TxFailure["kind"];
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
async function run(app: App, what: string, call: ContractCall | SendAction) {
  if (inFlight) return status(app, "failed", `${what} was not started: wait until "${inFlight}" has an outcome.`);
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
  } catch (e) {
    const f = explain(e);
    status(
      app,
      f.kind,
      f.kind === "unknown" ? `${what}: ${f.message}` : `${what} did not happen. ${f.message}`,
      f.hash,
    );
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

async function vote(app: App, p: ProposalRecord) {
  const power = p.mine?.power;
  const warning =
    power === 0n
      ? `<p class="warn-text">You had no voting power at block ${p.snapshot}: your vote would count 0. Delegate before a proposal's snapshot to vote on it.</p>`
      : "";
  const options = [SUPPORT.for, SUPPORT.against, SUPPORT.abstain]
    .map(
      (i) =>
        `<label class="choice"><input type="radio" name="support" value="${i}" data-testid="support-${SUPPORT_NAMES[i].toLowerCase()}" required> ${SUPPORT_NAMES[i]}</label>`,
    )
    .join("");
  const fields = await openDialog({
    title: `Vote on "${proposalTitle(p.description)}"`,
    body: `<p><b>It would call:</b></p>${callsHtml(p, app.config.deployment)}
      <p data-testid="dialog-power">Your voting power at the snapshot (block ${p.snapshot}): <b>${power === undefined ? "unknown" : tokens(power)}</b></p>${warning}
      <div class="choices">${options}</div>
      <label>Reason (optional, public, kept on chain)<textarea name="reason" rows="3" data-testid="vote-reason"></textarea></label>`,
    confirmLabel: "Sign and cast vote",
  });
  if (!fields) return;
  const support = Number(fields.get("support"));
  const reason = String(fields.get("reason") ?? "").trim();
  await run(app, `Vote ${SUPPORT_NAMES[support]}`, (wallet, options) =>
    castVote(wallet, { ...options, governor: governor(app), proposalId: p.id, support, reason }),
  );
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

/** Queue, execute or cancel, after a confirmation that shows what the proposal does. */
async function proposalStep(app: App, p: ProposalRecord, step: keyof typeof STEPS) {
  const s = STEPS[step];
  const fields = await openDialog({
    title: `${s.label}: "${proposalTitle(p.description)}"`,
    body: `<p>${s.says}</p>${callsHtml(p, app.config.deployment)}`,
    confirmLabel: s.label,
    danger: step === "cancel",
  });
  if (!fields) return;
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

async function guardian(app: App, kind: "pause" | "rollback", id: string) {
  const u = app.snap?.history.upgrades.find((x) => x.id.toString() === id);
  if (!u) return;
  const coordinator = contracts(app).UpgradeCoordinator;
  const what = `#${u.id} ${esc(u.name)} (${esc(u.manifest.previousVersion)} → ${esc(u.manifest.version)})`;
  // A rollback goes the other way: from the new version back to the previous one.
  const back = `#${u.id} ${esc(u.name)} (<span data-testid="rollback-direction">${esc(u.manifest.version)} → ${esc(u.manifest.previousVersion)}</span>)`;
  const fields =
    kind === "pause"
      ? await openDialog({
          title: `Pause upgrade #${u.id}?`,
          body: `<p>Pause upgrade ${what}. No further stage activates and every watcher holds where it is; validators already upgraded stay upgraded.
            Only governance can resume it.</p>`,
          confirmLabel: "Pause the upgrade",
          danger: true,
        })
      : await openDialog({
          title: `Order a rollback of upgrade #${u.id}?`,
          body: `<p>Roll back upgrade ${back}. Every validator that upgraded restores ${esc(u.manifest.previousVersion)}${u.manifest.stateIncompatible ? " and its state snapshot" : ""}.
            The upgrade ends for good: this cannot be undone, and trying again needs a new proposal.</p>`,
          confirmLabel: "Order the rollback",
          danger: true,
          typeToConfirm: `rollback ${u.id}`,
        });
  if (!fields) return;
  const functionName = kind === "pause" ? "pause" : "orderRollback";
  await run(app, kind === "pause" ? `Pause upgrade #${u.id}` : `Rollback of upgrade #${u.id}`, {
    address: coordinator,
    abi: upgradeCoordinatorAbi as Abi,
    functionName,
    args: [u.id],
  });
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
      <label>Description (the first line is its title)<textarea name="description" rows="6" data-testid="proposal-description">${esc(draft)}</textarea></label>`,
    confirmLabel: "Submit proposal",
  });
  if (!fields) return;
  const description = String(fields.get("description") ?? "").trim();
  if (!description) return status(app, "failed", "The proposal was not made: it needs a description.");
  const coordinator = contracts(app).UpgradeCoordinator;
  const calldata = encodeFunctionData({ abi: upgradeCoordinatorAbi, functionName: p.fn, args: [u.id] });
  const proposal = { targets: [coordinator], values: [0n], calldatas: [calldata], description };
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
        return void (p && guarded(() => vote(app, p)));
      case "queue":
      case "execute":
      case "cancel":
        return void (p && guarded(() => proposalStep(app, p, action)));
      case "pause":
      case "rollback":
        return void guarded(() => guardian(app, action, el.dataset.upgrade!));
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
