// How often the page asks the node for news.
/**
 * How long to wait before the next refresh. Each refresh costs one call when no block came (the head is asked
 * for, and it is the same); a new block costs the logs since, and the Governor reads it may have changed. While an
 * upgrade is in flight or a transaction of this page is pending, every `pollMs`; otherwise five times as long; and
 * while the tab is hidden, ten times that again (at most a minute), so a tab left open in the background costs the
 * node next to nothing. Coming back to the tab refreshes at once.
 */
export function pollDelay(pollMs: number, busy: boolean, hidden: boolean): number {
  const base = busy ? pollMs : pollMs * 5;
  return hidden ? Math.max(base, Math.min(60_000, base * 10)) : base;
}

/** Block intervals remembered for the estimate of the chain's block time. */
const SAMPLES = 9;
const MINUTE = 60_000;
/** However slow the chain, the page looks at least this often while something is in flight. */
const MAX_WAIT_FOR_BLOCK = 30_000;

/**
 * Paces the refreshes of one tab so that it costs the node little even with an upgrade in flight:
 * - **Block pacing.** On a chain whose blocks come regularly (the last intervals, by the chain's timestamps, none
 *   shorter than half their median, as with proof-of-stake slots), a new head cannot come sooner than the shortest
 *   recent interval after the last one. While busy, the page waits until one poll before that, then asks every
 *   `pollMs`, backing off (doubling, up to half a block) while the block is late: 12 s blocks cost two or three head
 *   checks a block instead of twelve, and a new block is still seen within about one poll of its arrival. A chain
 *   that mines on demand (blocks at irregular times) is polled every `pollMs`.
 * - **A budget.** About `budgetPerMinute` JSON-RPC calls in any minute after the first load (default one per
 *   `pollMs` on average: 60 at 1 s): when the refreshes of the last minute spent it, the next waits until enough of
 *   them are a minute old, but never longer than ten polls, so a burst of reads (a new upgrade's stake weights)
 *   slows the page down without blinding it. The first load is not counted.
 * Hidden tabs back off as `pollDelay` says, never sooner than the pacing.
 */
export class PollPacer {
  private intervals: number[] = [];
  private head: { number: bigint; timestamp: bigint; seenAt: number } | undefined;
  /** Refreshes since the last new head that found none. */
  private misses = 0;
  private calls: { at: number; n: number }[] = [];
  readonly budgetPerMinute: number;

  constructor(
    readonly pollMs: number,
    budgetPerMinute?: number,
  ) {
    this.budgetPerMinute = budgetPerMinute ?? Math.max(60, Math.round(MINUTE / pollMs));
  }

  /** After each refresh: the head it showed, at local time `now` (ms). */
  sawHead(number: bigint, timestamp: bigint, now: number) {
    const last = this.head;
    if (last && number === last.number) {
      this.misses++;
      return;
    }
    if (last && number > last.number && timestamp >= last.timestamp) {
      this.intervals.push((Number(timestamp - last.timestamp) * 1000) / Number(number - last.number));
      if (this.intervals.length > SAMPLES) this.intervals.shift();
    }
    this.head = { number, timestamp, seenAt: now };
    this.misses = 0;
  }

  /**
   * The chain's block time (ms): the median of the last intervals and the shortest of them, when the blocks come
   * regularly (at least three intervals seen, none shorter than half the median); undefined otherwise.
   */
  blockTime(): { median: number; soonest: number } | undefined {
    if (this.intervals.length < 3) return undefined;
    const sorted = [...this.intervals].sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    return sorted[0] >= median / 2 && sorted[0] > 0 ? { median, soonest: sorted[0] } : undefined;
  }

  /** The JSON-RPC calls a refresh made (not the first load's). */
  spent(calls: number, now: number) {
    if (calls > 0) this.calls.push({ at: now, n: calls });
    this.prune(now);
  }

  /** Calls counted in the minute before `now`. */
  lastMinute(now: number): number {
    this.prune(now);
    return this.calls.reduce((t, c) => t + c.n, 0);
  }

  private prune(now: number) {
    while (this.calls.length && this.calls[0].at <= now - MINUTE) this.calls.shift();
  }

  /** How long after `now` the next refresh should come. */
  delay(busy: boolean, hidden: boolean, now: number): number {
    let d = pollDelay(this.pollMs, busy, hidden);
    const block = this.blockTime();
    if (busy && !hidden && block && block.soonest > this.pollMs && this.head) {
      const due = Math.min(this.head.seenAt + block.soonest - this.pollMs - now, MAX_WAIT_FOR_BLOCK);
      const late = Math.min(Math.max(this.pollMs, block.median / 2), this.pollMs * 2 ** Math.max(0, this.misses - 1));
      d = due > 0 ? due : late;
    }
    return Math.round(Math.max(d, Math.min(this.budgetWait(now), 10 * this.pollMs)));
  }

  /** How long until one more refresh fits the budget (as costly as the costliest of the last minute). */
  private budgetWait(now: number): number {
    this.prune(now);
    const next = this.calls.reduce((m, c) => Math.max(m, c.n), 1);
    let over = this.lastMinute(now) + next - this.budgetPerMinute;
    if (over <= 0) return 0;
    for (const c of this.calls) {
      over -= c.n;
      if (over <= 0) return c.at + MINUTE - now;
    }
    return MINUTE;
  }
}
