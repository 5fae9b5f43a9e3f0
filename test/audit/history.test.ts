// The audit trail: three upgrades driven on the Hardhat network (a completed rollout with a guardian pause and a
// governance resume, one stopped by an automatic pause then an automatic rollback with restored attestations, and
// one paused for missing participation then withdrawn), rebuilt from the coordinator's logs alone and compared
// with the contract's views; then the checks catch doctored logs and a manifest file that was not the one voted.
import { expect } from "chai";
import { mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { ethers, network } from "hardhat";
import { keccak256, toUtf8Bytes } from "ethers";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { createPublicClient, custom, type Log, type PublicClient } from "viem";
import { Status, UpgradeState, PauseReason, StageState, coordinatorDomain } from "../../lib/coordinator";
import { packAttestations } from "../../lib/actions/packAttestations";
import { signAttestation } from "../helpers/system";
import { versionTag } from "../../lib/version";
import { DEFAULT_STAGE_RULES, toOnChain, type ManifestFile } from "../../lib/manifest";
import { writeDeployment, type Deployment } from "../../lib/deployments";
import { deploymentRecord } from "../../lib/deploy";
import {
  apply,
  auditChecks,
  buildHistory,
  decodeLogs,
  fetchLogs,
  fetchBlockTimes,
  initialState,
  loadHistory,
  settle,
  type History,
} from "../../lib/history";
import { audit, renderReport, reportLines } from "../../lib/audit";
import { runAudit, AuditInputError } from "../../tasks/audit";
import { Deployed, STAKE, Validator, attesterProof, deployLockstep, registerValidators } from "../helpers/system";
import { VoteType, delegateAll, governCoordinator } from "../helpers/governance";

const DIGEST = keccak256(toUtf8Bytes("metrics"));
const TX = /0x[0-9a-f]{64}/;

function manifestFile(name: string, version: string, stages: Partial<ManifestFile["stages"][number]>[]): ManifestFile {
  return {
    name,
    version,
    previousVersion: "v1.9.3",
    artifacts: [
      {
        platform: "linux-amd64",
        uri: `https://releases.example.org/${name}`,
        sha256: keccak256(toUtf8Bytes(name)).slice(2),
      },
    ],
    featureFlags: [],
    metadataURI: "",
    stateIncompatible: false,
    stages: stages.map((s, i) => ({ cohort: i + 1, ...DEFAULT_STAGE_RULES, ...s })),
  };
}

const ALPHA = manifestFile("alpha", "v2.0.0", [{ readinessBps: 5000 }, { timelock: 120 }, {}]);
const BETA = manifestFile("beta", "v2.1.0", [{}, { unhealthyBps: 3000, rollbackBps: 5000 }]);
const GAMMA = manifestFile("gamma", "v2.2.0", [{}]);

describe("audit: history rebuilt from logs", function () {
  let d: Deployed;
  let vs: Validator[];
  let startBlock: number;
  let client: PublicClient;
  let history: History;
  let logs: Log[];
  let dir: string;
  let times: Map<bigint, bigint>;
  let timelock: string;
  const ids = { alpha: 0n, beta: 0n, gamma: 0n };

  const attest = async (v: Validator, upgradeId: bigint, stage: number, status: Status, version: string) =>
    (
      await d.coordinator
        .connect(v.attester)
        .attest(v.operator.address, upgradeId, stage, status, versionTag(version), 100n, DIGEST)
    ).wait();
  const advance = async (upgradeId: bigint) => (await d.coordinator.advance(upgradeId)).wait();
  const passObservation = () => time.increase(601);

  before(async function () {
    this.timeout(300_000);
    dir = mkdtempSync(join(tmpdir(), "lockstep-audit-"));
    startBlock = (await ethers.provider.getBlockNumber()) + 1;
    d = await deployLockstep();
    //   cohort 1: 100 200 300 (600)   cohort 2: 50 150 250 350 (800)   cohort 3: 400 500 600 (1500)
    vs = await registerValidators(
      d,
      [100, 200, 300, 50, 150, 250, 350, 400, 500, 600].map((s, i) => ({
        cohort: i < 3 ? 1 : i < 7 ? 2 : 3,
        stake: STAKE(s),
      })),
      "audit",
    );
    const [A, B, C, D, E, F, G, H, I, J] = vs;
    const voter = d.others[0];
    await delegateAll(d, [voter], STAKE(100_000_000));
    const ballots = [{ voter, support: VoteType.For }];

    // alpha: readiness, a guardian pause, a governance resume, a time lock, completion.
    await governCoordinator(d, ballots, "schedule", [toOnChain(ALPHA)], "Schedule alpha");
    ids.alpha = await d.coordinator.upgradeCount();
    await attest(A, ids.alpha, 0, Status.Ready, "v2.0.0");
    await attest(A, ids.alpha, 0, Status.Ready, "v2.0.0"); // counts once
    await attest(C, ids.alpha, 0, Status.Ready, "v2.0.0");
    await advance(ids.alpha);
    await attest(A, ids.alpha, 0, Status.Healthy, "v2.0.0");
    await attest(B, ids.alpha, 0, Status.Unhealthy, "v2.0.0"); // 200 < limit 204: no pause
    await (await d.coordinator.connect(d.guardian).pause(ids.alpha)).wait();
    await attest(B, ids.alpha, 0, Status.Healthy, "v2.0.0"); // replaces its Unhealthy, while paused
    await attest(C, ids.alpha, 0, Status.Healthy, "v2.0.0");
    await governCoordinator(d, ballots, "resume", [ids.alpha], "Resume alpha");
    await advance(ids.alpha); // verifies stage 0; stage 1 waits for its time lock
    await time.increase(121);
    await advance(ids.alpha);
    for (const v of [D, E, F, G]) await attest(v, ids.alpha, 1, Status.Healthy, "v2.0.0");
    await passObservation();
    await advance(ids.alpha); // verifies stage 1 and activates stage 2 in the same transaction
    for (const v of [H, I, J]) await attest(v, ids.alpha, 2, Status.Healthy, "v2.0.0");
    await passObservation();
    await advance(ids.alpha); // verified + completed

    // beta: automatic pause, then automatic rollback while paused, then restorations (direct and relayed).
    await governCoordinator(d, ballots, "schedule", [toOnChain(BETA)], "Schedule beta");
    ids.beta = await d.coordinator.upgradeCount();
    await advance(ids.beta);
    for (const v of [A, B, C]) await attest(v, ids.beta, 0, Status.Healthy, "v2.1.0");
    await passObservation();
    await advance(ids.beta);
    await attest(D, ids.beta, 1, Status.Healthy, "v2.1.0");
    await attest(G, ids.beta, 1, Status.Unhealthy, "v2.1.0"); // 350 >= 240: pause
    await attest(F, ids.beta, 1, Status.FailedToUpgrade, "v2.1.0"); // 600 >= 400: rollback
    await attest(G, ids.beta, 1, Status.RolledBack, "v1.9.3");
    await attest(G, ids.beta, 1, Status.RolledBack, "v1.9.3"); // counts once
    await attest(D, ids.beta, 1, Status.RolledBack, "v1.9.3");
    const domain = coordinatorDomain((await ethers.provider.getNetwork()).chainId, await d.coordinator.getAddress());
    const now = BigInt(await time.latest());
    const signed = await signAttestation(E.attester, domain, {
      operator: E.operator.address,
      upgradeId: ids.beta,
      stage: 1,
      status: Status.RolledBack,
      version: versionTag("v1.9.3"),
      height: 7n,
      metricsDigest: DIGEST,
      issuedAt: now,
      deadline: now + 600n,
    });
    await (await d.coordinator.connect(d.others[1]).relayAttestations(packAttestations([signed]))).wait();

    // gamma: paused for missing participation by an outsider, then withdrawn by governance.
    await (await d.coordinator.connect(d.timelockSigner).schedule(toOnChain(GAMMA))).wait();
    ids.gamma = await d.coordinator.upgradeCount();
    await advance(ids.gamma);
    await attest(A, ids.gamma, 0, Status.Healthy, "v2.2.0");
    await time.increase(3601);
    await (await d.coordinator.connect(d.others[2]).pauseForMissingParticipation(ids.gamma)).wait();
    await (await d.coordinator.connect(d.timelockSigner).withdraw(ids.gamma)).wait();
    await mine(1);

    client = createPublicClient({ transport: custom({ request: (a) => network.provider.request(a) }) }) as PublicClient;
    // Small pages, so paging is exercised too.
    logs = (
      await fetchLogs(client, {
        address: (await d.coordinator.getAddress()) as `0x${string}`,
        fromBlock: BigInt(startBlock),
        pageSize: 7n,
      })
    ).logs;
    times = await fetchBlockTimes(
      client,
      decodeLogs(logs).map((e) => e.blockNumber),
    );
    timelock = await d.timelock.getAddress();
    history = await loadHistory(client, {
      address: (await d.coordinator.getAddress()) as `0x${string}`,
      fromBlock: BigInt(startBlock),
      governance: await d.timelock.getAddress(),
      fromDeployment: true,
    });
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("pages the logs: the same events whatever the page size", async function () {
    const whole = await fetchLogs(client, {
      address: (await d.coordinator.getAddress()) as `0x${string}`,
      fromBlock: BigInt(startBlock),
    });
    expect(logs.map((l) => `${l.transactionHash}:${l.logIndex}`)).to.deep.equal(
      whole.logs.map((l) => `${l.transactionHash}:${l.logIndex}`),
    );
    expect(history.eventCount).to.equal(logs.length);
  });

  it("rebuilds every upgrade's header and every stage's tallies exactly as the contract's views hold them", async function () {
    expect(history.upgrades.map((u) => u.name)).to.deep.equal(["alpha", "beta", "gamma"]);
    for (const u of history.upgrades) {
      const view = await d.coordinator.getUpgrade(u.id);
      expect(UpgradeState[u.state], `${u.name} state`).to.equal(Number(view.state));
      expect(PauseReason[u.pauseReason], `${u.name} pause reason`).to.equal(Number(view.pauseReason));
      expect(u.currentStage, `${u.name} current stage`).to.equal(Number(view.currentStage));
      expect(u.snapshot).to.equal(view.snapshot);
      expect(u.scheduled.time).to.equal(view.scheduledAt);
      expect(u.pausedAt).to.equal(view.pausedAt);
      expect(u.endedAt).to.equal(view.endedAt);
      expect(u.manifest.manifestHash).to.equal(view.manifestHash);
      expect(u.restoredStake, `${u.name} restored stake`).to.equal(view.restoredStake);
      expect(u.restoredCount).to.equal(Number(view.restoredCount));
      for (const s of u.stages) {
        const v = await d.coordinator.getStage(u.id, s.index);
        const rebuilt = {
          state: StageState[s.state],
          cohortStake: s.cohortStake,
          readyStake: s.readyStake,
          readyNeeded: s.readyNeeded,
          readyCount: BigInt(s.readyCount),
          healthyStake: s.healthyStake,
          healthyNeeded: s.healthyNeeded,
          unhealthyStake: s.unhealthyStake,
          attestedStake: s.healthyStake + s.unhealthyStake,
          unhealthyLimit: s.unhealthyLimit,
          rollbackLimit: s.rollbackLimit,
          activatedAt: s.activated?.time ?? 0n,
          verifiedAt: s.verified?.time ?? 0n,
        };
        const onChain = Object.fromEntries(
          Object.keys(rebuilt).map((k) => [k, BigInt((v as unknown as Record<string, bigint>)[k])]),
        );
        expect(
          Object.fromEntries(Object.entries(rebuilt).map(([k, x]) => [k, BigInt(x)])),
          `${u.name} stage ${s.index}`,
        ).to.deep.equal(onChain);
      }
    }
    // The scenario's own figures, so a fold that agreed with a wrong contract would still be caught.
    const [alpha, beta, gamma] = history.upgrades;
    expect(alpha.state).to.equal("Completed");
    expect(alpha.stages[0].readyStake).to.equal(STAKE(400));
    expect(alpha.stages[0].readyCount).to.equal(2);
    expect(alpha.stages[0].healthyStake).to.equal(STAKE(600));
    expect(alpha.stages[0].unhealthyStake).to.equal(0n);
    expect(beta.state).to.equal("RolledBack");
    expect(beta.stages[1].unhealthyStake).to.equal(STAKE(600));
    expect(beta.restoredStake).to.equal(STAKE(350 + 50 + 150));
    expect(beta.restoredCount).to.equal(3);
    expect(gamma.state).to.equal("Withdrawn");
  });

  it("keeps each validator's last status and weight per upgrade, as the contract's assignment view does", async function () {
    for (const v of vs) {
      const a = await d.coordinator.getAssignment(ids.gamma, v.operator.address);
      const last = history.upgrades.find((u) => u.id === a.lastUpgradeId);
      if (!last) continue;
      const rec = last.validators.get(v.operator.address.toLowerCase())!;
      expect(rec.status, v.operator.address).to.equal(Number(a.lastStatus));
      expect(rec.weight).to.equal(v.stake);
      expect(rec.stage).to.equal(Number(a.lastStage));
    }
  });

  it("rebuilds a history in which a validator reported a version tag that is not UTF-8 (any status but Healthy may carry one)", function () {
    type Attested = Extract<ReturnType<typeof decodeLogs>[number], { eventName: "Attested" }>;
    const events = decodeLogs(logs);
    const attested = events.filter((e): e is Attested => e.eventName === "Attested");
    // A non-Healthy report that is its validator's last in that upgrade, so the rebuilt record carries its version.
    const last = attested.filter(
      (e, i) =>
        e.args.status !== Status.Healthy &&
        !attested
          .slice(i + 1)
          .some((l) => l.args.operator === e.args.operator && l.args.upgradeId === e.args.upgradeId),
    );
    expect(last, "the fixture has a last non-Healthy report").to.not.be.empty;
    const e = last[0];
    const i = events.indexOf(e);
    events[i] = { ...e, args: { ...e.args, version: `0xff61${"00".repeat(30)}` } };
    const rebuilt = buildHistory(events, { times, governance: timelock, registryComplete: true });
    const rec = rebuilt.upgrades.find((x) => x.id === e.args.upgradeId)!.validators.get(e.args.operator.toLowerCase())!;
    expect(rec.version).to.equal("\uFFFDa");
    expect(rebuilt.eventCount).to.equal(history.eventCount);
  });

  it("records every transition with its block, time, transaction and who did it", function () {
    const kinds = (name: string) =>
      history.upgrades.find((u) => u.name === name)!.transitions.map((t) => t.kind + (t.actor ? `:${t.actor}` : ""));
    expect(kinds("alpha")).to.deep.equal([
      "UpgradeScheduled",
      "StageActivated",
      "UpgradePaused:guardian",
      "UpgradeResumed:governance",
      "StageVerified",
      "StageActivated",
      "StageVerified",
      "StageActivated",
      "StageVerified",
      "UpgradeCompleted",
    ]);
    expect(kinds("beta")).to.deep.equal([
      "UpgradeScheduled",
      "StageActivated",
      "StageVerified",
      "StageActivated",
      "UpgradePaused:automatic",
      "RollbackOrdered:automatic",
    ]);
    expect(kinds("gamma")).to.deep.equal([
      "UpgradeScheduled",
      "StageActivated",
      "UpgradePaused:automatic",
      "UpgradeWithdrawn:governance",
    ]);
    for (const u of history.upgrades) {
      for (const t of u.transitions) {
        expect(t.tx).to.match(TX);
        expect(t.time).to.be.a("bigint");
      }
    }
    expect(history.upgrades[2].transitions[2].reason).to.equal("ParticipationDeadline");
  });

  it("passes every check, each on a line with a transaction hash", function () {
    const result = audit(history, [
      { path: "alpha.json", manifest: ALPHA },
      { path: "beta.json", manifest: BETA },
    ]);
    expect(result.failed.map((c) => c.detail)).to.deep.equal([]);
    const kinds = new Set(result.checks.map((c) => c.kind));
    for (const k of [
      "scheduled",
      "stage-order",
      "activation-readiness",
      "verification-health",
      "automatic-stop",
      "authority",
      "terminal",
      "completion",
      "attestations",
      "manifest-hash",
    ]) {
      expect(kinds, k).to.include(k);
    }
    for (const c of result.checks) expect(c.tx, `${c.kind}: ${c.detail}`).to.match(TX);
    const authority = result.checks.filter((c) => c.kind === "authority").map((c) => c.detail);
    expect(authority.some((x) => x.startsWith(`paused by the guardian ${d.guardian.address}`))).to.equal(true);
    expect(authority.some((x) => x.startsWith("resumed by governance"))).to.equal(true);
    expect(authority.some((x) => x.startsWith("withdrawn by governance"))).to.equal(true);
  });

  it("renders md, json and csv reports whose every line names a transaction and its block", function () {
    const result = audit(history, [{ path: "alpha.json", manifest: ALPHA }]);
    const csv = renderReport(result, "csv").trimEnd().split("\n");
    expect(csv[0]).to.equal("section,upgradeId,name,block,time,tx,what,result,detail");
    expect(csv.length).to.be.greaterThan(40);
    for (const row of csv.slice(1)) expect(row, row).to.match(new RegExp(`,\\d+,[^,]*,${TX.source},`));

    const md = renderReport(result, "md", { explorer: "https://explorer.example.org/" }).split("\n");
    const rows = md.filter(
      (l) =>
        l.startsWith("| ") && !l.startsWith("| result |") && !/^\| (state|stage|event|operator|guardian) \|/.test(l),
    );
    expect(rows.length).to.equal(reportLines(result).length + history.guardians.length);
    for (const row of rows) {
      expect(row, row).to.match(/\(https:\/\/explorer\.example\.org\/tx\/0x[0-9a-f]{64}\)/);
      expect(row, row).to.match(/\(https:\/\/explorer\.example\.org\/block\/\d+\)/);
    }

    const json = JSON.parse(renderReport(result, "json"));
    expect(json.ok).to.equal(true);
    expect(json.upgrades).to.have.length(3);
    for (const c of json.checks) expect(c.tx).to.match(TX);
  });

  describe("the reducer", function () {
    /** A small deterministic generator (mulberry32), so a failing split can be replayed from its seed. */
    const random = (seed: number) => () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    /** Folds `events` chunk by chunk, the chunk ends drawn at random (size 1 for seed 0), then audits. */
    const foldInChunks = (
      events: ReturnType<typeof decodeLogs>,
      seed: number,
      o: Parameters<typeof buildHistory>[1],
    ) => {
      const next = random(seed);
      const state = initialState(o);
      for (let i = 0; i < events.length;) {
        const size = seed === 0 ? 1 : 1 + Math.floor(next() * 12);
        apply(state, events.slice(i, i + size));
        i += size;
      }
      settle(state);
      state.history.checks = auditChecks(state);
      return state.history;
    };

    it("gives the same history, checks included, whatever chunks the events are applied in", function () {
      const events = decodeLogs(logs);
      const o = { times, governance: timelock, registryComplete: true };
      const whole = buildHistory(events, o);
      expect(whole.checks.length).to.be.greaterThan(0);
      for (let seed = 0; seed < 8; seed++) {
        expect(foldInChunks(events, seed, o), `seed ${seed}`).to.deep.equal(whole);
      }
    });

    it("gives the same failing checks in chunks as at once on doctored logs", function () {
      // Without the rollbacks, the attestation that called for one is left unanswered across chunk ends.
      const events = decodeLogs(logs).filter((e) => e.eventName !== "RollbackOrdered");
      const o = { times, governance: d.others[5].address };
      const whole = buildHistory(events, o);
      expect(whole.checks.filter((c) => !c.ok).length).to.be.greaterThan(1);
      for (let seed = 0; seed < 8; seed++) {
        expect(foldInChunks(events, seed, o), `seed ${seed}`).to.deep.equal(whole);
      }
    });
  });

  describe("catches", function () {
    const rebuild = (keep: (e: ReturnType<typeof decodeLogs>[number]) => boolean) => {
      const events = decodeLogs(logs).filter(keep);
      return audit(buildHistory(events, { times, governance: timelock, registryComplete: true }));
    };

    it("a stage activated before the previous one was verified (a StageVerified dropped)", function () {
      const dropped = decodeLogs(logs).find(
        (e) => e.eventName === "StageVerified" && e.args.upgradeId === ids.alpha && e.args.stage === 0,
      )!;
      const result = rebuild(
        (e) => e !== undefined && !(e.transactionHash === dropped.transactionHash && e.logIndex === dropped.logIndex),
      );
      expect(result.ok).to.equal(false);
      const order = result.failed.find((c) => c.kind === "stage-order")!;
      expect(order.detail).to.equal("stage 1 activated although the current stage was 0, stage 0 was not verified");
      expect(order.tx).to.match(TX);
      expect(order.upgradeId).to.equal(ids.alpha);
      expect(
        result.failed.some((c) => c.kind === "completion" && /stage\(s\) 0 never verified/.test(c.detail)),
      ).to.equal(true);
    });

    it("an automatic rollback that did not happen when the not-healthy stake reached the limit", function () {
      const result = rebuild((e) => e.eventName !== "RollbackOrdered");
      const missing = result.failed.find((c) => c.kind === "automatic-stop")!;
      expect(missing.detail).to.match(
        /^stage 1: not-healthy stake 600000000000000000000 reached the rollback limit 400000000000000000000, but no automatic rollback followed/,
      );
      const failedTx = decodeLogs(logs).find(
        (e) => e.eventName === "Attested" && e.args.status === Status.FailedToUpgrade,
      )!.transactionHash;
      expect(missing.tx).to.equal(failedTx);
    });

    it("a transition after an upgrade ended", function () {
      // Replay the completed upgrade's last verification after its completion.
      const events = decodeLogs(logs);
      const verified = events.filter((e) => e.eventName === "StageVerified" && e.args.upgradeId === ids.alpha).at(-1)!;
      const late = { ...verified, blockNumber: verified.blockNumber + 1n, logIndex: 0 };
      const result = audit(buildHistory([...events, late], { times, governance: timelock }));
      expect(result.failed.map((c) => `${c.kind}: ${c.detail}`)).to.deep.equal([
        "terminal: stage 2 verified after the upgrade ended Completed",
      ]);
    });

    it("a resume or withdrawal by an account that is not governance", function () {
      // Audited against another governance address, the timelock's own resume and withdrawal are not governance's.
      const result = audit(buildHistory(decodeLogs(logs), { times, governance: d.others[5].address }));
      expect(result.failed.map((c) => `${c.kind}: ${c.detail}`)).to.deep.equal([
        `authority: resume: by ${timelock}, not governance`,
        `authority: withdrawal: by ${timelock}, not governance`,
      ]);
    });

    it("a guardian that pauses after governance revoked it", function () {
      // Doctor the log sequence: a GuardianSet revoking the guardian just before its pause.
      const events = decodeLogs(logs);
      const pause = events.find((e) => e.eventName === "UpgradePaused" && e.args.upgradeId === ids.alpha)!;
      const revoke = {
        ...events.find((e) => e.eventName === "GuardianSet")!,
        args: { previousGuardian: d.guardian.address, newGuardian: "0x0000000000000000000000000000000000000000" },
        blockNumber: pause.blockNumber,
        logIndex: pause.logIndex - 1,
      } as (typeof events)[number];
      const result = audit(buildHistory([...events, revoke], { times, governance: timelock }));
      expect(result.failed.map((c) => `${c.kind}: ${c.detail} @ ${c.tx}`)).to.deep.equal([
        `authority: paused by ${d.guardian.address}, neither the guardian nor governance @ ${pause.transactionHash}`,
      ]);
    });
  });

  describe("runAudit (the audit task's action)", function () {
    let files: Record<string, string>;
    before(async function () {
      const deployment: Deployment = deploymentRecord(d.addresses, {
        network: "hardhat",
        chainId: Number((await ethers.provider.getNetwork()).chainId),
        startBlock,
        guardian: d.guardian.address,
      });
      writeDeployment(deployment, dir);
      writeDeployment({ ...deployment, network: "elsewhere", chainId: 1 }, dir);
      files = {
        alpha: join(dir, "alpha.json"),
        // Same name, one threshold changed: not the file that was voted.
        doctored: join(dir, "alpha-doctored.json"),
        broken: join(dir, "broken.json"),
      };
      writeFileSync(files.alpha, JSON.stringify(ALPHA, null, 2));
      writeFileSync(
        files.doctored,
        JSON.stringify({ ...ALPHA, stages: ALPHA.stages.map((s, i) => (i === 0 ? { ...s, readinessBps: 100 } : s)) }),
      );
      writeFileSync(files.broken, '{"name": "alpha", "version": ');
    });

    it("passes, exit code 0, with the manifest file that was voted", async function () {
      const out = join(dir, "report.md");
      const run = await runAudit({ network: "hardhat", client, deploymentsDir: dir, manifests: files.alpha, out });
      expect(run.exitCode).to.equal(0);
      expect(run.summary).to.match(/^audit passed: \d+ checks over 3 upgrade\(s\)/);
      expect(readFileSync(out, "utf8")).to.equal(run.report);
      // To read a sample report: LOCKSTEP_AUDIT_REPORT=/tmp/audit.md npx hardhat test test/audit/history.test.ts
      if (process.env.LOCKSTEP_AUDIT_REPORT) writeFileSync(process.env.LOCKSTEP_AUDIT_REPORT, run.report);
      expect(run.result.checks.find((c) => c.kind === "manifest-hash")!.ok).to.equal(true);
    });

    it("fails, exit code 1, naming the manifest file whose hash differs from the voted one", async function () {
      const run = await runAudit({
        network: "hardhat",
        client,
        deploymentsDir: dir,
        manifests: [files.alpha, files.doctored],
        format: "csv",
      });
      expect(run.exitCode).to.equal(1);
      expect(run.result.failed).to.have.length(1);
      expect(run.summary).to.contain(`[manifest-hash] ${files.doctored}: canonical hash`);
      expect(run.summary).to.contain(`differs from the hash voted for "alpha"`);
      const row = run.report.split("\n").find((l) => l.includes("FAIL"))!;
      expect(row).to.match(new RegExp(`^check,${ids.alpha},alpha,\\d+,[^,]+,${TX.source},manifest-hash,FAIL,`));
    });

    it("starts from --from-block when given (the registry check is then left out)", async function () {
      const from = history.upgrades[1].scheduled.block;
      const run = await runAudit({
        network: "hardhat",
        client,
        deploymentsDir: dir,
        fromBlock: from.toString(),
        format: "json",
      });
      expect(run.ok).to.equal(true);
      expect(JSON.parse(run.report).upgrades.map((u: { name: string }) => u.name)).to.deep.equal(["beta", "gamma"]);
    });

    const refusals: [string, Record<string, unknown>, RegExp][] = [
      ["a missing deployment", { network: "nowhere" }, /^no Lockstep deployment for network "nowhere"/],
      [
        "the wrong network",
        { network: "elsewhere" },
        /^network "elsewhere" serves chain 31337, but its deployment is on chain 1: wrong network\?$/,
      ],
      ["a malformed manifest file", { manifests: "BROKEN" }, /^malformed manifest file .*broken\.json: not valid JSON/],
      [
        "a missing manifest file",
        { manifests: "/nonexistent/m.json" },
        /^malformed manifest file \/nonexistent\/m\.json: cannot be read$/,
      ],
      ["an unknown format", { format: "xml" }, /^--format must be one of md, json, csv, not "xml"$/],
      ["a bad block number", { fromBlock: "soon" }, /^--from-block must be a block number, not "soon"$/],
      ["a bad explorer URL", { explorer: "etherscan" }, /^--explorer must be a URL/],
    ];
    for (const [what, over, message] of refusals) {
      it(`refuses ${what} with a one-line error`, async function () {
        const o = { network: "hardhat", client, deploymentsDir: dir, ...over } as Parameters<typeof runAudit>[0];
        if (o.manifests === "BROKEN") o.manifests = files.broken;
        const error = await runAudit(o).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(error).to.be.instanceOf(AuditInputError);
        expect(error!.message).to.match(message);
        expect(error!.message).not.to.contain("\n");
      });
    }
  });

  describe("npx hardhat audit against a hardhat node", function () {
    it("prints the report and exits 0; exits 1 with one line when a check fails or the deployment is missing", async function () {
      const configArgs: string[] = [];
      const root = join(__dirname, "..", "..");
      this.timeout(180_000);
      const { startChain, deployOn } = await import("../helpers/e2e");
      const chain = await startChain();
      try {
        const sys = await deployOn(chain);
        // One validator: the deployer, with all the stake, in the default cohort (3).
        await (await sys.token.connect(sys.deployer).delegate(await sys.deployer.getAddress())).wait();
        const key = await chain.provider.getSigner(2);
        const proof = await attesterProof(sys.coordinator, sys.deployer, key);
        await (await sys.coordinator.connect(sys.deployer).register(await key.getAddress(), "ipfs://v0", proof)).wait();
        const gamma = { ...GAMMA, stages: [{ ...GAMMA.stages[0], cohort: 3 }] };
        await (await sys.coordinator.connect(sys.timelockSigner).schedule(toOnChain(gamma))).wait();
        await (await sys.coordinator.advance(1n)).wait();
        await (await sys.coordinator.connect(sys.guardian).pause(1n)).wait();
        writeDeployment(
          deploymentRecord(sys.addresses, {
            network: "auditnode",
            chainId: 31337,
            startBlock: sys.startBlock,
            guardian: await sys.guardian.getAddress(),
          }),
          dir,
        );
        const doctored = join(dir, "gamma-doctored.json");
        writeFileSync(doctored, JSON.stringify({ ...gamma, metadataURI: "ipfs://other" }));
        const env = {
          ...process.env,
          RPC_URL: chain.url,
          NETWORK: "auditnode",
          LOCKSTEP_DEPLOYMENTS_DIR: dir,
          DEPLOYER_KEY: "",
        };
        const hardhat = (args: string[], over: Record<string, string> = {}) =>
          spawnSync(join(root, "node_modules", ".bin", "hardhat"), [...configArgs, ...args], {
            cwd: root,
            env: { ...env, ...over },
            encoding: "utf8",
          });

        const ok = hardhat(["audit", "--network", "auditnode", "--format", "csv"]);
        expect(ok.status, ok.stderr).to.equal(0);
        const rows = ok.stdout
          .trim()
          .split("\n")
          .filter((l) => /^(section|upgrade|stage|event|validator|check),/.test(l));
        expect(rows[0]).to.equal("section,upgradeId,name,block,time,tx,what,result,detail");
        expect(
          rows.some((r) =>
            /^event,1,gamma,\d+,[^,]+,0x[0-9a-f]{64},UpgradePaused stage 0,Manual,.*by guardian/.test(r),
          ),
        ).to.equal(true);
        expect(ok.stdout).to.match(/audit passed: \d+ checks over 1 upgrade\(s\)/);

        const bad = hardhat(["audit", "--network", "auditnode", "--manifests", doctored]);
        expect(bad.status).to.equal(1);
        expect(bad.stderr.trim().split("\n")).to.have.length(1);
        expect(bad.stderr).to.match(
          /^lockstep: audit FAILED: 1 of \d+ checks failed; first: \[manifest-hash\] .*gamma-doctored\.json: canonical hash 0x[0-9a-f]{64} differs from the hash voted for "gamma"/,
        );

        const missing = hardhat(["audit", "--network", "auditnode"], { LOCKSTEP_DEPLOYMENTS_DIR: join(dir, "empty") });
        expect(missing.status).to.equal(1);
        expect(missing.stderr.trim().split("\n")).to.have.length(1);
        expect(missing.stderr).to.match(/^lockstep: no Lockstep deployment for network "auditnode"/);
      } finally {
        await chain.stop();
      }
    });
  });
});
