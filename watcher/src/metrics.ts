import { createServer, type Server } from "node:http";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The watcher's Prometheus metrics, named lockstep_<thing>_<unit>. */
export class Metrics {
  readonly registry = new Registry();
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
  readonly version = new Gauge({
    name: "lockstep_node_version_info",
    help: "Version the node runs (1 for the current one)",
    labelNames: ["version"],
    registers: [this.registry],
  });
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

  private lastPollOk = 0;
  private lastForeign?: Record<string, unknown>;
  /** The step running now (a round is busy with it, so polls are not recent), and when it started. */
  private step?: { kind: string; upgradeId: number; since: number };

  constructor(defaults = true) {
    if (defaults) collectDefaultMetrics({ register: this.registry, prefix: "lockstep_process_" });
  }

  pollSucceeded(now: number) {
    this.lastPollOk = now;
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
   * otherwise, and 503 once an attestation with our key that we did not sign was seen. The body says which:
   * `{ok, lastPollOk, foreignAttestation?, step?: {kind, upgradeId, since, inProgress}}`.
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
        const ok = (now() - this.lastPollOk <= staleAfterMs || busy) && !this.lastForeign;
        res.writeHead(ok ? 200 : 503, { "content-type": "application/json" });
        res.end(
          JSON.stringify({
            ok,
            lastPollOk: this.lastPollOk ? new Date(this.lastPollOk).toISOString() : null,
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
