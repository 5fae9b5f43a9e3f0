// Restart leases, the watcher's side (docs/design.md, "Restart leases"; docs/watcher.md, "Restart leases"): before a
// step takes its running node down (a swap, a local rollback, a network-ordered restore, a revert after a reorg,
// a catch-up), the watcher holds a lease for its validator's stake. While the budget is full the step waits: the
// runtime asks again later, with jitter, and runs other work meanwhile (orders first). Nothing here loops or sleeps.
import type { Effect, Job } from "./machine/types";
import type { Binaries, NodeController, RestartLeases } from "./ports";
import type { Logger } from "./log";
import type { Notify } from "./notify";
import { retryable } from "./errors";

export interface LeaseDeps {
  /** Absent: this watcher takes no leases (an executor run alone in a test). */
  leases?: RestartLeases;
  node: NodeController;
  binaries: Binaries;
  log: Logger;
  notify?: Notify;
}

/** Whether a step may take the node down now, and why; or why it must wait. */
export type LeaseGate =
  | { kind: "go"; why: "no-restart" | "no-budget" | "held" | "granted" | "node-down" | "unleasable" }
  | { kind: "wait"; why: "full" | "pending"; inUse?: bigint; budget?: bigint; weight?: bigint };

/** The step's effect stops the node it finds running: a swap not done yet, or a fall-back not done yet. */
export async function stopsNode(effect: Effect, job: Job, binaries: Binaries): Promise<boolean> {
  const { version, previousVersion, stateIncompatible } = job.manifest;
  switch (effect.kind) {
    case "upgrade":
      return (await binaries.active()) !== version;
    case "rollbackLocally":
      return (await binaries.active()) !== previousVersion || stateIncompatible;
    case "restore":
    case "revert":
      return (await binaries.active()) !== previousVersion || effect.restoreState;
    default:
      return false;
  }
}

/**
 * Makes sure the node may be taken down for upgrade `upgradeId`: the budget is off (0) or closed, the key holds a
 * lease, or it gets one now. A node that does not answer is offline already: stopping it takes nothing more from
 * the network, so the step goes on without waiting (the node must come back). A key without weight in the budget
 * (it never attested Ready to the latest upgrade) can never be leased: the step goes on, with a warning.
 */
export async function leaseBeforeStop(upgradeId: number, deps: LeaseDeps): Promise<LeaseGate> {
  const { leases, log } = deps;
  if (!leases) return { kind: "go", why: "no-budget" };
  const view = await leases.view(upgradeId);
  if (view.budget === 0n) return { kind: "go", why: "no-budget" };
  if (view.expiresAt > 0n) return granted(upgradeId, deps, "held", view.expiresAt);
  if (!(await deps.node.status().catch(() => undefined))) {
    log.warn(
      { upgrade: upgradeId },
      "the node does not answer: it is offline already, so no restart lease is waited for",
    );
    deps.notify?.leaseGranted(upgradeId);
    return { kind: "go", why: "node-down" };
  }
  if (!view.live || view.weight === 0n) return unleasable(upgradeId, deps, view.live);
  const answer = await leases.take();
  switch (answer.kind) {
    case "granted":
      log.info(
        { upgrade: upgradeId, expiresAt: answer.expiresAt.toString(), transaction: answer.transaction },
        "restart lease granted",
      );
      return granted(upgradeId, deps, "granted", answer.expiresAt);
    case "held":
      return granted(upgradeId, deps, "held", answer.expiresAt);
    case "unleasable":
      return unleasable(upgradeId, deps, view.live);
    case "pending":
      log.info({ upgrade: upgradeId }, "a transaction of the attester key is pending: asking for the lease later");
      return { kind: "wait", why: "pending" };
    case "full": {
      const { inUse, budget, weight } = answer;
      const figures = { inUse: inUse.toString(), budget: budget.toString(), weight: weight.toString() };
      if (weight > budget) {
        log.error(
          { upgrade: upgradeId, ...figures },
          "this validator's stake exceeds the whole restart budget: no lease can ever be granted (governance must raise it)",
        );
      } else {
        log.info(
          { upgrade: upgradeId, ...figures },
          "restart budget full: waiting for a lease; the node keeps running",
        );
      }
      deps.notify?.leaseWaiting(upgradeId, figures);
      return { kind: "wait", why: "full", inUse, budget, weight };
    }
  }
}

function granted(upgradeId: number, deps: LeaseDeps, why: "held" | "granted", expiresAt: bigint): LeaseGate {
  if (why === "held") {
    deps.log.info({ upgrade: upgradeId, expiresAt: expiresAt.toString() }, "restart lease already held");
  }
  deps.notify?.leaseGranted(upgradeId);
  return { kind: "go", why };
}

function unleasable(upgradeId: number, deps: LeaseDeps, live: boolean): LeaseGate {
  deps.log.warn(
    { upgrade: upgradeId },
    live
      ? "no restart lease can be taken: this validator did not attest Ready to the upgrade; restarting without one"
      : "no restart lease can be taken: a later upgrade closed this one's budget; restarting without one",
  );
  deps.notify?.leaseGranted(upgradeId);
  return { kind: "go", why: "unleasable" };
}

/** How long to wait before asking again after `waits` refusals: doubling from the poll interval, capped, jittered. */
export function leaseRetryMs(waits: number, pollIntervalMs: number, random: () => number = Math.random): number {
  const base = Math.min(pollIntervalMs * 2 ** Math.min(Math.max(waits - 1, 0), 4), 60_000);
  return Math.round(base * (0.5 + random()));
}

/**
 * For an executor, just before it stops the node: the lease must be held. The runtime waited for it already; this
 * covers a lease that expired meanwhile (a retried step) by taking a new one, or fails the attempt (retryable).
 */
export async function holdLease(upgradeId: number, deps: LeaseDeps): Promise<void> {
  const gate = await leaseBeforeStop(upgradeId, deps);
  if (gate.kind === "go") return;
  throw retryable(
    "lease-wait",
    gate.why === "full"
      ? `the restart budget of upgrade ${upgradeId} is full: the node is not stopped until a lease is granted`
      : `a transaction of the attester key is pending: the lease for upgrade ${upgradeId} is asked for later`,
    { upgradeId, why: gate.why },
  );
}
