// The follower's errors: each says whether trying again can help.

/** The base of lib/sync's errors. `retryable` says whether the same call, tried again later, can succeed. */
export class SyncError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * The chain reorganised below the oldest checkpoint kept: the follower cannot tell what to undo. Not retryable:
 * the consumer must start over from a fresh store (the dashboard reloads from its start block; the watcher stops and
 * asks for an operator).
 */
export class ReorgTooDeepError extends SyncError {
  constructor(
    /** The oldest checkpoint kept, which is no longer on the chain. */
    readonly block: bigint,
    readonly detectedAt: bigint,
  ) {
    super(
      `chain reorganised below block ${block}, deeper than the checkpoint history (noticed at head ${detectedAt})`,
      false,
      { block, detectedAt },
    );
  }
}

/** The follower was set up wrong (a start block the chain does not have): not retryable. */
export class SyncConfigError extends SyncError {
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message, false, details);
  }
}
