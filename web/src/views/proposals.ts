// Proposals: each Governor proposal with its state, for / against / abstain, quorum progress and the time left,
// what it would do (its calls decoded), who voted and why; and the connected account's delegation and power.
import type { OnChainArtifact, OnChainManifest, StageRules } from "../../../lib/manifest";
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
import { age, bpsPercent, esc, isoTime, json, ratio, tokens } from "../format";
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
