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
