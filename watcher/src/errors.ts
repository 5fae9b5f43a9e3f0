/** The watcher's one error type: a short message, optional details, and whether trying again may succeed. */
export class WatcherError extends Error {
  constructor(
    message: string,
    readonly options: { retryable: boolean; code: string; details?: Record<string, unknown>; cause?: unknown },
  ) {
    super(message);
    this.name = "WatcherError";
  }
  get retryable() {
    return this.options.retryable;
  }
  get code() {
    return this.options.code;
  }
}
export const retryable = (code: string, message: string, details?: Record<string, unknown>, cause?: unknown) =>
  new WatcherError(message, { retryable: true, code, details, cause });
export const fatal = (code: string, message: string, details?: Record<string, unknown>, cause?: unknown) =>
  new WatcherError(message, { retryable: false, code, details, cause });
