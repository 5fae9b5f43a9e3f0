// Webhook notifications: what is sent, how delivery is retried, and that a webhook that never answers holds up
// neither the runtime's steps nor its health checks.
import { expect } from "chai";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { ConfigError, parseConfig } from "../../watcher/src/config";
import { createLogger } from "../../watcher/src/log";
import type { Job } from "../../watcher/src/machine/types";
import { Metrics } from "../../watcher/src/metrics";
import { Notifier, NOTIFY_DEFAULTS, type NoticePayload, type NotifyConfig } from "../../watcher/src/notify";
import { networkNotices } from "../../watcher/src/notifyEvents";
import { FakeChain } from "../fakes/chain";
import { FakeClock, FakeNode, FakeWriter } from "../fakes/ports";
import { testConfig, upgradedJob, wireWatcher } from "../helpers/watcherHarness";

const OPERATOR = "0x" + "22".repeat(20);

/** A webhook that answers each POST as `answer` says (undefined: never answers), and records the bodies. */
async function webhook(answer: (n: number) => number | undefined = () => 200) {
  const received: NoticePayload[] = [];
  const hanging: ServerResponse[] = [];
  let requests = 0;
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    requests += 1;
    const status = answer(requests);
    if (status === undefined) {
      hanging.push(res);
      return;
    }
    if (status < 300) received.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as NoticePayload);
    res.writeHead(status).end();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/secret-path`,
    received,
    hanging,
    requests: () => requests,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function notifier(webhooks: string[], over: Partial<NotifyConfig> = {}) {
  const metrics = new Metrics(false);
  const n = new Notifier(
    { ...NOTIFY_DEFAULTS, webhooks, backoffMs: 10, ...over },
    { metrics, log: createLogger("silent", false), operator: OPERATOR },
  );
  return { n, metrics };
}

async function outcomes(metrics: Metrics): Promise<Record<string, number>> {
  const { values } = await metrics.notifications.get();
  return Object.fromEntries(values.map((v) => [String(v.labels.outcome), v.value]));
}

const job = (over: Partial<Job> = {}): Job => upgradedJob({ attested: "Ready", ...over });

describe("webhook notifications", function () {
  this.timeout(30_000);

  describe("delivery", function () {
    it("POSTs JSON whose text Slack and Discord post, with the facts as fields", async function () {
      const hook = await webhook();
      const { n, metrics } = notifier([hook.url]);
      n.send({ event: "paused", upgradeId: 3, message: 'upgrade 3 "v2": the rollout is paused', details: { a: 1 } });
      await n.idle();
      expect(hook.received).to.have.length(1);
      const [body] = hook.received;
      expect(body.text).to.equal('lockstep 0x2222…2222: upgrade 3 "v2": the rollout is paused');
      expect(body).to.include({ event: "paused", operator: OPERATOR, upgradeId: 3 });
      expect(body.details).to.deep.equal({ a: 1 });
      expect(Date.parse(body.at)).to.be.a("number").and.not.NaN;
      expect(await outcomes(metrics)).to.deep.equal({ delivered: 1, retried: 0, failed: 0, dropped: 0 });
      await hook.stop();
    });

    it("retries a webhook that fails or times out, with backoff, and gives up after maxAttempts", async function () {
      const flaky = await webhook((i) => (i < 3 ? 503 : 200));
      const dead = await webhook(() => undefined);
      const { n, metrics } = notifier([flaky.url, dead.url], { maxAttempts: 3, timeoutMs: 200 });
      n.send({ event: "node-unhealthy", upgradeId: 1, message: "unhealthy" });
      await n.idle();
      expect(flaky.requests()).to.equal(3);
      expect(flaky.received.map((b) => b.event)).to.deep.equal(["node-unhealthy"]);
      expect(dead.requests()).to.equal(3);
      // flaky: 2 retried then delivered; dead: 2 retried then failed.
      expect(await outcomes(metrics)).to.deep.equal({ delivered: 1, retried: 4, failed: 1, dropped: 0 });
      await Promise.all([flaky.stop(), dead.stop()]);
    });

    it("does not retry a webhook that refuses the notice (4xx)", async function () {
      const gone = await webhook(() => 404);
      const { n, metrics } = notifier([gone.url]);
      n.send({ event: "withdrawn", upgradeId: 1, message: "withdrawn" });
      await n.idle();
      expect(gone.requests()).to.equal(1);
      expect(await outcomes(metrics)).to.include({ failed: 1, retried: 0 });
      await gone.stop();
    });

    it("keeps at most queueSize notices for a webhook that does not answer, dropping the oldest", async function () {
      const dead = await webhook(() => undefined);
      const { n, metrics } = notifier([dead.url], { queueSize: 2, timeoutMs: 60_000 });
      for (let i = 1; i <= 5; i++) n.send({ event: "step-started", upgradeId: i, message: `step ${i}` });
      // One in flight (hanging), two queued, two dropped.
      expect((await metrics.notificationsQueued.get()).values[0].value).to.equal(2);
      expect(await outcomes(metrics)).to.include({ dropped: 2 });
      await n.close(50);
      expect((await metrics.notificationsQueued.get()).values[0].value).to.equal(0);
      await dead.stop();
    });

    it("marks a wait for a restart lease in a metric and sends one notice when it starts and one when it ends", async function () {
      const hook = await webhook();
      const metrics = new Metrics(false);
      let now = 1_700_000_000_000;
      const n = new Notifier(
        { ...NOTIFY_DEFAULTS, webhooks: [hook.url] },
        { metrics, log: createLogger("silent", false), operator: OPERATOR, now: () => now },
      );
      const started = async () => (await metrics.leaseWaitStarted.get()).values[0].value;
      expect(await started()).to.equal(0);
      n.leaseWaiting(7, { inUse: "10", budget: "10", weight: "5" });
      now += 30_000;
      n.leaseWaiting(7, { inUse: "10", budget: "10", weight: "5" }); // refused again: the same wait
      expect(await started()).to.equal(1_700_000_000);
      n.leaseGranted(7);
      expect(await started()).to.equal(0);
      await n.idle();
      expect(hook.received.map((b) => [b.event, b.upgradeId])).to.deep.equal([
        ["lease-wait", 7],
        ["lease-granted", 7],
      ]);
      expect(hook.received[0].details).to.deep.equal({ inUse: "10", budget: "10", weight: "5" });
      expect(hook.received[1].text).to.match(/granted after 30 s/);
      await hook.stop();
    });
  });

  describe("configuration", function () {
    const base = () => ({
      chain: { rpcUrl: "http://127.0.0.1:1", chainId: 31337, coordinator: "0x" + "11".repeat(20), startBlock: 1 },
      validator: { operator: OPERATOR, attesterKey: { env: "K" } },
      dataDir: "data",
      node: { adapter: "process", statusUrl: "http://127.0.0.1:26657/status", stateDir: "state" },
    });

    it("takes a list of webhook URLs and fills the delivery defaults", function () {
      const config = parseConfig({ ...base(), notify: { webhooks: ["https://hooks.slack.com/services/T/B/x"] } });
      expect(config.notify).to.deep.equal({ webhooks: ["https://hooks.slack.com/services/T/B/x"], ...NOTIFY_DEFAULTS });
    });

    it("reports bad webhooks one line each", function () {
      let problems: string[] = [];
      try {
        parseConfig({ ...base(), notify: { webhooks: ["not a url", "ftp://x.example/hook"], timeoutMs: 0 } });
      } catch (e) {
        problems = (e as ConfigError).problems;
      }
      expect(problems).to.have.length(3);
      expect(problems[0]).to.match(/^config notify\.webhooks\.0: /);
      expect(problems[1]).to.equal("config notify.webhooks.1: an http(s) URL");
      expect(problems[2]).to.match(/^config notify\.timeoutMs: /);
      for (const p of problems) expect(p).to.not.include("\n");
      expect(() => parseConfig({ ...base(), notify: { webhooks: [] } })).to.throw(
        ConfigError,
        "config notify.webhooks: at least one webhook URL",
      );
    });
  });

  describe("what the watcher sends", function () {
    it("announces the network's pause, resume, withdrawal and rollback, not old history", function () {
      const s = (jobs: Job[]) => ({ jobs: Object.fromEntries(jobs.map((j) => [String(j.upgradeId), j])) });
      const events = (a: Job[], b: Job[]) => networkNotices(s(a), s(b)).map((x) => `${x.event}#${x.upgradeId}`);
      expect(events([job()], [job({ paused: true })])).to.deep.equal(["paused#1"]);
      expect(events([job({ paused: true })], [job()])).to.deep.equal(["resumed#1"]);
      expect(events([job()], [job({ ended: "withdrawn" })])).to.deep.equal(["withdrawn#1"]);
      expect(events([job({ paused: true })], [job({ ended: "rolledBack", paused: true })])).to.deep.equal([
        "rolled-back#1",
      ]);
      expect(events([job({ ended: "rolledBack" })], [job({ ended: "rolledBack" })])).to.deep.equal([]);
      // A new journal catching up: an upgrade first seen ended is history; one first seen paused is news.
      expect(events([], [job({ ended: "rolledBack" }), job({ upgradeId: 2, paused: true })])).to.deep.equal([
        "paused#2",
      ]);
    });

    it("runs steps and health checks at full speed while a webhook hangs, and tells a live one what happened", async function () {
      const dead = await webhook(() => undefined);
      const live = await webhook();
      const node = new FakeNode({ version: "v2.0.0", height: 10n });
      const writer = new FakeWriter();
      const config = testConfig({
        // The dead webhook holds each attempt for a minute: nothing the runtime does may wait for it.
        notify: { webhooks: [dead.url, live.url], timeoutMs: 60_000 },
        // Judged within a second of a stuck height (the defaults wait 30 s: docs/watcher.md, health).
        health: { unhealthyAfterMs: 1_000, reattestIntervalMs: 1_000 },
      });
      const w = await wireWatcher(config, { chain: new FakeChain(2), node, writer });
      w.begin({ jobs: { "1": job() } }, [{ kind: "attest", upgradeId: 1, stage: 1, status: "Healthy", step: 5 }]);
      const clock = w.deps.clock as FakeClock;
      await w.runtime.tick(); // attests Healthy; the node answers: healthy
      clock.advance(1_000);
      await w.runtime.tick(); // the height is stuck: failing since now
      clock.advance(1_000);
      await w.runtime.tick(); // stuck for a second: unhealthy, and an Unhealthy attestation is queued
      await w.runtime.tick(); // which this round sends
      expect(writer.sent.map((a) => a.status)).to.deep.equal(["Healthy", "Unhealthy"]);
      const notify = w.deps.notify as Notifier;
      await new Promise<void>((r) => {
        const check = () => (live.received.length >= 5 ? r() : setTimeout(check, 10));
        check();
      }); // the live webhook's queue drains by itself
      // Everything above ran while the dead webhook held its first notice: the rest wait behind it.
      expect(dead.requests()).to.equal(1);
      expect(dead.hanging).to.have.length(1);
      expect((await (w.deps.metrics as Metrics).notificationsQueued.get()).values[0].value).to.equal(4);
      expect(live.received.map((b) => b.event)).to.deep.equal([
        "step-started",
        "step-succeeded",
        "node-unhealthy",
        "step-started",
        "step-succeeded",
      ]);
      expect(live.received[0].text).to.equal('lockstep 0x2222…2222: upgrade 1 "v2": attest Healthy: started');
      expect(live.received[2].text).to.equal(
        'lockstep 0x2222…2222: upgrade 1 "v2": the node is unhealthy (reports v2.0.0)',
      );
      await notify.close(10);
      w.close();
      await Promise.all([dead.stop(), live.stop()]);
    });
  });
});
