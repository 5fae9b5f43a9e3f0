import type { Log } from "viem";
import { decodeCoordinatorLog } from "../../lib/events";
import { WatcherError, asWatcherError } from "./errors";
import { abandonUpgrade, execute, type ExecutorDeps } from "./executors";
import { foldPage, scheduledIn } from "./facts";
import { assessHealth, roundIntervalMs, shouldReport, underObservation, type HealthTrack } from "./machine/health";
import { beforeSwap, reduce } from "./machine/reduce";
import { stepVerdict } from "./machine/steps";
import {
  emptyState,
  type Effect,
  type Job,
  type MachineEvent,
  type Transition,
  type WatcherState,
} from "./machine/types";
import type { Metrics } from "./metrics";
import type { Notify } from "./notify";
import type { Journal, PageOutcome, Step } from "./ports";
import { ReorgTooDeepError, type Follower } from "../../lib/sync";
import { syncError, watcherFollower } from "./follow";
import { healthNotice, networkNotices, stepFailedNotice, stepNotice } from "./notifyEvents";
import { isPreempted, preempted, type Preemption } from "./preempt";

/** Times the steps due are planned again in one round after orders interrupted steps. */
const MAX_PASSES = 8;

/** Steps that carry out a network order: they run before any other step. */
const answersOrder = (e: Effect) =>
  e.kind === "restore" ||
  e.kind === "revert" ||
  e.kind === "discard" ||
  e.kind === "rollbackLocally" ||
  (e.kind === "attest" && e.status === "RolledBack");
import { foreignAttestations } from "./duplicates";
import type { Outbox } from "./ports/outbox";
import { LeaseGate } from "./leases";

export interface RuntimeDeps extends ExecutorDeps {
  notify: Notify;
  journal: Journal;
  metrics: Metrics;
  /** The address of the attester key the watcher loaded. */
  attester: `0x${string}`;
}

/**
 * The watcher's loop: follow confirmed coordinator events into the state machine, journal the effects it asks
 * for together with the processed block, carry them out one at a time (each journaled as started, then done
 * together with its outcome), and watch the node's health while an upgrade is being observed.
 */
export class Runtime {
  private readonly follower: Follower<WatcherState, PageOutcome>;
  private readonly tracks = new Map<number, HealthTrack>();
  private stopped = false;
  private failures = 0;
  /** Steps whose retryable failure was notified already: one notice per step, not one per round. */
  private readonly retryNotified = new Set<string>();
  /** A reorg was followed: check the node against the rewound state before running steps. */
  private reconcileDue = false;
  /** Ends the current sleep at once (stop() calls it: SIGTERM must not wait out a backoff). */
  private wake?: () => void;
  /** Retryable failures of steps still to run, by key: when each may run again, and since when it fails. */
  private readonly retries = new Map<string, { failures: number; since: number; notBefore: number }>();
  /** The one place that asks for restart leases: steps that would stop the node wait there, not started. */
  private readonly leases: LeaseGate;
  /** The running step's interruption (stop() aborts work that has not touched the node yet). */
  private interrupt?: AbortController;
  /** An order interrupted a step: the steps due are planned again, orders first. */
  private replan = false;

  constructor(private readonly deps: RuntimeDeps) {
    const { config } = deps;
    this.leases = new LeaseGate({
      ...deps,
      pollIntervalMs: config.chain.pollIntervalMs,
      restartWindowMs: config.hooks?.restartWindow?.deadlineMs,
    });
    deps.metrics.keepProblemsIn(deps.journal); // /healthz still names what is wrong after a restart
    this.follower = watcherFollower({
      chain: deps.chain,
      journal: deps.journal,
      coordinator: config.chain.coordinator as `0x${string}`,
      startBlock: BigInt(config.chain.startBlock),
      confirmations: config.chain.confirmations,
      pageSize: config.chain.pageSize,
      initial: emptyState,
      page: (state, logs) => this.handlePage(state, logs),
      reorged: ({ ancestor }) => {
        deps.log.warn({ block: ancestor.block.toString() }, "chain reorganised: rewound to the last block still on it");
        deps.metrics.errors.inc({ kind: "reorg" });
      },
    });
  }

  /** The machine's state as of the last block followed (and the local facts since). */
  state(): WatcherState {
    return this.deps.journal.latest()?.state ?? emptyState();
  }

  /**
   * Follows the chain up to its confirmed head; lib/sync's failures come back as WatcherErrors. A reorg deeper than
   * the checkpoint history rebuilds the view: every checkpoint is dropped (queued steps cancelled, steps under way
   * superseded) and the coordinator's events are followed again from the start block, so the state is the
   * confirmed chain's as it stands now; the node is then reconciled with it.
   */
  private async follow() {
    try {
      const result = await this.follower.poll();
      if (result.reorg) this.reconcileDue = true;
      return result;
    } catch (e) {
      if (!(e instanceof ReorgTooDeepError)) throw syncError(e);
      this.dropView(e);
    }
    try {
      return await this.follower.poll();
    } catch (e) {
      throw syncError(e);
    }
  }

  /** After a reorg deeper than the checkpoint history: every checkpoint and step under way goes, to be rebuilt. */
  private dropView(e: ReorgTooDeepError) {
    const { journal, log, metrics } = this.deps;
    log.error(
      { block: e.block.toString(), head: e.detectedAt.toString() },
      "chain reorganised deeper than the checkpoint history: rebuilding the view from the start block",
    );
    metrics.errors.inc({ kind: "reorg-too-deep" });
    for (const step of journal.pending()) {
      if (step.status === "started")
        journal.markFailed(step.key, "superseded: the view was rebuilt after a deep reorg");
    }
    journal.rewindTo(-1n);
    this.retries.clear();
    this.reconcileDue = true;
  }

  /**
   * After a reorg: the node must run what the confirmed chain asks. A job that, by the rewound state, was never
   * swapped while `current` names its version (the activation that caused the swap was reorged away) is reverted to
   * its previous version; if the new chain activates the stage again, the machine upgrades again.
   */
  private async reconcile() {
    const { binaries, journal, log } = this.deps;
    const active = await binaries.active();
    const jobs = Object.values(this.state().jobs);
    if (!active || jobs.some((j) => j.manifest.version === active && !beforeSwap(j.local))) return;
    for (const job of jobs) {
      if (job.manifest.version !== active || job.manifest.previousVersion === active) continue;
      const before = this.state();
      const t = reduce(before, { type: "Diverged", upgradeId: job.upgradeId });
      if (t.state === before) continue;
      log.warn(
        { upgrade: job.upgradeId, version: active, previous: job.manifest.previousVersion },
        "the node runs a version whose activation a reorg removed: reverting it",
      );
      journal.applyLocal(t.state, t.effects);
      return;
    }
  }

  /** Checks the chain is the one configured and the coordinator is deployed; refuses to start otherwise. */
  async checkChain() {
    const { config, chain } = this.deps;
    const chainId = await chain.chainId();
    if (chainId !== config.chain.chainId) {
      throw new WatcherError(`the RPC node serves chain ${chainId}, not the configured ${config.chain.chainId}`, {
        retryable: false,
        code: "wrong-chain",
      });
    }
    const code = await chain.code(config.chain.coordinator as `0x${string}`);
    if (code === "0x") {
      throw new WatcherError(`no contract at coordinator address ${config.chain.coordinator} on chain ${chainId}`, {
        retryable: false,
        code: "no-coordinator",
      });
    }
    const registration = await chain.registration();
    if (!registration.registered) {
      throw new WatcherError(`operator ${config.validator.operator} is not registered with the coordinator`, {
        retryable: false,
        code: "not-registered",
      });
    }
    if (registration.attester.toLowerCase() !== this.deps.attester.toLowerCase()) {
      throw new WatcherError(
        `the loaded attester key is ${this.deps.attester}, but operator ${config.validator.operator} has attester ${registration.attester}`,
        { retryable: false, code: "wrong-attester" },
      );
    }
    this.deps.journal.bind({
      chainId: String(chainId),
      coordinator: config.chain.coordinator.toLowerCase(),
      operator: config.validator.operator.toLowerCase(),
    });
  }

  /** Follows the chain, notifies what the network ordered, and records how far it got. */
  private async followRound() {
    const before = this.state();
    const { processedTo, head } = await this.follow();
    for (const notice of networkNotices(before, this.state())) this.deps.notify.send(notice);
    this.deps.metrics.headBlock.set(Number(head.number));
    this.deps.metrics.cursorBlock.set(Number(processedTo));
    this.deps.metrics.pollSucceeded(this.deps.clock.now());
  }

  /** One round: follow, act, observe. Retryable failures (RPC outages) are logged and retried next round. */
  async tick(): Promise<void> {
    try {
      await this.followRound();
      if (this.reconcileDue) {
        await this.reconcile();
        this.reconcileDue = false;
      }
      await this.runSteps();
      for (const job of Object.values(this.state().jobs)) {
        if (job.ended) this.deps.metrics.problem(`upgrade ${job.upgradeId}`, undefined); // over: nothing to watch
      }
      await this.observe();
      this.failures = 0;
    } catch (e) {
      const error = asWatcherError(e);
      this.deps.metrics.errors.inc({ kind: error.code });
      if (!error.retryable) {
        this.deps.log.error({ err: error.message, code: error.code, details: error.details }, "cannot continue");
        throw error;
      }
      this.failures += 1;
      this.deps.log.warn({ err: error.message, code: error.code, failures: this.failures }, "round failed; retrying");
    }
    this.publishPhases();
  }

  /** Runs until stop(); waits the poll interval between rounds (at most observeIntervalMs while an upgrade is
   * observed), longer after failures (capped backoff). */
  async run(): Promise<void> {
    await this.checkChainPatiently();
    while (!this.stopped) {
      await this.tick();
      const { chain, health } = this.deps.config;
      const backoff = Math.min(chain.pollIntervalMs * 2 ** Math.min(this.failures, 5), 60_000);
      const next = roundIntervalMs(this.state(), chain.pollIntervalMs, health.observeIntervalMs);
      await this.sleep(this.failures ? backoff : next);
    }
  }

  stop() {
    this.stopped = true;
    this.wake?.();
    this.interrupt?.abort(preempted("the watcher is stopping"));
  }

  /** The clock's sleep, cut short by stop(). */
  private async sleep(ms: number): Promise<void> {
    if (this.stopped) return;
    await new Promise<void>((resolve) => {
      this.wake = resolve;
      void this.deps.clock.sleep(ms).then(resolve);
    });
    this.wake = undefined;
  }

  /** checkChain, retried while the RPC node is unreachable (a daemon must survive an outage at boot too). */
  async checkChainPatiently(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.checkChain();
      } catch (e) {
        const error = asWatcherError(e);
        if (!error.retryable || this.stopped) throw error;
        this.deps.metrics.errors.inc({ kind: error.code });
        this.deps.log.warn({ err: error.message, attempt: attempt + 1 }, "cannot reach the chain yet; retrying");
        await this.sleep(Math.min(this.deps.config.chain.pollIntervalMs * 2 ** Math.min(attempt, 5), 60_000));
        if (this.stopped) return;
      }
    }
  }

  /** The effects the machine would ask for the current chain state, without doing any of them (--dry-run). */
  async plan(): Promise<Effect[]> {
    await this.follow();
    return this.deps.journal.pending().map((s) => s.effect);
  }

  // ---------------------------------------------------------------- chain events into facts

  /**
   * The follower's page handler: decodes the page, reads what folding it needs from the chain (this validator's
   * stage in each upgrade scheduled in it), then folds it without any further I/O.
   */
  private async handlePage(state: WatcherState, logs: Log[]): Promise<PageOutcome> {
    const events = logs.flatMap((log) => decodeCoordinatorLog(log) ?? []);
    this.flagForeign(events);
    const stages = new Map<number, number | null>();
    for (const upgradeId of scheduledIn(events)) {
      const assignment = await this.deps.chain.assignment(upgradeId);
      stages.set(upgradeId, assignment.inRoster ? assignment.stage : null);
    }
    const { facts, transition } = foldPage(state, events, { platform: this.deps.config.platform, stages });
    for (const fact of facts) this.deps.log.debug({ upgrade: fact.upgradeId, event: fact.type }, "chain event");
    if (transition.effects.length) {
      this.deps.log.info(
        {
          facts: facts.map((f) => `${f.type}#${f.upgradeId}`),
          effects: transition.effects.map((e) => `${e.kind}#${e.upgradeId}`),
        },
        "chain events asked for work",
      );
    }
    return transition;
  }

  /** Flags attestations made with our key that our outbox does not hold (another watcher with the same key). */
  private flagForeign(events: Parameters<typeof foreignAttestations>[0]) {
    const journal = this.deps.journal as Partial<Outbox>;
    if (typeof journal.isOurs !== "function") return;
    const operator = this.deps.config.validator.operator as `0x${string}`;
    for (const f of foreignAttestations(events, operator, journal as Outbox)) {
      const details = { ...f, block: f.block.toString() };
      this.deps.metrics.foreignAttestationSeen(details);
      this.deps.log.error(
        details,
        "an attestation with this validator's key that this watcher did not sign: another watcher holds the key",
      );
    }
  }

  // ---------------------------------------------------------------- steps

  /**
   * Runs the steps due, network orders first (a rollback, a restore, a discard after a withdrawal), so a step that
   * keeps failing never holds one up. A step backing off after a retryable failure waits its turn, and holds back
   * only the later steps of its own upgrade. An order that arrives while a step runs interrupts it (see
   * `supervised`); the steps due are then planned again, so the order runs next.
   */
  private async runSteps() {
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      this.replan = false;
      await this.runPass();
      if (!this.replan || this.stopped) return;
    }
  }

  private async runPass() {
    const now = this.deps.clock.now();
    const waiting = new Set<number>();
    const steps = this.deps.journal.pending();
    const ordered = [...steps.filter((s) => answersOrder(s.effect)), ...steps.filter((s) => !answersOrder(s.effect))];
    this.leases.endWaits(steps);
    for (const step of ordered) {
      if (this.stopped || this.replan) return;
      const upgradeId = step.effect.upgradeId;
      if (waiting.has(upgradeId) && !answersOrder(step.effect)) continue;
      if (this.backingOff(step, now) && !this.orderStands(step)) {
        waiting.add(upgradeId);
        continue;
      }
      if (!(await this.runStep(step))) waiting.add(upgradeId);
    }
  }

  private backingOff(step: Step, now: number): boolean {
    return (this.retries.get(step.key)?.notBefore ?? 0) > now;
  }

  /**
   * The order that stands against running `step` now, if any. Only a preparation and a swap can be interrupted
   * (the other steps carry out orders, or are short): by a pause, a withdrawal or a rollback of their upgrade, or by
   * another upgrade's order waiting to run. `rollback` when the network ordered the step's own upgrade rolled back.
   */
  private orderAgainst(step: Step): { why: string; rollback: boolean } | undefined {
    const { kind, upgradeId } = step.effect;
    if (kind !== "prepare" && kind !== "upgrade") return undefined;
    const job = this.state().jobs[String(upgradeId)];
    if (!job) return { why: `upgrade ${upgradeId} is no longer on the chain`, rollback: false };
    if (job.ended === "rolledBack")
      return { why: `the network ordered upgrade ${upgradeId} rolled back`, rollback: true };
    if (job.ended === "withdrawn") return { why: `upgrade ${upgradeId} was withdrawn`, rollback: false };
    if (job.paused) return { why: `upgrade ${upgradeId} was paused`, rollback: false };
    const now = this.deps.clock.now();
    const order = this.deps.journal
      .pending()
      .find((s) => answersOrder(s.effect) && s.effect.upgradeId !== upgradeId && !this.backingOff(s, now));
    if (order) return { why: `${order.effect.kind} of upgrade ${order.effect.upgradeId} comes first`, rollback: false };
    return undefined;
  }

  /**
   * Runs `work` while following the chain every poll interval: when an order comes to stand against `step`, the
   * step's signals are aborted (see preempt.ts). The chain is never followed while the step's outcome is journaled:
   * the step settles, the follow in progress ends, and only then does the caller close the step.
   */
  private async supervised<T>(step: Step, work: (preemption: Preemption) => Promise<T>): Promise<T> {
    const any = new AbortController();
    const rollback = new AbortController();
    const check = () => {
      const order = this.orderAgainst(step);
      if (!order) return;
      const reason = preempted(order.why, { step: step.key });
      if (!any.signal.aborted) any.abort(reason);
      if (order.rollback && !rollback.signal.aborted) rollback.abort(reason);
    };
    check();
    this.interrupt = any;
    let settled = false;
    const running = work({ signal: any.signal, rollback: rollback.signal }).finally(() => {
      settled = true;
    });
    try {
      while (!settled && !this.stopped) {
        // A timer of its own, not the clock's sleep: it only paces the look at the chain, and ends with the step.
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          running.then(
            () => undefined,
            () => undefined,
          ),
          new Promise((r) => (timer = setTimeout(r, this.deps.config.chain.pollIntervalMs))),
        ]);
        clearTimeout(timer);
        if (settled || this.stopped) break;
        try {
          await this.followRound();
        } catch (e) {
          this.deps.log.debug({ err: asWatcherError(e).message }, "could not follow the chain during a step");
          continue;
        }
        if (!this.deps.journal.pending().some((s) => s.key === step.key)) {
          any.abort(preempted("the view was rebuilt", { step: step.key })); // a deep reorg superseded the step
        } else check();
      }
      return await running;
    } finally {
      this.interrupt = undefined;
    }
  }

  /** Whether an order (pause, rollback, withdrawal) now stands against a step that is backing off. */
  private orderStands(step: Step): boolean {
    const job = this.state().jobs[String(step.effect.upgradeId)];
    return !job || ((step.effect.kind === "upgrade" || step.effect.kind === "prepare") && (!!job.ended || job.paused));
  }

  /**
   * Runs one step, top to bottom: what the machine's verdict settles without running it; a preparation held by a
   * pause; the lease its stop needs; then started, carried out under the network's orders, and closed with its
   * outcome. False when it failed or waits for a lease, and will be tried again later.
   */
  private async runStep(step: Step): Promise<boolean> {
    const settled = await this.settleByVerdict(step);
    if (settled !== undefined) return settled;
    const job = this.jobOf(step);
    // On a pause nothing new starts for the upgrade, a download neither: it would only be interrupted again.
    if (step.effect.kind === "prepare" && job.paused) return true;
    try {
      if (await this.leases.holds(step, job)) return false;
    } catch (e) {
      return this.stepFailed(step, asWatcherError(e, "lease"));
    }
    const started = this.markRunning(step, job);
    let outcome: MachineEvent | undefined;
    try {
      outcome = await this.supervised(step, (preemption) => execute(step.effect, job, this.deps, preemption));
    } catch (e) {
      try {
        return await this.didNotFinish(step, e);
      } finally {
        this.deps.metrics.stepEnded();
      }
    }
    this.deps.metrics.stepEnded();
    if (this.superseded(step)) return true;
    this.finished(step, job, outcome, started);
    return true;
  }

  /** The job a step belongs to, as the machine has it now. */
  private jobOf(step: Step): Job {
    return this.state().jobs[String(step.effect.upgradeId)];
  }

  /**
   * What the machine's verdict settles before a step runs (see machine/steps.ts): undefined when the step is to run,
   * otherwise runStep's answer.
   */
  private async settleByVerdict(step: Step): Promise<boolean | undefined> {
    const verdict = stepVerdict(this.state(), step.effect, step.status === "queued" ? "queued" : "started");
    switch (verdict.action) {
      case "cancel":
        this.cancel(step);
        return true;
      case "hold":
        return true;
      case "skip":
        this.skip(step, verdict.fact, verdict.transition);
        return true;
      case "abandon":
        return this.abandon(step);
      case "run":
        return undefined;
    }
  }

  /** A step no upgrade is left for (a rewind dropped it): cancelled while queued, failed once started. */
  private cancel(step: Step) {
    const { journal } = this.deps;
    if (step.status === "queued") journal.cancelQueued([step.key]);
    else journal.markFailed(step.key, "its upgrade is no longer on the chain");
    this.retries.delete(step.key);
  }

  /** A step whose upgrade ended before it began: closed with the machine's fact, the node untouched. */
  private skip(step: Step, fact: MachineEvent, transition: Transition) {
    this.deps.journal.finish(step.key, fact.type, transition.state, transition.effects);
    this.retries.delete(step.key);
    const upgrade = step.effect.upgradeId;
    const ended = this.state().jobs[String(upgrade)]?.ended;
    this.deps.log.warn({ upgrade, ended }, "the upgrade ended before this step began: not touching the node");
  }

  /**
   * A swap an order stopped before it happened: the node runs the old version and stays on it, and the step is
   * closed. Undefined when the swap happened already: the upgrade then runs to its end, and the order after it.
   */
  private async abandon(step: Step): Promise<boolean | undefined> {
    const job = this.jobOf(step);
    let fact: MachineEvent | undefined;
    try {
      fact = await abandonUpgrade(job, this.deps);
    } catch (e) {
      return this.stepFailed(step, asWatcherError(e, "step"));
    }
    if (!fact) return undefined;
    this.close(step, fact);
    this.deps.log.warn({ upgrade: job.upgradeId, ended: job.ended, paused: job.paused }, "upgrade stopped by an order");
    return true;
  }

  /** Journals `step` as started and says so (a notice the first time only); returns when it started. */
  private markRunning(step: Step, job: Job): number {
    const { journal, log, metrics, clock } = this.deps;
    const effect = step.effect;
    const started = clock.now();
    journal.markStarted(step.key);
    if (step.status === "queued") this.deps.notify.send(stepNotice("started", effect, job));
    metrics.stepStarted(effect.kind, effect.upgradeId, started);
    this.deps.kill?.hit(`${effect.kind}:started`);
    log.info(
      { upgrade: effect.upgradeId, step: step.key, kind: effect.kind, attempt: step.attempts + 1 },
      "step started",
    );
    return started;
  }

  /** A step that threw: interrupted by an order, dropped by a rebuilt view, or failed. */
  private async didNotFinish(step: Step, e: unknown): Promise<boolean> {
    if (isPreempted(e)) return this.interrupted(step, e.message);
    if (this.superseded(step)) return true;
    return this.stepFailed(step, asWatcherError(e, "step"));
  }

  /** A step that ran to its end: its outcome journaled, measured, logged and notified. */
  private finished(step: Step, job: Job, outcome: MachineEvent | undefined, started: number) {
    const { log, metrics, clock } = this.deps;
    const effect = step.effect;
    this.close(step, outcome);
    const result = outcome?.type ?? "done";
    metrics.stepDuration.observe({ kind: effect.kind, outcome: result }, (clock.now() - started) / 1000);
    if (effect.kind === "attest") metrics.lastAttestation.set({ status: effect.status }, clock.now() / 1000);
    log.info({ upgrade: effect.upgradeId, step: step.key, outcome: result }, "step done");
    this.deps.notify.send(stepNotice("ended", effect, job, outcome));
  }

  /** Whether a rebuilt view (a deep reorg) dropped `step` while it ran: its outcome is then dropped too. */
  private superseded(step: Step): boolean {
    if (this.deps.journal.pending().some((s) => s.key === step.key)) return false;
    this.deps.log.warn({ upgrade: step.effect.upgradeId, step: step.key }, "step superseded while it ran");
    return true;
  }

  /**
   * A step an order interrupted before it touched the node: it stays in the journal as it was (started), is not a
   * failure and spends nothing of its retry budget; the steps due are planned again, the order first.
   */
  private interrupted(step: Step, why: string): true {
    this.replan = true;
    this.deps.log.warn({ upgrade: step.effect.upgradeId, step: step.key, why }, "step interrupted by an order");
    return true;
  }

  /** Journals a step's outcome (a fact for the machine, or none) and what an operator must see of it. */
  private close(step: Step, outcome: MachineEvent | undefined) {
    const t = outcome ? reduce(this.state(), outcome) : { state: this.state(), effects: [] };
    this.deps.journal.finish(step.key, outcome ? outcome.type : "done", t.state, t.effects);
    this.retries.delete(step.key);
    this.clearStepProblems(step);
    this.reportOutcome(step.effect.upgradeId, outcome);
  }

  /** The closed step's problem, and those of its upgrade's steps that failed for good: the upgrade moved past them. */
  private clearStepProblems(step: Step) {
    const { journal, metrics } = this.deps;
    metrics.problem(`step ${step.key}`, undefined);
    const pending = new Set(journal.pending().map((s) => `step ${s.key}`));
    for (const key of metrics.problemKeys()) {
      const failed = /^step e\d+:(\d+):/.exec(key);
      if (failed && Number(failed[1]) === step.effect.upgradeId && !pending.has(key)) metrics.problem(key, undefined);
    }
  }

  /** What an upgrade's outcome means on /healthz and in the node failure count. */
  private reportOutcome(upgradeId: number, outcome: MachineEvent | undefined) {
    const { metrics } = this.deps;
    const upgrade = `upgrade ${upgradeId}`;
    if (outcome?.type === "UpgradeFailed" && outcome.cause === "order") {
      metrics.problem(upgrade, undefined); // not a failure of the node: the network ordered the rollback
    } else if (outcome?.type === "UpgradeFailed") {
      metrics.nodeFailures.inc({ cause: outcome.cause ?? "unhealthy" });
      metrics.problem(upgrade, `upgrade ${outcome.upgradeId} failed: ${outcome.reason}`);
    } else if (outcome?.type === "Upgraded") {
      metrics.problem(upgrade, undefined);
    }
  }

  /**
   * A step that failed. Retryable: tried again after a backoff (doubling from the poll interval, capped at
   * retry.backoffCapMs), until its budget (retry.budgetMs, retry.maxAttempts) is spent. Not retryable, or out of
   * budget: it fails for good (see failedForGood).
   */
  private async stepFailed(step: Step, error: WatcherError): Promise<boolean> {
    const now = this.deps.clock.now();
    this.deps.metrics.errors.inc({ kind: error.code });
    const seen = this.retries.get(step.key) ?? { failures: 0, since: now, notBefore: 0 };
    if (error.retryable && !this.budgetSpent(step, seen.since, now)) {
      this.retryLater(step, error, seen.failures + 1, seen.since, now);
      return false;
    }
    const reason = error.retryable ? `gave up after ${seen.failures + 1} tries: ${error.message}` : error.message;
    await this.failedForGood(step, error, reason);
    return true;
  }

  /** Whether a step failing since `since` has spent its retry budget (time or attempts) by `now`. */
  private budgetSpent(step: Step, since: number, now: number): boolean {
    const { retry } = this.deps.config;
    return now - since >= retry.budgetMs || step.attempts + 1 >= retry.maxAttempts;
  }

  /** Schedules the `failures`-th retry of a step after its backoff, and says so (one notice per step). */
  private retryLater(step: Step, error: WatcherError, failures: number, since: number, now: number) {
    const { log, metrics, config } = this.deps;
    const effect = step.effect;
    const delay = Math.min(config.chain.pollIntervalMs * 2 ** (failures - 1), config.retry.backoffCapMs);
    this.retries.set(step.key, { failures, since, notBefore: now + delay });
    metrics.stepRetries.inc({ kind: effect.kind });
    metrics.problem(`step ${step.key}`, `${effect.kind} of upgrade ${effect.upgradeId} retrying: ${error.message}`);
    log.warn(
      { upgrade: effect.upgradeId, step: step.key, err: error.message, code: error.code, retryInMs: delay },
      "step failed; retrying",
    );
    if (this.retryNotified.has(step.key)) return;
    this.retryNotified.add(step.key);
    this.deps.notify.send(stepFailedNotice(effect, this.jobOf(step), error.message, true));
  }

  /**
   * A step that retrying cannot fix. Where the machine has a fact for the failure (preparation failed, upgrade
   * failed, nothing left to discard) it is the step's outcome, so the upgrade's work ends at once and the machine
   * moves on (FailedToUpgrade when the stage is active); otherwise the step is marked failed, a problem on /healthz.
   */
  private async failedForGood(step: Step, error: WatcherError, reason: string) {
    const { journal, log, metrics } = this.deps;
    const effect = step.effect;
    log.error(
      { upgrade: effect.upgradeId, step: step.key, err: reason, code: error.code, details: error.details },
      "step failed",
    );
    const job = this.jobOf(step);
    this.deps.notify.send(stepFailedNotice(effect, job, reason, false));
    const fact = job && (await this.failureFact(effect, job, error.code, reason));
    if (fact) {
      this.close(step, fact);
      return;
    }
    journal.markFailed(step.key, reason);
    this.retries.delete(step.key);
    metrics.problem(`step ${step.key}`, `${effect.kind} of upgrade ${effect.upgradeId} failed: ${reason}`);
  }

  /** The fact a permanent failure of `effect` amounts to, when the machine has one. */
  private async failureFact(effect: Effect, job: Job, code: string, reason: string): Promise<MachineEvent | undefined> {
    const upgradeId = effect.upgradeId;
    switch (effect.kind) {
      case "prepare":
        return { type: "PrepareFailed", upgradeId, reason };
      case "upgrade":
        // The node must run: the old version when the swap had not happened (abandonUpgrade starts it), otherwise
        // the local rollback UpgradeFailed asks for.
        await abandonUpgrade(job, this.deps).catch(() => undefined);
        return { type: "UpgradeFailed", upgradeId, reason, cause: code };
      case "discard":
        return { type: "Discarded", upgradeId };
      default:
        return undefined;
    }
  }

  // ---------------------------------------------------------------- observation

  /**
   * While upgraded and the upgrade is in flight, asks the node how it is (every round: rounds come at least every
   * health.observeIntervalMs then) and reports a change of health to the machine; the machine's rule judges it.
   */
  private async observe() {
    this.deps.metrics.healthVerdict.reset();
    for (const job of Object.values(this.state().jobs)) {
      if (underObservation(job)) await this.observeJob(job);
    }
  }

  /** One reading of the node for `job`, judged with hysteresis; a change worth reporting goes to the machine. */
  private async observeJob(job: Job) {
    const { node, metrics, log, journal, clock, config } = this.deps;
    const reading = await node.status().catch(() => undefined);
    const now = clock.now();
    const { verdict, track } = assessHealth(job, reading, this.tracks.get(job.upgradeId), now, config.health);
    this.tracks.set(job.upgradeId, track);
    metrics.healthVerdict.set({ upgrade: String(job.upgradeId), verdict }, 1);
    if (reading) {
      metrics.version.reset();
      metrics.version.set({ version: reading.version }, 1);
    }
    // Failing and starting still count as healthy: only a node past unhealthyAfterMs is reported unhealthy.
    const healthy = verdict !== "unhealthy";
    if (!shouldReport(job, healthy, track, now, config.health)) return;
    const before = this.state();
    const t = reduce(before, { type: "HealthObserved", upgradeId: job.upgradeId, healthy });
    // The machine returns the state it was given when the fact changes nothing: then nothing is journaled.
    if (t.state === before) return;
    track.reportedAt = now;
    log.warn({ upgrade: job.upgradeId, healthy, verdict, version: reading?.version }, "node health changed");
    journal.applyLocal(t.state, t.effects);
    if (healthy === (job.health === "unhealthy")) this.deps.notify.send(healthNotice(job, healthy, reading?.version));
  }

  private publishPhases() {
    const m = this.deps.metrics.upgradePhase;
    const health = this.deps.metrics.nodeHealthy;
    m.reset();
    health.reset();
    for (const job of Object.values(this.state().jobs)) {
      if (underObservation(job) && job.health)
        health.set({ upgrade: String(job.upgradeId) }, job.health === "healthy" ? 1 : 0);
      m.set(
        {
          upgrade: String(job.upgradeId),
          phase: job.local,
          stage_active: String(job.stageActive),
          paused: String(job.paused),
          ended: job.ended ?? "no",
        },
        1,
      );
    }
  }
}
