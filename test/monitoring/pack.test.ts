// The monitoring pack end to end: a real watcher and the coordinator exporter run against a local chain through an
// upgrade (with a restart lease and a pause); their /metrics are scraped and checked against Prometheus' naming
// conventions; the alerting rules pass `promtool check rules` and their unit tests; and every metric the rules and
// the Grafana dashboards name is one the watcher or the exporter serves.
import { expect } from "chai";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Status } from "../../lib/coordinator";
import { stageRules } from "../../lib/manifest";
import type { NoticePayload } from "../../watcher/src/notify";
import {
  ROOT,
  Chain,
  Deployment,
  WatcherProcess,
  freePort,
  makeBinary,
  rpcProxy,
  serveArtifacts,
  spawnWatcher,
  stopProcess,
  waitFor,
} from "../helpers/e2e";
import { oneStageManifest, runNode } from "../../rehearsal/localnet";
import { FleetBench, FleetValidator, addValidator, noticeSink, stake, startNode, watcherEnv } from "../helpers/fleet";

const OLD = "v1.9.3";
const NEW = "v2.0.0";
const MONITORING = join(ROOT, "monitoring");
const RULES = join(MONITORING, "prometheus", "lockstep-alerts.yml");
const RULE_TESTS = join(MONITORING, "prometheus", "lockstep-alerts.test.yml");

/** Prometheus' text format, parsed: each metric's declared type, and each sample by name with its labels. */
function parseMetrics(text: string) {
  const types = new Map<string, string>();
  const samples: { name: string; labels: string; value: number }[] = [];
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1], type[2]);
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)/.exec(line);
    if (!m) throw new Error(`not a sample line: ${line}`);
    samples.push({ name: m[1], labels: m[2] ?? "", value: Number(m[3]) });
  }
  return { types, samples, names: new Set(samples.map((s) => s.name)) };
}

/** The value of the sample `name` whose labels include every `label="value"` given; undefined when none. */
function value(parsed: ReturnType<typeof parseMetrics>, name: string, labels: Record<string, string> = {}) {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return parsed.samples.find((s) => s.name === name && want.every((w) => s.labels.includes(w)))?.value;
}

/** Prometheus' naming conventions, as test/monitoring holds both servers to them. */
function checkConventions(parsed: ReturnType<typeof parseMetrics>, who: string) {
  for (const [name, type] of parsed.types) {
    if (type === "counter") expect(name, `${who}: counter ${name}`).to.match(/_total$/);
    if (!name.startsWith("lockstep_")) continue; // the stock process metrics are prom-client's
    expect(name, `${who}: ${name}`).to.match(/^lockstep_[a-z0-9_]+$/);
    if (type !== "counter") expect(name, `${who}: ${type} ${name}`).to.not.match(/_total$/);
    // Declared and set: a histogram shows its buckets, anything else at least one sample.
    const sampleName = type === "histogram" ? `${name}_bucket` : name;
    expect(parsed.names.has(sampleName), `${who}: ${name} is declared but has no sample`).to.equal(true);
  }
  const doubled = [...parsed.names].filter((n) => /^lockstep_process_|process_process_/.test(n));
  expect(doubled, `${who}: double-prefixed process metrics`).to.deep.equal([]);
  for (const stock of [
    "process_cpu_user_seconds_total",
    "process_resident_memory_bytes",
    "nodejs_heap_size_used_bytes",
  ])
    expect(parsed.names.has(stock), `${who}: stock ${stock}`).to.equal(true);
}

/** Metric names a PromQL expression refers to (ours and the stock process ones), less functions and keywords. */
function metricsIn(expr: string): string[] {
  const withoutStrings = expr.replace(/"[^"]*"/g, '""');
  return [...withoutStrings.matchAll(/\b((?:lockstep|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]);
}

/**
 * The alerts of a rules file and their expressions, written as lockstep-alerts.yml writes them: `- alert: Name`,
 * then `expr:` with the expression on the same line or folded (`>-`) on the more indented lines below it.
 */
function alertRules(yaml: string): { alert: string; expr: string }[] {
  const lines = yaml.split("\n");
  const rules: { alert: string; expr: string }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const alert = /^\s+- alert: (\S+)$/.exec(lines[i]);
    if (alert) rules.push({ alert: alert[1], expr: "" });
    const expr = /^(\s+)expr: (.*)$/.exec(lines[i]);
    if (!expr || !rules.length) continue;
    if (expr[2] !== ">-") {
      rules[rules.length - 1].expr = expr[2];
      continue;
    }
    const folded: string[] = [];
    while (i + 1 < lines.length && lines[i + 1].startsWith(expr[1] + "  ")) folded.push(lines[++i].trim());
    rules[rules.length - 1].expr = folded.join(" ");
  }
  return rules;
}

const scrape = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

describe("monitoring pack", function () {
  this.timeout(300_000);
  const bench = new FleetBench();
  let chain: Chain;
  let d: Deployment;
  let dir: FleetBench["dir"];
  let artifacts: Awaited<ReturnType<typeof serveArtifacts>>;
  let proxy: Awaited<ReturnType<typeof rpcProxy>>;
  let hook: Awaited<ReturnType<typeof noticeSink<NoticePayload>>>;
  let v: FleetValidator;
  let watcher: WatcherProcess;
  let exporter: ChildProcess | undefined;
  let exporterPort: number;
  let exporterOutput = "";
  let upgradeId: number;
  let watcherMetrics: ReturnType<typeof parseMetrics>;
  let exporterMetrics: ReturnType<typeof parseMetrics>;
  const samples = { ready: undefined as ReturnType<typeof parseMetrics> | undefined, leased: 0, leasedAfter: 0 };

  const exported = async () => parseMetrics(await scrape(exporterPort));
  const statuses = async () =>
    (await d.coordinator.queryFilter(d.coordinator.filters.Attested(upgradeId, v.operator.address))).map((l) =>
      Number(l.args.status),
    );

  before(async function () {
    ({ chain, d, dir } = await bench.open({ tempPrefix: "lockstep-monitoring-", intervalMiningMs: 250 }));
    // All the registered stake may restart at once (the one validator's lease fits); set before scheduling, so the
    // upgrade fixes it.
    await (await d.coordinator.connect(d.timelockSigner).setRestartBudget(10_000, 3_600)).wait();

    const binaries = join(dir.path, "artifacts");
    const good = makeBinary(binaries, NEW);
    artifacts = await serveArtifacts(binaries);
    // The watcher reaches the chain through a proxy that is down at first: its error counter gets a sample.
    proxy = await rpcProxy(chain.url);
    proxy.down = true;
    hook = await noticeSink<NoticePayload>();
    const options = await bench.options({ version: OLD, binary: makeBinary(join(dir.path, "bin"), OLD).path });
    v = await addValidator(d, chain.provider, options, {
      name: "mon",
      cohort: 1,
      stake: stake(100),
      rpcUrl: proxy.url,
    });
    const config = JSON.parse(readFileSync(v.configPath, "utf8"));
    config.notify = { webhooks: [hook.url], backoffMs: 50 };
    writeFileSync(v.configPath, JSON.stringify(config, null, 2));
    await startNode(v, OLD);
    watcher = spawnWatcher(v.configPath, watcherEnv(v));
    await waitFor(
      "an RPC error counted",
      async () => /^lockstep_errors_total\{/m.test(await scrape(v.metricsPort).catch(() => "")),
      60_000,
    );
    proxy.down = false;

    // The exporter, on its own deployments file.
    const deployments = join(dir.path, "deployments");
    mkdirSync(deployments);
    writeFileSync(
      join(deployments, "mon.json"),
      JSON.stringify({
        network: "mon",
        chainId: 31337,
        startBlock: d.startBlock,
        deployedAt: new Date().toISOString(),
        contracts: {
          StakeToken: d.addresses.token,
          LockstepTimelock: d.addresses.timelock,
          LockstepGovernor: d.addresses.governor,
          UpgradeCoordinator: options.coordinator,
          ManifestPlanner: d.addresses.libraries.manifestPlanner,
          RolloutViews: d.addresses.libraries.rolloutViews,
        },
        guardian: await d.guardian.getAddress(),
        params: {},
      }),
    );
    exporterPort = await freePort();
    exporter = spawn(
      process.execPath,
      [
        "-r",
        "ts-node/register/transpile-only",
        join(MONITORING, "exporter", "index.ts"),
        ...["--network", "mon", "--rpc", chain.url, "--port", String(exporterPort), "--poll-ms", "200"],
      ],
      { cwd: ROOT, env: { ...process.env, LOCKSTEP_DEPLOYMENTS_DIR: deployments }, stdio: ["ignore", "pipe", "pipe"] },
    );
    exporter.stdout!.on("data", (x) => (exporterOutput += x));
    exporter.stderr!.on("data", (x) => (exporterOutput += x));
    // ts-node compiles the exporter first: on a busy machine that takes a while.
    await waitFor(
      "the exporter",
      async () => {
        if (exporter!.exitCode !== null) throw new Error(`the exporter exited: ${exporterOutput}`);
        return (await scrape(exporterPort).catch(() => "")).includes("lockstep_");
      },
      120_000,
    );

    // A single-stage upgrade over the validator's cohort, observed for an hour once upgraded.
    await (
      await d.coordinator.connect(d.timelockSigner).schedule(
        oneStageManifest({
          name: "mon",
          version: NEW,
          previousVersion: OLD,
          uri: `${artifacts.url}/${good.path.split("/").pop()}`,
          sha256: good.sha256,
          stage: stageRules(v.cohort, { readinessBps: 10_000, observationWindow: 3_600, healthyBps: 5_000 }),
        }),
      )
    ).wait();
    upgradeId = Number(await d.coordinator.upgradeCount());
    await waitFor("Ready", async () => (await statuses()).includes(Status.Ready), 60_000);
    await waitFor("the exporter to see Ready", async () => {
      samples.ready = await exported();
      return (
        value(samples.ready, "lockstep_stage_ready_stake_wei", { upgrade: String(upgradeId) }) === Number(stake(100))
      );
    });
    // The validator's attester takes a restart lease by hand (the watcher attested Ready and is idle now).
    await (await d.coordinator.connect(v.attester).takeLease()).wait();
    await waitFor("the exporter to see the lease", async () => {
      samples.leased = value(await exported(), "lockstep_leased_stake_wei", { upgrade: String(upgradeId) }) ?? 0;
      return samples.leased > 0;
    });
    await (await d.coordinator.advance(upgradeId)).wait();
    await waitFor("Healthy", async () => (await statuses()).includes(Status.Healthy), 90_000);
    await waitFor("the watcher to observe the upgraded node", async () =>
      /^lockstep_node_healthy\{upgrade="\d+"\} 1$/m.test(await scrape(v.metricsPort)),
    );
    await waitFor("the exporter to see the lease released", async () => {
      const m = await exported();
      samples.leasedAfter = value(m, "lockstep_leased_stake_wei", { upgrade: String(upgradeId) }) ?? -1;
      return samples.leasedAfter === 0 && value(m, "lockstep_stage_healthy_stake_wei") === Number(stake(100));
    });
    await (await d.coordinator.connect(d.guardian).pause(upgradeId)).wait();
    await waitFor(
      "the exporter to see the pause",
      async () => value(await exported(), "lockstep_upgrade_paused", { reason: "Manual" }) === 1,
    );
    await waitFor("the watcher to announce the pause", async () => hook.notices.some((n) => n.event === "paused"));
    watcherMetrics = parseMetrics(await scrape(v.metricsPort));
    exporterMetrics = await exported();
  });

  after(async function () {
    if (this.currentTest?.state === "failed" || !watcherMetrics) {
      console.log(watcher?.output().slice(-4_000));
      console.log(exporterOutput.slice(-2_000));
    }
    if (exporter) await stopProcess(exporter);
    await watcher?.stop();
    await v?.node.stop().catch(() => undefined);
    await hook?.stop();
    await proxy?.stop();
    await artifacts?.stop();
    await bench.close();
  });

  describe("the watcher's /metrics", function () {
    it("follows Prometheus' naming conventions, with the stock Node.js process metrics, every metric set", function () {
      checkConventions(watcherMetrics, "watcher");
      const head = value(watcherMetrics, "lockstep_head_block")!;
      expect(head).to.be.greaterThan(0);
      expect(head).to.be.at.least(value(watcherMetrics, "lockstep_cursor_block")!);
      expect(value(watcherMetrics, "lockstep_last_successful_round_timestamp_seconds")).to.be.closeTo(
        Date.now() / 1000,
        120,
      );
      expect(value(watcherMetrics, "lockstep_node_version_info", { version: NEW })).to.equal(1);
      expect(value(watcherMetrics, "lockstep_notifications_total", { outcome: "delivered" })).to.be.greaterThan(0);
    });
  });

  describe("the exporter's /metrics", function () {
    it("follows the same conventions", function () {
      checkConventions(exporterMetrics, "exporter");
    });

    it("serves the coordinator's tallies, thresholds, pause, deadlines and restart budget", async function () {
      const u = { upgrade: String(upgradeId) };
      const m = exporterMetrics;
      expect(value(m, "lockstep_upgrade_info", { ...u, name: "mon", version: NEW, previous_version: OLD })).to.equal(1);
      expect(value(m, "lockstep_upgrade_state", { ...u, state: "Paused" })).to.equal(1);
      expect(value(m, "lockstep_upgrade_state", { ...u, state: "Rolling" })).to.equal(0);
      expect(value(m, "lockstep_upgrade_paused", { ...u, reason: "Manual" })).to.equal(1);
      const stage = { ...u, stage: "0", cohort: String(v.cohort) };
      // The views the contract gives agree with what the exporter folded from the logs.
      const onChain = await d.coordinator.getStage(upgradeId, 0);
      expect(value(m, "lockstep_stage_cohort_stake_wei", stage)).to.equal(Number(stake(100)));
      expect(value(m, "lockstep_stage_healthy_stake_wei", stage)).to.equal(Number(onChain.healthyStake));
      expect(value(m, "lockstep_stage_healthy_needed_wei", stage)).to.equal(Number(onChain.healthyNeeded));
      expect(value(m, "lockstep_stage_missing_stake_wei", stage)).to.equal(0);
      expect(value(m, "lockstep_stage_state", { ...stage, state: "Active" })).to.equal(1);
      const activated = value(m, "lockstep_stage_activated_timestamp_seconds", stage)!;
      expect(value(m, "lockstep_stage_observation_end_timestamp_seconds", stage)).to.equal(activated + 3_600);
      expect(value(m, "lockstep_stage_attestation_deadline_timestamp_seconds", stage)).to.be.greaterThan(activated);
      // Before activation: what was missing was Ready stake; the lease held the validator's whole stake.
      expect(value(samples.ready!, "lockstep_stage_missing_stake_wei", stage)).to.equal(0);
      expect(samples.leased).to.equal(Number(stake(100)));
      expect(samples.leasedAfter).to.equal(0);
      // All the registered stake at the snapshot: the validator's alone.
      expect(value(m, "lockstep_restart_budget_bps")).to.equal(10_000);
      expect(value(m, "lockstep_restart_lease_duration_seconds")).to.equal(3_600);
      expect(value(m, "lockstep_lease_budget_wei", u)).to.equal(Number(stake(100)));
      expect(value(m, "lockstep_lease_grants", u)).to.equal(1);
      expect(value(m, "lockstep_leases_held", u)).to.equal(0);
      expect(value(m, "lockstep_registered_validators")).to.equal(1);
    });

    it("refuses bad options with one line and exit code 2", async function () {
      const r = await runNode([
        "-r",
        "ts-node/register/transpile-only",
        join(MONITORING, "exporter", "index.ts"),
        "--port",
        "http",
      ]);
      expect(r.code).to.equal(2);
      expect(r.stderr.trim().split("\n")).to.deep.equal(["exporter: --port must be a port number"]);
    });
  });

  describe("notifications", function () {
    it("told the webhook about each step, and the pause, in words Slack and Discord post", function () {
      const events = hook.notices.map((n) => n.event);
      expect(events.slice(0, 2)).to.deep.equal(["step-started", "step-succeeded"]); // prepare
      for (const e of ["step-started", "step-succeeded", "paused"]) expect(events).to.include(e);
      expect(hook.notices.filter((n) => n.details.step === "upgrade").map((n) => n.event)).to.deep.equal([
        "step-started",
        "step-succeeded",
      ]);
      const paused = hook.notices.find((n) => n.event === "paused")!;
      expect(paused.text).to.match(
        /^lockstep 0x[0-9a-fA-F]{4}…[0-9a-fA-F]{4}: upgrade \d+ "mon": the rollout is paused/,
      );
      expect(paused.upgradeId).to.equal(upgradeId);
    });
  });

  describe("alerting rules", function () {
    it("pass promtool check rules", function () {
      const r = spawnSync("promtool", ["check", "rules", RULES], { encoding: "utf8" });
      expect(r.status, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.match(/SUCCESS: \d+ rules found/);
    });

    it("pass their promtool unit tests", function () {
      const r = spawnSync("promtool", ["test", "rules", RULE_TESTS], { encoding: "utf8" });
      expect(r.status, r.stdout + r.stderr).to.equal(0);
    });

    it("name only metrics the watcher or the exporter serves, and cover the signals operators act on", function () {
      const served = new Set([...watcherMetrics.names, ...exporterMetrics.names]);
      const rules = alertRules(readFileSync(RULES, "utf8"));
      expect(rules).to.have.length((readFileSync(RULES, "utf8").match(/^\s+- alert: /gm) ?? []).length);
      for (const rule of rules) {
        const names = metricsIn(rule.expr);
        expect(names, rule.alert).to.not.be.empty;
        for (const name of names) expect(served.has(name), `${rule.alert}: ${name}`).to.equal(true);
      }
      expect(rules.map((r) => r.alert)).to.include.members([
        "LockstepWatcherStalled",
        "LockstepNodeUnhealthy",
        "LockstepUpgradePaused",
        "LockstepParticipationDeadlineNear",
        "LockstepLeaseWaitTooLong",
      ]);
    });
  });

  describe("Grafana dashboards", function () {
    const files = readdirSync(join(MONITORING, "grafana")).filter((f) => f.endsWith(".json"));

    it("are dashboard JSON with a Prometheus datasource variable that every panel queries through", function () {
      expect(files).to.include.members(["lockstep-watchers.json", "lockstep-coordinator.json"]);
      for (const file of files) {
        const dash = JSON.parse(readFileSync(join(MONITORING, "grafana", file), "utf8"));
        expect(dash.schemaVersion, file).to.be.a("number").and.at.least(36);
        expect(dash.uid, file).to.match(/^[a-z0-9-]{1,40}$/);
        expect(dash.title, file).to.be.a("string").and.not.empty;
        const ds = dash.templating.list.find((t: { type: string }) => t.type === "datasource");
        expect(ds, file).to.include({ name: "datasource", query: "prometheus" });
        const ids = new Set<number>();
        for (const panel of dash.panels) {
          expect(ids.has(panel.id), `${file}: panel id ${panel.id} twice`).to.equal(false);
          ids.add(panel.id);
          expect(panel.gridPos, `${file}: ${panel.title}`).to.have.keys("h", "w", "x", "y");
          if (panel.type === "row") continue;
          expect(panel.datasource, `${file}: ${panel.title}`).to.deep.equal({
            type: "prometheus",
            uid: "${datasource}",
          });
          expect(panel.targets, `${file}: ${panel.title}`).to.not.be.empty;
        }
      }
    });

    it("query only metrics the watcher or the exporter serves", function () {
      const served = new Set([...watcherMetrics.names, ...exporterMetrics.names]);
      for (const file of files) {
        const dash = JSON.parse(readFileSync(join(MONITORING, "grafana", file), "utf8"));
        const exprs: string[] = [
          ...dash.panels.flatMap((p: { targets?: { expr: string }[] }) => (p.targets ?? []).map((t) => t.expr)),
          ...dash.templating.list.map((t: { definition?: string }) => t.definition ?? ""),
        ];
        for (const expr of exprs)
          for (const name of metricsIn(expr)) expect(served.has(name), `${file}: ${name} in ${expr}`).to.equal(true);
      }
    });
  });
});
