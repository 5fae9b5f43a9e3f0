// Proposals: each Governor proposal with its state, for / against / abstain, quorum progress and the time left,
// what it would do (its calls decoded), who voted and why; and the connected account's delegation and power.
import type { ManifestFile, OnChainArtifact, OnChainManifest, StageRules } from "../../../lib/manifest";
import type { Proposal } from "../../../lib/governance";
import { decodeFunctionData, type Abi } from "viem";
import {
  lockstepGovernorAbi,
  lockstepTimelockAbi,
  stakeTokenAbi,
  upgradeCoordinatorAbi,
} from "../../../lib/abi/generated";
import type { Deployment } from "../../../lib/deployments";
import type { AccountRecord, GovernanceSnapshot, ProposalRecord } from "../governance";
import type { WalletStatus } from "../wallet";
import { age, bpsPercent, cohortName, esc, isoTime, json, ratio, shortHex, spokenDuration, tokens } from "../format";
import { SUPPORT_NAMES, proposalTitle } from "../../../lib/proposals";
import { markdown, txLink } from "./html";

const ABIS: Record<string, Abi> = {
  UpgradeCoordinator: upgradeCoordinatorAbi,
  LockstepGovernor: lockstepGovernorAbi,
  LockstepTimelock: lockstepTimelockAbi,
  StakeToken: stakeTokenAbi,
};

/** One call a proposal would make: a summary line, and for an upgrade everything a voter approves with it. */
export interface CallDescription {
  summary: string;
  details: string[];
}

/** The manifest a `schedule` call carries, as viem decodes it (read-only arrays). */
type ManifestArg = Omit<OnChainManifest, "artifacts" | "featureFlags" | "stages"> & {
  artifacts: readonly OnChainArtifact[];
  featureFlags: readonly string[];
  stages: readonly StageRules[];
};

function manifestDetails(m: ManifestArg): string[] {
  return [
    `upgrade "${m.name}": ${m.previousVersion} → ${m.version}${m.stateIncompatible ? ", state-incompatible (validators snapshot state; a rollback restores it)" : ""}`,
    `manifest hash ${m.manifestHash}`,
    ...m.artifacts.map((a) => `artifact ${a.platform}: ${a.uri} sha256 ${a.sha256Digest}`),
    `feature flags: ${m.featureFlags.length ? m.featureFlags.join(", ") : "none"}`,
    ...(m.metadataURI ? [`metadata ${m.metadataURI}`] : []),
    ...m.stages.map(
      (s, i) =>
        `stage ${i}: cohort ${s.cohort}, time lock ${s.timelock}s, observation ${s.observationWindow}s, attestation deadline ${s.attestationDeadline}s, ` +
        `ready ${bpsPercent(s.readinessBps)}, healthy ${bpsPercent(s.healthyBps)}, pause at ${bpsPercent(s.unhealthyBps)} unhealthy, rollback ${s.rollbackBps ? `at ${bpsPercent(s.rollbackBps)}` : "off"}`,
    ),
  ];
}

/** Every call the proposal would make, decoded against the system's ABIs; nothing is shortened. */
export function describeCalls(
  p: Pick<ProposalRecord, "targets" | "values" | "calldatas">,
  d: Deployment,
): CallDescription[] {
  const names = new Map(Object.entries(d.contracts).map(([name, address]) => [String(address).toLowerCase(), name]));
  return p.targets.map((target, i) => {
    const name = names.get(target.toLowerCase());
    const value = p.values[i] ? ` sending ${tokens(p.values[i])} ETH` : "";
    const abi = name ? ABIS[name] : undefined;
    const raw = {
      summary: `call ${name ? `${name} (${target})` : `${target}, a contract outside this deployment,`}${value} with data ${p.calldatas[i]}`,
      details: [],
    };
    if (!abi) return raw;
    try {
      const { functionName, args = [] } = decodeFunctionData({ abi, data: p.calldatas[i] });
      if (functionName === "schedule" && name === "UpgradeCoordinator") {
        return { summary: `${name}.schedule(manifest)${value}`, details: manifestDetails(args[0] as ManifestArg) };
      }
      return {
        summary: `${name}.${functionName}(${args.map((a) => (typeof a === "object" ? json(a) : String(a))).join(", ")})${value}`,
        details: [],
      };
    } catch {
      return raw;
    }
  });
}

/** The calls as HTML: shown on every card and in every confirmation, so what is signed is what is read. */
export function callsHtml(p: Pick<ProposalRecord, "targets" | "values" | "calldatas">, d: Deployment): string {
  const items = describeCalls(p, d)
    .map(
      (c) =>
        `<li><span class="mono">${esc(c.summary)}</span>${c.details.length ? `<ul>${c.details.map((x) => `<li class="mono">${esc(x)}</li>`).join("")}</ul>` : ""}</li>`,
    )
    .join("");
  return `<ol class="calls" data-testid="calls">${items}</ol>`;
}

function timeLeft(p: ProposalRecord, g: GovernanceSnapshot, now: bigint): string {
  const seconds = (n: bigint) => BigInt(Math.round(Number(n) * g.blockTime));
  const blocks = (n: bigint) =>
    `${n} block${n === 1n ? "" : "s"} (~${age(seconds(n))}, around ${isoTime(now + seconds(n))})`;
  switch (p.state) {
    case "Pending":
      return `voting opens in ${blocks(p.snapshot + 1n - g.clock)}`;
    case "Active":
      // A vote is mined in a later block than the one shown: none can land once the deadline block is here.
      return p.deadline > g.clock
        ? `${blocks(p.deadline - g.clock)} left to vote, until block ${p.deadline}`
        : `voting closes with block ${p.deadline}`;
    case "Succeeded":
      return "voting ended and it passed: it can be queued";
    case "Queued":
      return p.eta > now ? `queued: executable in ${age(p.eta - now)} (${isoTime(p.eta)})` : "queued: executable now";
    default:
      return `voting ended at block ${p.deadline}`;
  }
}

/** Whether it would pass if voting ended now (or why it did not), as OZ's simple counting decides. */
function outlook(p: ProposalRecord): string {
  const quorumMet = p.quorum !== undefined && p.forVotes + p.abstainVotes >= p.quorum;
  const majority = p.forVotes > p.againstVotes;
  const why = [!quorumMet ? "quorum not reached" : "", !majority ? "for does not exceed against" : ""]
    .filter(Boolean)
    .join(" and ");
  if (p.state === "Active")
    return majority && quorumMet ? "passing if voting ended now" : `failing if voting ended now: ${why}`;
  if (p.state === "Defeated") return `defeated: ${why}`;
  return "";
}

function countBar(p: ProposalRecord): string {
  const total = p.forVotes + p.againstVotes + p.abstainVotes;
  const pct = (x: bigint) => ratio(x, total);
  const counted = p.forVotes + p.abstainVotes;
  const quorumPct =
    p.quorum === undefined ? undefined : p.quorum === 0n ? 100 : Math.min(100, ratio(counted, p.quorum));
  const quorum =
    p.quorum === undefined
      ? `<span class="muted">quorum known once voting starts</span>`
      : `<div class="bar quorum" title="for + abstain count towards quorum"><span class="healthy" style="width:${quorumPct}%"></span></div>
         quorum ${tokens(counted)} / ${tokens(p.quorum)} (${quorumPct}%)${counted >= p.quorum ? " · reached" : ""}`;
  return `<div class="counts" data-testid="counts" data-for="${p.forVotes}" data-against="${p.againstVotes}" data-abstain="${p.abstainVotes}" data-quorum="${p.quorum ?? ""}">
      <div class="bar"><span class="healthy" style="width:${pct(p.forVotes)}%"></span><span class="unhealthy" style="width:${pct(p.againstVotes)}%"></span><span class="missing" style="width:${pct(p.abstainVotes)}%"></span></div>
      <span class="t-healthy">for ${tokens(p.forVotes)} (${pct(p.forVotes)}%)</span> ·
      <span class="t-unhealthy">against ${tokens(p.againstVotes)} (${pct(p.againstVotes)}%)</span> ·
      <span class="t-missing">abstain ${tokens(p.abstainVotes)} (${pct(p.abstainVotes)}%)</span>
      <div>${quorum}</div>
    </div>`;
}

function actions(
  p: ProposalRecord,
  g: GovernanceSnapshot,
  now: bigint,
  canAct: boolean,
  account: string | undefined,
): string {
  const out: string[] = [];
  if (p.state === "Active" && p.mine?.hasVoted) {
    const v = p.votes.find((x) => x.voter.toLowerCase() === account?.toLowerCase());
    out.push(
      `<span class="voted" data-testid="voted">You voted${v ? ` ${SUPPORT_NAMES[v.support]} with ${tokens(v.weight)}` : ""}.</span>`,
    );
  } else if (p.state === "Active" && p.deadline > g.clock) {
    out.push(
      `<button class="primary" data-action="vote" data-proposal="${p.id}" ${canAct ? "" : "disabled"}>Vote</button>`,
    );
  }
  // Like a vote, a cancel lands in a later block: once the snapshot block is here, voting will have opened.
  if (p.state === "Pending" && p.snapshot > g.clock && account && p.proposer.toLowerCase() === account.toLowerCase()) {
    out.push(
      `<button data-action="cancel" data-proposal="${p.id}" ${canAct ? "" : "disabled"}>Cancel proposal</button> <span class="muted">(its proposer may, until voting opens)</span>`,
    );
  }
  if (p.state === "Succeeded")
    out.push(`<button data-action="queue" data-proposal="${p.id}" ${canAct ? "" : "disabled"}>Queue</button>`);
  if (p.state === "Queued") {
    const ready = p.eta <= now;
    out.push(
      `<button data-action="execute" data-proposal="${p.id}" ${canAct && ready ? "" : "disabled"} title="${ready ? "" : "the timelock's delay has not passed"}">Execute</button>`,
    );
  }
  if (out.length && !canAct) out.push(`<span class="muted">Connect a wallet on this chain to act.</span>`);
  return out.length ? `<div class="actions">${out.join(" ")}</div>` : "";
}

/** What the calls are to the proposal now: done, to come, or never made. */
export function callsHeading(state: string): string {
  switch (state) {
    case "Executed":
      return "It called:";
    case "Queued":
      return "It will call, once executed:";
    case "Canceled":
    case "Defeated":
    case "Expired":
      return "It would have called:";
    default:
      return "It would call:";
  }
}

interface CardContext {
  g: GovernanceSnapshot;
  d: Deployment;
  now: bigint;
  explorerUrl: string;
  account: string | undefined;
  canAct: boolean;
  /** Proposal ids whose details the user opened: a refresh keeps them open. */
  open: ReadonlySet<string>;
}

function proposalCard(p: ProposalRecord, { g, d, now, explorerUrl, account, canAct, open }: CardContext): string {
  const votes = p.votes
    .slice()
    .reverse()
    .map(
      (
        v,
      ) => `<tr data-testid="vote-row" data-voter="${esc(v.voter)}" data-support="${SUPPORT_NAMES[v.support] ?? v.support}" data-weight="${v.weight}">
        <td class="mono">${esc(v.voter)}${account && v.voter.toLowerCase() === account.toLowerCase() ? " (you)" : ""}</td><td>${SUPPORT_NAMES[v.support] ?? v.support}</td>
        <td>${tokens(v.weight)}</td><td>${esc(v.reason)}</td><td>${txLink(v.tx, explorerUrl)}</td></tr>`,
    )
    .join("");
  const mine = p.mine;
  const yours = mine
    ? `<p class="yours" data-testid="your-power" data-power="${mine.power ?? ""}">${
        mine.power === undefined
          ? "Your voting power for this proposal is fixed at its snapshot block, once voting starts."
          : `Your voting power at the snapshot (block ${p.snapshot}): <b>${tokens(mine.power)}</b>${mine.hasVoted ? " · you have voted" : ""}`
      }</p>`
    : "";
  return `<article class="card proposal" id="proposal-${p.id}" data-testid="proposal" data-id="${p.id}" data-state="${p.state}">
    <h2><a class="permalink" href="#proposals/${p.id}" title="link to this proposal">${esc(proposalTitle(p.description))}</a> <span class="state ${p.state}" data-testid="proposal-state">${p.state}</span></h2>
    <p class="muted">${esc(timeLeft(p, g, now))}${outlook(p) ? ` · <span data-testid="outlook">${esc(outlook(p))}</span>` : ""}</p>
    ${countBar(p)}
    <div class="does"><b data-testid="calls-heading">${callsHeading(p.state)}</b> ${callsHtml(p, d)}</div>
    ${yours}
    ${actions(p, g, now, canAct, account)}
    <details data-key="proposal-${p.id}" ${open.has(`proposal-${p.id}`) ? "open" : ""}>
      <summary>Description, and the votes (${p.votes.length})</summary>
      <div class="description" data-testid="description">${markdown(p.description)}</div>
      <dl>
        <dt>proposal id</dt><dd class="mono">${p.id}</dd>
        <dt>proposer</dt><dd class="mono">${esc(p.proposer)}</dd>
        <dt>created</dt><dd>block ${p.created.block} · ${txLink(p.created.tx, explorerUrl)}</dd>
        <dt>snapshot · deadline</dt><dd>block ${p.snapshot} · block ${p.deadline}</dd>
      </dl>
      ${votes ? `<div class="table-wrap" tabindex="0"><table><thead><tr><th>voter</th><th>support</th><th>weight</th><th>reason</th><th>tx</th></tr></thead><tbody>${votes}</tbody></table></div>` : `<p class="muted">No vote yet.</p>`}
    </details>
  </article>`;
}

export function accountPanel(
  w: WalletStatus,
  a: AccountRecord | undefined,
  expectedChainId: number,
  walletName?: string,
  otherWallets = false,
): string {
  const change = otherWallets
    ? ` <button data-action="choose-wallet" data-testid="choose-wallet">Use another wallet</button>`
    : "";
  const via = walletName ? ` <span class="muted">via ${esc(walletName)}</span>` : "";
  switch (w.kind) {
    case "no-wallet":
      return `<div class="card account" data-testid="account" data-state="no-wallet">No browser wallet found. Reading needs none; to delegate, vote or act, install an EIP-1193 wallet and reload.</div>`;
    case "disconnected":
      return `<div class="card account" data-testid="account" data-state="disconnected">Connect a wallet to delegate and vote. <button class="primary" data-action="connect">Connect wallet</button></div>`;
    case "wrong-chain":
      return `<div class="card account warn" data-testid="account" data-state="wrong-chain">Your wallet is on chain ${w.chainId}; this deployment is on chain ${expectedChainId}.
        <button class="primary" data-action="switch-chain" data-testid="switch-chain">Switch to chain ${expectedChainId}</button>${change}</div>`;
  }
  if (!a)
    return `<div class="card account" data-testid="account" data-state="loading">Reading ${esc(w.account)}…</div>`;
  const self = a.delegate.toLowerCase() === a.address.toLowerCase();
  const none = /^0x0{40}$/i.test(a.delegate);
  const delegation = none
    ? `<span class="warn-text">not delegated: your ${tokens(a.balance)} tokens count for no one until you delegate</span>`
    : self
      ? "delegated to yourself"
      : `delegated to <span class="mono">${esc(a.delegate)}</span>`;
  return `<div class="card account" data-testid="account" data-state="ready" data-delegate="${esc(a.delegate)}" data-votes="${a.votes}">
    <b class="mono" data-testid="account-address">${esc(a.address)}</b>${via}${a.isGuardian ? ` <span class="state Paused" data-testid="guardian-badge">guardian</span>` : ""}
    · balance ${tokens(a.balance)} · voting power now ${tokens(a.votes)} · ${delegation}
    <button data-action="delegate-self" ${self ? "disabled" : ""}>Delegate to myself</button>
    <button data-action="delegate-other">Delegate to…</button>${change}
  </div>`;
}

export function proposalsView(
  g: GovernanceSnapshot,
  d: Deployment,
  now: bigint,
  explorerUrl: string,
  w: WalletStatus,
  open: ReadonlySet<string>,
): string {
  const account = w.kind === "ready" || w.kind === "wrong-chain" ? w.account : undefined;
  const canAct = w.kind === "ready";
  const q = ratio(g.params.quorumNumerator, g.params.quorumDenominator);
  const threshold = g.params.proposalThreshold
    ? `proposing takes ${tokens(g.params.proposalThreshold)} votes; `
    : "anyone may propose; ";
  const rules = `<p class="muted" data-testid="governance-rules">${threshold}voting opens ${g.params.votingDelay} block(s) after a proposal and lasts ${g.params.votingPeriod} block(s);
    quorum is ${q}% of the supply at the snapshot (for + abstain); a passed proposal waits ${age(g.params.timelockDelay)} in the timelock. Block ${g.clock}, ~${g.blockTime.toFixed(1)} s per block.</p>`;
  // Those that want something now (a vote, a queue, an execution) first; newest first within each group.
  const rank = (p: ProposalRecord) => ["Active", "Succeeded", "Queued", "Pending"].indexOf(p.state) + 1 || 9;
  const ordered = [...g.proposals].sort((a, b) => rank(a) - rank(b) || (a.created.block > b.created.block ? -1 : 1));
  const list = ordered.length
    ? ordered.map((p) => proposalCard(p, { g, d, now, explorerUrl, account, canAct, open })).join("")
    : `<p class="muted" data-testid="no-proposals">No proposal yet. An upgrade is proposed with \`npx hardhat upgrade:propose\` (and resume, withdraw or rollback from an upgrade's card here), or with any Governor front end.</p>`;
  return rules + list;
}

// ------------------------------------------------------------------ a proposal's own page (#proposals/<id>)

type TimelineState = "done" | "now" | "todo" | "stopped";
interface TimelineStep {
  key: string;
  label: string;
  state: TimelineState;
  /** Block, date and transaction, in HTML. */
  detail: string;
}

/** What each step's state reads as beside its colour: status is never shown by colour alone. */
const TIMELINE_MARK: Record<TimelineState, string> = { done: "✓", now: "●", todo: "○", stopped: "■" };

/** A block's date: its own time once mined, else an estimate from the average block time. */
function blockDate(block: bigint, g: GovernanceSnapshot, now: bigint): string {
  const t = g.blockTimes.get(block);
  if (t !== undefined) return isoTime(t);
  if (block <= g.clock) return "";
  return `~${isoTime(now + BigInt(Math.round(Number(block - g.clock) * g.blockTime)))} (estimated)`;
}

function at(
  where: { block: bigint; tx?: string } | undefined,
  g: GovernanceSnapshot,
  now: bigint,
  explorerUrl: string,
): string {
  if (!where) return "";
  const date = blockDate(where.block, g, now);
  return `block ${where.block}${date ? ` · <time>${esc(date)}</time>` : ""}${where.tx ? ` · ${txLink(where.tx, explorerUrl)}` : ""}`;
}

/** The proposal's lifecycle, step by step, as the Governor's state and logs tell it. */
export function proposalTimeline(p: ProposalRecord, g: GovernanceSnapshot, now: bigint, explorerUrl: string) {
  const steps: TimelineStep[] = [];
  const s = p.state;
  const opened = g.clock > p.snapshot;
  const closed = g.clock > p.deadline;
  steps.push({
    key: "created",
    label: "Created",
    state: "done",
    detail: `${at({ block: p.created.block, tx: p.created.tx }, g, now, explorerUrl)} · by <span class="mono">${esc(shortHex(p.proposer))}</span>`,
  });
  if (s === "Canceled" && !opened) {
    steps.push({ key: "canceled", label: "Canceled", state: "stopped", detail: at(p.canceled, g, now, explorerUrl) });
    return steps;
  }
  steps.push({
    key: "voting-starts",
    label: opened ? "Voting opened" : "Voting opens",
    state: opened ? "done" : "now",
    detail: `after ${at({ block: p.snapshot }, g, now, explorerUrl)} (the snapshot of voting power)`,
  });
  steps.push({
    key: "voting-ends",
    label: closed ? "Voting closed" : "Voting closes",
    state: closed ? "done" : opened ? "now" : "todo",
    detail: at({ block: p.deadline }, g, now, explorerUrl),
  });
  const end = (key: string, label: string, detail = "") => steps.push({ key, label, state: "stopped", detail });
  if (s === "Defeated") end("defeated", "Defeated", esc(outlook(p).replace(/^defeated: /, "")));
  else if (s === "Canceled") end("canceled", "Canceled", at(p.canceled, g, now, explorerUrl));
  else if (s === "Expired") end("expired", "Expired", "queued but never executed in time");
  else {
    const queued = p.queued !== undefined || s === "Queued" || s === "Executed";
    steps.push({
      key: "queued",
      label: queued ? "Queued" : s === "Succeeded" ? "Passed: can be queued" : "Queued (if it passes)",
      state: queued ? "done" : s === "Succeeded" ? "now" : "todo",
      detail: queued ? at(p.queued, g, now, explorerUrl) : "",
    });
    const ready = p.eta > 0n && p.eta <= now;
    steps.push({
      key: "executable",
      label: "Executable after",
      state: s === "Executed" || (queued && ready) ? "done" : queued ? "now" : "todo",
      detail:
        p.eta > 0n
          ? `<time>${esc(isoTime(p.eta))}</time>${s === "Queued" && !ready ? ` (in ${esc(age(p.eta - now))})` : ""}`
          : `${esc(age(g.params.timelockDelay))} after it is queued (the timelock's delay)`,
    });
    steps.push({
      key: "executed",
      label: s === "Executed" ? "Executed" : "Executed (anyone may, then)",
      state: s === "Executed" ? "done" : "todo",
      detail: s === "Executed" ? at(p.executed, g, now, explorerUrl) : "",
    });
  }
  return steps;
}

function timelineHtml(steps: TimelineStep[]): string {
  const items = steps
    .map(
      (t) =>
        `<li class="${t.state}" data-testid="timeline-${t.key}" data-state="${t.state}"><span class="mark" aria-hidden="true">${TIMELINE_MARK[t.state]}</span>
          <b>${esc(t.label)}</b><span class="sr-only"> (${t.state})</span> <span class="muted">${t.detail}</span></li>`,
    )
    .join("");
  return `<ol class="proposal-timeline" data-testid="proposal-timeline" aria-label="Lifecycle">${items}</ol>`;
}

/** Why the connected account cannot vote on `p` now, in words; undefined when it can. */
export function whyNoVote(
  p: ProposalRecord,
  g: GovernanceSnapshot,
  w: WalletStatus,
  expectedChainId: number,
  a: AccountRecord | undefined,
): string | undefined {
  if (p.state === "Pending") return `Voting has not opened yet: it opens after block ${p.snapshot}.`;
  if (p.state !== "Active") return `Voting is not open: the proposal is ${p.state}.`;
  if (p.deadline <= g.clock) return `Voting closes with block ${p.deadline}: a vote sent now would land too late.`;
  if (w.kind === "no-wallet") return "No browser wallet: install one to vote.";
  if (w.kind === "disconnected") return "Connect a wallet to vote.";
  if (w.kind === "wrong-chain") return `Your wallet is on chain ${w.chainId}: switch to chain ${expectedChainId}.`;
  const mine = p.mine;
  if (!mine || (mine.power === undefined && !mine.hasVoted)) return "Reading your voting power…";
  if (mine.hasVoted) {
    const v = p.votes.find((x) => x.voter.toLowerCase() === w.account.toLowerCase());
    return `You voted already${v ? `: ${SUPPORT_NAMES[v.support]} with ${tokens(v.weight)}` : ""}.`;
  }
  if (mine.power === 0n) {
    const cause = !a
      ? ""
      : /^0x0{40}$/i.test(a.delegate)
        ? " Your tokens are not delegated: delegate to yourself (above) to vote on proposals made after that."
        : a.delegate.toLowerCase() !== a.address.toLowerCase()
          ? ` Your votes are delegated to ${a.delegate}: they vote with your tokens.`
          : " Your tokens were not delegated to you yet at that block.";
    return `You had no voting power at the snapshot (block ${p.snapshot}).${cause}`;
  }
  return undefined;
}

/** The large For / Against / Abstain buttons, disabled with the reason in words when the account cannot vote. */
function voteButtons(reason: string | undefined, p: ProposalRecord): string {
  const dis = reason ? "disabled" : "";
  const button = (support: number, cls: string) =>
    `<button class="vote-button ${cls}" data-action="vote" data-proposal="${p.id}" data-support="${support}" data-testid="vote-${SUPPORT_NAMES[support].toLowerCase()}" ${dis} ${reason ? 'aria-describedby="vote-disabled-reason"' : ""}>${SUPPORT_NAMES[support]}</button>`;
  const power =
    !reason && p.mine?.power !== undefined
      ? `<p class="muted">You vote with <b>${tokens(p.mine.power)}</b>, your voting power at the snapshot (block ${p.snapshot}).</p>`
      : "";
  return `<div class="vote-buttons" data-testid="vote-buttons">${button(1, "for")}${button(0, "against")}${button(2, "abstain")}</div>
    ${reason ? `<p class="vote-reason" id="vote-disabled-reason" data-testid="vote-disabled-reason">${esc(reason)}</p>` : power}`;
}

/** A proposal's next step by its state, where a Safe batch can take it. */
const NEXT_STEP = { Succeeded: "queue", Queued: "execute", Active: "vote", Pending: "cancel" } as const;

/** The Safe batch a proposal's next step can be written as: the step anyone (or a Safe) may send. */
function safeBatchOffer(p: ProposalRecord): string {
  const step: (typeof NEXT_STEP)[keyof typeof NEXT_STEP] | undefined = NEXT_STEP[p.state as keyof typeof NEXT_STEP];
  if (!step) return "";
  const who =
    step === "vote"
      ? "A Safe that holds delegated votes"
      : step === "cancel"
        ? "If the proposer is a Safe, it"
        : "A Safe (or anyone)";
  return `<p class="safe-offer">${who} can ${step === "vote" ? "vote" : step} through the Safe Transaction Builder:
    <button data-action="safe-batch" data-step="${step}" data-proposal="${p.id}" data-testid="safe-batch-${step}">Download Safe batch</button></p>`;
}

export interface ProposalPageContext {
  g: GovernanceSnapshot;
  d: Deployment;
  now: bigint;
  explorerUrl: string;
  w: WalletStatus;
  account: AccountRecord | undefined;
}

/** One proposal, as a page: lifecycle, tally and quorum, the vote, what it does, its description and its votes. */
export function proposalPage(p: ProposalRecord, { g, d, now, explorerUrl, w, account }: ProposalPageContext): string {
  const address = w.kind === "ready" || w.kind === "wrong-chain" ? w.account : undefined;
  const canAct = w.kind === "ready";
  const votes = p.votes
    .slice()
    .reverse()
    .map(
      (
        v,
      ) => `<tr data-testid="vote-row" data-voter="${esc(v.voter)}" data-support="${SUPPORT_NAMES[v.support] ?? v.support}" data-weight="${v.weight}">
        <td class="mono">${esc(v.voter)}${address && v.voter.toLowerCase() === address.toLowerCase() ? " (you)" : ""}</td><td>${SUPPORT_NAMES[v.support] ?? v.support}</td>
        <td>${tokens(v.weight)}</td><td>${esc(v.reason)}</td><td>${txLink(v.tx, explorerUrl)}</td></tr>`,
    )
    .join("");
  const step = p.state === "Active" ? "" : actions(p, g, now, canAct, address);
  return `<p><a href="#proposals" data-testid="all-proposals">← All proposals</a></p>
  <article class="card proposal proposal-page" id="proposal-${p.id}" data-testid="proposal" data-id="${p.id}" data-state="${p.state}">
    <h2>${esc(proposalTitle(p.description))} <span class="state ${p.state}" data-testid="proposal-state">${p.state}</span></h2>
    <p class="muted">${esc(timeLeft(p, g, now))}${outlook(p) ? ` · <span data-testid="outlook">${esc(outlook(p))}</span>` : ""}</p>
    <div class="proposal-grid">
      <section aria-label="Lifecycle">${timelineHtml(proposalTimeline(p, g, now, explorerUrl))}</section>
      <section aria-label="Votes and quorum">
        ${countBar(p)}
        ${p.state === "Active" || p.state === "Pending" ? voteButtons(whyNoVote(p, g, w, d.chainId, account), p) : ""}
        ${step}
        ${safeBatchOffer(p)}
      </section>
    </div>
    <div class="does"><b data-testid="calls-heading">${callsHeading(p.state)}</b> ${callsHtml(p, d)}</div>
    <h3>Description</h3>
    <div class="description" data-testid="description">${markdown(p.description)}</div>
    <dl>
      <dt>proposal id</dt><dd class="mono">${p.id}</dd>
      <dt>proposer</dt><dd class="mono">${esc(p.proposer)}</dd>
    </dl>
    <details data-key="proposal-page-votes-${p.id}" open>
      <summary>The votes (${p.votes.length})</summary>
      ${votes ? `<div class="table-wrap" tabindex="0"><table><thead><tr><th>voter</th><th>support</th><th>weight</th><th>reason</th><th>tx</th></tr></thead><tbody>${votes}</tbody></table></div>` : `<p class="muted">No vote yet.</p>`}
    </details>
  </article>`;
}

// ------------------------------------------------------------------ proposing an upgrade from a manifest file

/** One check on a manifest about to be proposed: passed, failed (blocks proposing) or a warning. */
export interface ManifestCheck {
  key: string;
  ok: boolean | "warn";
  text: string;
}

/** What the panel shows: nothing chosen yet, a file that did not parse, or a manifest with its checks and calls. */
export type ManifestPanelState =
  | { kind: "empty" }
  | { kind: "error"; message: string }
  | {
      kind: "ready";
      file: string;
      manifest: ManifestFile;
      checks: ManifestCheck[] | undefined;
      proposal: Proposal;
      /** The description as the proposer left it. */
      description: string;
      canPropose: boolean;
    };

/** A manifest file in plain words: what it installs, and each stage's rules as sentences. */
export function manifestFileSummary(m: ManifestFile): string {
  const stages = m.stages
    .map((s, i) => {
      const name = s.label || cohortName(s.cohort);
      const rollback = s.rollbackBps ? `rolls back at ${bpsPercent(s.rollbackBps)} unhealthy` : "no automatic rollback";
      const start = s.timelock
        ? `${spokenDuration(s.timelock)} after ${i === 0 ? "scheduling" : "the stage before is verified"}`
        : i === 0
          ? "at once"
          : "as soon as the stage before is verified";
      return `<li data-testid="stage-summary">Stage ${i + 1}, the <b>${esc(name)}</b> cohort (cohort ${s.cohort}):
        starts ${start}${s.readinessBps ? `, once ${bpsPercent(s.readinessBps)} of its stake is ready` : ""};
        watched for ${spokenDuration(s.observationWindow)}; validators have ${spokenDuration(s.attestationDeadline)} to report.
        It needs ${bpsPercent(s.healthyBps)} of the ${esc(name)} cohort's stake healthy; pauses at ${bpsPercent(s.unhealthyBps)} unhealthy; ${rollback}.</li>`;
    })
    .join("");
  return `<div class="summary" data-testid="manifest-file-summary">
    <p>Upgrade <b>${esc(m.name)}</b>: validators go from <b>${esc(m.previousVersion)}</b> to <b>${esc(m.version)}</b>, in ${m.stages.length} stage${m.stages.length === 1 ? "" : "s"}${m.stateIncompatible ? "; the new version changes the node's state format, so a rollback restores a state snapshot" : ""}${m.featureFlags.length ? `; turns on ${m.featureFlags.map(esc).join(", ")}` : ""}.
      ${m.artifacts.length} build${m.artifacts.length === 1 ? "" : "s"}: ${m.artifacts.map((a) => esc(a.platform)).join(", ")}.</p>
    <ol class="stage-summary">${stages}</ol>
  </div>`;
}

const CHECK_MARK = { true: "✓", false: "✗", warn: "⚠" } as const;

/** The panel on the Proposals view where a manifest file is dropped or picked, checked, and proposed. */
export function manifestPanel(s: ManifestPanelState, d: Deployment): string {
  const pick = `<label class="file-pick">Choose a manifest file <input type="file" accept=".json,application/json" data-testid="manifest-pick"></label>`;
  const head = `<h2>Propose an upgrade</h2>
    <p class="muted">Drop a manifest file anywhere on this view, or ${pick}. It is checked here as <code>manifest:check</code> checks it; nothing is sent until you propose.</p>`;
  if (s.kind === "empty")
    return `<section class="card propose-manifest drop-zone" data-testid="propose-manifest" data-state="empty">${head}</section>`;
  if (s.kind === "error")
    return `<section class="card propose-manifest drop-zone" data-testid="propose-manifest" data-state="error">${head}
      <p class="error" role="alert" data-testid="manifest-error">${esc(s.message)}</p></section>`;
  const checks = s.checks
    ? s.checks
        .map(
          (c) =>
            `<li class="check-${String(c.ok)}" data-testid="manifest-check" data-key="${c.key}" data-ok="${String(c.ok)}"><span aria-hidden="true">${CHECK_MARK[String(c.ok) as keyof typeof CHECK_MARK]}</span> ${esc(c.text)}</li>`,
        )
        .join("")
    : `<li class="muted">Checking…</li>`;
  const blocked = !s.checks || s.checks.some((c) => c.ok === false);
  return `<section class="card propose-manifest drop-zone" data-testid="propose-manifest" data-state="ready">${head}
    <h3>${esc(s.file)}</h3>
    ${manifestFileSummary(s.manifest)}
    <h3>Checks</h3>
    <ul class="checks" data-testid="manifest-checks">${checks}</ul>
    <h3>The proposal would call</h3>
    ${callsHtml(s.proposal, d)}
    <label class="description-field">Description (Markdown; the first line is its title)
      <textarea name="description" rows="5" data-testid="manifest-description">${esc(s.description)}</textarea></label>
    <label>The Safe that proposes, for a Safe batch<input name="safe" data-testid="manifest-safe" autocomplete="off" placeholder="0x…"></label>
    <div class="actions">
      <button class="primary" data-testid="manifest-propose" ${blocked ? "disabled" : ""}>Propose with my wallet</button>
      <button data-testid="manifest-safe-batch" ${blocked ? "disabled" : ""}>Download Safe batch</button>
      <button data-testid="manifest-clear">Clear</button>
      ${s.canPropose ? "" : '<span class="muted">Connect a wallet on this chain to propose from it.</span>'}
    </div>
  </section>`;
}
