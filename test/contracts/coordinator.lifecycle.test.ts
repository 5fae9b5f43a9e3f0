// The coordinator's whole life, driven the way a network drives it: governance schedules through the Governor and
// the timelock, validators attest (directly and through relayers), anyone advances, and the automatic and manual
// stops (pause, participation deadline, rollback, withdrawal) end or hold the rollout. Every step asserts the
// events an auditor rebuilds history from and the views a watcher reads.
import { expect } from "chai";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { ethers } from "hardhat";
import { Signer, ZeroHash, id as keccakText, keccak256, toBeHex, toUtf8Bytes, zeroPadValue } from "ethers";
import {
  PauseReason,
  RollbackReason,
  StageState,
  Status,
  UpgradeState,
  SignedAttestation,
} from "../../lib/coordinator";
import { packAttestations } from "../../lib/actions/packAttestations";
import { versionTag } from "../../lib/version";
import {
  Deployed,
  STAKE,
  Validator,
  attesterProof,
  deployWithCohorts,
  fundedWallet,
  inCohorts,
  manifest,
  registerValidators,
  signAttestation,
  stageRules,
  type ManifestInput,
} from "../helpers/system";
import { MOVING_STATES, OPEN_STATES, PAUSED_STATES, SkipReason } from "../helpers/model";
import {
  VoteType,
  castVotes,
  delegateAll,
  execute,
  governCoordinator,
  mineUntilVotingEnds,
  mineUntilVotingOpens,
  proposalState,
  propose,
  queue,
  waitForEta,
} from "../helpers/governance";

const TAG = versionTag("v2.0.0");
const PREVIOUS_TAG = versionTag("v1.9.3");
const DIGEST = keccak256(toUtf8Bytes("metrics-snapshot"));
const HEIGHT = 1_000_000n;
const MAX_UINT96 = (1n << 96n) - 1n;
/** Timelock operation states (TimelockController.OperationState). */
const OPERATION_WAITING = 1n;
const OPERATION_DONE = 3n;

/** `bps` of `stake`, rounded up, as the planner turns basis points into absolute stake. */
function share(stake: bigint, bps: number): bigint {
  return (stake * BigInt(bps) + 9_999n) / 10_000n;
}

// Three cohorts of validators with unequal stakes:
//   cohort 1 (canary): A 100, B 200, C 300        = 600
//   cohort 2 (early):  D 50, E 150, F 250, G 350  = 800
//   cohort 3 (main):   H 400, I 500, J 600        = 1,500
const COHORT_STAKE = { 1: STAKE(600), 2: STAKE(800), 3: STAKE(1500) } as const;

async function deployFixture() {
  const { d, validators, domain } = await deployWithCohorts({
    1: [100, 200, 300],
    2: [50, 150, 250, 350],
    3: [400, 500, 600],
  });
  const [A, B, C, D, E, F, G, H, I, J] = validators;
  const [voterFor, voterAgainst, voterAbstain, relayer, outsider] = d.others;
  return { d, A, B, C, D, E, F, G, H, I, J, voterFor, voterAgainst, voterAbstain, relayer, outsider, domain };
}

type Ctx = Awaited<ReturnType<typeof deployFixture>>;

interface AttestOptions {
  by?: Signer;
  version?: string;
  height?: bigint;
  digest?: string;
}

/** A direct attestation from the validator's attester key (or `by`). */
function attest(d: Deployed, v: Validator, upgradeId: bigint, stage: number, status: Status, o: AttestOptions = {}) {
  return d.coordinator
    .connect(o.by ?? v.attester)
    .attest(v.operator.address, upgradeId, stage, status, o.version ?? TAG, o.height ?? HEIGHT, o.digest ?? DIGEST);
}

async function attested(
  d: Deployed,
  v: Validator,
  upgradeId: bigint,
  stage: number,
  status: Status,
  o: AttestOptions = {},
) {
  return (await (await attest(d, v, upgradeId, stage, status, o)).wait())!;
}

/** Schedules as governance (the timelock) and returns the new upgrade's id. */
async function scheduleAsGovernance(d: Deployed, m: ManifestInput): Promise<bigint> {
  await (await d.coordinator.connect(d.timelockSigner).schedule(m)).wait();
  return d.coordinator.upgradeCount();
}

/** Schedules a three-stage upgrade with default rules (no time locks, no readiness) and activates its first stage. */
async function scheduleAndActivate(ctx: Ctx, name: string, over: Partial<ManifestInput> = {}): Promise<bigint> {
  const upgradeId = await scheduleAsGovernance(ctx.d, manifest(name, [1, 2, 3], over));
  await expect(ctx.d.coordinator.advance(upgradeId)).to.emit(ctx.d.coordinator, "StageActivated");
  return upgradeId;
}

/** Moves the clock to `t` unless it is already there; the next transaction is mined after `t`. */
async function passTime(t: bigint | number) {
  if (BigInt(await time.latest()) < BigInt(t)) await time.increaseTo(t);
}

async function blockTime(receipt: { blockNumber: number }): Promise<bigint> {
  return BigInt((await ethers.provider.getBlock(receipt.blockNumber))!.timestamp);
}

type Tallies = Partial<{
  state: StageState;
  cohortStake: bigint;
  readyStake: bigint;
  readyCount: number;
  healthyStake: bigint;
  unhealthyStake: bigint;
  attestedStake: bigint;
  notBefore: bigint;
  activatedAt: bigint;
  verifiedAt: bigint;
}>;

async function expectStage(d: Deployed, upgradeId: bigint, stage: number, want: Tallies) {
  const s = await d.coordinator.getStage(upgradeId, stage);
  for (const [key, value] of Object.entries(want)) {
    expect((s as unknown as Record<string, bigint>)[key], `stage ${stage} ${key}`).to.equal(value);
  }
}

async function expectUpgrade(
  d: Deployed,
  upgradeId: bigint,
  want: Partial<{
    state: UpgradeState;
    pauseReason: PauseReason;
    currentStage: number;
    restoredStake: bigint;
    restoredCount: number;
  }>,
) {
  const u = await d.coordinator.getUpgrade(upgradeId);
  for (const [key, value] of Object.entries(want)) {
    expect((u as unknown as Record<string, bigint>)[key], `upgrade ${key}`).to.equal(value);
  }
}

let signedCount = 0n;
/** An attestation signed by `signer` (the validator's attester unless given), for the relayed path. */
async function signed(
  ctx: Ctx,
  v: Validator,
  upgradeId: bigint,
  stage: number,
  status: Status,
  o: { issuedAt?: bigint; deadline?: bigint; signer?: Signer; height?: bigint } = {},
): Promise<SignedAttestation> {
  const now = BigInt(await time.latest());
  signedCount++;
  return signAttestation(o.signer ?? v.attester, ctx.domain, {
    operator: v.operator.address,
    upgradeId,
    stage,
    status,
    version: status === Status.RolledBack ? PREVIOUS_TAG : TAG,
    height: o.height ?? HEIGHT + signedCount,
    metricsDigest: keccak256(toUtf8Bytes(`signed-metrics:${signedCount}`)),
    // One second ahead of the last block: newer than anything the validator attested so far, within the skew.
    issuedAt: o.issuedAt ?? now + 1n,
    deadline: o.deadline ?? now + 3_600n,
  });
}

/**
 * Every call that could move an ended upgrade is refused with CoordinatorUnexpectedState(id, state, expected):
 * direct attestations (given statuses), advance, both pauses, resume, rollback and withdrawal; a relayed
 * attestation is skipped (UpgradeEnded).
 */
async function expectEveryCallRefused(
  ctx: Ctx,
  upgradeId: bigint,
  state: UpgradeState,
  probe: { validator: Validator; stage: number; statuses: Status[] },
) {
  const { d, relayer } = ctx;
  const c = d.coordinator;
  for (const status of probe.statuses) {
    await expect(attest(d, probe.validator, upgradeId, probe.stage, status))
      .to.be.revertedWithCustomError(c, "CoordinatorUnexpectedState")
      .withArgs(upgradeId, state, OPEN_STATES);
  }
  // A relayed item is skipped instead, so the batch it rides in still lands.
  const item = await signed(ctx, probe.validator, upgradeId, probe.stage, probe.statuses[0]);
  const relayed = c.connect(relayer).relayAttestations(packAttestations([item]));
  await expect(relayed)
    .to.emit(c, "AttestationSkipped")
    .withArgs(upgradeId, probe.validator.operator.address, SkipReason.UpgradeEnded);
  await expect(relayed)
    .to.emit(c, "AttestationsRelayed")
    .withArgs(await relayer.getAddress(), 0n, 1n);
  // Each call names the states it would have accepted.
  const calls: [string, () => Promise<unknown>, string][] = [
    ["advance", () => c.connect(relayer).advance(upgradeId), MOVING_STATES],
    ["pauseForMissingParticipation", () => c.connect(relayer).pauseForMissingParticipation(upgradeId), MOVING_STATES],
    ["pause (guardian)", () => c.connect(d.guardian).pause(upgradeId), MOVING_STATES],
    ["pause (governance)", () => c.connect(d.timelockSigner).pause(upgradeId), MOVING_STATES],
    ["resume", () => c.connect(d.timelockSigner).resume(upgradeId), PAUSED_STATES],
    ["orderRollback (guardian)", () => c.connect(d.guardian).orderRollback(upgradeId), OPEN_STATES],
    ["withdraw", () => c.connect(d.timelockSigner).withdraw(upgradeId), OPEN_STATES],
  ];
  for (const [name, call, expected] of calls) {
    await expect(call(), name)
      .to.be.revertedWithCustomError(c, "CoordinatorUnexpectedState")
      .withArgs(upgradeId, state, expected);
  }
  expect(await c.openUpgrade()).to.equal(0n);
}

describe("UpgradeCoordinator lifecycle", function () {
  describe("governance path end to end", function () {
    it("delegates, proposes schedule(manifest), votes, queues, waits out the timelock, executes and rolls three stages out to completion", async function () {
      const ctx = await loadFixture(deployFixture);
      const { d, A, B, C, D, E, F, G, H, I, J, voterFor, voterAgainst, voterAbstain } = ctx;
      const c = d.coordinator;

      // ---- delegate
      const weights = [STAKE(30_000_000), STAKE(10_000_000), STAKE(15_000_000)];
      await delegateAll(d, [voterFor, voterAgainst, voterAbstain], weights);
      expect(await d.token.delegates(voterFor.address)).to.equal(voterFor.address);
      expect(await d.token.getVotes(voterAbstain.address)).to.equal(weights[2]);

      // ---- propose
      const m = manifest("node-v2.0.0", [1, 2, 3], {
        stages: [
          stageRules(1, { timelock: 3600, readinessBps: 5000, observationWindow: 600 }),
          stageRules(2, { timelock: 1800, readinessBps: 7500, observationWindow: 900 }),
          stageRules(3, { timelock: 0, readinessBps: 0, observationWindow: 600 }),
        ],
      });
      const calls = {
        targets: [await c.getAddress()],
        values: [0n],
        calldatas: [c.interface.encodeFunctionData("schedule", [m])],
        description: "Schedule node v2.0.0: canary, early, main",
      };
      const p = await propose(d, voterFor, calls);
      const snapshot = await d.governor.proposalSnapshot(p.proposalId);
      const deadline = await d.governor.proposalDeadline(p.proposalId);
      expect(snapshot).to.equal(BigInt(p.receipt.blockNumber) + (await d.governor.votingDelay()));
      expect(deadline).to.equal(snapshot + (await d.governor.votingPeriod()));
      await expect(p.receipt)
        .to.emit(d.governor, "ProposalCreated")
        .withArgs(
          p.proposalId,
          voterFor.address,
          calls.targets,
          calls.values,
          [""],
          calls.calldatas,
          snapshot,
          deadline,
          calls.description,
        );
      expect(await proposalState(d, p.proposalId)).to.equal("Pending");

      // ---- vote: for, against and abstain, each with a reason
      await mineUntilVotingOpens(d, p.proposalId);
      expect(await proposalState(d, p.proposalId)).to.equal("Active");
      const ballots = [
        { voter: voterFor, support: VoteType.For, reason: "canary first with a readiness gate: ship it" },
        { voter: voterAgainst, support: VoteType.Against, reason: "the early cohort soak is too short" },
        { voter: voterAbstain, support: VoteType.Abstain, reason: "no view on the release, counted for quorum" },
      ];
      const voteReceipts = await castVotes(d, p.proposalId, ballots);
      for (let i = 0; i < ballots.length; i++) {
        await expect(voteReceipts[i])
          .to.emit(d.governor, "VoteCast")
          .withArgs(
            await ballots[i].voter.getAddress(),
            p.proposalId,
            ballots[i].support,
            weights[i],
            ballots[i].reason,
          );
      }
      const [against, forVotes, abstain] = await d.governor.proposalVotes(p.proposalId);
      expect([against, forVotes, abstain]).to.deep.equal([weights[1], weights[0], weights[2]]);
      const quorum = await d.governor.quorum(snapshot);
      expect(quorum).to.equal(((await d.token.totalSupply()) * 4n) / 100n);
      // The For votes alone miss quorum; with the abstentions it is met.
      expect(forVotes).to.be.lessThan(quorum);
      expect(forVotes + abstain).to.be.greaterThanOrEqual(quorum);

      await mineUntilVotingEnds(d, p.proposalId);
      expect(await proposalState(d, p.proposalId)).to.equal("Succeeded");

      // ---- queue
      const queued = await queue(d, p);
      const eta = (await blockTime(queued)) + (await d.timelock.getMinDelay());
      await expect(queued).to.emit(d.governor, "ProposalQueued").withArgs(p.proposalId, eta);
      expect(await d.governor.proposalEta(p.proposalId)).to.equal(eta);
      expect(await proposalState(d, p.proposalId)).to.equal("Queued");
      const salt = toBeHex((BigInt(await d.governor.getAddress()) << 96n) ^ BigInt(p.descriptionHash), 32);
      const operationId = await d.timelock.hashOperationBatch(
        calls.targets,
        calls.values,
        calls.calldatas,
        ZeroHash,
        salt,
      );
      expect(await d.timelock.getOperationState(operationId)).to.equal(OPERATION_WAITING);

      // ---- the timelock holds it until its eta
      await expect(d.governor.execute(calls.targets, calls.values, calls.calldatas, p.descriptionHash))
        .to.be.revertedWithCustomError(d.timelock, "TimelockUnexpectedOperationState")
        .withArgs(operationId, zeroPadValue("0x04", 32));
      expect(await c.upgradeCount()).to.equal(0n);

      // ---- execute
      await waitForEta(d, p.proposalId);
      const executed = await execute(d, p);
      const scheduledAt = await blockTime(executed);
      const upgradeId = 1n;
      await expect(executed).to.emit(d.governor, "ProposalExecuted").withArgs(p.proposalId);
      await expect(executed)
        .to.emit(c, "UpgradeScheduled")
        .withArgs(
          upgradeId,
          keccakText(m.name as string),
          (x: { name: string; version: string; manifestHash: string; stages: unknown[] }) =>
            x.name === m.name && x.version === "v2.0.0" && x.manifestHash === m.manifestHash && x.stages.length === 3,
          BigInt(executed.blockNumber - 1),
          [COHORT_STAKE[1], COHORT_STAKE[2], COHORT_STAKE[3]],
        );
      expect(await proposalState(d, p.proposalId)).to.equal("Executed");
      expect(await d.timelock.getOperationState(operationId)).to.equal(OPERATION_DONE);

      const u = await c.getUpgrade(upgradeId);
      expect(u.id).to.equal(upgradeId);
      expect(u.state).to.equal(UpgradeState.Scheduled);
      expect(u.pauseReason).to.equal(PauseReason.None);
      expect(u.stageCount).to.equal(3);
      expect(u.currentStage).to.equal(0);
      expect(u.snapshot).to.equal(executed.blockNumber - 1);
      expect(u.scheduledAt).to.equal(scheduledAt);
      expect(u.manifestHash).to.equal(m.manifestHash);
      expect(u.versionTag).to.equal(TAG);
      expect(await c.openUpgrade()).to.equal(upgradeId);
      expect(await c.upgradeIdOf(m.name as string)).to.equal(upgradeId);

      const s0 = await c.getStage(upgradeId, 0);
      expect(s0.state).to.equal(StageState.Pending);
      expect(s0.cohortStake).to.equal(COHORT_STAKE[1]);
      expect(s0.readyNeeded).to.equal(share(COHORT_STAKE[1], 5000));
      expect(s0.healthyNeeded).to.equal(share(COHORT_STAKE[1], 6700));
      expect(s0.unhealthyLimit).to.equal(share(COHORT_STAKE[1], 3400));
      expect(s0.rollbackLimit).to.equal(MAX_UINT96);
      expect(s0.notBefore).to.equal(scheduledAt + 3600n);
      expect(s0.activatedAt).to.equal(0n);
      await expectStage(d, upgradeId, 1, { state: StageState.Pending, cohortStake: COHORT_STAKE[2], notBefore: 0n });
      await expectStage(d, upgradeId, 2, { state: StageState.Pending, cohortStake: COHORT_STAKE[3], notBefore: 0n });

      // ================================================================ stage 0: cohort 1 (A, B, C)
      await expect(c.advance(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorTimelockActive")
        .withArgs(upgradeId, 0, scheduledAt + 3600n);
      await expect(attested(d, A, upgradeId, 0, Status.Ready))
        .to.emit(c, "Attested")
        .withArgs(upgradeId, A.operator.address, 0, Status.Ready, TAG, HEIGHT, DIGEST, STAKE(100));
      await expect(attest(d, B, upgradeId, 0, Status.Healthy))
        .to.be.revertedWithCustomError(c, "CoordinatorStageNotActivated")
        .withArgs(upgradeId, 0);
      await passTime(scheduledAt + 3600n);
      await expect(c.advance(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorNotReady")
        .withArgs(upgradeId, 0, STAKE(100), STAKE(300));
      await attested(d, C, upgradeId, 0, Status.Ready);
      await expectStage(d, upgradeId, 0, { readyStake: STAKE(400), readyCount: 2, healthyStake: 0n });

      const activate0 = (await (await c.advance(upgradeId)).wait())!;
      const activated0 = await blockTime(activate0);
      await expect(activate0).to.emit(c, "StageActivated").withArgs(upgradeId, 0, 1, STAKE(400), STAKE(300));
      await expectUpgrade(d, upgradeId, { state: UpgradeState.Rolling, currentStage: 0 });
      const a0 = await c.getStage(upgradeId, 0);
      expect(a0.state).to.equal(StageState.Active);
      expect(a0.activatedAt).to.equal(activated0);
      expect(a0.observationEndsAt).to.equal(activated0 + 600n);
      expect(a0.attestationDeadlineAt).to.equal(activated0 + 3600n);
      await expect(attest(d, B, upgradeId, 0, Status.Ready))
        .to.be.revertedWithCustomError(c, "CoordinatorStageNotPending")
        .withArgs(upgradeId, 0);

      await expect(attested(d, B, upgradeId, 0, Status.Healthy, { height: HEIGHT + 7n }))
        .to.emit(c, "Attested")
        .withArgs(upgradeId, B.operator.address, 0, Status.Healthy, TAG, HEIGHT + 7n, DIGEST, STAKE(200));
      await expect(attested(d, A, upgradeId, 0, Status.Unhealthy))
        .to.emit(c, "Attested")
        .withArgs(upgradeId, A.operator.address, 0, Status.Unhealthy, TAG, HEIGHT, DIGEST, STAKE(100));
      await expectStage(d, upgradeId, 0, {
        readyStake: STAKE(400),
        healthyStake: STAKE(200),
        unhealthyStake: STAKE(100),
        attestedStake: STAKE(300),
        cohortStake: COHORT_STAKE[1],
      });
      await expect(c.advance(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorObservationActive")
        .withArgs(upgradeId, 0, activated0 + 600n);
      await passTime(activated0 + 600n);
      await expect(c.advance(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorBelowThreshold")
        .withArgs(upgradeId, 0, STAKE(200), STAKE(402));
      await attested(d, C, upgradeId, 0, Status.Healthy);
      await expectStage(d, upgradeId, 0, {
        healthyStake: STAKE(500),
        unhealthyStake: STAKE(100),
        attestedStake: STAKE(600),
      });

      const verify0 = (await (await c.advance(upgradeId)).wait())!;
      const verified0 = await blockTime(verify0);
      await expect(verify0).to.emit(c, "StageVerified").withArgs(upgradeId, 0, STAKE(500), STAKE(402), STAKE(100));
      await expect(verify0).not.to.emit(c, "StageActivated");
      await expectStage(d, upgradeId, 0, { state: StageState.Verified, verifiedAt: verified0 });
      await expectUpgrade(d, upgradeId, { state: UpgradeState.Rolling, currentStage: 1 });
      await expectStage(d, upgradeId, 1, { state: StageState.Pending, notBefore: verified0 + 1800n, activatedAt: 0n });

      // ================================================================ stage 1: cohort 2 (D, E, F, G)
      await attested(d, F, upgradeId, 1, Status.Ready);
      await attested(d, G, upgradeId, 1, Status.Ready);
      await expectStage(d, upgradeId, 1, { readyStake: STAKE(600), readyCount: 2 });
      await expect(c.advance(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorTimelockActive")
        .withArgs(upgradeId, 1, verified0 + 1800n);
      await passTime(verified0 + 1800n);
      const activate1 = (await (await c.advance(upgradeId)).wait())!;
      const activated1 = await blockTime(activate1);
      await expect(activate1).to.emit(c, "StageActivated").withArgs(upgradeId, 1, 2, STAKE(600), STAKE(600));
      await expectStage(d, upgradeId, 1, { state: StageState.Active, activatedAt: activated1 });
      for (const v of [D, E, F, G]) await attested(d, v, upgradeId, 1, Status.Healthy);
      await expectStage(d, upgradeId, 1, { healthyStake: STAKE(800), unhealthyStake: 0n, attestedStake: STAKE(800) });
      await expect(c.advance(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorObservationActive")
        .withArgs(upgradeId, 1, activated1 + 900n);
      await passTime(activated1 + 900n);

      // The last stage has no time lock and no readiness gate: it activates in the call that verifies stage 1.
      const verify1 = (await (await c.advance(upgradeId)).wait())!;
      const verified1 = await blockTime(verify1);
      await expect(verify1).to.emit(c, "StageVerified").withArgs(upgradeId, 1, STAKE(800), STAKE(536), 0n);
      await expect(verify1).to.emit(c, "StageActivated").withArgs(upgradeId, 2, 3, 0n, 0n);
      await expectStage(d, upgradeId, 1, { state: StageState.Verified, verifiedAt: verified1 });
      await expectStage(d, upgradeId, 2, { state: StageState.Active, notBefore: verified1, activatedAt: verified1 });
      await expectUpgrade(d, upgradeId, { state: UpgradeState.Rolling, currentStage: 2 });

      // ================================================================ stage 2: cohort 3 (H, I, J)
      await expect(attest(d, H, upgradeId, 2, Status.Ready))
        .to.be.revertedWithCustomError(c, "CoordinatorStageNotPending")
        .withArgs(upgradeId, 2);
      await attested(d, H, upgradeId, 2, Status.Healthy);
      await attested(d, J, upgradeId, 2, Status.Healthy);
      await passTime(verified1 + 600n);
      await expect(c.advance(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorBelowThreshold")
        .withArgs(upgradeId, 2, STAKE(1000), STAKE(1005));
      const lastAttestation = await attested(d, I, upgradeId, 2, Status.Healthy, { height: HEIGHT + 99n });
      await expectStage(d, upgradeId, 2, { healthyStake: STAKE(1500), attestedStake: STAKE(1500) });

      const complete = (await (await c.advance(upgradeId)).wait())!;
      await expect(complete).to.emit(c, "StageVerified").withArgs(upgradeId, 2, STAKE(1500), STAKE(1005), 0n);
      await expect(complete).to.emit(c, "UpgradeCompleted").withArgs(upgradeId, 3);
      const done = await c.getUpgrade(upgradeId);
      expect(done.state).to.equal(UpgradeState.Completed);
      expect(done.endedAt).to.equal(await blockTime(complete));
      expect(done.currentStage).to.equal(2);
      expect(await c.openUpgrade()).to.equal(0n);
      await expectStage(d, upgradeId, 2, { state: StageState.Verified, verifiedAt: await blockTime(complete) });

      const assignment = await c.getAssignment(upgradeId, I.operator.address);
      expect(assignment.operator).to.equal(I.operator.address);
      expect(assignment.attester).to.equal(I.attester.address);
      expect(assignment.inRoster).to.equal(true);
      expect(assignment.cohort).to.equal(3);
      expect(assignment.stage).to.equal(2);
      expect(assignment.weight).to.equal(STAKE(500));
      expect(assignment.lastUpgradeId).to.equal(upgradeId);
      expect(assignment.lastStage).to.equal(2);
      expect(assignment.lastStatus).to.equal(Status.Healthy);
      expect(assignment.lastAttestedAt).to.equal(await blockTime(lastAttestation));

      // Completed is terminal.
      await expectEveryCallRefused(ctx, upgradeId, UpgradeState.Completed, {
        validator: J,
        stage: 2,
        statuses: [Status.Healthy, Status.Unhealthy, Status.RolledBack],
      });
    });
  });

  describe("automatic pause on unhealthy stake", function () {
    it("pauses when the unhealthy limit is reached, holds advance until governance resumes, then advances once healthy", async function () {
      const ctx = await loadFixture(deployFixture);
      const { d, A, B, C, voterFor } = ctx;
      const c = d.coordinator;
      const upgradeId = await scheduleAndActivate(ctx, "auto-pause");
      const limit = share(COHORT_STAKE[1], 3400); // 204
      await expectStage(d, upgradeId, 0, { state: StageState.Active });
      expect((await c.getStage(upgradeId, 0)).unhealthyLimit).to.equal(limit);

      await attested(d, C, upgradeId, 0, Status.Healthy);
      await expect(attested(d, A, upgradeId, 0, Status.Unhealthy)).not.to.emit(c, "UpgradePaused");
      // 100 + 200 = 300 >= 204: paused in the same transaction, naming the stage and its tallies.
      const crossing = await attested(d, B, upgradeId, 0, Status.FailedToUpgrade);
      await expect(crossing)
        .to.emit(c, "UpgradePaused")
        .withArgs(upgradeId, B.attester.address, PauseReason.UnhealthyThreshold, 0, STAKE(300), STAKE(300));
      await expectUpgrade(d, upgradeId, { state: UpgradeState.Paused, pauseReason: PauseReason.UnhealthyThreshold });
      expect((await c.getUpgrade(upgradeId)).pausedAt).to.equal(await blockTime(crossing));
      await expectStage(d, upgradeId, 0, {
        healthyStake: STAKE(300),
        unhealthyStake: STAKE(300),
        attestedStake: STAKE(600),
      });

      await passTime((await c.getStage(upgradeId, 0)).observationEndsAt);
      await expect(c.advance(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorUnexpectedState")
        .withArgs(upgradeId, UpgradeState.Paused, MOVING_STATES);

      // Attestations still count while paused; another not-healthy one does not pause twice.
      await expect(attested(d, A, upgradeId, 0, Status.RolledBack)).not.to.emit(c, "UpgradePaused");
      await attested(d, A, upgradeId, 0, Status.Healthy);
      await attested(d, B, upgradeId, 0, Status.Healthy);
      await expectStage(d, upgradeId, 0, { healthyStake: STAKE(600), unhealthyStake: 0n, attestedStake: STAKE(600) });
      await expectUpgrade(d, upgradeId, { state: UpgradeState.Paused });

      // Governance resumes through a real vote.
      await delegateAll(d, [voterFor], STAKE(50_000_000));
      const resumed = await governCoordinator(
        d,
        [{ voter: voterFor, support: VoteType.For }],
        "resume",
        [upgradeId],
        "Resume auto-pause: cohort 1 recovered",
      );
      await expect(resumed.receipts.execute)
        .to.emit(c, "UpgradeResumed")
        .withArgs(upgradeId, await d.timelock.getAddress(), 0);
      await expectUpgrade(d, upgradeId, { state: UpgradeState.Rolling, pauseReason: PauseReason.None });
      expect((await c.getUpgrade(upgradeId)).pausedAt).to.equal(0n);

      await expect(c.advance(upgradeId)).to.emit(c, "StageVerified").withArgs(upgradeId, 0, STAKE(600), STAKE(402), 0n);
      await expectUpgrade(d, upgradeId, { currentStage: 1 });
    });

    it("refuses to advance a resumed stage whose unhealthy stake is still at its limit", async function () {
      const ctx = await loadFixture(deployFixture);
      const { d, A, B, C } = ctx;
      const c = d.coordinator;
      const upgradeId = await scheduleAndActivate(ctx, "still-unhealthy", {
        stages: [stageRules(1, { healthyBps: 5000, unhealthyBps: 3400 }), stageRules(2), stageRules(3)],
      });
      await attested(d, C, upgradeId, 0, Status.Healthy);
      await attested(d, A, upgradeId, 0, Status.Unhealthy);
      await expect(attested(d, B, upgradeId, 0, Status.Unhealthy)).to.emit(c, "UpgradePaused");
      await (await c.connect(d.timelockSigner).resume(upgradeId)).wait();
      await passTime((await c.getStage(upgradeId, 0)).observationEndsAt);
      // Healthy 300 meets the 300 needed, but unhealthy 300 is over the 204 limit.
      await expect(c.advance(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorUnhealthy")
        .withArgs(upgradeId, 0, STAKE(300), STAKE(204));
    });

    it("pauses when a verified earlier stage turns unhealthy during a later stage, naming the earlier stage", async function () {
      const ctx = await loadFixture(deployFixture);
      const { d, A, B, C, D, G } = ctx;
      const c = d.coordinator;
      const upgradeId = await scheduleAndActivate(ctx, "earlier-stage");
      for (const v of [A, B, C]) await attested(d, v, upgradeId, 0, Status.Healthy);
      await passTime((await c.getStage(upgradeId, 0)).observationEndsAt);
      const verify = (await (await c.advance(upgradeId)).wait())!;
      // Stage 1 has no time lock and no readiness gate: it activates with the verification.
      await expect(verify).to.emit(c, "StageActivated").withArgs(upgradeId, 1, 2, 0n, 0n);
      await attested(d, G, upgradeId, 1, Status.Healthy);
      await attested(d, D, upgradeId, 1, Status.Unhealthy);

      // C (cohort 1, 300 >= 204) reports its upgraded node unhealthy while stage 1 is current.
      await expect(attested(d, C, upgradeId, 0, Status.Unhealthy))
        .to.emit(c, "UpgradePaused")
        .withArgs(upgradeId, C.attester.address, PauseReason.UnhealthyThreshold, 0, STAKE(300), STAKE(300));
      await expectUpgrade(d, upgradeId, {
        state: UpgradeState.Paused,
        pauseReason: PauseReason.UnhealthyThreshold,
        currentStage: 1,
      });
      await expectStage(d, upgradeId, 0, {
        state: StageState.Verified,
        healthyStake: STAKE(300),
        unhealthyStake: STAKE(300),
      });
      await expectStage(d, upgradeId, 1, { healthyStake: STAKE(350), unhealthyStake: STAKE(50) });
      await expect(c.advance(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorUnexpectedState")
        .withArgs(upgradeId, UpgradeState.Paused, MOVING_STATES);
    });
  });

  describe("participation deadline", function () {
    it("lets anyone pause a stage below its healthy threshold after its deadline, and refuses once the threshold is met", async function () {
      const ctx = await loadFixture(deployFixture);
      const { d, A, B, C, outsider } = ctx;
      const c = d.coordinator;
      const upgradeId = await scheduleAsGovernance(d, manifest("participation", [1, 2, 3]));
      await expect(c.connect(outsider).pauseForMissingParticipation(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorNoActiveStage")
        .withArgs(upgradeId);

      const activation = (await (await c.advance(upgradeId)).wait())!;
      const deadlineAt = (await blockTime(activation)) + 3600n;
      expect((await c.getStage(upgradeId, 0)).attestationDeadlineAt).to.equal(deadlineAt);
      await expect(c.connect(outsider).pauseForMissingParticipation(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorDeadlineNotPassed")
        .withArgs(upgradeId, 0, deadlineAt);
      await attested(d, A, upgradeId, 0, Status.Healthy);

      // At the deadline itself it is still too early.
      await time.setNextBlockTimestamp(deadlineAt);
      await expect(c.connect(outsider).pauseForMissingParticipation(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorDeadlineNotPassed")
        .withArgs(upgradeId, 0, deadlineAt);

      const pausing = c.connect(outsider).pauseForMissingParticipation(upgradeId);
      await expect(pausing)
        .to.emit(c, "UpgradePaused")
        .withArgs(upgradeId, outsider.address, PauseReason.ParticipationDeadline, 0, STAKE(100), 0n);
      await expectUpgrade(d, upgradeId, { state: UpgradeState.Paused, pauseReason: PauseReason.ParticipationDeadline });
      await expect(c.connect(outsider).pauseForMissingParticipation(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorUnexpectedState")
        .withArgs(upgradeId, UpgradeState.Paused, MOVING_STATES);
      await expect(c.advance(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorUnexpectedState")
        .withArgs(upgradeId, UpgradeState.Paused, MOVING_STATES);

      // The missing validators report while paused; governance resumes; the threshold is met now.
      await attested(d, B, upgradeId, 0, Status.Healthy);
      await attested(d, C, upgradeId, 0, Status.Healthy);
      const resuming = await c.connect(d.timelockSigner).resume(upgradeId);
      await expect(resuming)
        .to.emit(c, "UpgradeResumed")
        .withArgs(upgradeId, await d.timelock.getAddress(), 0);
      // A resume gives the cohort a fresh attestation deadline, counted from the resume.
      const resumedAt = (await ethers.provider.getBlock(resuming.blockNumber!))!.timestamp;
      const freshDeadline = BigInt(resumedAt) + (await c.getStage(upgradeId, 0)).rules.attestationDeadline;
      await expect(c.connect(outsider).pauseForMissingParticipation(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorDeadlineNotPassed")
        .withArgs(upgradeId, 0, freshDeadline);
      await time.increaseTo(freshDeadline + 1n);
      await expect(c.connect(outsider).pauseForMissingParticipation(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorParticipationMet")
        .withArgs(upgradeId, 0, STAKE(600), STAKE(402));
      await expect(c.advance(upgradeId)).to.emit(c, "StageVerified").withArgs(upgradeId, 0, STAKE(600), STAKE(402), 0n);
    });
  });

  describe("automatic rollback", function () {
    it("orders rollback when the rollback limit is reached (even while paused), then counts RolledBack attestations once and refuses everything else", async function () {
      const ctx = await loadFixture(deployFixture);
      const { d, A, B, C, D, relayer } = ctx;
      const c = d.coordinator;
      // Cohort 1: unhealthy limit ceil(600 * 10%) = 60, rollback limit ceil(600 * 50%) = 300.
      const upgradeId = await scheduleAndActivate(ctx, "auto-rollback", {
        stages: [stageRules(1, { unhealthyBps: 1000, rollbackBps: 5000 }), stageRules(2), stageRules(3)],
      });
      const s0 = await c.getStage(upgradeId, 0);
      expect(s0.unhealthyLimit).to.equal(STAKE(60));
      expect(s0.rollbackLimit).to.equal(STAKE(300));

      await attested(d, C, upgradeId, 0, Status.Healthy);
      const paused = await attested(d, A, upgradeId, 0, Status.FailedToUpgrade);
      await expect(paused)
        .to.emit(c, "UpgradePaused")
        .withArgs(upgradeId, A.attester.address, PauseReason.UnhealthyThreshold, 0, STAKE(300), STAKE(100));
      await expect(paused).not.to.emit(c, "RollbackOrdered");

      const ordered = await attested(d, B, upgradeId, 0, Status.Unhealthy);
      await expect(ordered)
        .to.emit(c, "RollbackOrdered")
        .withArgs(upgradeId, B.attester.address, RollbackReason.AutomaticThreshold, 0, STAKE(300));
      await expect(ordered).not.to.emit(c, "UpgradePaused");
      const u = await c.getUpgrade(upgradeId);
      expect(u.state).to.equal(UpgradeState.RolledBack);
      expect(u.endedAt).to.equal(await blockTime(ordered));
      expect(u.restoredStake).to.equal(0n);
      expect(await c.openUpgrade()).to.equal(0n);
      await expectStage(d, upgradeId, 0, {
        healthyStake: STAKE(300),
        unhealthyStake: STAKE(300),
        attestedStake: STAKE(600),
      });

      // RolledBack attestations count in the restored tally, once per validator; the stage tallies stay frozen.
      await expect(attested(d, C, upgradeId, 0, Status.RolledBack, { version: PREVIOUS_TAG }))
        .to.emit(c, "Attested")
        .withArgs(upgradeId, C.operator.address, 0, Status.RolledBack, PREVIOUS_TAG, HEIGHT, DIGEST, STAKE(300));
      await expectUpgrade(d, upgradeId, { restoredStake: STAKE(300), restoredCount: 1 });
      await attested(d, C, upgradeId, 0, Status.RolledBack, { version: PREVIOUS_TAG });
      await expectUpgrade(d, upgradeId, { restoredStake: STAKE(300), restoredCount: 1 });
      const relayedRestore = await signed(ctx, A, upgradeId, 0, Status.RolledBack);
      await expect(c.connect(relayer).relayAttestations(packAttestations([relayedRestore])))
        .to.emit(c, "Attested")
        .withArgs(
          upgradeId,
          A.operator.address,
          0,
          Status.RolledBack,
          PREVIOUS_TAG,
          relayedRestore.attestation.height,
          relayedRestore.attestation.metricsDigest,
          STAKE(100),
        );
      await expectUpgrade(d, upgradeId, {
        state: UpgradeState.RolledBack,
        restoredStake: STAKE(400),
        restoredCount: 2,
      });
      await expectStage(d, upgradeId, 0, {
        healthyStake: STAKE(300),
        unhealthyStake: STAKE(300),
        attestedStake: STAKE(600),
      });

      // A cohort whose stage never activated never upgraded: nothing to restore.
      await expect(attest(d, D, upgradeId, 1, Status.RolledBack))
        .to.be.revertedWithCustomError(c, "CoordinatorStageNotActivated")
        .withArgs(upgradeId, 1);
      await expectEveryCallRefused(ctx, upgradeId, UpgradeState.RolledBack, {
        validator: B,
        stage: 0,
        statuses: [Status.Healthy, Status.Unhealthy, Status.FailedToUpgrade, Status.Ready],
      });
      await expectEveryCallRefused(ctx, upgradeId, UpgradeState.RolledBack, {
        validator: D,
        stage: 1,
        statuses: [Status.Ready],
      });

      // The network can move on: the next upgrade is scheduled.
      await expect(c.connect(d.timelockSigner).schedule(manifest("after-rollback", [1, 2, 3])))
        .to.emit(c, "UpgradeScheduled")
        .withArgs(2n, keccakText("after-rollback"), anyValue, anyValue, [
          COHORT_STAKE[1],
          COHORT_STAKE[2],
          COHORT_STAKE[3],
        ]);
      expect(await c.openUpgrade()).to.equal(2n);
    });

    // A validator's single record names the upgrade it last attested. Were RolledBack reports still accepted by an
    // old upgrade once a newer one is scheduled, the record would alternate between the two and the validator's
    // next attestation in the open upgrade would count as a first one again.
    it("refuses restorations to a rolled-back upgrade once a newer one is scheduled, so no validator counts twice", async function () {
      const ctx = await loadFixture(deployFixture);
      const { d, A, B, C } = ctx;
      const c = d.coordinator;
      const oldId = await scheduleAndActivate(ctx, "old", {
        stages: [stageRules(1, { unhealthyBps: 1000, rollbackBps: 1000 }), stageRules(2), stageRules(3)],
      });
      await expect(attested(d, B, oldId, 0, Status.Unhealthy)).to.emit(c, "RollbackOrdered");
      await attested(d, C, oldId, 0, Status.RolledBack, { version: PREVIOUS_TAG });
      await expectUpgrade(d, oldId, { restoredStake: STAKE(300), restoredCount: 1 });

      const newId = await scheduleAndActivate(ctx, "new");
      await attested(d, C, newId, 0, Status.Healthy);
      await attested(d, A, newId, 0, Status.Healthy);
      await expectStage(d, newId, 0, { healthyStake: STAKE(400) });

      // C repeats its (already counted) rollback report to the old upgrade: refused now that a newer one exists.
      await expect(attested(d, C, oldId, 0, Status.RolledBack, { version: PREVIOUS_TAG }))
        .to.be.revertedWithCustomError(c, "CoordinatorUnexpectedState")
        .withArgs(oldId, UpgradeState.RolledBack, OPEN_STATES);
      await attested(d, C, newId, 0, Status.Healthy);

      const old = await c.getUpgrade(oldId);
      const current = await c.getStage(newId, 0);
      expect({
        oldRestoredStake: old.restoredStake,
        oldRestoredCount: old.restoredCount,
        newHealthyStake: current.healthyStake,
        newAttestedStake: current.attestedStake,
      }).to.deep.equal({
        oldRestoredStake: STAKE(300), // C counted once
        oldRestoredCount: 1n,
        newHealthyStake: STAKE(400), // A 100 + C 300
        newAttestedStake: STAKE(400),
      });
    });
  });

  describe("snapshot isolation", function () {
    it("keeps weights, cohort stakes, membership and tallies as they were at the snapshot whatever moves afterwards", async function () {
      const ctx = await loadFixture(deployFixture);
      const { d, A, B, C, D, E, G, H, outsider } = ctx;
      const c = d.coordinator;
      const upgradeId = await scheduleAsGovernance(d, manifest("isolation", [1, 2, 3]));
      const snapshot = (await c.getUpgrade(upgradeId)).snapshot;

      // ---- stake and membership move after the snapshot
      await (await d.token.connect(A.operator).transfer(outsider.address, STAKE(60))).wait(); // A: 100 -> 40
      await (await d.token.connect(D.operator).delegate(G.operator.address)).wait(); // D 50 -> 0, G 350 -> 400
      await (await d.token.connect(d.deployer).transfer(H.operator.address, STAKE(1000))).wait(); // H: 400 -> 1,400
      const [N] = await registerValidators(d, inCohorts({ 3: [700] }), "late"); // new, cohort 3
      await expect(c.connect(d.timelockSigner).setCohort(B.operator.address, 2))
        .to.emit(c, "CohortAssigned")
        .withArgs(B.operator.address, 1, 2);
      await expect(c.connect(E.operator).deregister())
        .to.emit(c, "ValidatorDeregistered")
        .withArgs(E.operator.address, 2);
      await mine(1);

      // They did move, now...
      expect(await d.token.getVotes(A.operator.address)).to.equal(STAKE(40));
      expect(await d.token.getVotes(G.operator.address)).to.equal(STAKE(400));
      expect(await d.token.getCohortStake(1)).to.equal(STAKE(340)); // 600 - 60 - B's 200
      expect(await d.token.getCohortStake(2)).to.equal(STAKE(850)); // 800 + B's 200 - E's 150
      expect(await d.token.getCohortStake(3)).to.equal(STAKE(3200)); // 1,500 + 1,000 + N's 700
      expect((await c.getValidator(B.operator.address)).cohort).to.equal(2);

      // ...but not in the rollout.
      const expectFrozenDenominators = async () => {
        await expectStage(d, upgradeId, 0, { cohortStake: COHORT_STAKE[1] });
        await expectStage(d, upgradeId, 1, { cohortStake: COHORT_STAKE[2] });
        await expectStage(d, upgradeId, 2, { cohortStake: COHORT_STAKE[3] });
        expect((await c.getStage(upgradeId, 0)).healthyNeeded).to.equal(STAKE(402));
        expect((await c.getStage(upgradeId, 1)).healthyNeeded).to.equal(STAKE(536));
        expect((await c.getStage(upgradeId, 2)).healthyNeeded).to.equal(STAKE(1005));
        expect((await c.getUpgrade(upgradeId)).snapshot).to.equal(snapshot);
      };
      await expectFrozenDenominators();
      const expected: [Validator, boolean, number, number, bigint][] = [
        [A, true, 1, 0, STAKE(100)],
        [B, true, 1, 0, STAKE(200)],
        [D, true, 2, 1, STAKE(50)],
        [G, true, 2, 1, STAKE(350)],
        [E, true, 2, 1, STAKE(150)],
        [H, true, 3, 2, STAKE(400)],
        [N, false, 0, 0, 0n],
      ];
      for (const [v, inRoster, cohort, stage, weight] of expected) {
        const a = await c.getAssignment(upgradeId, v.operator.address);
        expect(a.inRoster, `${v.operator.address} inRoster`).to.equal(inRoster);
        expect(a.cohort).to.equal(cohort);
        expect(a.stage).to.equal(stage);
        expect(a.weight).to.equal(weight);
      }

      // ---- attestations carry the snapshot weights
      await expect(attested(d, D, upgradeId, 1, Status.Ready))
        .to.emit(c, "Attested")
        .withArgs(upgradeId, D.operator.address, 1, Status.Ready, TAG, HEIGHT, DIGEST, STAKE(50));
      await expect(attested(d, G, upgradeId, 1, Status.Ready))
        .to.emit(c, "Attested")
        .withArgs(upgradeId, G.operator.address, 1, Status.Ready, TAG, HEIGHT, DIGEST, STAKE(350));
      await expect(attested(d, H, upgradeId, 2, Status.Ready))
        .to.emit(c, "Attested")
        .withArgs(upgradeId, H.operator.address, 2, Status.Ready, TAG, HEIGHT, DIGEST, STAKE(400));
      await (await c.advance(upgradeId)).wait();
      await expect(attested(d, A, upgradeId, 0, Status.Healthy))
        .to.emit(c, "Attested")
        .withArgs(upgradeId, A.operator.address, 0, Status.Healthy, TAG, HEIGHT, DIGEST, STAKE(100));
      // B moved to cohort 2 after the snapshot: it still belongs to stage 0 of this rollout, and only to it.
      await expect(attested(d, B, upgradeId, 0, Status.Unhealthy))
        .to.emit(c, "Attested")
        .withArgs(upgradeId, B.operator.address, 0, Status.Unhealthy, TAG, HEIGHT, DIGEST, STAKE(200));
      await expect(attest(d, B, upgradeId, 1, Status.Ready))
        .to.be.revertedWithCustomError(c, "CoordinatorNotInCohort")
        .withArgs(B.operator.address, 1, 2);
      // Registered after the snapshot: in no cohort of this rollout.
      await expect(attest(d, N, upgradeId, 2, Status.Ready))
        .to.be.revertedWithCustomError(c, "CoordinatorNotInCohort")
        .withArgs(N.operator.address, 0, 3);
      // Deregistered: its attester is gone, though its snapshot weight is still on record.
      await expect(attest(d, E, upgradeId, 1, Status.Ready))
        .to.be.revertedWithCustomError(c, "CoordinatorNotAttester")
        .withArgs(E.operator.address, E.attester.address);

      const tallies = {
        0: { healthyStake: STAKE(100), unhealthyStake: STAKE(200), attestedStake: STAKE(300), readyStake: 0n },
        1: { readyStake: STAKE(400), readyCount: 2, healthyStake: 0n },
        2: { readyStake: STAKE(400), readyCount: 1, healthyStake: 0n },
      };
      for (const [stage, want] of Object.entries(tallies)) await expectStage(d, upgradeId, Number(stage), want);

      // ---- more moves after the attestations change no tally either
      await (await d.token.connect(C.operator).transfer(outsider.address, STAKE(300))).wait();
      await (await d.token.connect(G.operator).delegate(H.operator.address)).wait();
      await (await c.connect(d.timelockSigner).setCohort(A.operator.address, 3)).wait();
      await (await d.token.connect(d.deployer).transfer(A.operator.address, STAKE(5000))).wait();
      await expectFrozenDenominators();
      for (const [stage, want] of Object.entries(tallies)) await expectStage(d, upgradeId, Number(stage), want);
      await expect(attested(d, A, upgradeId, 0, Status.Healthy))
        .to.emit(c, "Attested")
        .withArgs(upgradeId, A.operator.address, 0, Status.Healthy, TAG, HEIGHT, DIGEST, STAKE(100));
      await expectStage(d, upgradeId, 0, tallies[0]);
    });
  });

  describe("one validator counts once", function () {
    it("moves a validator's stake between tallies across attester rotation, deregistration and re-registration, never adding it twice", async function () {
      const ctx = await loadFixture(deployFixture);
      const { d, A, C, D } = ctx;
      const c = d.coordinator;
      const upgradeId = await scheduleAndActivate(ctx, "counts-once");
      await attested(d, C, upgradeId, 0, Status.Healthy);

      await attested(d, A, upgradeId, 0, Status.Healthy);
      await expectStage(d, upgradeId, 0, { healthyStake: STAKE(400), unhealthyStake: 0n, attestedStake: STAKE(400) });

      // Rotation: the new key speaks for the same record.
      const rotated = await fundedWallet("counts-once:A:rotated");
      await expect(c.connect(A.operator).rotateAttester(rotated.address, await attesterProof(c, A.operator, rotated)))
        .to.emit(c, "AttesterRotated")
        .withArgs(A.operator.address, A.attester.address, rotated.address);
      await expect(attested(d, A, upgradeId, 0, Status.Unhealthy, { by: rotated }))
        .to.emit(c, "Attested")
        .withArgs(upgradeId, A.operator.address, 0, Status.Unhealthy, TAG, HEIGHT, DIGEST, STAKE(100));
      await expectStage(d, upgradeId, 0, {
        healthyStake: STAKE(300),
        unhealthyStake: STAKE(100),
        attestedStake: STAKE(400),
      });
      await expect(attest(d, A, upgradeId, 0, Status.Healthy))
        .to.be.revertedWithCustomError(c, "CoordinatorNotAttester")
        .withArgs(A.operator.address, A.attester.address);

      // Deregistration clears the key; re-registration with a third key keeps the one record.
      await (await c.connect(A.operator).deregister()).wait();
      await expect(attest(d, A, upgradeId, 0, Status.Healthy, { by: rotated }))
        .to.be.revertedWithCustomError(c, "CoordinatorNotAttester")
        .withArgs(A.operator.address, rotated.address);
      await expectStage(d, upgradeId, 0, { healthyStake: STAKE(300), unhealthyStake: STAKE(100) });
      const third = await fundedWallet("counts-once:A:third");
      const proof = await attesterProof(c, A.operator, third);
      await (await c.connect(A.operator).register(third.address, "ipfs://validator/A-again", proof)).wait();
      await expect(attested(d, A, upgradeId, 0, Status.Healthy, { by: third }))
        .to.emit(c, "Attested")
        .withArgs(upgradeId, A.operator.address, 0, Status.Healthy, TAG, HEIGHT, DIGEST, STAKE(100));
      await expectStage(d, upgradeId, 0, { healthyStake: STAKE(400), unhealthyStake: 0n, attestedStake: STAKE(400) });
      const a = await c.getAssignment(upgradeId, A.operator.address);
      expect(a.attester).to.equal(third.address);
      expect(a.lastStatus).to.equal(Status.Healthy);
      expect(a.weight).to.equal(STAKE(100));

      // Repeating the same statement changes nothing; switching between not-healthy statuses neither.
      for (let i = 0; i < 3; i++)
        await attested(d, A, upgradeId, 0, Status.Healthy, { by: third, height: HEIGHT + BigInt(i) });
      await expectStage(d, upgradeId, 0, { healthyStake: STAKE(400), unhealthyStake: 0n, attestedStake: STAKE(400) });
      for (const status of [Status.Unhealthy, Status.FailedToUpgrade, Status.RolledBack, Status.Unhealthy]) {
        await attested(d, A, upgradeId, 0, status, { by: third });
      }
      await expectStage(d, upgradeId, 0, {
        healthyStake: STAKE(300),
        unhealthyStake: STAKE(100),
        attestedStake: STAKE(400),
      });

      // Readiness counts once too.
      await attested(d, D, upgradeId, 1, Status.Ready);
      await attested(d, D, upgradeId, 1, Status.Ready);
      await expectStage(d, upgradeId, 1, { readyStake: STAKE(50), readyCount: 1 });
    });
  });

  describe("signed attestations relayed in a batch", function () {
    it("counts a relayed batch exactly like the same attestations sent directly", async function () {
      const ctx = await loadFixture(deployFixture);
      const { d, A, B, C, relayer } = ctx;
      const c = d.coordinator;
      const upgradeId = await scheduleAndActivate(ctx, "relayed");
      const plan: [Validator, Status][] = [
        [A, Status.Unhealthy],
        [B, Status.Healthy],
        [C, Status.Healthy],
      ];
      const items = [];
      for (const [v, status] of plan) items.push(await signed(ctx, v, upgradeId, 0, status));

      const tx = await c.connect(relayer).relayAttestations(packAttestations(items));
      for (const { attestation: a } of items) {
        await expect(tx)
          .to.emit(c, "Attested")
          .withArgs(
            upgradeId,
            a.operator,
            0,
            a.status,
            a.version,
            a.height,
            a.metricsDigest,
            (await c.getAssignment(upgradeId, a.operator)).weight,
          );
      }
      const relayedView = await c.getStage(upgradeId, 0);
      expect(relayedView.healthyStake).to.equal(STAKE(500));
      expect(relayedView.unhealthyStake).to.equal(STAKE(100));
      expect(relayedView.attestedStake).to.equal(STAKE(600));
      expect((await c.getAssignment(upgradeId, A.operator.address)).lastAttestedAt).to.equal(
        items[0].attestation.issuedAt,
      );

      // The same statements sent directly, from a fresh copy of the same rollout, give the same tallies.
      const again = await loadFixture(deployFixture);
      const directId = await scheduleAndActivate(again, "relayed");
      for (const [v, status] of plan) await attested(again.d, v, directId, 0, status);
      const directView = await again.d.coordinator.getStage(directId, 0);
      for (const key of ["healthyStake", "unhealthyStake", "attestedStake", "readyStake", "cohortStake"] as const) {
        expect(relayedView[key], key).to.equal(directView[key]);
      }
    });

    describe("reverts", function () {
      describe("on relayAttestations (an item the state refuses is skipped; the batch lands)", function () {
        it("when the same batch is relayed again", async function () {
          const ctx = await loadFixture(deployFixture);
          const { d, A, B, relayer } = ctx;
          const c = d.coordinator;
          const upgradeId = await scheduleAndActivate(ctx, "replay");
          const items = [
            await signed(ctx, A, upgradeId, 0, Status.Healthy),
            await signed(ctx, B, upgradeId, 0, Status.Healthy),
          ];
          const batch = packAttestations(items);
          await (await c.connect(relayer).relayAttestations(batch)).wait();
          const again = c.connect(relayer).relayAttestations(batch);
          await expect(again)
            .to.emit(c, "AttestationSkipped")
            .withArgs(upgradeId, A.operator.address, SkipReason.Stale);
          await expect(again)
            .to.emit(c, "AttestationSkipped")
            .withArgs(upgradeId, B.operator.address, SkipReason.Stale);
          await expect(again).to.emit(c, "AttestationsRelayed").withArgs(relayer.address, 0n, 2n);
          await expectStage(d, upgradeId, 0, { healthyStake: STAKE(300), attestedStake: STAKE(300) });
        });

        it("when a signature has expired", async function () {
          const ctx = await loadFixture(deployFixture);
          const { d, A, B, relayer } = ctx;
          const c = d.coordinator;
          const upgradeId = await scheduleAndActivate(ctx, "expired");
          const now = BigInt(await time.latest());
          const fresh = await signed(ctx, B, upgradeId, 0, Status.Healthy, {
            issuedAt: now - 100n,
            deadline: now + 100n,
          });
          const stale = await signed(ctx, A, upgradeId, 0, Status.Healthy, {
            issuedAt: now - 100n,
            deadline: now + 10n,
          });
          await time.setNextBlockTimestamp(now + 11n);
          const relayed = c.connect(relayer).relayAttestations(packAttestations([fresh, stale]));
          await expect(relayed)
            .to.emit(c, "AttestationSkipped")
            .withArgs(upgradeId, A.operator.address, SkipReason.Expired);
          await expect(relayed).to.emit(c, "AttestationsRelayed").withArgs(relayer.address, 1n, 1n);
          await expectStage(d, upgradeId, 0, { healthyStake: STAKE(200) });
        });

        it("when an attestation is issued further ahead than the allowed clock skew", async function () {
          const ctx = await loadFixture(deployFixture);
          const { d, A, relayer } = ctx;
          const c = d.coordinator;
          const upgradeId = await scheduleAndActivate(ctx, "future");
          const now = BigInt(await time.latest());
          const ahead = await signed(ctx, A, upgradeId, 0, Status.Healthy, {
            issuedAt: now + 10n + 301n,
            deadline: now + 3600n,
          });
          await time.setNextBlockTimestamp(now + 10n);
          await expect(c.connect(relayer).relayAttestations(packAttestations([ahead])))
            .to.emit(c, "AttestationSkipped")
            .withArgs(upgradeId, A.operator.address, SkipReason.Future);
          await expectStage(d, upgradeId, 0, { healthyStake: 0n });
          // Within the skew it is accepted.
          const skewed = await signed(ctx, A, upgradeId, 0, Status.Healthy, {
            issuedAt: now + 20n + 300n,
            deadline: now + 3600n,
          });
          await time.setNextBlockTimestamp(now + 20n);
          await expect(c.connect(relayer).relayAttestations(packAttestations([skewed]))).to.emit(c, "Attested");
        });

        it("when an attestation is signed by a key that is not the operator's attester", async function () {
          const ctx = await loadFixture(deployFixture);
          const { d, A, B, relayer } = ctx;
          const c = d.coordinator;
          const upgradeId = await scheduleAndActivate(ctx, "wrong-signer");
          const forged = await signed(ctx, A, upgradeId, 0, Status.Unhealthy, { signer: B.attester });
          await expect(c.connect(relayer).relayAttestations(packAttestations([forged])))
            .to.emit(c, "AttestationSkipped")
            .withArgs(upgradeId, A.operator.address, SkipReason.NotAttester);
          await expectStage(d, upgradeId, 0, { unhealthyStake: 0n });
        });

        it("when the batch length is not a whole number of 1 to 256 items", async function () {
          const ctx = await loadFixture(deployFixture);
          const { d, A, relayer } = ctx;
          const c = d.coordinator;
          const upgradeId = await scheduleAndActivate(ctx, "malformed");
          const one = packAttestations([await signed(ctx, A, upgradeId, 0, Status.Healthy)]);
          const item = one.slice(2);
          for (const batch of ["0x", one.slice(0, -2), one + "00", "0x" + item.repeat(257)]) {
            await expect(c.connect(relayer).relayAttestations(batch))
              .to.be.revertedWithCustomError(c, "CoordinatorMalformedBatch")
              .withArgs((batch.length - 2) / 2);
          }
          await expect(c.connect(relayer).relayAttestations(one)).to.emit(c, "Attested");
        });

        it("when a signed attestation was issued before the validator's newer direct one", async function () {
          const ctx = await loadFixture(deployFixture);
          const { d, A, relayer } = ctx;
          const c = d.coordinator;
          const upgradeId = await scheduleAndActivate(ctx, "stale");
          const older = await signed(ctx, A, upgradeId, 0, Status.Unhealthy, {
            issuedAt: BigInt(await time.latest()) - 5n,
          });
          const direct = await attested(d, A, upgradeId, 0, Status.Healthy);
          await expect(c.connect(relayer).relayAttestations(packAttestations([older])))
            .to.emit(c, "AttestationSkipped")
            .withArgs(upgradeId, A.operator.address, SkipReason.Stale);
          expect((await c.getAssignment(upgradeId, A.operator.address)).lastAttestedAt).to.equal(
            await blockTime(direct),
          );
          await expectStage(d, upgradeId, 0, { healthyStake: STAKE(100), unhealthyStake: 0n });
        });
      });
    });
  });

  describe("withdrawal", function () {
    it("withdraws before any stage activated; the upgrade is terminal and a new one can be scheduled", async function () {
      const ctx = await loadFixture(deployFixture);
      const { d, A, D } = ctx;
      const c = d.coordinator;
      const upgradeId = await scheduleAsGovernance(d, manifest("withdraw-early", [1, 2, 3]));
      await attested(d, A, upgradeId, 0, Status.Ready);
      const withdrawal = (await (await c.connect(d.timelockSigner).withdraw(upgradeId)).wait())!;
      await expect(withdrawal)
        .to.emit(c, "UpgradeWithdrawn")
        .withArgs(upgradeId, await d.timelock.getAddress(), 0, false);
      const u = await c.getUpgrade(upgradeId);
      expect(u.state).to.equal(UpgradeState.Withdrawn);
      expect(u.endedAt).to.equal(await blockTime(withdrawal));
      await expectStage(d, upgradeId, 0, { state: StageState.Pending, readyStake: STAKE(100) });

      await expectEveryCallRefused(ctx, upgradeId, UpgradeState.Withdrawn, {
        validator: D,
        stage: 1,
        statuses: [Status.Ready],
      });
      await expect(c.connect(d.timelockSigner).schedule(manifest("withdraw-early", [1, 2, 3])))
        .to.be.revertedWithCustomError(c, "CoordinatorDuplicateName")
        .withArgs("withdraw-early", upgradeId);
      await expect(c.connect(d.timelockSigner).schedule(manifest("withdraw-early-2", [1, 2, 3])))
        .to.emit(c, "UpgradeScheduled")
        .withArgs(2n, keccakText("withdraw-early-2"), anyValue, anyValue, anyValue);
      expect(await c.openUpgrade()).to.equal(2n);
    });

    it("withdraws after activation, naming the current stage; every later call is refused", async function () {
      const ctx = await loadFixture(deployFixture);
      const { d, A, B, C, E } = ctx;
      const c = d.coordinator;
      const upgradeId = await scheduleAndActivate(ctx, "withdraw-late", {
        stages: [stageRules(1), stageRules(2, { timelock: 600 }), stageRules(3)],
      });
      for (const v of [A, B, C]) await attested(d, v, upgradeId, 0, Status.Healthy);
      await passTime((await c.getStage(upgradeId, 0)).observationEndsAt);
      await (await c.advance(upgradeId)).wait();
      await expectUpgrade(d, upgradeId, { state: UpgradeState.Rolling, currentStage: 1 });

      await expect(c.connect(d.guardian).withdraw(upgradeId))
        .to.be.revertedWithCustomError(c, "CoordinatorUnauthorized")
        .withArgs(d.guardian.address);
      await expect(c.connect(d.timelockSigner).withdraw(upgradeId))
        .to.emit(c, "UpgradeWithdrawn")
        .withArgs(upgradeId, await d.timelock.getAddress(), 1, true);
      await expectUpgrade(d, upgradeId, { state: UpgradeState.Withdrawn, currentStage: 1 });
      expect(await c.openUpgrade()).to.equal(0n);

      // Cohort 1 upgraded (stage 0 verified); cohort 2 was waiting for its stage.
      await expectEveryCallRefused(ctx, upgradeId, UpgradeState.Withdrawn, {
        validator: A,
        stage: 0,
        statuses: [Status.Healthy, Status.Unhealthy, Status.FailedToUpgrade, Status.RolledBack, Status.Ready],
      });
      await expectEveryCallRefused(ctx, upgradeId, UpgradeState.Withdrawn, {
        validator: E,
        stage: 1,
        statuses: [Status.Ready],
      });
      await expectStage(d, upgradeId, 0, { state: StageState.Verified, healthyStake: STAKE(600) });

      await expect(c.connect(d.timelockSigner).schedule(manifest("withdraw-late-2", [2, 3])))
        .to.emit(c, "UpgradeScheduled")
        .withArgs(2n, keccakText("withdraw-late-2"), anyValue, anyValue, [COHORT_STAKE[2], COHORT_STAKE[3]]);
    });
  });
});
