// Restart leases, the watcher's side (docs/design.md, "Restart leases"; docs/watcher.md, "Restart leases"): before a
// step takes its running node down (a swap, a local rollback, a network-ordered restore, a revert after a reorg,
// a catch-up), the watcher holds a lease for its validator's stake. While the budget is full the step waits: the
// runtime asks again later, with jitter, and runs other work meanwhile (orders first). Nothing here loops or sleeps.
// The LeaseGate is the one place that asks: once per attempt of a step, before the step starts; executors never do.
import type { Effect, Job } from "./machine/types";
import type { Binaries, Clock, NodeController, RestartLeases, Step } from "./ports";
import type { Logger } from "./log";
import type { Notify } from "./notify";

export interface LeaseDeps {
  /** Absent: this watcher takes no leases (an executor run alone in a test). */
  leases?: RestartLeases;
  node: NodeController;
  binaries: Binaries;
  log: Logger;
  notify?: Notify;
}

/** Whether a step may take the node down now, and why; or why it must wait. */
export type LeaseVerdict =
  | { kind: "go"; why: "no-restart" | "no-budget" | "node-down" | "unleasable" }
  | { kind: "go"; why: "held" | "granted"; /** The lease's duration, seconds. */ duration: number }
  | { kind: "wait"; why: "full" | "pending"; inUse?: bigint; budget?: bigint; weight?: bigint };

/** The step's effect stops the node it finds running: a swap not done yet, or a fall-back not done yet. */
async function stopsNode(effect: Effect, job: Job, binaries: Binaries): Promise<boolean> {
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
async function leaseBeforeStop(upgradeId: number, deps: LeaseDeps): Promise<LeaseVerdict> {
  const { leases, log } = deps;
  if (!leases) return { kind: "go", why: "no-budget" };
  const view = await leases.view(upgradeId);
  if (view.budget === 0n) return { kind: "go", why: "no-budget" };
  if (view.expiresAt > 0n) return granted(upgradeId, deps, "held", view.expiresAt, view.duration);
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
      return granted(upgradeId, deps, "granted", answer.expiresAt, view.duration);
    case "held":
      return granted(upgradeId, deps, "held", answer.expiresAt, view.duration);
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

function granted(
  upgradeId: number,
  deps: LeaseDeps,
  why: "held" | "granted",
  expiresAt: bigint,
  duration: number,
): LeaseVerdict {
  if (why === "held") {
    deps.log.info({ upgrade: upgradeId, expiresAt: expiresAt.toString() }, "restart lease already held");
  }
  deps.notify?.leaseGranted(upgradeId);
  return { kind: "go", why, duration };
}

function unleasable(upgradeId: number, deps: LeaseDeps, live: boolean): LeaseVerdict {
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

/** What the gate needs: the leases themselves, and the node and binaries that tell whether a step stops the node. */
export interface LeaseGateDeps extends LeaseDeps {
  clock: Clock;
  /** The first wait after a refusal (it doubles from there): the chain's poll interval. */
  pollIntervalMs: number;
  /** How long the restart-window hook may hold the node up before it stops (hooks.restartWindow.deadlineMs). */
  restartWindowMs?: number;
}

/**
 * Holds back the steps that would take the running node down while the restart budget has no room for them. A
 * waiting step stays as it is (not started, no attempt counted, none of its retry budget spent) and is asked for
 * again after a jittered backoff; meanwhile the runtime runs other steps, orders first.
 */
export class LeaseGate {
  /** Steps waiting for a lease, by key (apart from the runtime's retries: a wait is no failure). */
  private readonly waits = new Map<string, { upgradeId: number; waits: number; notBefore: number }>();
  /** Upgrades whose lease was found shorter than the restart window (warned once each). */
  private readonly shortLeases = new Set<number>();

  constructor(private readonly deps: LeaseGateDeps) {}

  /** True while `step` must wait for a lease; false once it may start (it needs none, or the key holds one). */
  async holds(step: Step, job: Job): Promise<boolean> {
    const { clock, log } = this.deps;
    const wait = this.waits.get(step.key);
    if (wait && wait.notBefore > clock.now()) return true;
    if (!(await stopsNode(step.effect, job, this.deps.binaries))) return false;
    const gate = await leaseBeforeStop(job.upgradeId, this.deps);
    if (gate.kind === "go") {
      this.waits.delete(step.key);
      if ("duration" in gate) this.checkDuration(job.upgradeId, gate.duration);
      return false;
    }
    const waits = (wait?.waits ?? 0) + 1;
    const retryInMs = leaseRetryMs(waits, this.deps.pollIntervalMs);
    this.waits.set(step.key, { upgradeId: job.upgradeId, waits, notBefore: clock.now() + retryInMs });
    log.debug({ upgrade: job.upgradeId, step: step.key, why: gate.why, retryInMs }, "waiting for a lease");
    return true;
  }

  /**
   * The lease is held while the restart-window hook waits, before the node stops. A window that may wait longer than
   * the lease lasts can stop the node after the lease lapsed, when its stake no longer counts in the budget and
   * another validator may restart beside it: said once per upgrade, with what to change.
   */
  private checkDuration(upgradeId: number, duration: number) {
    const windowMs = this.deps.restartWindowMs;
    if (windowMs === undefined || windowMs < duration * 1000 || this.shortLeases.has(upgradeId)) return;
    this.shortLeases.add(upgradeId);
    this.deps.log.warn(
      { upgrade: upgradeId, leaseSeconds: duration, restartWindowDeadlineMs: windowMs },
      "the restart window may wait longer than a restart lease lasts: the node could stop after its lease lapsed " +
        "(lower hooks.restartWindow.deadlineMs below the lease duration)",
    );
  }

  /** Waits whose step is no longer pending (an order skipped or ended it, a crash recovery closed it) are over. */
  endWaits(pending: Step[]) {
    for (const [key, wait] of this.waits) {
      if (pending.some((s) => s.key === key)) continue;
      this.waits.delete(key);
      this.deps.notify?.leaseGranted(wait.upgradeId);
    }
  }
}
