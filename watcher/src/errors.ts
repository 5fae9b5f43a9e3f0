// The watcher's one error type. Every error the watcher throws for a condition a caller handles is a
// WatcherError, or is wrapped into one where it crosses into the watcher's code (RPC, file system, node
// commands). `retryable` is the one question a caller asks: true when trying again later may succeed (an RPC
// timeout, a nonce race, a file a running node rewrote), false when only an operator can fix it (a digest
// mismatch, a wrong chain, a reorg deeper than the journal remembers).

export interface WatcherErrorOptions {
  retryable: boolean;
  /** A short, stable name of the condition (`rpc`, `digest-mismatch`, `fs`, ...); metrics count errors by it. */
  code: string;
  /** The values that explain it (a path, an upgrade id, an HTTP status); never a key or a password. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class WatcherError extends Error {
  constructor(
    message: string,
    readonly options: WatcherErrorOptions,
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "WatcherError";
  }
  get retryable(): boolean {
    return this.options.retryable;
  }
  get code(): string {
    return this.options.code;
  }
  get details(): Record<string, unknown> {
    return this.options.details ?? {};
  }
}

export const retryable = (code: string, message: string, details?: Record<string, unknown>, cause?: unknown) =>
  new WatcherError(message, { retryable: true, code, details, cause });
export const fatal = (code: string, message: string, details?: Record<string, unknown>, cause?: unknown) =>
  new WatcherError(message, { retryable: false, code, details, cause });

/**
 * A failed file-system call as a WatcherError (code `fs`) naming the operation and the path. Retryable: a disk
 * that filled up or a permission an operator fixes lets the same step succeed later, and every step the watcher
 * retries checks first whether its work is done.
 */
export function fsError(operation: string, path: string, cause: unknown): WatcherError {
  if (cause instanceof WatcherError) return cause;
  const errno = (cause as NodeJS.ErrnoException | undefined)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  // Node's own message repeats the path; SQLite's ("database or disk is full") says what its code does not.
  const why = errno?.startsWith("SQLITE_") ? `${message} (${errno})` : (errno ?? message);
  // A file that is not a database, or a corrupt one, stays so until an operator acts.
  const permanent = errno === "SQLITE_NOTADB" || errno === "SQLITE_CORRUPT";
  return (permanent ? fatal : retryable)(
    "fs",
    `${operation} ${path} failed: ${why}`,
    { operation, path, errno },
    cause,
  );
}

/** Runs a file-system call; a failure becomes an `fsError` naming `operation` and `path`. */
export async function fsCall<T>(operation: string, path: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw fsError(operation, path, error);
  }
}

/**
 * Any error as a WatcherError: itself when it is one, otherwise wrapped with `code` (default `unexpected`). An
 * unexpected error is retryable: the watcher's loop has always retried what it did not recognise, with backoff.
 */
export function asWatcherError(error: unknown, code = "unexpected"): WatcherError {
  if (error instanceof WatcherError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return retryable(code, message, {}, error);
}
