// The Governor's proposals as the Proposals view shows them: the records folded from the Governor's logs
// (lib/proposals.ts), with state, counts, quorum and deadlines read from the contract at the block the chain view
// is showing, and, for a connected account, its voting power at each proposal's snapshot.
import type { PublicClient } from "viem";
import {
  lockstepGovernorAbi,
  lockstepTimelockAbi,
  stakeTokenAbi,
  upgradeCoordinatorAbi,
} from "../../lib/abi/generated";
import { PROPOSAL_STATES, type ProposalStateName } from "../../lib/governance";
import { byChainOrder } from "../../lib/events";
import { decodeGovernorLogs, foldProposals, type GovernorEvent, type ProposalLogRecord } from "../../lib/proposals";
import { decodeRevert, revertDataOf } from "../../lib/revert";
import { viemSource, type ChainBlock, type ChainSource, type Hex } from "../../lib/sync";
import { LogFollower, READS_PER_REFRESH } from "./chain";
import type { DashboardConfig } from "./dashboardConfig";

export interface ProposalRecord extends ProposalLogRecord {
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
  /** For the connected account: whether it voted, and its power at the snapshot once voting has started. */
  mine?: { hasVoted: boolean; power?: bigint };
}

export interface AccountRecord {
  address: Hex;
  balance: bigint;
  votes: bigint;
  delegate: Hex;
  isGuardian: boolean;
}

export interface GovernanceParams {
  votingDelay: bigint;
  votingPeriod: bigint;
  proposalThreshold: bigint;
  quorumNumerator: bigint;
  quorumDenominator: bigint;
  timelockDelay: bigint;
}

export interface GovernanceSnapshot {
  /** Newest first. */
  proposals: ProposalRecord[];
  /** The block everything here was read at (the Governor's clock). */
  clock: bigint;
  /** Seconds per block, averaged over recent blocks: turns block counts into times. */
  blockTime: number;
  params: GovernanceParams;
  guardian: Hex;
  /** The account `account` and each proposal's `mine` were read for; undefined when none was connected. */
  readFor?: Hex;
  account?: AccountRecord;
  /** The proposal shown on its own page, and the times (seconds) of the blocks its timeline names, once mined. */
  focus?: bigint;
  blockTimes: ReadonlyMap<bigint, bigint>;
}

/** A proposal whose last log and deadline are this many blocks deep is taken as settled: no reorg that deep is
 * expected, so its final state is read once and kept (a deeper reorg forgets every one kept). */
const SETTLED_DEPTH = 64n;
/** States no later block can change, once the logs that led there are deeper than SETTLED_DEPTH. */
const FINAL: ReadonlySet<ProposalStateName> = new Set(["Canceled", "Defeated", "Expired", "Executed"]);

/** The blocks a proposal's timeline dates: created, voting opens and closes, queued, executed or cancelled. */
export function timelineBlocks(p: ProposalRecord): bigint[] {
  return [p.created.block, p.snapshot, p.deadline, p.queued?.block, p.executed?.block, p.canceled?.block].filter(
    (b): b is bigint => b !== undefined,
  );
}

export class GovernanceView {
  private readonly source: ChainSource;
  private readonly follower: LogFollower<GovernorEvent[]>;
  /** The Governor's events up to the block of the last refresh, in chain order. */
  private events: GovernorEvent[] = [];
  /** Proposals in a final state, read once: every refresh would otherwise cost ~8 reads per proposal ever made. */
  private final = new Map<bigint, Omit<ProposalRecord, "mine">>();
  /**
   * Proposals read before, with what they were read at: a proposal's state, counts and quorum change only with a
   * log about it (a vote, a queue, an execution) or when the block passes its snapshot or deadline, so a new block
   * that does neither reads nothing again. Likewise the account's vote and power per proposal.
   */
  private read = new Map<bigint, { key: string; base: Omit<ProposalRecord, "mine"> }>();
  private mine = new Map<string, ProposalRecord["mine"]>();
  /** The Governor's parameters and the average block time, read again only when they may have changed. */
  private params?: { key: string; value: GovernanceParams };
  private blockTimeCache?: { at: bigint; value: number };
  private guardianCache?: { key: string; value: Hex };
  /** Block times read for proposal timelines; forgotten on a reorg. */
  private times = new Map<bigint, bigint>();

  constructor(
    private readonly client: PublicClient,
    private readonly config: DashboardConfig,
  ) {
    this.source = viemSource(client);
    this.follower = new LogFollower<GovernorEvent[]>({
      source: this.source,
      addresses: [this.governor],
      startBlock: BigInt(this.config.deployment.startBlock),
      initial: () => [],
      handlers: {
        block: (events, page) => {
          const fresh = decodeGovernorLogs(page.logs);
          return { state: fresh.length === 0 ? events : [...events, ...fresh].sort(byChainOrder) };
        },
        reorg: ({ detectedAt, ancestor }) => {
          if (detectedAt - ancestor.block > SETTLED_DEPTH) this.final.clear();
          this.read.clear();
          this.mine.clear();
          this.params = undefined;
          this.guardianCache = undefined;
          this.times.clear();
        },
      },
    });
  }

  /** Forgets every proposal, parameter and block time read: after a reload from the start block. */
  private forget() {
    this.final.clear();
    this.read.clear();
    this.mine.clear();
    this.times.clear();
    this.params = undefined;
  }

  private get governor(): Hex {
    return this.config.deployment.contracts.LockstepGovernor as Hex;
  }

  /** Everything at block `head` (the chain view's head, so both views describe the same block). */
  async refresh(
    head: { number: bigint; timestamp: bigint; hash?: Hex; parentHash?: Hex },
    account?: Hex,
    /** Changes when the coordinator's events do: the guardian is read again only then. */
    coordinatorRevision?: number,
    /** A proposal shown on its own page: the times of its timeline's blocks are read too. */
    focus?: bigint,
  ): Promise<GovernanceSnapshot> {
    const at = head.number;
    await this.follow(
      at,
      head.hash && head.parentHash ? { ...head, hash: head.hash, parentHash: head.parentHash } : undefined,
    );
    const c = this.config.deployment.contracts;
    // Governance changes its own rules by proposal: the parameters are read again when a Governor log lands, and
    // at least every 300 blocks (the timelock's delay changes through the timelock's own logs).
    const paramsKey = `${this.events.length}:${at / 300n}`;
    const guardianKey = `${coordinatorRevision ?? at}`;
    const [params, guardian, blockTime] = await Promise.all([
      this.params?.key === paramsKey ? this.params.value : this.readParams(at),
      this.guardianCache && this.guardianCache.key === guardianKey && coordinatorRevision !== undefined
        ? this.guardianCache.value
        : this.client.readContract({
            address: c.UpgradeCoordinator as Hex,
            abi: upgradeCoordinatorAbi,
            functionName: "guardian",
            blockNumber: at,
          }),
      this.blockTimeCache && at - this.blockTimeCache.at < 100n && at >= this.blockTimeCache.at
        ? this.blockTimeCache.value
        : this.blockTime(at, head.timestamp),
    ]);
    this.params = { key: paramsKey, value: params };
    this.guardianCache = { key: guardianKey, value: guardian };
    if (this.blockTimeCache?.value !== blockTime || at - this.blockTimeCache.at >= 100n || at < this.blockTimeCache.at)
      this.blockTimeCache = { at, value: blockTime };
    const records = foldProposals(this.events);
    const proposals = (await Promise.all(records.map((p) => this.complete(p, at, account)))).filter(
      (p): p is ProposalRecord => p !== undefined,
    );
    const shown = focus === undefined ? undefined : proposals.find((p) => p.id === focus);
    return {
      focus,
      blockTimes: shown ? await this.timesOf(timelineBlocks(shown), at) : new Map(),
      proposals: proposals.reverse(),
      clock: at,
      blockTime,
      params,
      guardian,
      readFor: account,
      account: account ? await this.readAccount(account, guardian, at) : undefined,
    };
  }

  /** Follows the Governor's logs up to block `at`, rewinding what a reorg took away; a reorg deeper than every
   * block remembered reloads them from the start block. `known`: block `at`, when the caller has it. */
  private async follow(at: bigint, known?: ChainBlock) {
    for (let read = 1; ; read++) {
      const head = read === 1 && known ? known : await this.source.block(at);
      if (!head) throw new Error(`the RPC has no block ${at}`);
      const followed = await this.follower.poll(head);
      // Reloaded from the start block: nothing read before is known to hold.
      if (followed.reloaded) this.forget();
      if (followed.status !== "raced") {
        // "behind": a node behind answered for a block below the last one followed; show that block's events.
        this.events = followed.processedTo > at ? followed.state.filter((e) => e.blockNumber <= at) : followed.state;
        return;
      }
      if (read === READS_PER_REFRESH)
        throw new Error(`the chain kept reorganising while the Governor's logs up to ${at} were read`);
    }
  }

  private async complete(p: ProposalLogRecord, at: bigint, account?: Hex): Promise<ProposalRecord | undefined> {
    let base = this.final.get(p.id);
    const cached = this.read.get(p.id);
    // What a new block can change without a log: the phase against the snapshot and the deadline.
    const keyOf = (b: { snapshot: bigint; deadline: bigint }) =>
      `${p.lastTouched}:${at <= b.snapshot ? 0 : at <= b.deadline ? 1 : 2}`;
    if (!base && cached && cached.key === keyOf(cached.base)) base = cached.base;
    if (!base) {
      try {
        base = await this.readProposal(p, at);
        this.read.set(p.id, { key: keyOf(base), base });
      } catch (e) {
        // A proposal whose creation a reorg took away (the Governor no longer knows it): not shown.
        const data = revertDataOf(e);
        if (data && decodeRevert(data)?.name === "GovernorNonexistentProposal") return undefined;
        throw e;
      }
      if (FINAL.has(base.state) && at > p.lastTouched + SETTLED_DEPTH && at > base.deadline + SETTLED_DEPTH)
        this.final.set(p.id, base);
    }
    if (!account) return base;
    const mineKey = `${account.toLowerCase()}:${p.id}:${keyOf(base)}`;
    if (this.mine.has(mineKey)) return { ...base, mine: this.mine.get(mineKey) };
    const votingStarted = base.snapshot < at;
    const [hasVoted, power] = await Promise.all([
      this.client.readContract({
        address: this.governor,
        abi: lockstepGovernorAbi,
        functionName: "hasVoted",
        args: [p.id, account],
        blockNumber: at,
      }),
      votingStarted
        ? this.client.readContract({
            address: this.governor,
            abi: lockstepGovernorAbi,
            functionName: "getVotes",
            args: [account, base.snapshot],
            blockNumber: at,
          })
        : undefined,
    ]);
    this.mine.set(mineKey, { hasVoted, power });
    return { ...base, mine: { hasVoted, power } };
  }

  private async readProposal(p: ProposalLogRecord, at: bigint): Promise<Omit<ProposalRecord, "mine">> {
    const g = { address: this.governor, abi: lockstepGovernorAbi, args: [p.id], blockNumber: at } as const;
    const [state, snapshot, deadline, eta, votes] = await Promise.all([
      this.client.readContract({ ...g, functionName: "state" }),
      this.client.readContract({ ...g, functionName: "proposalSnapshot" }),
      this.client.readContract({ ...g, functionName: "proposalDeadline" }),
      this.client.readContract({ ...g, functionName: "proposalEta" }),
      this.client.readContract({ ...g, functionName: "proposalVotes" }),
    ]);
    const quorum =
      snapshot < at ? await this.client.readContract({ ...g, functionName: "quorum", args: [snapshot] }) : undefined;
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
    };
  }

  private async readAccount(address: Hex, guardian: Hex, at: bigint): Promise<AccountRecord> {
    const t = {
      address: this.config.deployment.contracts.StakeToken as Hex,
      abi: stakeTokenAbi,
      blockNumber: at,
    } as const;
    const [balance, votes, delegate] = await Promise.all([
      this.client.readContract({ ...t, functionName: "balanceOf", args: [address] }),
      this.client.readContract({ ...t, functionName: "getVotes", args: [address] }),
      this.client.readContract({ ...t, functionName: "delegates", args: [address] }),
    ]);
    return { address, balance, votes, delegate, isGuardian: guardian.toLowerCase() === address.toLowerCase() };
  }

  /** Read on every refresh: governance can change its own rules. */
  private async readParams(at: bigint): Promise<GovernanceParams> {
    const g = { address: this.governor, abi: lockstepGovernorAbi, blockNumber: at } as const;
    const [votingDelay, votingPeriod, proposalThreshold, quorumNumerator, quorumDenominator, timelockDelay] =
      await Promise.all([
        this.client.readContract({ ...g, functionName: "votingDelay" }),
        this.client.readContract({ ...g, functionName: "votingPeriod" }),
        this.client.readContract({ ...g, functionName: "proposalThreshold" }),
        this.client.readContract({ ...g, functionName: "quorumNumerator" }),
        this.client.readContract({ ...g, functionName: "quorumDenominator" }),
        this.client.readContract({
          address: this.config.deployment.contracts.LockstepTimelock as Hex,
          abi: lockstepTimelockAbi,
          functionName: "getMinDelay",
          blockNumber: at,
        }),
      ]);
    return { votingDelay, votingPeriod, proposalThreshold, quorumNumerator, quorumDenominator, timelockDelay };
  }

  /** The times of `blocks` that are mined by `at`, each read once. */
  private async timesOf(blocks: bigint[], at: bigint): Promise<Map<bigint, bigint>> {
    const mined = [...new Set(blocks)].filter((b) => b <= at);
    await Promise.all(
      mined
        .filter((b) => !this.times.has(b))
        .map(async (b) => this.times.set(b, (await this.client.getBlock({ blockNumber: b })).timestamp)),
    );
    return new Map(mined.map((b) => [b, this.times.get(b)!]));
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
