// The coordinator's state as the exporter serves it: its events followed with lib/sync's follower (reorgs
// rewound), folded with lib/history's reducer into every upgrade, its stages and tallies, plus the restart
// leases replayed from their events. One contract read per refresh: the restart budget governance set.
import type { PublicClient } from "viem";
import { upgradeCoordinatorAbi } from "../../lib/abi/generated";
import type { CoordinatorEvent } from "../../lib/events";
import { auditChecks, foldAll, foldEventPage, type FollowedEvents, type History } from "../../lib/history";
import { Follower, MemoryCheckpointStore, viemSource, type ChainBlock, type Hex } from "../../lib/sync";

/** The live restart budget (the latest upgrade's), replayed from LeaseBudgetOpened and the Lease* events. */
export interface LeaseBook {
  upgradeId: bigint;
  /** Wei, as LeaseBudgetOpened fixed it. */
  budget: bigint;
  durationSeconds: number;
  /** Leases granted and neither released nor expired by `at`: attester (lowercase) -> weight and expiry. */
  held: Map<string, { weight: bigint; expiresAt: bigint }>;
  granted: number;
  released: number;
  /** The `inUse` of the last Lease* event: expiry is reported lazily, so it can be above the truth. */
  reportedInUse: bigint;
}

export interface CoordinatorSnapshot {
  history: History;
  leases?: LeaseBook;
  /** The last block followed, and its time (chain time: what the contract's deadlines are measured in). */
  block: ChainBlock;
  /** The restart budget the next scheduled upgrade will fix (restartBudget()). */
  budgetSetting: { bps: number; leaseDurationSeconds: number };
}

type Followed = FollowedEvents;

/** Replays the restart leases of the live budget (the last one opened) up to chain time `now`. */
export function leaseBook(events: readonly CoordinatorEvent[], now: bigint): LeaseBook | undefined {
  let book: LeaseBook | undefined;
  for (const e of events) {
    if (e.eventName === "LeaseBudgetOpened") {
      book = {
        upgradeId: e.args.upgradeId,
        budget: e.args.budget,
        durationSeconds: Number(e.args.duration),
        held: new Map(),
        granted: 0,
        released: 0,
        reportedInUse: 0n,
      };
      continue;
    }
    if (!book) continue;
    switch (e.eventName) {
      case "LeaseGranted":
        if (e.args.upgradeId !== book.upgradeId) break;
        book.held.set(e.args.attester.toLowerCase(), { weight: e.args.weight, expiresAt: e.args.expiresAt });
        book.granted++;
        book.reportedInUse = e.args.inUse;
        break;
      case "LeaseReleased":
        if (e.args.upgradeId !== book.upgradeId) break;
        book.held.delete(e.args.attester.toLowerCase());
        book.released++;
        book.reportedInUse = e.args.inUse;
        break;
      case "LeasesExpired":
        if (e.args.upgradeId === book.upgradeId) book.reportedInUse = e.args.inUse;
        break;
    }
  }
  // A lease counts until its expiry (the contract's epoch rule gives every grant its exact expiresAt).
  if (book) for (const [attester, lease] of book.held) if (lease.expiresAt <= now) book.held.delete(attester);
  return book;
}

export interface CoordinatorFollowerOptions {
  client: PublicClient;
  coordinator: Hex;
  startBlock: bigint;
  /** The timelock: who the history counts as governance. */
  governance?: string;
  confirmations?: number;
}

/** Follows one coordinator; `refresh()` reads what is new and returns the state as of the last block followed. */
export class CoordinatorFollower {
  private readonly follower: Follower<Followed>;
  private folded?: { events: CoordinatorEvent[]; history: History };

  constructor(private readonly o: CoordinatorFollowerOptions) {
    this.follower = new Follower<Followed>({
      source: viemSource(o.client),
      store: new MemoryCheckpointStore<Followed>(),
      addresses: [o.coordinator],
      startBlock: o.startBlock,
      initial: () => ({ events: [], times: new Map() }),
      confirmations: o.confirmations ?? 0,
      handlers: { block: foldEventPage },
    });
  }

  async refresh(): Promise<CoordinatorSnapshot> {
    let polled = await this.follower.poll();
    for (let read = 1; polled.status === "raced" && read < 3; read++) polled = await this.follower.poll();
    if (polled.status === "raced") throw new Error(`the chain kept reorganising near block ${polled.head.number}`);
    const { events, times } = polled.state;
    if (this.folded?.events !== events) {
      const state = foldAll(events, {
        times,
        governance: this.o.governance,
        registryComplete: true,
        coordinator: this.o.coordinator,
        fromBlock: this.o.startBlock,
      });
      state.history.checks = auditChecks(state);
      this.folded = { events, history: state.history };
    }
    const [block, budget] = await Promise.all([
      this.o.client.getBlock({ blockNumber: polled.processedTo }),
      this.o.client.readContract({
        address: this.o.coordinator,
        abi: upgradeCoordinatorAbi,
        functionName: "restartBudget",
        blockNumber: polled.processedTo,
      }),
    ]);
    const header: ChainBlock = {
      number: block.number!,
      hash: block.hash!,
      parentHash: block.parentHash,
      timestamp: block.timestamp,
    };
    return {
      history: this.folded.history,
      leases: leaseBook(events, header.timestamp),
      block: header,
      budgetSetting: { bps: Number(budget[0]), leaseDurationSeconds: Number(budget[1]) },
    };
  }
}
