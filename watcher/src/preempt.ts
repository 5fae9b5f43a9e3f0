// Network orders interrupt work in progress. While a step runs, the runtime keeps following the chain; when an order
// (a pause, a withdrawal, a rollback, or another upgrade's order waiting to run) stands against the step, it aborts
// the step's signals. Executors listen only where stopping leaves the node as it was: a download, an upgrade hook,
// the checks before the node is stopped. Once the binary is switched, only a rollback order ends the wait for the
// new version's health (the node then goes back to the previous version).
import { WatcherError } from "./errors";

/** The signals a running step listens to. */
export interface Preemption {
  /** Aborted when any order stands against the step: work that has not touched the node yet stops. */
  signal: AbortSignal;
  /** Aborted when the network orders the step's upgrade rolled back: even a swapped node stops waiting. */
  rollback: AbortSignal;
}

/** Signals never aborted (a step run outside the runtime, a test calling an executor alone). */
export const NO_PREEMPTION: Preemption = {
  signal: new AbortController().signal,
  rollback: new AbortController().signal,
};

/** The error a step stops with when an order interrupted it: retryable, and never counted as a failure. */
export function preempted(why: string, details: Record<string, unknown> = {}): WatcherError {
  return new WatcherError(`interrupted: ${why}`, { retryable: true, code: "preempted", details });
}

export const isPreempted = (e: unknown): e is WatcherError => e instanceof WatcherError && e.code === "preempted";

/** The reason `signal` was aborted with, as a WatcherError. */
export function abortReason(signal: AbortSignal): WatcherError {
  const reason: unknown = signal.reason;
  if (reason instanceof WatcherError) return reason;
  return preempted(reason instanceof Error ? reason.message : String(reason ?? "aborted"));
}

/** Throws the abort reason when `signal` was aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/** `work`, or the abort reason as soon as `signal` is aborted (the work itself is left to settle on its own). */
export function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) {
    work.catch(() => undefined);
    return Promise.reject(abortReason(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}
