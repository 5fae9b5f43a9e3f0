import { createServer, type Server } from "node:http";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Where /healthz problems outlive the process (the journal). */
export interface ProblemStore {
  problems(): Record<string, string>;
  setProblem(key: string, message: string | undefined): void;
}

/** Outcomes of a webhook delivery (lockstep_notifications_total{outcome}), exported at 0 from the start. */
export const NOTIFICATION_OUTCOMES = ["delivered", "retried", "failed", "dropped"] as const;
export type NotificationOutcome = (typeof NOTIFICATION_OUTCOMES)[number];

/**
 * The watcher's Prometheus metrics, named lockstep_<thing>_<unit> as Prometheus names them: a base unit as suffix
 * (`_seconds`, `_timestamp_seconds`), `_total` on counters, `_info` on gauges that carry labels with value 1.
 * The Node.js process metrics keep their stock names (`process_cpu_user_seconds_total`, `nodejs_*`), which stock
 * Node.js dashboards expect. Grouped by what they describe; add a metric to its group, one field each.
 * monitoring/ (alerting rules, dashboards) names these metrics: test/monitoring checks every name it uses exists.
 */
/** Why a new binary failed (lockstep_node_failures_total's `cause`); other error codes may appear too. */
export const NODE_FAILURE_CAUSES = ["start", "snapshot", "unhealthy", "digest"] as const;
/** The journaled steps (lockstep_step_retries_total's `kind`). */
export const STEP_KINDS = ["prepare", "attest", "upgrade", "rollbackLocally", "restore", "discard", "revert"] as const;

export class Metrics {
  readonly registry = new Registry();

  // ------------------------------------------------------------------ following the chain
  readonly cursorBlock = new Gauge({
    name: "lockstep_cursor_block",
    help: "Last block the watcher processed",
    registers: [this.registry],
  });
  readonly headBlock = new Gauge({
    name: "lockstep_head_block",
    help: "Latest block the RPC node reported",
    registers: [this.registry],
  });
  readonly lastRound = new Gauge({
    name: "lockstep_last_successful_round_timestamp_seconds",
    help: "When the watcher last followed the chain successfully (0: not yet)",
    registers: [this.registry],
  });

  // ------------------------------------------------------------------ the node
  readonly version = new Gauge({
    name: "lockstep_node_version_info",
    help: "Version the node runs (1 for the current one)",
    labelNames: ["version"],
    registers: [this.registry],
  });
  readonly nodeHealthy = new Gauge({
    name: "lockstep_node_healthy",
    help: "While an upgrade is observed: 1 when the node was last judged healthy, 0 when unhealthy",
    labelNames: ["upgrade"],
    registers: [this.registry],
  });

  // ------------------------------------------------------------------ upgrades and steps
  readonly upgradePhase = new Gauge({
    name: "lockstep_upgrade_phase_info",
    help: "Local phase of this validator in each upgrade (1 for the current phase)",
    labelNames: ["upgrade", "phase", "stage_active", "paused", "ended"],
    registers: [this.registry],
  });
  readonly healthVerdict = new Gauge({
    name: "lockstep_health_verdict_info",
    help: "The node's health as last judged while an upgrade is observed: healthy, starting, failing or unhealthy",
    labelNames: ["upgrade", "verdict"],
    registers: [this.registry],
  });
  readonly lastAttestation = new Gauge({
    name: "lockstep_last_attestation_timestamp_seconds",
    help: "When the watcher last attested, by status",
    labelNames: ["status"],
    registers: [this.registry],
  });
  readonly stepDuration = new Histogram({
    name: "lockstep_step_duration_seconds",
    help: "Time each journaled step took",
    labelNames: ["kind", "outcome"],
    buckets: [0.05, 0.25, 1, 5, 15, 60, 300],
    registers: [this.registry],
  });
  readonly foreignAttestations = new Counter({
    name: "lockstep_foreign_attestations_total",
    help: "Attestations made with this validator's key that this watcher did not sign (another watcher holds the key)",
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: "lockstep_errors_total",
    help: "Errors by kind",
    labelNames: ["kind"],
    registers: [this.registry],
  });

  // ------------------------------------------------------------------ restart leases
  readonly leaseWaitStarted = new Gauge({
    name: "lockstep_lease_wait_started_timestamp_seconds",
    help: "When the watcher began waiting for a restart lease (the restart budget was full); 0 while not waiting",
    registers: [this.registry],
  });

  // ------------------------------------------------------------------ notifications
  readonly notifications = new Counter({
    name: "lockstep_notifications_total",
    help: "Webhook deliveries by outcome (retried: an attempt failed and is tried again)",
    labelNames: ["outcome"],
    registers: [this.registry],
  });
  readonly notificationsQueued = new Gauge({
    name: "lockstep_notifications_queued",
    help: "Webhook notifications waiting to be delivered",
    registers: [this.registry],
  });

  // ------------------------------------------------------------------ node failures and retries
  readonly nodeFailures = new Counter({
    name: "lockstep_node_failures_total",
    help: "Times a node binary could not start, snapshot or come up healthy, by cause",
    labelNames: ["cause"],
    registers: [this.registry],
  });
  readonly stepRetries = new Counter({
    name: "lockstep_step_retries_total",
    help: "Retryable step failures, by step kind (lockstep_errors_total counts them by error code)",
    labelNames: ["kind"],
    registers: [this.registry],
  });

  private lastPollOk = 0;
  /** What is wrong now that an operator must see on /healthz (a node that cannot start, a step that gave up). */
  private readonly problems = new Map<string, string>();
  /** Where problems are kept across restarts (the journal), once `keepProblemsIn` named it. */
  private problemStore?: ProblemStore;

  /** Sets (a message) or clears (undefined) the problem named `key`; the store, when there is one, follows. */
  problem(key: string, message: string | undefined) {
    if (this.problems.get(key) === message) return;
    if (message === undefined) this.problems.delete(key);
    else this.problems.set(key, message);
    this.problemStore?.setProblem(key, message);
  }

  /** Takes up the problems `store` kept (a restarted watcher still reports them) and keeps every change there. */
  keepProblemsIn(store: ProblemStore) {
    this.problemStore = store;
    for (const [key, message] of Object.entries(store.problems())) this.problems.set(key, message);
    for (const [key, message] of this.problems) store.setProblem(key, message);
  }

  problemKeys(): string[] {
    return [...this.problems.keys()];
  }
  private lastForeign?: Record<string, unknown>;
  /** The step running now (a round is busy with it, so polls are not recent), and when it started. */
  private step?: { kind: string; upgradeId: number; since: number };

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry });
    for (const outcome of NOTIFICATION_OUTCOMES) this.notifications.inc({ outcome }, 0);
    // Every series an operator alerts on exists from the start, at 0.
    for (const cause of NODE_FAILURE_CAUSES) this.nodeFailures.inc({ cause }, 0);
    for (const kind of STEP_KINDS) this.stepRetries.inc({ kind }, 0);
  }

  pollSucceeded(now: number) {
    this.lastPollOk = now;
    this.lastRound.set(now / 1000);
  }

  /** The watcher waits for a restart lease since `since` (ms since the epoch), or no longer (undefined). */
  leaseWait(since: number | undefined) {
    this.leaseWaitStarted.set(since === undefined ? 0 : since / 1000);
  }

  /** Attestations with our key that we did not sign were seen: /healthz fails from now on, naming the last. */
  foreignAttestationSeen(details: Record<string, unknown>) {
    this.foreignAttestations.inc();
    this.lastForeign = details;
  }

  /** A journaled step began: /healthz reports it in progress (not dead) while it runs. */
  stepStarted(kind: string, upgradeId: number, now: number) {
    this.step = { kind, upgradeId, since: now };
  }

  stepEnded() {
    this.step = undefined;
  }

  /**
   * Serves /metrics and /healthz: 200 while the last successful poll is recent, or while a step is in progress
   * for less than `stepLimitMs` (an upgrade waits for a slow node to start; a download takes minutes); 503
   * otherwise, while `problems` name something an operator must see, and once an attestation with our key that
   * we did not sign was seen. The body says which:
   * `{ok, lastPollOk, problems?, foreignAttestation?, step?: {kind, upgradeId, since, inProgress}}`.
   */
  serve(
    host: string,
    port: number,
    staleAfterMs: number,
    now: () => number = Date.now,
    stepLimitMs = Number.POSITIVE_INFINITY,
  ): Promise<Server> {
    const server = createServer(async (req, res) => {
      if (req.url === "/metrics") {
        res.writeHead(200, { "content-type": this.registry.contentType });
        res.end(await this.registry.metrics());
      } else if (req.url === "/healthz") {
        const step = this.step;
        const busy = step !== undefined && now() - step.since <= stepLimitMs;
        const fresh = now() - this.lastPollOk <= staleAfterMs;
        const ok = (fresh || busy) && !this.lastForeign && this.problems.size === 0;
        res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            ok,
            lastPollOk: this.lastPollOk ? new Date(this.lastPollOk).toISOString() : null,
            ...(this.problems.size ? { problems: Object.fromEntries(this.problems) } : {}),
            ...(this.lastForeign ? { foreignAttestation: this.lastForeign } : {}),
            ...(step ? { step: { ...step, since: new Date(step.since).toISOString(), inProgress: busy } } : {}),
          }),
        );
      } else {
        res.writeHead(404).end();
      }
    });
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve(server));
    });
  }
}
