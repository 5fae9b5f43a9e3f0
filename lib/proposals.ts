// Governor proposals as their logs tell them: created, voted on, queued, executed, cancelled. Decoded with viem
// so any front end (the dashboard today) folds the same records; contract state (counts, state, quorum) is read
// by the caller at the block it chooses.
import { decodeEventLog, decodeFunctionData, type Log } from "viem";
import { lockstepGovernorAbi, upgradeCoordinatorAbi } from "./abi/generated";
import { SUPPORT } from "./governance";

type Hex = `0x${string}`;

const GOVERNOR_EVENTS = lockstepGovernorAbi.filter((x) => x.type === "event");

export type GovernorEvent = ReturnType<typeof decodeEventLog<typeof GOVERNOR_EVENTS>> & {
  blockNumber: bigint;
  transactionHash: Hex;
  logIndex: number;
};

/** "For", "Against", "Abstain" by support value (0 against, 1 for, 2 abstain). */
export const SUPPORT_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(SUPPORT).map(([name, value]) => [value, name[0].toUpperCase() + name.slice(1)]),
);

export interface VoteRecord {
  voter: Hex;
  support: number;
  weight: bigint;
  reason: string;
  block: bigint;
  tx: Hex;
}

export interface ProposalLogRecord {
  id: bigint;
  proposer: Hex;
  targets: readonly Hex[];
  values: readonly bigint[];
  calldatas: readonly Hex[];
  description: string;
  created: { block: bigint; tx: Hex };
  votes: VoteRecord[];
  /** The newest block with a log about this proposal: a reorg deeper than this cannot change what the logs say. */
  lastTouched: bigint;
  /** Where it was queued, executed or cancelled, once it was. */
  queued?: { block: bigint; tx: Hex };
  executed?: { block: bigint; tx: Hex };
  canceled?: { block: bigint; tx: Hex };
}

/** Decodes the Governor's logs; logs it does not describe are dropped. */
export function decodeGovernorLogs(logs: Log[]): GovernorEvent[] {
  const out: GovernorEvent[] = [];
  for (const l of logs) {
    try {
      const d = decodeEventLog({ abi: GOVERNOR_EVENTS, data: l.data, topics: l.topics });
      out.push({
        ...d,
        blockNumber: l.blockNumber!,
        transactionHash: l.transactionHash!,
        logIndex: l.logIndex!,
      } as GovernorEvent);
    } catch {
      // another contract's or an unknown event
    }
  }
  return out;
}

/** One record per proposal, in the order they were made. */
export function foldProposals(events: GovernorEvent[]): ProposalLogRecord[] {
  const byId = new Map<bigint, ProposalLogRecord>();
  const touch = (id: bigint, block: bigint) => {
    const p = byId.get(id);
    if (p && block > p.lastTouched) p.lastTouched = block;
    return p;
  };
  for (const e of events) {
    switch (e.eventName) {
      case "ProposalCreated": {
        const a = e.args;
        byId.set(a.proposalId, {
          id: a.proposalId,
          proposer: a.proposer,
          targets: a.targets,
          values: a.values,
          calldatas: a.calldatas,
          description: a.description,
          created: { block: e.blockNumber, tx: e.transactionHash },
          votes: [],
          lastTouched: e.blockNumber,
        });
        break;
      }
      case "VoteCast":
      case "VoteCastWithParams": {
        const a = e.args;
        touch(a.proposalId, e.blockNumber)?.votes.push({
          voter: a.voter,
          support: a.support,
          weight: a.weight,
          reason: a.reason,
          block: e.blockNumber,
          tx: e.transactionHash,
        });
        break;
      }
      case "ProposalQueued":
      case "ProposalExecuted":
      case "ProposalCanceled": {
        const p = touch(e.args.proposalId, e.blockNumber);
        const key = ({ ProposalQueued: "queued", ProposalExecuted: "executed", ProposalCanceled: "canceled" } as const)[
          e.eventName
        ];
        if (p) p[key] = { block: e.blockNumber, tx: e.transactionHash };
        break;
      }
      case "ProposalExtended":
        touch(e.args.proposalId, e.blockNumber);
        break;
    }
  }
  return [...byId.values()];
}

/** A proposal's title: the first line of its description, without Markdown heading marks. */
export function proposalTitle(description: string): string {
  return (
    description
      .split("\n")[0]
      .replace(/^#+\s*/, "")
      .trim() || "(no title)"
  );
}

/** What a proposal would do to upgrades: the upgrades it names by id (resume, withdraw, rollback, pause) and by the
 *  name of a manifest it schedules. */
export function upgradesTouched(
  p: Pick<ProposalLogRecord, "targets" | "calldatas">,
  coordinator: string,
): { ids: bigint[]; scheduled: string[] } {
  const out = { ids: [] as bigint[], scheduled: [] as string[] };
  p.targets.forEach((target, i) => {
    if (target.toLowerCase() !== coordinator.toLowerCase()) return;
    try {
      const call = decodeFunctionData({ abi: upgradeCoordinatorAbi, data: p.calldatas[i] });
      if (call.functionName === "schedule") out.scheduled.push(call.args[0].name);
      else if (["resume", "withdraw", "orderRollback", "pause", "advance"].includes(call.functionName))
        out.ids.push(call.args![0] as bigint);
    } catch {
      // not a coordinator call this page knows
    }
  });
  return out;
}
