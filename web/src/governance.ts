// The Governor's proposals as the Proposals view shows them: created, voted, queued and executed from the
// Governor's logs, with state, counts, quorum and deadlines read from the contract at the current block, and,
// for a connected account, its voting power at each proposal's snapshot and whether it voted.
import { decodeEventLog, type Log, type PublicClient } from "viem";
import { lockstepGovernorAbi, lockstepTimelockAbi, stakeTokenAbi, upgradeCoordinatorAbi } from "../../lib/abi/generated";
import { PROPOSAL_STATES, type ProposalStateName } from "../../lib/governance";
import { fetchCoordinatorLogs as fetchLogs } from "../../lib/history";
import type { DashboardConfig } from "./dashboardConfig";

type Hex = `0x${string}`;

export interface VoteRecord {
  voter: Hex;
  support: number;
  weight: bigint;
  reason: string;
  block: bigint;
  tx: Hex;
}

export interface ProposalRecord {
  id: bigint;
  proposer: Hex;
  targets: readonly Hex[];
  values: readonly bigint[];
  calldatas: readonly Hex[];
  description: string;
  created: { block: bigint; tx: Hex };
  votes: VoteRecord[];
  state: ProposalStateName;
  forVotes: bigint;
  againstVotes: bigint;
  abstainVotes: bigint;
  snapshot: bigint;
  deadline: bigint;
  /** Seconds since the epoch when it may execute; 0 until queued. */
  eta: bigint;
  /** Undefined until the snapshot block is past (the Governor cannot say before). */
  quorum?: bigint;
  /** For the connected account. */
  mine?: { hasVoted: boolean; power?: bigint };
}

export interface AccountRecord {
  address: Hex;
  balance: bigint;
  votes: bigint;
  delegate: Hex;
  isGuardian: boolean;
}

export interface GovernanceSnapshot {
  proposals: ProposalRecord[];
  clock: bigint;
  /** Seconds per block, averaged over recent blocks: turns block counts into times. */
  blockTime: number;
  params: { votingDelay: bigint; votingPeriod: bigint; quorumNumerator: bigint; quorumDenominator: bigint; timelockDelay: bigint };
  guardian: Hex;
  account?: AccountRecord;
}

const GOVERNOR_EVENTS = lockstepGovernorAbi.filter((x) => x.type === "event");
/** Logs this close to the head are fetched again on every refresh, so a reorg of up to this depth is repaired. */
const REFETCH_DEPTH = 64n;

type Decoded = ReturnType<typeof decodeEventLog<typeof GOVERNOR_EVENTS>> & { blockNumber: bigint; transactionHash: Hex; logIndex: number };

export class GovernanceView {
  private logs: Decoded[] = [];
  private toBlock: bigint | undefined;
  private params: GovernanceSnapshot["params"] | undefined;
  /** The block every read of one refresh is made at, so logs and contract state describe the same moment. */
  private at = 0n;

  constructor(
    private readonly client: PublicClient,
    private readonly config: DashboardConfig,
  ) {}

  private get governor(): Hex {
    return this.config.deployment.contracts.LockstepGovernor as Hex;
  }

  async refresh(account?: Hex): Promise<GovernanceSnapshot> {
    const head = await this.client.getBlock();
    await this.follow(head.number);
    const c = this.config.deployment.contracts;
    this.params ??= await this.readParams();
    this.at = head.number;
    const [clock, guardian, blockTime] = await Promise.all([
      this.client.readContract({ address: this.governor, abi: lockstepGovernorAbi, functionName: "clock", blockNumber: this.at }),
      this.client.readContract({ address: c.UpgradeCoordinator as Hex, abi: upgradeCoordinatorAbi, functionName: "guardian", blockNumber: this.at }),
      this.blockTime(head.number, head.timestamp),
    ]);
    const proposals = await Promise.all(this.records().map((p) => this.complete(p, BigInt(clock), account)));
    return {
      proposals: proposals.reverse(),
      clock: BigInt(clock),
      blockTime,
      params: this.params,
      guardian,
      account: account ? await this.readAccount(account, guardian) : undefined,
    };
  }

  /** Fetches the Governor's logs since the last call, re-fetching the last REFETCH_DEPTH blocks. */
  private async follow(head: bigint) {
    const start = BigInt(this.config.deployment.startBlock);
    let from = this.toBlock === undefined ? start : this.toBlock + 1n - REFETCH_DEPTH;
    if (from < start) from = start;
    if (head < from) from = head < start ? start : head;
    const { logs } = await fetchLogs(this.client, { address: this.governor, fromBlock: from, toBlock: head });
    this.logs = this.logs.filter((l) => l.blockNumber < from).concat(logs.map(decode).filter((l): l is Decoded => l !== undefined));
    this.toBlock = head;
  }

  private records(): Omit<ProposalRecord, "state" | "forVotes" | "againstVotes" | "abstainVotes" | "snapshot" | "deadline" | "eta">[] {
    const byId = new Map<bigint, ReturnType<GovernanceView["records"]>[number]>();
    for (const l of this.logs) {
      if (l.eventName === "ProposalCreated") {
        const a = l.args;
        byId.set(a.proposalId, {
          id: a.proposalId,
          proposer: a.proposer,
          targets: a.targets,
          values: a.values,
          calldatas: a.calldatas,
          description: a.description,
          created: { block: l.blockNumber, tx: l.transactionHash },
          votes: [],
        });
      } else if (l.eventName === "VoteCast" || l.eventName === "VoteCastWithParams") {
        const a = l.args;
        byId.get(a.proposalId)?.votes.push({ voter: a.voter, support: a.support, weight: a.weight, reason: a.reason, block: l.blockNumber, tx: l.transactionHash });
      }
    }
    return [...byId.values()];
  }

  private async complete(p: ReturnType<GovernanceView["records"]>[number], clock: bigint, account?: Hex): Promise<ProposalRecord> {
    const read = <F extends "state" | "proposalSnapshot" | "proposalDeadline" | "proposalEta" | "proposalVotes">(functionName: F) =>
      this.client.readContract({ address: this.governor, abi: lockstepGovernorAbi, functionName, args: [p.id], blockNumber: this.at } as never) as Promise<never>;
    const [state, snapshot, deadline, eta, votes] = await Promise.all([
      read("state") as Promise<number>,
      read("proposalSnapshot") as Promise<bigint>,
      read("proposalDeadline") as Promise<bigint>,
      read("proposalEta") as Promise<bigint>,
      read("proposalVotes") as Promise<readonly [bigint, bigint, bigint]>,
    ]);
    const started = snapshot < clock;
    const [quorum, mine] = await Promise.all([
      started ? this.client.readContract({ address: this.governor, abi: lockstepGovernorAbi, functionName: "quorum", args: [snapshot], blockNumber: this.at }) : undefined,
      account ? this.readMine(p.id, snapshot, started, account) : undefined,
    ]);
    return {
      ...p,
      state: PROPOSAL_STATES[state],
      againstVotes: votes[0],
      forVotes: votes[1],
      abstainVotes: votes[2],
      snapshot,
      deadline,
      eta,
      quorum,
      mine,
    };
  }

  private async readMine(id: bigint, snapshot: bigint, started: boolean, account: Hex) {
    const [hasVoted, power] = await Promise.all([
      this.client.readContract({ address: this.governor, abi: lockstepGovernorAbi, functionName: "hasVoted", args: [id, account], blockNumber: this.at }),
      started ? this.client.readContract({ address: this.governor, abi: lockstepGovernorAbi, functionName: "getVotes", args: [account, snapshot], blockNumber: this.at }) : undefined,
    ]);
    return { hasVoted, power };
  }

  private async readAccount(address: Hex, guardian: Hex): Promise<AccountRecord> {
    const token = this.config.deployment.contracts.StakeToken as Hex;
    const [balance, votes, delegate] = await Promise.all([
      this.client.readContract({ address: token, abi: stakeTokenAbi, functionName: "balanceOf", args: [address], blockNumber: this.at }),
      this.client.readContract({ address: token, abi: stakeTokenAbi, functionName: "getVotes", args: [address], blockNumber: this.at }),
      this.client.readContract({ address: token, abi: stakeTokenAbi, functionName: "delegates", args: [address], blockNumber: this.at }),
    ]);
    return { address, balance, votes, delegate, isGuardian: guardian.toLowerCase() === address.toLowerCase() };
  }

  private async readParams(): Promise<GovernanceSnapshot["params"]> {
    const g = { address: this.governor, abi: lockstepGovernorAbi } as const;
    const [votingDelay, votingPeriod, quorumNumerator, quorumDenominator, timelockDelay] = await Promise.all([
      this.client.readContract({ ...g, functionName: "votingDelay" }),
      this.client.readContract({ ...g, functionName: "votingPeriod" }),
      this.client.readContract({ ...g, functionName: "quorumNumerator" }),
      this.client.readContract({ ...g, functionName: "quorumDenominator" }),
      this.client.readContract({ address: this.config.deployment.contracts.LockstepTimelock as Hex, abi: lockstepTimelockAbi, functionName: "getMinDelay" }),
    ]);
    return { votingDelay, votingPeriod, quorumNumerator, quorumDenominator, timelockDelay };
  }

  /** Average seconds per block over the last (up to) 100 blocks; 12 when the chain is too young to say. */
  private async blockTime(head: bigint, headTime: bigint): Promise<number> {
    const span = head > 100n ? 100n : head;
    if (span === 0n) return 12;
    const past = await this.client.getBlock({ blockNumber: head - span });
    const t = Number(headTime - past.timestamp) / Number(span);
    return t > 0 ? t : 1;
  }
}

function decode(l: Log): Decoded | undefined {
  try {
    const d = decodeEventLog({ abi: GOVERNOR_EVENTS, data: l.data, topics: l.topics });
    return { ...d, blockNumber: l.blockNumber!, transactionHash: l.transactionHash!, logIndex: l.logIndex! } as Decoded;
  } catch {
    return undefined;
  }
}
