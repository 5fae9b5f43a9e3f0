import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Signer, ZeroAddress, ZeroHash, keccak256, toUtf8Bytes } from "ethers";
import { PauseReason, Status, UpgradeState } from "../../lib/coordinator";
import { packAttestations } from "../../lib/actions/packAttestations";
import { versionTag } from "../../lib/version";
import {
  Attestation,
  STAKE,
  Validator,
  attesterProof,
  deployWithCohorts,
  fundedWallet,
  manifest,
  registerValidators,
  signAttestation,
  stageRules,
  type ManifestInput,
} from "../helpers/system";
import { MOVING_STATES, OPEN_STATES, PAUSED_STATES, SkipReason } from "../helpers/model";

/**
 * Cohort 1 (stake 40 + 30 + 30 = 100), cohort 2 (60 + 40 = 100), cohort 3 (50), and a token holder with no role.
 * Nothing is scheduled: the tests that need an upgrade open the standard one with `open`.
 */
async function refusalsFixture() {
  const { d, validators: v, domain } = await deployWithCohorts({ 1: [40, 30, 30], 2: [60, 40], 3: [50] });
  const stranger = d.others[0];
  await (await d.token.connect(d.deployer).transfer(stranger.address, STAKE(500))).wait();
  await (await d.token.connect(stranger).delegate(stranger.address)).wait();
  const asGovernance = d.coordinator.connect(d.timelockSigner);
  const governance = await d.timelockSigner.getAddress();
  return { d, v, stranger, asGovernance, governance, domain };
}

type Fixture = Awaited<ReturnType<typeof refusalsFixture>>;

const NAME = "refusals-1";
const VERSION = "v2.0.0";
const TIMELOCK = 100;
const OBSERVATION = 600;
const DEADLINE = 3600;

/**
 * Stage 0: cohort 1, 100 s time lock, readiness 50, healthy 60, unhealthy limit 30 (of 100).
 * Stage 1: cohort 2, no time lock, no readiness, healthy 60, unhealthy limit 30 (of 100).
 */
function standardManifest(name = NAME, over: Partial<ManifestInput> = {}): ManifestInput {
  const rules = { observationWindow: OBSERVATION, attestationDeadline: DEADLINE, healthyBps: 6000, unhealthyBps: 3000 };
  return manifest(name, [1, 2], {
    version: VERSION,
    stages: [stageRules(1, { ...rules, timelock: TIMELOCK, readinessBps: 5000 }), stageRules(2, rules)],
    ...over,
  });
}

// ------------------------------------------------------------------ lifecycle helpers

/** Schedules the standard upgrade; returns its id and scheduling time. */
async function open(f: Fixture, name = NAME) {
  const tx = await f.asGovernance.schedule(standardManifest(name));
  const receipt = await tx.wait();
  const block = await ethers.provider.getBlock(receipt!.blockNumber);
  return { id: await f.d.coordinator.upgradeIdOf(name), scheduledAt: BigInt(block!.timestamp) };
}

function attest(f: Fixture, who: Validator, id: bigint, stage: number, status: Status, sender: Signer = who.attester) {
  return f.d.coordinator
    .connect(sender)
    .attest(who.operator.address, id, stage, status, versionTag(VERSION), 1000, keccak256(toUtf8Bytes("metrics")));
}

async function attestAll(f: Fixture, id: bigint, stage: number, status: Status, who: Validator[]) {
  for (const v of who) await (await attest(f, v, id, stage, status)).wait();
}

/** Readies 70 of cohort 1, waits out the time lock and activates stage 0. Returns its activation time. */
async function activate(f: Fixture, id: bigint) {
  await attestAll(f, id, 0, Status.Ready, [f.v[0], f.v[1]]);
  await time.increase(TIMELOCK);
  await (await f.d.coordinator.advance(id)).wait();
  return (await f.d.coordinator.getStage(id, 0)).activatedAt;
}

/** Proves stage 0 healthy (70 of 100) and advances: stage 1 activates in the same call. */
async function verifyFirst(f: Fixture, id: bigint) {
  await attestAll(f, id, 0, Status.Healthy, [f.v[0], f.v[1]]);
  await time.increase(OBSERVATION);
  await (await f.d.coordinator.advance(id)).wait();
}

/** Drives the standard upgrade from scheduled to completed. */
async function complete(f: Fixture, id: bigint) {
  await activate(f, id);
  await verifyFirst(f, id);
  await attestAll(f, id, 1, Status.Healthy, [f.v[3]]);
  await time.increase(OBSERVATION);
  await (await f.d.coordinator.advance(id)).wait();
  expect((await f.d.coordinator.getUpgrade(id)).state).to.equal(UpgradeState.Completed);
}

async function withdraw(f: Fixture, id: bigint) {
  await (await f.asGovernance.withdraw(id)).wait();
}

async function rollBack(f: Fixture, id: bigint) {
  await (await f.asGovernance.orderRollback(id)).wait();
}

/** Tallies and header fields a refused call must leave unchanged. */
async function snapshotOf(f: Fixture, id: bigint) {
  const u = await f.d.coordinator.getUpgrade(id);
  const stages = [await f.d.coordinator.getStage(id, 0), await f.d.coordinator.getStage(id, 1)];
  return {
    state: u.state,
    pauseReason: u.pauseReason,
    currentStage: u.currentStage,
    stages: stages.map((s) => [s.state, s.readyStake, s.readyCount, s.healthyStake, s.unhealthyStake, s.activatedAt]),
  };
}

describe("UpgradeCoordinator: refusals", function () {
  describe("reverts", function () {
    // ================================================================ attest
    describe("on attest", function () {
      it("when the sender is not a validator", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await expect(
          f.d.coordinator
            .connect(f.stranger)
            .attest(f.stranger.address, id, 0, Status.Ready, versionTag(VERSION), 1, ZeroHash),
        )
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorNotAttester")
          .withArgs(f.stranger.address, f.stranger.address);
      });

      it("when the sender is another validator's attester", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await expect(attest(f, f.v[0], id, 0, Status.Ready, f.v[1].attester))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorNotAttester")
          .withArgs(f.v[0].operator.address, f.v[1].attester.address);
      });

      it("when the operator sends it instead of its attester", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await expect(attest(f, f.v[0], id, 0, Status.Ready, f.v[0].operator))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorNotAttester")
          .withArgs(f.v[0].operator.address, f.v[0].operator.address);
      });

      it("when the sender is an attester key rotated away", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        const fresh = await fundedWallet("refusals:rotated");
        const proof = await attesterProof(f.d.coordinator, f.v[0].operator, fresh);
        await (await f.d.coordinator.connect(f.v[0].operator).rotateAttester(fresh.address, proof)).wait();
        await expect(attest(f, f.v[0], id, 0, Status.Ready))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorNotAttester")
          .withArgs(f.v[0].operator.address, f.v[0].attester.address);
      });

      it("when the validator deregistered", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await (await f.d.coordinator.connect(f.v[0].operator).deregister()).wait();
        await expect(attest(f, f.v[0], id, 0, Status.Ready))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorNotAttester")
          .withArgs(f.v[0].operator.address, f.v[0].attester.address);
      });

      it("when the validator's cohort is not the stage's", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await expect(attest(f, f.v[3], id, 0, Status.Ready))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorNotInCohort")
          .withArgs(f.v[3].operator.address, 2, 1);
      });

      it("when the validator was moved into the stage's cohort after the snapshot", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await (await f.asGovernance.setCohort(f.v[3].operator.address, 1)).wait();
        await expect(attest(f, f.v[3], id, 0, Status.Ready))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorNotInCohort")
          .withArgs(f.v[3].operator.address, 2, 1);
      });

      it("when the validator registered after the snapshot", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        const [late] = await registerValidators(f.d, [{ cohort: 1, stake: STAKE(10) }], "late");
        await expect(attest(f, late, id, 0, Status.Ready))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorNotInCohort")
          .withArgs(late.operator.address, 0, 1);
      });

      it("when the stage does not exist", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await expect(attest(f, f.v[0], id, 2, Status.Ready))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnknownStage")
          .withArgs(id, 2);
      });

      it("when the upgrade does not exist", async function () {
        const f = await loadFixture(refusalsFixture);
        await expect(attest(f, f.v[0], 9n, 0, Status.Ready))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnknownStage")
          .withArgs(9, 0);
      });

      it("when Ready is posted after the stage activated", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await activate(f, id);
        await expect(attest(f, f.v[2], id, 0, Status.Ready))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorStageNotPending")
          .withArgs(id, 0);
      });

      for (const status of [Status.Healthy, Status.Unhealthy, Status.FailedToUpgrade, Status.RolledBack]) {
        it(`when ${Status[status]} is posted before the stage activated`, async function () {
          const f = await loadFixture(refusalsFixture);
          const { id } = await open(f);
          await expect(attest(f, f.v[0], id, 0, status))
            .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorStageNotActivated")
            .withArgs(id, 0);
        });
      }

      it("when a health status is posted to a later stage while an earlier one is active", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await activate(f, id);
        await expect(attest(f, f.v[3], id, 1, Status.Healthy))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorStageNotActivated")
          .withArgs(id, 1);
      });

      it("when the status is None, before and after activation", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await expect(attest(f, f.v[0], id, 0, Status.None))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorInvalidStatus")
          .withArgs(0);
        await activate(f, id);
        await expect(attest(f, f.v[0], id, 0, Status.None))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorInvalidStatus")
          .withArgs(0);
      });

      it("when a Healthy attestation reports another version than the manifest's", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await activate(f, id);
        const other = versionTag("v0.0.1-other");
        const c = f.d.coordinator.connect(f.v[0].attester);
        await expect(c.attest(f.v[0].operator.address, id, 0, Status.Healthy, other, 1000, keccak256(toUtf8Bytes("m"))))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorVersionMismatch")
          .withArgs(id, other);
        // Not-healthy reports may carry any version (a node that failed to upgrade still runs the old one).
        await expect(c.attest(f.v[0].operator.address, id, 0, Status.FailedToUpgrade, other, 1000, ZeroHash)).to.emit(
          f.d.coordinator,
          "Attested",
        );
        expect((await f.d.coordinator.getStage(id, 0)).healthyStake).to.equal(0n);
      });

      it("when the status is out of the enum's range", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await activate(f, id);
        await expect(attest(f, f.v[0], id, 0, 6 as Status))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorInvalidStatus")
          .withArgs(6);
        expect((await f.d.coordinator.getStage(id, 0)).unhealthyStake).to.equal(0n);
      });

      it("when the upgrade was withdrawn (Ready to a pending stage, health to an active one)", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await activate(f, id);
        await withdraw(f, id);
        await expect(attest(f, f.v[3], id, 1, Status.Ready))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(id, UpgradeState.Withdrawn, OPEN_STATES);
        await expect(attest(f, f.v[0], id, 0, Status.Healthy))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(id, UpgradeState.Withdrawn, OPEN_STATES);
      });

      it("when the upgrade was withdrawn before any stage activated", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await withdraw(f, id);
        await expect(attest(f, f.v[0], id, 0, Status.Ready))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(id, UpgradeState.Withdrawn, OPEN_STATES);
      });

      it("when the upgrade completed", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await complete(f, id);
        for (const [who, stage] of [
          [f.v[4], 1],
          [f.v[2], 0],
        ] as const) {
          await expect(attest(f, who, id, stage, Status.Unhealthy))
            .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
            .withArgs(id, UpgradeState.Completed, OPEN_STATES);
        }
      });

      it("when a status other than RolledBack is posted after a rollback order", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await activate(f, id);
        await rollBack(f, id);
        for (const status of [Status.Healthy, Status.Unhealthy, Status.FailedToUpgrade]) {
          await expect(attest(f, f.v[0], id, 0, status))
            .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
            .withArgs(id, UpgradeState.RolledBack, OPEN_STATES);
        }
        await expect(attest(f, f.v[3], id, 1, Status.Ready))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(id, UpgradeState.RolledBack, OPEN_STATES);
      });

      it("and leaves tallies and the validator's record unchanged", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await attestAll(f, id, 0, Status.Ready, [f.v[0]]);
        const before = await snapshotOf(f, id);
        const assignment = await f.d.coordinator.getAssignment(id, f.v[0].operator.address);
        await expect(attest(f, f.v[0], id, 0, Status.Healthy)).to.be.revertedWithCustomError(
          f.d.coordinator,
          "CoordinatorStageNotActivated",
        );
        await expect(attest(f, f.v[0], id, 0, Status.Ready, f.v[1].attester)).to.be.revertedWithCustomError(
          f.d.coordinator,
          "CoordinatorNotAttester",
        );
        expect(await snapshotOf(f, id)).to.deep.equal(before);
        expect(await f.d.coordinator.getAssignment(id, f.v[0].operator.address)).to.deep.equal(assignment);
      });
    });

    // ================================================================ relayAttestations
    describe("on relayAttestations (malformed batches revert; items the state refuses are skipped)", function () {
      async function signed(f: Fixture, who: Validator, id: bigint, over: Partial<Attestation> = {}, signer?: Signer) {
        const now = BigInt(await time.latest());
        const a: Attestation = {
          operator: who.operator.address,
          upgradeId: id,
          stage: 0,
          status: Status.Ready,
          version: versionTag(VERSION),
          height: 1000,
          metricsDigest: keccak256(toUtf8Bytes("metrics")),
          issuedAt: now,
          deadline: now + 3600n,
          ...over,
        };
        return signAttestation(signer ?? who.attester, f.domain, a);
      }

      for (const length of [0, 171, 173, 172 * 257]) {
        it(`when the batch is ${length} bytes long`, async function () {
          const f = await loadFixture(refusalsFixture);
          await expect(f.d.coordinator.relayAttestations(new Uint8Array(length)))
            .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorMalformedBatch")
            .withArgs(length);
        });
      }

      it("skips (the batch lands) when a signed attestation is replayed", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        const item = await signed(f, f.v[0], id);
        await (await f.d.coordinator.relayAttestations(packAttestations([item]))).wait();
        const issuedAt = item.attestation.issuedAt;
        expect((await f.d.coordinator.getAssignment(id, f.v[0].operator.address)).lastAttestedAt).to.equal(issuedAt);
        await expect(f.d.coordinator.relayAttestations(packAttestations([item])))
          .to.emit(f.d.coordinator, "AttestationSkipped")
          .withArgs(id, f.v[0].operator.address, SkipReason.Stale);
        expect((await f.d.coordinator.getStage(id, 0)).readyCount).to.equal(1n);
      });

      it("skips when it is not newer than the validator's direct attestation", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await attestAll(f, id, 0, Status.Ready, [f.v[0]]);
        const last = (await f.d.coordinator.getAssignment(id, f.v[0].operator.address)).lastAttestedAt;
        const item = await signed(f, f.v[0], id, { issuedAt: last });
        await expect(f.d.coordinator.relayAttestations(packAttestations([item])))
          .to.emit(f.d.coordinator, "AttestationSkipped")
          .withArgs(id, f.v[0].operator.address, SkipReason.Stale);
        expect((await f.d.coordinator.getAssignment(id, f.v[0].operator.address)).lastAttestedAt).to.equal(last);
      });

      it("skips as stale when issuedAt is zero", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        const item = await signed(f, f.v[0], id, { issuedAt: 0 });
        await expect(f.d.coordinator.relayAttestations(packAttestations([item])))
          .to.emit(f.d.coordinator, "AttestationSkipped")
          .withArgs(id, f.v[0].operator.address, SkipReason.Stale);
        expect((await f.d.coordinator.getStage(id, 0)).readyCount).to.equal(0n);
      });

      it("skips when the signature expired", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        const deadline = BigInt(await time.latest());
        const item = await signed(f, f.v[0], id, { issuedAt: deadline - 10n, deadline });
        await time.setNextBlockTimestamp(deadline + 1n);
        await expect(f.d.coordinator.relayAttestations(packAttestations([item])))
          .to.emit(f.d.coordinator, "AttestationSkipped")
          .withArgs(id, f.v[0].operator.address, SkipReason.Expired);
        expect((await f.d.coordinator.getStage(id, 0)).readyCount).to.equal(0n);
      });

      it("skips when it is issued more than five minutes ahead of the chain", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        const now = BigInt(await time.latest()) + 1n;
        const item = await signed(f, f.v[0], id, { issuedAt: now + 301n });
        await time.setNextBlockTimestamp(now);
        await expect(f.d.coordinator.relayAttestations(packAttestations([item])))
          .to.emit(f.d.coordinator, "AttestationSkipped")
          .withArgs(id, f.v[0].operator.address, SkipReason.Future);
        expect((await f.d.coordinator.getStage(id, 0)).readyCount).to.equal(0n);
      });

      it("skips when it is signed by a key that is not the operator's attester", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        const item = await signed(f, f.v[0], id, {}, f.v[1].attester);
        await expect(f.d.coordinator.relayAttestations(packAttestations([item])))
          .to.emit(f.d.coordinator, "AttestationSkipped")
          .withArgs(id, f.v[0].operator.address, SkipReason.NotAttester);
        expect((await f.d.coordinator.getStage(id, 0)).readyCount).to.equal(0n);
      });

      it("when its status is out of range", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        const item = await signed(f, f.v[0], id, { status: 6 as Status });
        await expect(f.d.coordinator.relayAttestations(packAttestations([item])))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorInvalidStatus")
          .withArgs(6);
      });

      it("as a whole when one item's status is out of range, even after good items", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        const good = await signed(f, f.v[0], id);
        const bad = await signed(f, f.v[1], id, { status: 6 as Status });
        await expect(f.d.coordinator.relayAttestations(packAttestations([good, bad])))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorInvalidStatus")
          .withArgs(6);
        expect((await f.d.coordinator.getStage(id, 0)).readyStake).to.equal(0n);
      });

      it("never as a whole for an item the state refuses: it is skipped and the rest counts", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        const good = await signed(f, f.v[0], id);
        const bad = await signed(f, f.v[1], id, {}, f.v[2].attester);
        const tx = f.d.coordinator.relayAttestations(packAttestations([good, bad]));
        await expect(tx)
          .to.emit(f.d.coordinator, "AttestationSkipped")
          .withArgs(id, f.v[1].operator.address, SkipReason.NotAttester);
        await expect(tx)
          .to.emit(f.d.coordinator, "AttestationsRelayed")
          .withArgs(await f.d.deployer.getAddress(), 1n, 1n);
        expect((await f.d.coordinator.getStage(id, 0)).readyStake).to.equal(STAKE(40));
      });
    });

    // ================================================================ advance
    describe("on advance", function () {
      it("when the first stage's time lock has not passed", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id, scheduledAt } = await open(f);
        await attestAll(f, id, 0, Status.Ready, [f.v[0], f.v[1]]);
        await expect(f.d.coordinator.advance(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorTimelockActive")
          .withArgs(id, 0, scheduledAt + BigInt(TIMELOCK));
      });

      it("when readiness is not met", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await attestAll(f, id, 0, Status.Ready, [f.v[0]]);
        await time.increase(TIMELOCK);
        await expect(f.d.coordinator.advance(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorNotReady")
          .withArgs(id, 0, STAKE(40), STAKE(50));
      });

      it("when the observation window has not passed", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        const activatedAt = await activate(f, id);
        await attestAll(f, id, 0, Status.Healthy, [f.v[0], f.v[1]]);
        await expect(f.d.coordinator.advance(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorObservationActive")
          .withArgs(id, 0, activatedAt + BigInt(OBSERVATION));
      });

      it("when healthy stake is below the threshold", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await activate(f, id);
        await attestAll(f, id, 0, Status.Healthy, [f.v[0]]);
        await time.increase(OBSERVATION);
        await expect(f.d.coordinator.advance(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorBelowThreshold")
          .withArgs(id, 0, STAKE(40), STAKE(60));
      });

      it("when unhealthy stake is at the limit (after governance resumed the automatic pause)", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await activate(f, id);
        await expect(attest(f, f.v[1], id, 0, Status.Unhealthy))
          .to.emit(f.d.coordinator, "UpgradePaused")
          .withArgs(id, f.v[1].attester.address, PauseReason.UnhealthyThreshold, 0, 0, STAKE(30));
        await (await f.asGovernance.resume(id)).wait();
        await attestAll(f, id, 0, Status.Healthy, [f.v[0], f.v[2]]);
        await time.increase(OBSERVATION);
        await expect(f.d.coordinator.advance(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnhealthy")
          .withArgs(id, 0, STAKE(30), STAKE(30));
      });

      it("while paused", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await activate(f, id);
        await attestAll(f, id, 0, Status.Healthy, [f.v[0], f.v[1]]);
        await time.increase(OBSERVATION);
        await (await f.d.coordinator.connect(f.d.guardian).pause(id)).wait();
        const before = await snapshotOf(f, id);
        await expect(f.d.coordinator.advance(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(id, UpgradeState.Paused, MOVING_STATES);
        expect(await snapshotOf(f, id)).to.deep.equal(before);
      });

      it("when the upgrade was withdrawn, completed or does not exist", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await withdraw(f, id);
        await expect(f.d.coordinator.advance(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(id, UpgradeState.Withdrawn, MOVING_STATES);
        const second = await open(f, "refusals-2");
        await complete(f, second.id);
        await expect(f.d.coordinator.advance(second.id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(second.id, UpgradeState.Completed, MOVING_STATES);
        await expect(f.d.coordinator.advance(9))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(9, UpgradeState.None, MOVING_STATES);
      });
    });

    // ================================================================ pause / resume / rollback / withdraw
    describe("on resume", function () {
      it("when the upgrade is not paused", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await expect(f.asGovernance.resume(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(id, UpgradeState.Scheduled, PAUSED_STATES);
        await activate(f, id);
        await expect(f.asGovernance.resume(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(id, UpgradeState.Rolling, PAUSED_STATES);
      });

      it("when the upgrade was withdrawn while paused", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await (await f.asGovernance.pause(id)).wait();
        await withdraw(f, id);
        await expect(f.asGovernance.resume(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(id, UpgradeState.Withdrawn, PAUSED_STATES);
      });

      it("when the upgrade does not exist", async function () {
        const f = await loadFixture(refusalsFixture);
        await expect(f.asGovernance.resume(9))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(9, UpgradeState.None, PAUSED_STATES);
      });
    });

    describe("on pause", function () {
      it("when the upgrade is already paused", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await (await f.d.coordinator.connect(f.d.guardian).pause(id)).wait();
        const pausedAt = (await f.d.coordinator.getUpgrade(id)).pausedAt;
        await expect(f.asGovernance.pause(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(id, UpgradeState.Paused, MOVING_STATES);
        const u = await f.d.coordinator.getUpgrade(id);
        expect([u.pauseReason, u.pausedAt]).to.deep.equal([BigInt(PauseReason.Manual), pausedAt]);
      });

      it("when the upgrade ended", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await withdraw(f, id);
        await expect(f.d.coordinator.connect(f.d.guardian).pause(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(id, UpgradeState.Withdrawn, MOVING_STATES);
      });
    });

    describe("on orderRollback", function () {
      it("when no stage has been activated", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await expect(f.d.coordinator.connect(f.d.guardian).orderRollback(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorNothingActivated")
          .withArgs(id);
        expect((await f.d.coordinator.getUpgrade(id)).state).to.equal(UpgradeState.Scheduled);
        expect(await f.d.coordinator.openUpgrade()).to.equal(id);
      });

      it("when the upgrade already ended", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await activate(f, id);
        await rollBack(f, id);
        await expect(f.d.coordinator.connect(f.d.guardian).orderRollback(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(id, UpgradeState.RolledBack, OPEN_STATES);
      });
    });

    describe("on withdraw", function () {
      it("when the upgrade already ended", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await complete(f, id);
        await expect(f.asGovernance.withdraw(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(id, UpgradeState.Completed, OPEN_STATES);
      });
    });

    describe("on pauseForMissingParticipation", function () {
      it("when no stage is active", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await time.increase(DEADLINE + TIMELOCK + 1);
        await expect(f.d.coordinator.pauseForMissingParticipation(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorNoActiveStage")
          .withArgs(id);
      });

      it("when the next stage is not active yet after a verification", async function () {
        const f = await loadFixture(refusalsFixture);
        const id = 1n;
        await (
          await f.asGovernance.schedule(
            standardManifest(NAME, {
              stages: [
                stageRules(1, { timelock: TIMELOCK, readinessBps: 5000, healthyBps: 6000, unhealthyBps: 3000 }),
                stageRules(2, { timelock: 500 }),
              ],
            }),
          )
        ).wait();
        await activate(f, id);
        await verifyFirst(f, id);
        expect((await f.d.coordinator.getUpgrade(id)).currentStage).to.equal(1n);
        await time.increase(DEADLINE + 1);
        await expect(f.d.coordinator.pauseForMissingParticipation(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorNoActiveStage")
          .withArgs(id);
      });

      it("before the attestation deadline, including at the deadline itself", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        const activatedAt = await activate(f, id);
        const deadlineAt = activatedAt + BigInt(DEADLINE);
        await expect(f.d.coordinator.pauseForMissingParticipation(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorDeadlineNotPassed")
          .withArgs(id, 0, deadlineAt);
        await time.setNextBlockTimestamp(deadlineAt);
        await expect(f.d.coordinator.pauseForMissingParticipation(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorDeadlineNotPassed")
          .withArgs(id, 0, deadlineAt);
      });

      it("when the healthy threshold was met", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await activate(f, id);
        await attestAll(f, id, 0, Status.Healthy, [f.v[0], f.v[1]]);
        await time.increase(DEADLINE + 1);
        await expect(f.d.coordinator.pauseForMissingParticipation(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorParticipationMet")
          .withArgs(id, 0, STAKE(70), STAKE(60));
      });

      it("when the upgrade is already paused", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await activate(f, id);
        await (await f.asGovernance.pause(id)).wait();
        await time.increase(DEADLINE + 1);
        await expect(f.d.coordinator.pauseForMissingParticipation(id))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnexpectedState")
          .withArgs(id, UpgradeState.Paused, MOVING_STATES);
      });
    });

    // ================================================================ schedule
    describe("on schedule", function () {
      it("while another upgrade is open, and leaves the count and the open upgrade unchanged", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await expect(f.asGovernance.schedule(standardManifest("refusals-2")))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUpgradeInFlight")
          .withArgs(id);
        expect(await f.d.coordinator.upgradeCount()).to.equal(1n);
        expect(await f.d.coordinator.openUpgrade()).to.equal(id);
        expect(await f.d.coordinator.upgradeIdOf("refusals-2")).to.equal(0n);
      });

      it("while another upgrade is paused", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await (await f.asGovernance.pause(id)).wait();
        await expect(f.asGovernance.schedule(standardManifest("refusals-2")))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUpgradeInFlight")
          .withArgs(id);
      });

      const ENDINGS: [string, (f: Fixture, id: bigint) => Promise<void>][] = [
        ["withdrawn", withdraw],
        ["completed", complete],
        [
          "rolled back",
          async (f, id) => {
            await activate(f, id);
            await rollBack(f, id);
          },
        ],
      ];
      for (const [ending, end] of ENDINGS) {
        it(`a duplicate name after the first upgrade ${ending}`, async function () {
          const f = await loadFixture(refusalsFixture);
          const { id } = await open(f);
          await end(f, id);
          await expect(f.asGovernance.schedule(standardManifest(NAME)))
            .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorDuplicateName")
            .withArgs(NAME, id);
          expect(await f.d.coordinator.upgradeCount()).to.equal(1n);
          expect(await f.d.coordinator.openUpgrade()).to.equal(0n);
        });
      }

      it("a cohort whose only validator deregistered before the snapshot", async function () {
        const f = await loadFixture(refusalsFixture);
        await (await f.d.coordinator.connect(f.v[5].operator).deregister()).wait();
        await expect(f.asGovernance.schedule(manifest("refusals-2", [1, 3])))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorEmptyCohort")
          .withArgs(1, 3);
      });

      const artifact = (over: object = {}) => ({
        platform: "linux-amd64",
        uri: "https://releases.example.org/node.tar.gz",
        sha256Digest: keccak256(toUtf8Bytes("artifact")),
        ...over,
      });
      const stages = (n: number) => Array.from({ length: n }, (_, i) => stageRules(i + 1));
      const secondStage = (over: object) => ({ stages: [stageRules(1), stageRules(2, over)] });

      /** [what is malformed, manifest fields replaced, error, its arguments] */
      const MALFORMED: [string, Partial<ManifestInput>, string, unknown[]][] = [
        ["an empty name", { name: "" }, "CoordinatorEmptyName", []],
        ["an empty version", { version: "" }, "CoordinatorInvalidVersion", [""]],
        ["a version over 32 bytes", { version: "v".repeat(33) }, "CoordinatorInvalidVersion", ["v".repeat(33)]],
        ["an empty previous version", { previousVersion: "" }, "CoordinatorInvalidPreviousVersion", [""]],
        [
          "a previous version over 32 bytes",
          { previousVersion: "p".repeat(33) },
          "CoordinatorInvalidPreviousVersion",
          ["p".repeat(33)],
        ],
        [
          "a previous version equal to the version",
          { version: "v2.0.0", previousVersion: "v2.0.0" },
          "CoordinatorInvalidPreviousVersion",
          ["v2.0.0"],
        ],
        ["a zero manifest hash", { manifestHash: ZeroHash }, "CoordinatorEmptyManifestHash", []],
        ["no artifacts", { artifacts: [] }, "CoordinatorNoArtifacts", []],
        [
          "more than 16 artifacts",
          { artifacts: Array.from({ length: 17 }, () => artifact()) },
          "CoordinatorTooMany",
          ["artifacts", 17, 16],
        ],
        [
          "an artifact with an empty platform",
          { artifacts: [artifact(), artifact({ platform: "" })] },
          "CoordinatorInvalidArtifact",
          [1],
        ],
        [
          "an artifact with an empty URI",
          { artifacts: [artifact(), artifact(), artifact({ uri: "" })] },
          "CoordinatorInvalidArtifact",
          [2],
        ],
        [
          "an artifact with an empty digest",
          { artifacts: [artifact(), artifact({ sha256Digest: ZeroHash })] },
          "CoordinatorEmptyDigest",
          [1],
        ],
        [
          "more than 32 feature flags",
          { featureFlags: Array.from({ length: 33 }, (_, i) => `flag-${i}`) },
          "CoordinatorTooMany",
          ["featureFlags", 33, 32],
        ],
        ["no stages", { stages: [] }, "CoordinatorNoStages", []],
        ["more than 16 stages", { stages: stages(17) }, "CoordinatorTooMany", ["stages", 17, 16]],
        ["a stage with cohort 0", { stages: [stageRules(1), stageRules(0)] }, "CoordinatorInvalidCohort", [1, 0]],
        [
          "two stages with the same cohort",
          { stages: [stageRules(1), stageRules(2), stageRules(1)] },
          "CoordinatorDuplicateCohort",
          [2, 1],
        ],
        [
          "a cohort with no stake at the snapshot",
          { stages: [stageRules(1), stageRules(7)] },
          "CoordinatorEmptyCohort",
          [1, 7],
        ],
        ["healthy over 10000 bps", secondStage({ healthyBps: 10001 }), "CoordinatorThresholdOutOfRange", [1, 10001]],
        ["healthy of 0 bps", secondStage({ healthyBps: 0 }), "CoordinatorThresholdOutOfRange", [1, 0]],
        [
          "unhealthy over 10000 bps",
          secondStage({ unhealthyBps: 10001 }),
          "CoordinatorThresholdOutOfRange",
          [1, 10001],
        ],
        ["unhealthy of 0 bps", secondStage({ unhealthyBps: 0 }), "CoordinatorThresholdOutOfRange", [1, 0]],
        [
          "readiness over 10000 bps",
          secondStage({ readinessBps: 10001 }),
          "CoordinatorThresholdOutOfRange",
          [1, 10001],
        ],
        ["rollback over 10000 bps", secondStage({ rollbackBps: 65535 }), "CoordinatorThresholdOutOfRange", [1, 65535]],
        ["a zero attestation deadline", secondStage({ attestationDeadline: 0 }), "CoordinatorZeroDeadline", [1]],
      ];

      for (const [what, over, error, args] of MALFORMED) {
        it(`a manifest with ${what}`, async function () {
          const f = await loadFixture(refusalsFixture);
          await expect(f.asGovernance.schedule(manifest("malformed", [1, 2], over)))
            .to.be.revertedWithCustomError(f.d.coordinator, error)
            .withArgs(...args);
          expect(await f.d.coordinator.upgradeCount()).to.equal(0n);
          expect(await f.d.coordinator.openUpgrade()).to.equal(0n);
          expect(await f.d.coordinator.upgradeIdOf("malformed")).to.equal(0n);
        });
      }

      it("but accepts the limits themselves: 32-byte versions, 16 artifacts, 32 flags, 10000 bps", async function () {
        const f = await loadFixture(refusalsFixture);
        const full = stageRules(1, { healthyBps: 10000, unhealthyBps: 10000, readinessBps: 10000, rollbackBps: 10000 });
        await expect(
          f.asGovernance.schedule(
            manifest("at-the-limits", [1], {
              version: "v".repeat(32),
              previousVersion: "p".repeat(32),
              artifacts: Array.from({ length: 16 }, () => artifact()),
              featureFlags: Array.from({ length: 32 }, (_, i) => `flag-${i}`),
              stages: [full],
            }),
          ),
        ).to.emit(f.d.coordinator, "UpgradeScheduled");
        const s = await f.d.coordinator.getStage(1, 0);
        expect([s.readyNeeded, s.healthyNeeded, s.unhealthyLimit, s.rollbackLimit]).to.deep.equal(
          Array(4).fill(STAKE(100)),
        );
      });
    });

    // ================================================================ registry
    describe("on the registry", function () {
      it("register when the operator is already registered", async function () {
        const f = await loadFixture(refusalsFixture);
        const other = await fundedWallet("refusals:other-attester");
        await expect(f.d.coordinator.connect(f.v[0].operator).register(other.address, "ipfs://again", "0x"))
          .to.be.revertedWithCustomError(f.d.coordinator, "RegistryAlreadyRegistered")
          .withArgs(f.v[0].operator.address);
        expect(await f.d.coordinator.operatorOf(other.address)).to.equal(ZeroAddress);
      });

      it("register with a zero attester", async function () {
        const f = await loadFixture(refusalsFixture);
        await expect(f.d.coordinator.connect(f.stranger).register(ZeroAddress, "ipfs://x", "0x"))
          .to.be.revertedWithCustomError(f.d.coordinator, "RegistryAttesterUnavailable")
          .withArgs(ZeroAddress, ZeroAddress);
        expect((await f.d.coordinator.getValidator(f.stranger.address)).registered).to.equal(false);
        expect(await f.d.token.cohortOf(f.stranger.address)).to.equal(0n);
      });

      it("register with an attester that serves another validator", async function () {
        const f = await loadFixture(refusalsFixture);
        await expect(f.d.coordinator.connect(f.stranger).register(f.v[1].attester.address, "ipfs://x", "0x"))
          .to.be.revertedWithCustomError(f.d.coordinator, "RegistryAttesterUnavailable")
          .withArgs(f.v[1].attester.address, f.v[1].operator.address);
        expect(await f.d.coordinator.operatorOf(f.v[1].attester.address)).to.equal(f.v[1].operator.address);
      });

      it("rotateAttester to zero or to a key that serves another validator (or itself)", async function () {
        const f = await loadFixture(refusalsFixture);
        const op = f.d.coordinator.connect(f.v[0].operator);
        await expect(op.rotateAttester(ZeroAddress, "0x"))
          .to.be.revertedWithCustomError(f.d.coordinator, "RegistryAttesterUnavailable")
          .withArgs(ZeroAddress, ZeroAddress);
        await expect(op.rotateAttester(f.v[1].attester.address, "0x"))
          .to.be.revertedWithCustomError(f.d.coordinator, "RegistryAttesterUnavailable")
          .withArgs(f.v[1].attester.address, f.v[1].operator.address);
        await expect(op.rotateAttester(f.v[0].attester.address, "0x"))
          .to.be.revertedWithCustomError(f.d.coordinator, "RegistryAttesterUnavailable")
          .withArgs(f.v[0].attester.address, f.v[0].operator.address);
        expect((await f.d.coordinator.getValidator(f.v[0].operator.address)).attester).to.equal(
          f.v[0].attester.address,
        );
      });

      const UNREGISTERED: [string, (f: Fixture) => Promise<unknown>][] = [
        ["deregister", (f) => f.d.coordinator.connect(f.stranger).deregister()],
        ["rotateAttester", (f) => f.d.coordinator.connect(f.stranger).rotateAttester(f.d.others[5].address, "0x")],
        ["setMetadataURI", (f) => f.d.coordinator.connect(f.stranger).setMetadataURI("ipfs://nobody")],
        ["setCohort", (f) => f.asGovernance.setCohort(f.stranger.address, 2)],
      ];
      for (const [fn, call] of UNREGISTERED) {
        it(`${fn} for an operator that is not registered`, async function () {
          const f = await loadFixture(refusalsFixture);
          await expect(call(f))
            .to.be.revertedWithCustomError(f.d.coordinator, "RegistryNotRegistered")
            .withArgs(f.stranger.address);
          const info = await f.d.coordinator.getValidator(f.stranger.address);
          expect([info.registered, info.attester, info.cohort, info.metadataURI]).to.deep.equal([
            false,
            ZeroAddress,
            0n,
            "",
          ]);
        });
      }

      it("deregister, rotateAttester and setMetadataURI after deregistration", async function () {
        const f = await loadFixture(refusalsFixture);
        const op = f.d.coordinator.connect(f.v[0].operator);
        await (await op.deregister()).wait();
        for (const call of [
          () => op.deregister(),
          () => op.rotateAttester(f.d.others[5].address, "0x"),
          () => op.setMetadataURI("x"),
        ]) {
          await expect(call())
            .to.be.revertedWithCustomError(f.d.coordinator, "RegistryNotRegistered")
            .withArgs(f.v[0].operator.address);
        }
        await expect(f.asGovernance.setCohort(f.v[0].operator.address, 2))
          .to.be.revertedWithCustomError(f.d.coordinator, "RegistryNotRegistered")
          .withArgs(f.v[0].operator.address);
      });

      it("setCohort and setDefaultCohort to cohort 0", async function () {
        const f = await loadFixture(refusalsFixture);
        await expect(f.asGovernance.setCohort(f.v[0].operator.address, 0))
          .to.be.revertedWithCustomError(f.d.coordinator, "RegistryInvalidCohort")
          .withArgs(0);
        await expect(f.asGovernance.setDefaultCohort(0))
          .to.be.revertedWithCustomError(f.d.coordinator, "RegistryInvalidCohort")
          .withArgs(0);
        expect(await f.d.token.cohortOf(f.v[0].operator.address)).to.equal(1n);
        expect(await f.d.coordinator.defaultCohort()).to.equal(3n);
      });
    });

    // ================================================================ views
    describe("on views", function () {
      it("when the upgrade or the stage does not exist", async function () {
        const f = await loadFixture(refusalsFixture);
        const { id } = await open(f);
        await expect(f.d.coordinator.getUpgrade(9))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnknownUpgrade")
          .withArgs(9);
        await expect(f.d.coordinator.getCurrentStage(9))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnknownUpgrade")
          .withArgs(9);
        await expect(f.d.coordinator.getAssignment(9, f.v[0].operator.address))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnknownUpgrade")
          .withArgs(9);
        await expect(f.d.coordinator.getStage(id, 2))
          .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnknownStage")
          .withArgs(id, 2);
      });
    });
  });
});
