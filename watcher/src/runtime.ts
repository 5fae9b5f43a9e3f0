import type { Log } from "viem";
import { decodeCoordinatorLog } from "../../lib/events";
import { WatcherError, asWatcherError } from "./errors";
import { execute, type ExecutorDeps } from "./executors";
import { foldPage, scheduledIn } from "./facts";
import { assessHealth, roundIntervalMs, shouldReport, underObservation, type HealthTrack } from "./machine/health";
import { reduce } from "./machine/reduce";
import { stepVerdict } from "./machine/steps";
import { emptyState, type Effect, type WatcherState } from "./machine/types";
import type { Metrics } from "./metrics";
import type { Journal, PageOutcome, Step } from "./ports";
import type { Follower } from "../../lib/sync";
import { syncError, watcherFollower } from "./follow";
import { foreignAttestations } from "./duplicates";
import type { Outbox } from "./ports/outbox";

export interface RuntimeDeps extends ExecutorDeps {
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

  constructor(private readonly deps: RuntimeDeps) {
    const { config } = deps;
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

  /** Follows the chain up to its confirmed head; lib/sync's failures come back as WatcherErrors. */
  private async follow() {
    try {
      return await this.follower.poll();
    } catch (e) {
      throw syncError(e);
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

  /** One round: follow, act, observe. Retryable failures (RPC outages) are logged and retried next round. */
  async tick(): Promise<void> {
    try {
      const { processedTo, head } = await this.follow();
      this.deps.metrics.headBlock.set(Number(head.number));
      this.deps.metrics.cursorBlock.set(Number(processedTo));
      this.deps.metrics.pollSucceeded(this.deps.clock.now());
      await this.runSteps();
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
      await this.deps.clock.sleep(this.failures ? backoff : next);
    }
  }

  stop() {
    this.stopped = true;
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
        await this.deps.clock.sleep(
          Math.min(this.deps.config.chain.pollIntervalMs * 2 ** Math.min(attempt, 5), 60_000),
        );
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

  private async runSteps() {
    for (const step of this.deps.journal.pending()) {
      if (this.stopped) return;
      await this.runStep(step);
    }
  }

  private async runStep(step: Step) {
    const { journal, log, metrics, clock } = this.deps;
    const effect = step.effect;
    const verdict = stepVerdict(this.state(), effect, step.status === "queued" ? "queued" : "started");
    switch (verdict.action) {
      case "cancel":
        journal.cancelQueued([step.key]);
        return;
      case "hold":
        return;
      case "skip": {
        const { fact, transition } = verdict;
        journal.finish(step.key, fact.type, transition.state, transition.effects);
        const ended = this.state().jobs[String(effect.upgradeId)]?.ended;
        log.warn(
          { upgrade: effect.upgradeId, ended },
          "the upgrade ended before the swap began: not touching the node",
        );
        return;
      }
    }
    const job = this.state().jobs[String(effect.upgradeId)];
    const started = clock.now();
    journal.markStarted(step.key);
    metrics.stepStarted(effect.kind, effect.upgradeId, started);
    this.deps.kill?.hit(`${effect.kind}:started`);
    log.info(
      { upgrade: effect.upgradeId, step: step.key, kind: effect.kind, attempt: step.attempts + 1 },
      "step started",
    );
    try {
      const outcome = await execute(effect, job, this.deps);
      const t = outcome ? reduce(this.state(), outcome) : { state: this.state(), effects: [] };
      journal.finish(step.key, outcome ? outcome.type : "done", t.state, t.effects);
      metrics.stepDuration.observe(
        { kind: effect.kind, outcome: outcome?.type ?? "done" },
        (clock.now() - started) / 1000,
      );
      if (effect.kind === "attest") metrics.lastAttestation.set({ status: effect.status }, clock.now() / 1000);
      log.info({ upgrade: effect.upgradeId, step: step.key, outcome: outcome?.type ?? "done" }, "step done");
    } catch (e) {
      const error = asWatcherError(e, "step");
      if (!error.retryable) {
        metrics.errors.inc({ kind: error.code });
        journal.markFailed(step.key, error.message);
        log.error(
          { upgrade: effect.upgradeId, step: step.key, err: error.message, details: error.details },
          "step failed",
        );
        return;
      }
      throw error; // retryable: the step stays started and runs again next round (the round counts the error)
    } finally {
      metrics.stepEnded();
    }
  }

  // ---------------------------------------------------------------- observation

  /**
   * While upgraded and the upgrade is in flight, asks the node how it is (every round: rounds come at least every
   * health.observeIntervalMs then) and reports a change of health to the machine; the machine's rule judges it.
   */
  private async observe() {
    const { node, metrics, log, journal } = this.deps;
    metrics.healthVerdict.reset();
    for (const job of Object.values(this.state().jobs)) {
      if (!underObservation(job)) continue;
      const reading = await node.status().catch(() => undefined);
      const now = this.deps.clock.now();
      const { verdict, track } = assessHealth(
        job,
        reading,
        this.tracks.get(job.upgradeId),
        now,
        this.deps.config.health,
      );
      this.tracks.set(job.upgradeId, track);
      metrics.healthVerdict.set({ upgrade: String(job.upgradeId), verdict }, 1);
      if (reading) {
        metrics.version.reset();
        metrics.version.set({ version: reading.version }, 1);
      }
      // Failing and starting still count as healthy: only a node past unhealthyAfterMs is reported unhealthy.
      const healthy = verdict !== "unhealthy";
      if (!shouldReport(job, healthy, track, now, this.deps.config.health)) continue;
      const before = this.state();
      const t = reduce(before, { type: "HealthObserved", upgradeId: job.upgradeId, healthy });
      // The machine returns the state it was given when the fact changes nothing: then nothing is journaled.
      if (t.state !== before) {
        track.reportedAt = now;
        log.warn({ upgrade: job.upgradeId, healthy, verdict, version: reading?.version }, "node health changed");
        journal.applyLocal(t.state, t.effects);
      }
    }
  }

  private publishPhases() {
    const m = this.deps.metrics.upgradePhase;
    m.reset();
    for (const job of Object.values(this.state().jobs)) {
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
