// `npm run drill`: the rollout rehearsal. One command starts a local chain, deploys Lockstep, registers a
// validator set in three cohorts, starts a simulated node and a real watcher per validator, and walks two
// upgrades through governance and the staged rollout: one that completes, one whose binary fails in the early
// cohort (automatic pause, rollback ordered by the guardian, watchers restore). It checks every expectation,
// prints the audit trail, leaves nothing running and exits 0 only if everything held.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PauseReason, RollbackReason, Status, UpgradeState } from "../../lib/coordinator";
import { serveArtifacts, tempDir, waitFor } from "../../rehearsal/localnet";
import { coordinatorHistory, renderHistory, runAudit } from "./audit";
import { serveDashboard } from "./dashboard";
import { Board, pct, tokens, type Out } from "./display";
import { Expectations } from "./expect";
import { ProcessFleet } from "./fleet";
import { passProposal, type Voter } from "./governance";
import { InProcessFleet } from "./inprocess";
import { drillNode, simNode } from "./nodes";
import { DrillOptions, USAGE, UsageError, parseOptions } from "./options";
import {
  COHORT_NAMES,
  LEASE_DURATION,
  sendAs,
  cohortProposals,
  fundAndRegister,
  planValidators,
  startNetwork,
} from "./network";
import { foldAll } from "../../lib/history";
import { upgradeCoordinatorAbi } from "../../lib/abi/generated";
import { buildManifest, getStage, getUpgrade, keep, patienceFor, scheduleByVote, writeManifest } from "./rollout";

/** The simulated node's versions (the default drill); `--node anvil` has its own (nodes.ts). */
export const VERSIONS = simNode.versions;

/**
 * How long this process took to start (Node.js, ts-node compiling the drill, viem): the machine's pace now. Limits
 * on other start-ups (the chain, the fleet) are set from it rather than fixed, so a busy machine passes too.
 */
const STARTUP_MS = Math.round(process.uptime() * 1000);

export interface DrillIO {
  out: Out;
  err(text: string): void;
  /** Where the deployments file goes (default: deployments/, or LOCKSTEP_DEPLOYMENTS_DIR). */
  deploymentsDir?: string;
}

const defaultIO = (): DrillIO => ({
  out: { write: (t) => void process.stdout.write(t), isTTY: !!process.stdout.isTTY },
  err: (t) => void process.stderr.write(t),
  deploymentsDir: process.env.LOCKSTEP_DEPLOYMENTS_DIR || undefined,
});

/** Things to stop, last started first; run once, on success, failure or Ctrl-C. */
export class Teardown {
  private steps: { what: string; run: () => Promise<unknown> | unknown }[] = [];
  private done?: Promise<void>;
  /** Processes the drill started that are still alive: checked after the teardown. */
  readonly watched: (() => number[])[] = [];
  /** Set while --keep holds everything up after the drill: Ctrl-C then is the normal end. */
  keeping = false;
  add(what: string, run: () => Promise<unknown> | unknown) {
    this.steps.push({ what, run });
  }
  run(log: (t: string) => void): Promise<void> {
    this.done ??= (async () => {
      for (const s of this.steps.reverse()) {
        try {
          await s.run();
        } catch (e) {
          log(`  could not stop ${s.what}: ${(e as Error).message}\n`);
        }
      }
    })();
    return this.done;
  }
}

export async function main(argv: string[], io: DrillIO = defaultIO()): Promise<number> {
  let o: DrillOptions;
  try {
    o = parseOptions(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`drill: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
  if (o.help) {
    io.out.write(USAGE);
    return 0;
  }
  const started = Date.now();
  const teardown = new Teardown();
  const interrupted = new Promise<"interrupted">((resolve) => {
    const onSignal = () => resolve("interrupted");
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    teardown.add("signal handlers", () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    });
  });
  const w = (t: string) => io.out.write(t);
  const expectations = new Expectations(io.out);
  let code: number;
  try {
    const outcome = await Promise.race([drill(o, io, teardown, expectations, interrupted), interrupted]);
    if (outcome === "interrupted" && teardown.keeping) {
      w("\nstopping everything\n");
      code = expectations.failed.length ? 1 : 0;
    } else if (outcome === "interrupted") {
      w("\ninterrupted: stopping everything\n");
      code = 130;
    } else {
      code = expectations.failed.length ? 1 : 0;
    }
  } catch (e) {
    io.err(`drill failed: ${(e as Error).message}\n`);
    code = 1;
  } finally {
    await teardown.run((t) => io.err(t));
  }
  const left = teardown.watched.flatMap((f) => f());
  if (code !== 130) {
    w("\n");
    if (
      !expectations.check(
        "nothing left running (chain, watchers, nodes stopped)",
        left.length === 0,
        left.length ? `pids ${left.join(" ")}` : "",
      )
    )
      code = 1;
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (code === 0) w(`\ndrill passed: ${expectations.count} expectations held · took ${seconds}s\n`);
  else if (code === 1)
    w(`\ndrill FAILED${expectations.failed.length ? `: ${expectations.failed.join("; ")}` : ""} · took ${seconds}s\n`);
  return code;
}

async function drill(
  o: DrillOptions,
  io: DrillIO,
  teardown: Teardown,
  x: Expectations,
  interrupted: Promise<unknown>,
): Promise<void> {
  const w = (t: string) => io.out.write(t);
  const [nCanary, nEarly, nMain] = o.cohorts;
  const node = drillNode(o.node);
  const VERSIONS = node.versions;
  const anvil = node.kind === "anvil";
  w(
    `Lockstep drill · ${o.validators} validators (canary ${nCanary}, early ${nEarly}, main ${nMain}) · seed "${o.seed}" · second upgrade fault: ${o.fault}${anvil ? " · nodes: anvil" : ""}\n\n`,
  );
  /** Whether every node answers as `version` does; its expectation's wording for the node kind. */
  const runs = (versions: (string | undefined)[], version: string) =>
    versions.every((v) => v === node.reportOf(version));
  const runsLabel = (version: string) =>
    anvil ? `every node answers web3_clientVersion ${node.reportOf(version)}` : `every node runs ${version}`;

  const work = tempDir("lockstep-drill-");
  teardown.add("the work directory", () => (o.keep ? undefined : work.cleanup()));
  w(`work directory ${work.path}\n`);

  // ---------------------------------------------------------------- the network
  const validators = planValidators(o.seed, o.cohorts);
  const setup = new Board(io.out, "\nset-up");
  setup.set("chain", "starting a Hardhat JSON-RPC node on 127.0.0.1");
  const net = await startNetwork(validators, io.deploymentsDir, STARTUP_MS);
  teardown.add("the chain", () => net.chain.stop());
  teardown.watched.push(() =>
    net.chain.process.exitCode === null && net.chain.process.signalCode === null ? [net.chain.process.pid!] : [],
  );
  setup.set("chain", `hardhat node at ${net.chain.url} (pid ${net.chain.process.pid}, network "${net.network}")`);
  setup.set(
    "deploy",
    `coordinator ${net.addresses.coordinator} · governor ${net.addresses.governor} · ${net.deploymentsFile}`,
  );
  await fundAndRegister(net, validators);
  const total = validators.reduce((s, v) => s + v.weight, 0n);
  const delegators = validators.reduce((s, v) => s + v.delegators.length, 0);
  const weights = validators.map((v) => v.weight).sort((a, b) => (a < b ? -1 : 1));
  setup.set(
    "validators",
    `${validators.length} registered, ${delegators} delegators · stake ${tokens(total)} LSTK, smallest ${tokens(weights[0])}, largest ${tokens(weights[weights.length - 1])}`,
  );

  const byWeight = [...validators].sort((a, b) => (a.weight > b.weight ? -1 : 1));
  const proposer = byWeight[0].operator;
  const voters = (dissent: boolean): Voter[] =>
    validators.map((v) =>
      dissent && v === byWeight[byWeight.length - 1]
        ? { signer: v.operator, support: "against", reason: "would rather soak the canary for a day" }
        : { signer: v.operator, support: "for" },
    );
  const cohortBoard = new Board(io.out, "\ngovernance: cohort assignment");
  const { moved, bps, proposals } = cohortProposals(net, validators);
  for (const proposal of proposals) await passProposal(net, cohortBoard, proposal, proposer, voters(false));
  const budget = (total * BigInt(bps)) / 10_000n;
  const cohortStakes = [1, 2, 3].map((c) =>
    validators.filter((v) => v.cohort === c).reduce((s, v) => s + v.weight, 0n),
  );
  const waves = cohortStakes.flatMap((s, i) => (s > budget ? [`${COHORT_NAMES[i]} ${tokens(s)}`] : []));
  cohortBoard.set(
    "restart budget",
    `${bps / 100}% of the registered stake (${tokens(budget)} LSTK), leases of ${LEASE_DURATION} s · ${waves.length ? `larger cohorts roll through in waves: ${waves.join(", ")} LSTK` : "every cohort fits in it"}`,
  );
  const events = {
    address: net.addresses.coordinator,
    abi: upgradeCoordinatorAbi,
    fromBlock: BigInt(net.startBlock),
    strict: true,
  } as const;
  const assigned = await net.chain.client.getContractEvents({ ...events, eventName: "CohortAssigned" });
  x.check(
    `cohorts assigned by ${proposals.length === 1 ? "one governance proposal" : `${proposals.length} governance proposals`} (${moved.length} setCohort calls)`,
    assigned.length === moved.length &&
      moved.every((v) =>
        assigned.some((e) => e.args.operator === v.operator.address && Number(e.args.newCohort) === v.cohort),
      ),
  );

  // ---------------------------------------------------------------- binaries and the fleet
  const artifacts = join(work.path, "artifacts");
  const releases = node.releases(work.path, artifacts, o.fault);
  const server = await serveArtifacts(artifacts);
  teardown.add("the artifact server", () => server.stop());
  await net.chain.send("evm_setIntervalMining", [500]);

  const settings = {
    root: work.path,
    initial: releases.initial,
    startupMs: STARTUP_MS,
    // A rehearsal's pace: a node is judged unhealthy after 2 s without a new block, health re-attested at most
    // every second (a real network's defaults are 30 s and 2 min: docs/watcher.md).
    health: {
      deadlineMs: 4_000,
      probeIntervalMs: 200,
      minHeightGain: 2,
      observeIntervalMs: 500,
      unhealthyAfterMs: 2_000,
      reattestIntervalMs: 1_000,
    },
  };
  const fleet = o.inProcess
    ? new InProcessFleet(net, validators, { ...settings, fault: o.fault, faultyVersion: VERSIONS.second })
    : new ProcessFleet(net, validators, settings, node);
  teardown.add("the watchers and nodes", () => fleet.stop());
  teardown.watched.push(() => fleet.alive());
  const fleetBoard = new Board(io.out, `\nfleet: ${fleet.kind}`);
  fleetBoard.set("fleet", "starting nodes and watchers");
  const fleetStarted = Date.now();
  await fleet.start((t) => fleetBoard.set("fleet", t));
  const fleetStartupMs = Date.now() - fleetStarted;
  fleetBoard.set(
    "fleet",
    o.inProcess
      ? `${validators.length} watcher runtimes in this process (fake nodes) on ${VERSIONS.initial}`
      : `${validators.length} ${anvil ? "anvil" : "simulated"} nodes on ${VERSIONS.initial} and ${validators.length} watcher processes up`,
  );
  if (anvil) x.check(runsLabel(VERSIONS.initial), runs(await fleet.versions(), VERSIONS.initial));
  // A rollout restarts every node once: it gets as long again as the fleet took to start, several times over.
  const keeperTimeout = 90_000 + validators.length * 300 + 5 * fleetStartupMs;
  // How long the keeper waits for a cohort's stragglers, and the nodes for their last answers: from the same pace.
  const patience = patienceFor({ drillStartupMs: STARTUP_MS, fleetStartupMs, health: fleet.health });
  const settleMs = patience.readyGraceMs;
  fleetBoard.set(
    "pace",
    `measured start-up: the drill ${(STARTUP_MS / 1000).toFixed(1)}s, the fleet ${(fleetStartupMs / 1000).toFixed(1)}s · ` +
      `the keeper waits ${(keeperTimeout / 1000).toFixed(0)}s for progress, ${(patience.readyGraceMs / 1000).toFixed(1)}s of quiet for stragglers, ` +
      `${(patience.observeMs / 1000).toFixed(1)}s of health after every report`,
  );

  const counts = [nCanary, nEarly, nMain];
  const roles = new Map<string, string>([
    [net.guardian.toLowerCase(), "the guardian"],
    [net.keeper.toLowerCase(), "the keeper"],
    [net.addresses.timelock.toLowerCase(), "governance"],
    [net.addresses.coordinator.toLowerCase(), "the coordinator (automatic)"],
  ]);

  // ---------------------------------------------------------------- upgrade 1: the whole lifecycle
  const m1 = buildManifest({
    name: `lockstep-node-${VERSIONS.first}`,
    version: VERSIONS.first,
    previousVersion: VERSIONS.initial,
    uri: `${server.url}/${releases.first.file}${releases.first.fragment}`,
    sha256: releases.first.sha256,
    notes: "routine release",
  });
  const f1 = writeManifest(work.path, m1);
  const b1 = new Board(io.out, `\nupgrade 1: ${VERSIONS.initial} → ${VERSIONS.first}`);
  b1.note(`manifest ${f1.path}\n  canonical keccak256 ${f1.hash}`);
  const s1 = await scheduleByVote(net, b1, m1, proposer, voters(true));
  const u1Id = s1.upgradeId;
  const rolloutStarted = Date.now();
  const r1 = await keep(net, b1, u1Id, counts, { timeoutMs: keeperTimeout, label: "upgrade 1", patience });
  const rolloutSeconds = ((Date.now() - rolloutStarted) / 1000).toFixed(1);
  const u1 = await getUpgrade(net, u1Id);
  b1.set(
    "completed",
    r1.state === UpgradeState.Completed
      ? `every stage verified · ${r1.advances.length} advance calls by the keeper · rollout across ${validators.length} validators took ${rolloutSeconds}s`
      : `NOT completed: ${UpgradeState[r1.state]}`,
  );
  w("\n");
  x.check(
    "the schedule proposal passed a stake-weighted vote and was executed through the timelock",
    s1.passed.forVotes > s1.passed.againstVotes && s1.passed.forVotes >= s1.passed.quorum,
    `for ${pct(s1.passed.forVotes, s1.passed.forVotes + s1.passed.againstVotes)}`,
  );
  x.check("the on-chain manifest hash equals the manifest file's canonical hash", u1.manifestHash === f1.hash);
  x.check("upgrade 1 completed", r1.state === UpgradeState.Completed);
  const stages1 = await Promise.all(counts.map((_, i) => getStage(net, u1Id, i)));
  x.check(
    "every stage was verified in order (canary, early, main)",
    stages1.every((s, i) => s.verifiedAt > 0 && (i === 0 || s.activatedAt >= stages1[i - 1].verifiedAt)),
  );
  x.check(
    "every validator attested Ready before its stage activated",
    stages1.every((s) => s.readyStake === s.cohortStake),
    stages1.map((s) => pct(s.readyStake, s.cohortStake).trim()).join(" / "),
  );
  x.check(
    "every validator attested Healthy",
    stages1.every((s) => s.healthyStake === s.cohortStake && s.unhealthyStake === 0n),
  );
  const v1 = await waitFor(
    "every node on the new version",
    async () => {
      const v = await fleet.versions();
      return runs(v, VERSIONS.first) ? v : undefined;
    },
    settleMs,
  ).catch(() => undefined);
  x.check(runsLabel(VERSIONS.first), !!v1);

  // ---------------------------------------------------------------- upgrade 2: a bad binary in the early cohort
  const m2 = buildManifest({
    name: `lockstep-node-${VERSIONS.second}`,
    version: VERSIONS.second,
    previousVersion: VERSIONS.first,
    uri: `${server.url}/${releases.second.file}${releases.second.fragment}`,
    sha256: releases.second.sha256,
    notes: anvil
      ? "anvil 1.5.1 again, as a release archive whose launcher bites the early cohort's configuration"
      : "release with a bug that bites the early cohort's configuration",
  });
  const f2 = writeManifest(work.path, m2);
  const b2 = new Board(
    io.out,
    `\nupgrade 2: ${VERSIONS.first} → ${VERSIONS.second}${o.fault === "none" ? "" : ` (its binary fails on the early cohort's machines: ${o.fault})`}`,
  );
  b2.note(`manifest ${f2.path}\n  canonical keccak256 ${f2.hash}`);
  const s2 = await scheduleByVote(net, b2, m2, proposer, voters(false));
  const u2Id = s2.upgradeId;
  const r2 = await keep(net, b2, u2Id, counts, { timeoutMs: keeperTimeout, label: "upgrade 2", patience });
  if (o.fault === "none") {
    b2.set(
      "completed",
      r2.state === UpgradeState.Completed ? "every stage verified" : `NOT completed: ${UpgradeState[r2.state]}`,
    );
    w("\n");
    x.check("upgrade 2 completed (no fault injected)", r2.state === UpgradeState.Completed);
    const v2 = await waitFor(
      "every node on v2",
      async () => (runs(await fleet.versions(), VERSIONS.second) ? true : undefined),
      settleMs,
    ).catch(() => false);
    x.check(runsLabel(VERSIONS.second), !!v2);
  } else {
    const paused = (
      await net.chain.client.getContractEvents({ ...events, eventName: "UpgradePaused", args: { upgradeId: u2Id } })
    )[0];
    b2.set(
      "paused",
      paused
        ? `${PauseReason[Number(paused.args.reason)]} at stage ${paused.args.stage} (${COHORT_NAMES[Number(paused.args.stage)]}): unhealthy ${tokens(paused.args.unhealthyStake)} LSTK · tx ${paused.transactionHash}`
        : `not paused: ${UpgradeState[r2.state]}`,
    );
    if (anvil && r2.state === UpgradeState.Paused) {
      // Before the rollback: the verified canary runs the second release, the main cohort was never touched.
      const versions = await fleet.versions();
      const cohortRuns = (cohort: number, version: string) =>
        validators.every((v, i) => v.cohort !== cohort || versions[i] === node.reportOf(version));
      x.check(
        `while paused, the canary answers ${node.reportOf(VERSIONS.second)} and the main cohort ${node.reportOf(VERSIONS.first)}`,
        cohortRuns(1, VERSIONS.second) && cohortRuns(3, VERSIONS.first),
        summarize(versions),
      );
    }
    if (r2.state === UpgradeState.Paused) {
      // The incident commander orders rollback at once; governance is not needed for that.
      const tx = await sendAs(net, net.guardian, {
        address: net.addresses.coordinator,
        abi: upgradeCoordinatorAbi,
        functionName: "orderRollback",
        args: [u2Id],
      });
      b2.set("rollback", `ordered by the guardian · tx ${tx.hash}`);
    }
    const activatedStake = async () => {
      const st = await Promise.all(counts.map((_, i) => getStage(net, u2Id, i)));
      return st.filter((s) => s.activatedAt > 0).reduce((sum, s) => sum + s.cohortStake, 0n);
    };
    const expectRestored = await activatedStake();
    const restored = await waitFor(
      "the watchers to restore",
      async () => {
        const u = await getUpgrade(net, u2Id);
        const versions = await fleet.versions();
        const back = versions.filter((v) => v === node.reportOf(VERSIONS.first)).length;
        b2.set(
          "restored",
          `rolled-back attestations ${pct(u.restoredStake, expectRestored)} of the activated stake (${u.restoredCount} validators) · ${back}/${versions.length} nodes on ${VERSIONS.first}`,
        );
        return u.restoredStake === expectRestored && back === versions.length ? u : undefined;
      },
      keeperTimeout,
      300,
    ).catch(() => undefined);
    w("\n");
    const stages2 = await Promise.all(counts.map((_, i) => getStage(net, u2Id, i)));
    const attested = await net.chain.client.getContractEvents({
      ...events,
      eventName: "Attested",
      args: { upgradeId: u2Id },
    });
    const earlyOps = new Set(validators.filter((v) => v.cohort === 2).map((v) => v.operator.address));
    const failedEarly = attested.filter(
      (e) =>
        earlyOps.has(e.args.operator) && [Status.Unhealthy, Status.FailedToUpgrade].includes(Number(e.args.status)),
    );
    x.check("the canary stage was verified healthy", stages2[0].verifiedAt > 0);
    x.check(
      "early-cohort watchers attested unhealthy / failed-to-upgrade",
      failedEarly.length > 0,
      `${failedEarly.length} attestations: ${[...new Set(failedEarly.map((e) => Status[Number(e.args.status)]))].join(", ")}`,
    );
    x.check(
      "the coordinator paused the rollout by itself (unhealthy threshold) in the early stage",
      !!paused && Number(paused.args.reason) === PauseReason.UnhealthyThreshold && Number(paused.args.stage) === 1,
      paused
        ? `unhealthy ${pct(paused.args.unhealthyStake, stages2[1].cohortStake).trim()} of the cohort ≥ ${m2.stages[1].unhealthyBps / 100}%`
        : "",
    );
    x.check("the main stage never activated", stages2[2].activatedAt === 0);
    const ordered = (
      await net.chain.client.getContractEvents({ ...events, eventName: "RollbackOrdered", args: { upgradeId: u2Id } })
    )[0];
    x.check(
      "rollback was ordered by the guardian",
      !!ordered && ordered.args.by === net.guardian && Number(ordered.args.reason) === RollbackReason.Manual,
    );
    x.check(
      "watchers restored the previous version and attested RolledBack for all activated stake",
      !!restored,
      restored ? `restoredStake ${tokens(restored.restoredStake)} LSTK, ${restored.restoredCount} validators` : "",
    );
    const versions = await fleet.versions();
    x.check(`${runsLabel(VERSIONS.first)} again`, runs(versions, VERSIONS.first), summarize(versions));
  }
  x.check("no watcher crashed", fleet.crashedWatchers().length === 0, fleet.crashedWatchers().join("; "));

  // ---------------------------------------------------------------- restart leases, measured from events
  w("\nrestart leases (replayed from LeaseGranted, LeaseReleased and LeasesExpired)\n");
  const leased = foldAll(await coordinatorHistory(net)).history.upgrades.flatMap((u) => (u.leases ? [u] : []));
  for (const u of leased) {
    const l = u.leases!;
    w(
      `  upgrade ${u.id}: ${l.granted} leases granted, ${l.released} released by attestation; highest leased ${tokens(l.peak)} of ${tokens(l.budget)} LSTK\n`,
    );
  }
  const peak = leased.reduce((m, u) => (u.leases!.peak > m ? u.leases!.peak : m), 0n);
  const cap = leased.reduce(
    (m, u) => (m === undefined || u.leases!.budget < m ? u.leases!.budget : m),
    undefined as bigint | undefined,
  );
  w(`  highest offline (leased) stake measured: ${tokens(peak)} LSTK; restart budget ${tokens(cap ?? 0n)} LSTK\n`);
  x.check(
    "every restart took a lease, and the leased (offline) stake never exceeded the restart budget",
    leased.length === 2 && leased.every((u) => u.leases!.granted > 0) && cap !== undefined && peak <= cap,
    `highest ${tokens(peak)} ≤ ${tokens(cap ?? 0n)} LSTK`,
  );

  // ---------------------------------------------------------------- the audit trail
  w("\naudit trail\n");
  const operators = new Map(
    validators.flatMap((v) => [
      [v.operator.address.toLowerCase(), v.name],
      [v.attester.address.toLowerCase(), `${v.name}'s attester (automatic)`],
    ]),
  );
  const history = await coordinatorHistory(net);
  w(`  coordinator events rebuilt from logs (${history.length}):\n`);
  for (const line of renderHistory(history, operators, roles)) w(`  ${line}\n`);
  x.check(
    "the event history holds both upgrades from schedule to end",
    history.some((e) => e.eventName === "UpgradeCompleted") &&
      history.filter((e) => e.eventName === "UpgradeScheduled").length === 2,
  );
  const audit = await runAudit(net).catch((e: Error) => ({
    ok: false,
    summary: `the audit failed to run: ${e.message}`,
    report: "",
  }));
  // Outside the work directory, which is removed at the end: the report outlives the drill.
  const reportFile = join(tmpdir(), `lockstep-drill-audit-${net.network}.md`);
  writeFileSync(reportFile, audit.report);
  w(
    `\n  audit: ${audit.summary}\n  full report (every line names its transaction): ${reportFile}\n  the same from any shell: npx hardhat audit --network ${net.network}\n`,
  );
  x.check("the audit rebuilds every upgrade from logs alone and every check passes", audit.ok, audit.summary);

  if (o.keep) {
    const dashboard = await serveDashboard(net, Math.max(30_000, 3 * STARTUP_MS)).then(
      (d) => {
        teardown.add("the dashboard", () => d.stop());
        return `  dashboard        ${d.url}\n`;
      },
      (e: Error) =>
        `  dashboard        not started (${e.message}); start it with: npm run dashboard -- --network ${net.network} --rpc ${net.chain.url}\n`,
    );
    w(
      `\n--keep: the chain and the watchers stay up.\n  RPC URL          ${net.chain.url}\n  deployments file ${net.deploymentsFile}\n  work directory   ${work.path} (kept after exit)\n` +
        dashboard +
        `  try: npx hardhat upgrade:status --network ${net.network}\n` +
        `Ctrl-C stops everything.\n`,
    );
    teardown.keeping = true;
    await interrupted;
  }
}

/** "v1.1.0 ×9" rather than nine times the same word. */
function summarize(values: (string | undefined)[]): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v ?? "no answer", (counts.get(v ?? "no answer") ?? 0) + 1);
  return [...counts].map(([v, n]) => `${v} ×${n}`).join(", ");
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => process.exit(code));
}
