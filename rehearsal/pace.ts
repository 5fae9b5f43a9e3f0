// How fast this machine runs now, measured rather than assumed. Every start-up a rehearsal or a test times (a local
// chain from spawn to listening, a node from spawn to answering) is recorded against what the same start-up takes
// on a quiet machine; the slowest ratio seen in this process is the pace. Time limits are written for a quiet machine
// and multiplied by the pace (`paced`), so they hold on a busy machine too, and a real hang still ends.
//
// No imports: hardhat.config.ts loads this file to scale mocha's timeouts.

/** What a start-up takes on a quiet machine (two cores, nothing else running), measured there. */
export const QUIET_STARTUP_MS = {
  /** `hardhat node` from spawn to "Started HTTP": Node.js, Hardhat, this project's config and tasks. */
  chain: 4_000,
  /** The simulated validator node (sim/validator-node.ts under ts-node) from spawn to answering its status. */
  node: 1_500,
} as const;

/** Past ten times a quiet machine's pace, a limit stops growing: a hang must still end within the CI run. */
const MAX_PACE = 10;

let slowest = 1;

/** Records that `what` took `ms` to start now; the pace stays within 1 (a fast machine keeps the limits) and 10. */
export function recordStartup(what: keyof typeof QUIET_STARTUP_MS, ms: number): void {
  slowest = Math.min(MAX_PACE, Math.max(slowest, ms / QUIET_STARTUP_MS[what]));
}

/** How many times slower than a quiet machine this one was at the slowest start-up measured so far (at least 1). */
export function pace(): number {
  return slowest;
}

/** A time limit written for a quiet machine, scaled to this one's measured pace. */
export function paced(ms: number): number {
  return Math.round(ms * slowest);
}
