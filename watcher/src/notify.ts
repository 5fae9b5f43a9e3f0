// Webhook notifications: what an operator should hear about without watching the logs. A notice is a JSON POST
// whose `text` Slack's incoming webhooks and Discord's Slack-compatible webhooks (`…/slack`) post as a message,
// with the same facts as fields for anything else. Sending never waits: each webhook has its own bounded queue,
// drained in the background, retried with backoff; a dead or slow webhook delays only its own later notices. Sent over
// the watcher's HTTP client (adapters/httpClient.ts), not fetch.
import { HttpConnectionError, HttpTimeoutError, request } from "./adapters/httpClient";
import type { Logger } from "./log";
import type { Metrics, NotificationOutcome } from "./metrics";

/** What happened. Steps and health are this validator's; pauses, rollbacks and withdrawals the network's. */
export type NoticeEvent =
  | "step-started"
  | "step-succeeded"
  | "step-failed"
  | "paused"
  | "resumed"
  | "rolled-back"
  | "withdrawn"
  | "lease-wait"
  | "lease-granted"
  | "node-unhealthy"
  | "node-healthy";

export interface Notice {
  event: NoticeEvent;
  upgradeId?: number;
  /** One line for people, without the validator's name (the notifier adds it). */
  message: string;
  /** Facts for machines (a step's kind, a reason, a version); never a key or a URL. */
  details?: Record<string, string | number | boolean>;
}

/** The JSON body POSTed to every webhook. */
export interface NoticePayload {
  text: string;
  event: NoticeEvent;
  operator: string;
  upgradeId?: number;
  details: Record<string, string | number | boolean>;
  /** ISO 8601 time the notice was raised. */
  at: string;
}

export interface NotifyConfig {
  webhooks: string[];
  timeoutMs: number;
  maxAttempts: number;
  backoffMs: number;
  queueSize: number;
}

export interface NotifierDeps {
  metrics: Metrics;
  log: Logger;
  operator: string;
  now?: () => number;
}

/** What the watcher calls: `send` a notice, and say when a wait for a restart lease starts and ends. */
export interface Notify {
  /** Queues `notice` for every webhook and returns at once. */
  send(notice: Notice): void;
  /**
   * The watcher cannot stop its node for upgrade `upgradeId` yet: the restart budget is full. Call it on each
   * refusal, with what the refusal said (`details`: in use, budget, weight); the first call of a wait sets
   * lockstep_lease_wait_started_timestamp_seconds and sends one `lease-wait` notice. `leaseGranted` ends the wait.
   */
  leaseWaiting(upgradeId: number, details?: Notice["details"]): void;
  /** The lease was granted (or is no longer needed): ends the wait `leaseWaiting` started, if any. */
  leaseGranted(upgradeId: number): void;
  /** Waits up to `timeoutMs` for queued notices to go out, then abandons the rest (on shutdown). */
  close(timeoutMs?: number): Promise<void>;
}

export const NOTIFY_DEFAULTS: Omit<NotifyConfig, "webhooks"> = {
  timeoutMs: 5_000,
  maxAttempts: 5,
  backoffMs: 1_000,
  queueSize: 100,
};

/** The longest wait between two attempts, whatever the backoff and attempt. */
const MAX_BACKOFF_MS = 60_000;

export class Notifier implements Notify {
  private readonly queues: WebhookQueue[];
  private readonly leaseWaits = new Map<number, number>();
  private readonly now: () => number;

  constructor(
    readonly config: NotifyConfig,
    private readonly deps: NotifierDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.queues = config.webhooks.map((url) => new WebhookQueue(url, config, deps, () => this.publishQueued()));
  }

  send(notice: Notice): void {
    if (!this.queues.length) return;
    const short = `${this.deps.operator.slice(0, 6)}…${this.deps.operator.slice(-4)}`;
    const payload: NoticePayload = {
      text: `lockstep ${short}: ${notice.message}`,
      event: notice.event,
      operator: this.deps.operator,
      ...(notice.upgradeId === undefined ? {} : { upgradeId: notice.upgradeId }),
      details: notice.details ?? {},
      at: new Date(this.now()).toISOString(),
    };
    for (const q of this.queues) q.push(payload);
  }

  leaseWaiting(upgradeId: number, details: Notice["details"] = {}): void {
    if (this.leaseWaits.has(upgradeId)) return;
    const since = this.now();
    this.leaseWaits.set(upgradeId, since);
    this.deps.metrics.leaseWait(Math.min(...this.leaseWaits.values()));
    this.send({
      event: "lease-wait",
      upgradeId,
      message: `upgrade ${upgradeId}: waiting for a restart lease, the restart budget is full; the node keeps running`,
      details,
    });
  }

  leaseGranted(upgradeId: number): void {
    const since = this.leaseWaits.get(upgradeId);
    if (since === undefined) return;
    this.leaseWaits.delete(upgradeId);
    this.deps.metrics.leaseWait(this.leaseWaits.size ? Math.min(...this.leaseWaits.values()) : undefined);
    const waited = Math.round((this.now() - since) / 1000);
    this.send({
      event: "lease-granted",
      upgradeId,
      message: `upgrade ${upgradeId}: restart lease granted after ${waited} s`,
      details: { waitedSeconds: waited },
    });
  }

  /** Resolves once every queue is empty (tests; shutdown through close). */
  async idle(): Promise<void> {
    await Promise.all(this.queues.map((q) => q.idle()));
  }

  async close(timeoutMs = 2_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    for (const q of this.queues) q.abandon();
    this.publishQueued();
  }

  private publishQueued() {
    this.deps.metrics.notificationsQueued.set(this.queues.reduce((n, q) => n + q.length, 0));
  }
}

/** Where a webhook's messages go, for logs: its origin only (the path of a Slack or Discord webhook is its secret). */
export function webhookName(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return "(webhook)";
  }
}

/** One webhook's notices, sent one at a time in order; each retried with backoff until maxAttempts. */
class WebhookQueue {
  private readonly items: NoticePayload[] = [];
  private running?: Promise<void>;
  private readonly stop = new AbortController();

  constructor(
    private readonly url: string,
    private readonly config: NotifyConfig,
    private readonly deps: NotifierDeps,
    private readonly changed: () => void,
  ) {}

  get length() {
    return this.items.length;
  }

  push(payload: NoticePayload) {
    if (this.stop.signal.aborted) return;
    if (this.items.length >= this.config.queueSize) {
      this.items.shift();
      this.count("dropped");
      this.deps.log.warn({ webhook: webhookName(this.url) }, "webhook queue full: dropped its oldest notice");
    }
    this.items.push(payload);
    this.changed();
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  idle(): Promise<void> {
    return this.running ?? Promise.resolve();
  }

  abandon() {
    this.stop.abort();
    this.items.length = 0;
  }

  private async drain() {
    while (this.items.length && !this.stop.signal.aborted) {
      const payload = this.items.shift()!;
      this.changed();
      await this.deliver(payload);
    }
  }

  private async deliver(payload: NoticePayload) {
    const { maxAttempts, backoffMs, timeoutMs } = this.config;
    for (let attempt = 1; ; attempt++) {
      const failure = await this.post(payload, timeoutMs);
      if (failure === undefined) return this.count("delivered");
      if (this.stop.signal.aborted) return;
      if (!failure.retry || attempt >= maxAttempts) {
        this.count("failed");
        this.deps.log.warn(
          { webhook: webhookName(this.url), event: payload.event, attempts: attempt, err: failure.reason },
          "webhook notice not delivered",
        );
        return;
      }
      this.count("retried");
      const wait = failure.retryAfterMs ?? Math.min(backoffMs * 2 ** (attempt - 1), MAX_BACKOFF_MS);
      await sleep(wait * (0.75 + Math.random() / 2), this.stop.signal);
    }
  }

  /** One attempt: undefined when delivered, else why and whether another attempt may do better. */
  private async post(
    payload: NoticePayload,
    timeoutMs: number,
  ): Promise<{ reason: string; retry: boolean; retryAfterMs?: number } | undefined> {
    try {
      // The answer's body is drained unread: its status is all that counts.
      const res = await request(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(payload),
        timeoutMs,
        signal: this.stop.signal,
        discardBody: true,
      });
      if (res.ok) return undefined;
      // A redirect is not followed (the notice could land on another host); it is retried, as other failures are.
      if (res.status >= 300 && res.status < 400) return { reason: `answered ${res.status}: redirect`, retry: true };
      const retry = res.status >= 500 || res.status === 408 || res.status === 429;
      const after = Number(res.headers["retry-after"]);
      const retryAfterMs = Number.isFinite(after) && after > 0 ? Math.min(after * 1000, MAX_BACKOFF_MS) : undefined;
      return { reason: `answered ${res.status}`, retry, retryAfterMs };
    } catch (e) {
      const err = e as Error;
      const reason =
        err instanceof HttpTimeoutError
          ? `no answer within ${timeoutMs} ms`
          : err instanceof HttpConnectionError
            ? (err.cause as Error).message
            : err.message;
      return { reason, retry: true };
    }
  }

  private count(outcome: NotificationOutcome) {
    this.deps.metrics.notifications.inc({ outcome });
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}
