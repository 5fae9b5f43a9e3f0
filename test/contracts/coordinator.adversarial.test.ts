// Findings of the adversarial review (issue 9), each held by tests that failed against the code it reported on:
// the automatic pause acts only on new evidence (1), a relayed batch lands whatever the state does to some of its
// items (2, 3), a validator's cohort sticks to it across deregistration (4), and nobody can claim an attester key
// without its proof of possession (5).
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { Signer, ZeroAddress, keccak256, toUtf8Bytes } from "ethers";
import {
  Attestation,
  PauseReason,
  RollbackReason,
  Status,
  UpgradeState,
  attesterProofTypedData,
} from "../../lib/coordinator";
import { packAttestations } from "../../lib/actions/packAttestations";
import { versionTag } from "../../lib/version";
import {
  STAKE,
  attesterProof,
  Validator,
  deployWithCohorts,
  fundedWallet,
  manifest,
  registerValidators,
  signAttestation,
  stageRules,
} from "../helpers/system";
import { SkipReason } from "../helpers/model";

const VERSION = "v2.0.0";
const DIGEST = keccak256(toUtf8Bytes("metrics"));

/**
 * Cohort 1: A 40, B 30, C 29, W 1 (of 100), and Z with no stake. Cohort 2: D 60, E 40. Cohort 3 (the default): F 10.
 */
async function adversarialFixture() {
  const { d, validators, domain } = await deployWithCohorts({ 1: [40, 30, 29, 1], 2: [60, 40], 3: [10] });
  const [A, B, C, W, D, E, F] = validators;
  const [Z] = await registerValidators(d, [{ cohort: 1, stake: 0n }], "zero");
  const relayer = d.others[0];
  const asGovernance = d.coordinator.connect(d.timelockSigner);
  return { d, A, B, C, W, Z, D, E, F, relayer, asGovernance, domain };
}

type Fixture = Awaited<ReturnType<typeof adversarialFixture>>;

/** Schedules cohorts 1 then 2 (no time lock, no readiness), pause at `unhealthyBps`, and activates stage 0. */
async function openAndActivate(f: Fixture, name: string, unhealthyBps = 3000, rollbackBps = 0) {
  const rules = { unhealthyBps, rollbackBps, healthyBps: 6000, observationWindow: 600 };
  const m = manifest(name, [1, 2], { version: VERSION, stages: [stageRules(1, rules), stageRules(2, rules)] });
  await (await f.asGovernance.schedule(m)).wait();
  const id = await f.d.coordinator.upgradeIdOf(name);
  await (await f.d.coordinator.advance(id)).wait();
  return id;
}

function attest(f: Fixture, who: Validator, id: bigint, status: Status, stage = 0) {
  return f.d.coordinator
    .connect(who.attester)
    .attest(who.operator.address, id, stage, status, versionTag(VERSION), 1000, DIGEST);
}

async function stateOf(f: Fixture, id: bigint): Promise<UpgradeState> {
  return Number((await f.d.coordinator.getUpgrade(id)).state) as UpgradeState;
}

function signed(f: Fixture, who: Validator, id: bigint, status: Status, over: Partial<Attestation> = {}) {
  return signedBy(f, who.attester, who, id, status, over);
}

/** `who`'s attestation of stage 0, valid for an hour from now, signed by `key`. */
async function signedBy(
  f: Fixture,
  key: Signer,
  who: Validator,
  id: bigint,
  status: Status,
  over: Partial<Attestation> = {},
) {
  const now = BigInt(await time.latest());
  return signAttestation(key, f.domain, {
    operator: who.operator.address,
    upgradeId: id,
    stage: 0,
    status,
    version: versionTag(VERSION),
    height: 1000,
    metricsDigest: DIGEST,
    issuedAt: now,
    deadline: now + 3600n,
    ...over,
  });
}

describe("UpgradeCoordinator under attack (issue 9)", function () {
  describe("finding 1: the automatic pause acts only on new evidence", function () {
    it("pauses when an attestation takes the not-healthy stake from below the limit to it", async function () {
      const f = await loadFixture(adversarialFixture);
      const id = await openAndActivate(f, "crossing");
      await (await attest(f, f.C, id, Status.Unhealthy)).wait();
      expect(await stateOf(f, id)).to.equal(UpgradeState.Rolling);
      await expect(attest(f, f.W, id, Status.Unhealthy))
        .to.emit(f.d.coordinator, "UpgradePaused")
        .withArgs(id, f.W.attester.address, PauseReason.UnhealthyThreshold, 0, 0n, STAKE(30));
    });

    it("never lets a zero-stake member re-pause a resumed upgrade", async function () {
      const f = await loadFixture(adversarialFixture);
      const id = await openAndActivate(f, "zero-stake");
      await expect(attest(f, f.A, id, Status.Unhealthy)).to.emit(f.d.coordinator, "UpgradePaused");
      await (await f.asGovernance.resume(id)).wait();
      await expect(attest(f, f.Z, id, Status.Unhealthy)).not.to.emit(f.d.coordinator, "UpgradePaused");
      await expect(attest(f, f.Z, id, Status.FailedToUpgrade)).not.to.emit(f.d.coordinator, "UpgradePaused");
      expect(await stateOf(f, id)).to.equal(UpgradeState.Rolling);
    });

    it("never lets stake counted at the resume re-pause by toggling Healthy and Unhealthy", async function () {
      const f = await loadFixture(adversarialFixture);
      const id = await openAndActivate(f, "toggling");
      await (await attest(f, f.A, id, Status.Unhealthy)).wait();
      await (await attest(f, f.W, id, Status.Unhealthy)).wait();
      await (await f.asGovernance.resume(id)).wait();
      for (let i = 0; i < 3; i++) {
        await (await attest(f, f.W, id, Status.Healthy)).wait();
        await expect(attest(f, f.W, id, Status.Unhealthy)).not.to.emit(f.d.coordinator, "UpgradePaused");
        await (await attest(f, f.A, id, Status.Healthy)).wait();
        await expect(attest(f, f.A, id, Status.FailedToUpgrade)).not.to.emit(f.d.coordinator, "UpgradePaused");
      }
      expect(await stateOf(f, id)).to.equal(UpgradeState.Rolling);
      expect((await f.d.coordinator.getStage(id, 0)).unhealthyStake).to.equal(STAKE(41));
    });

    it("pauses again on not-healthy stake that was not counted at the resume", async function () {
      const f = await loadFixture(adversarialFixture);
      const id = await openAndActivate(f, "new-evidence");
      await (await attest(f, f.A, id, Status.Unhealthy)).wait();
      await (await f.asGovernance.resume(id)).wait();
      await expect(attest(f, f.B, id, Status.Unhealthy))
        .to.emit(f.d.coordinator, "UpgradePaused")
        .withArgs(id, f.B.attester.address, PauseReason.UnhealthyThreshold, 0, 0n, STAKE(70));
    });

    it("orders rollback only when an attestation reaches the rollback limit, not on zero stake", async function () {
      const f = await loadFixture(adversarialFixture);
      const id = await openAndActivate(f, "rollback-crossing", 3000, 6000);
      await (await attest(f, f.A, id, Status.Unhealthy)).wait();
      await (await f.asGovernance.resume(id)).wait();
      await expect(attest(f, f.Z, id, Status.Unhealthy)).not.to.emit(f.d.coordinator, "RollbackOrdered");
      await expect(attest(f, f.B, id, Status.FailedToUpgrade))
        .to.emit(f.d.coordinator, "RollbackOrdered")
        .withArgs(id, f.B.attester.address, RollbackReason.AutomaticThreshold, 0, STAKE(70));
    });
  });

  describe("findings 2 and 3: a relayed batch lands whatever the state does to some of its items", function () {
    it("orders the rollback from [40% Unhealthy, 30% Unhealthy, 30% FailedToUpgrade] and skips the third", async function () {
      const f = await loadFixture(adversarialFixture);
      const id = await openAndActivate(f, "rollback-batch", 3000, 6000);
      // 40%, 30% and 29% of cohort 1: the second item reaches the 60% rollback limit.
      const items = [
        await signed(f, f.A, id, Status.Unhealthy),
        await signed(f, f.B, id, Status.Unhealthy),
        await signed(f, f.C, id, Status.FailedToUpgrade),
      ];
      const c = f.d.coordinator.connect(f.relayer);
      const batch = packAttestations(items);
      expect(await c.relayAttestations.staticCall(batch)).to.equal(2n);
      const tx = c.relayAttestations(batch);
      await expect(tx)
        .to.emit(f.d.coordinator, "RollbackOrdered")
        .withArgs(id, f.relayer.address, RollbackReason.AutomaticThreshold, 0, STAKE(70));
      await expect(tx)
        .to.emit(f.d.coordinator, "AttestationSkipped")
        .withArgs(id, f.C.operator.address, SkipReason.UpgradeEnded);
      await expect(tx).to.emit(f.d.coordinator, "AttestationsRelayed").withArgs(f.relayer.address, 2n, 1n);
      expect(await stateOf(f, id)).to.equal(UpgradeState.RolledBack);
      const a = await f.d.coordinator.getAssignment(id, f.B.operator.address);
      expect(a.lastStatus).to.equal(Status.Unhealthy);
    });

    it("lands when one of its items was front-run, skipping that item as stale", async function () {
      const f = await loadFixture(adversarialFixture);
      const id = await openAndActivate(f, "front-run");
      const items = [
        await signed(f, f.D, id, Status.Ready, { stage: 1 }),
        await signed(f, f.E, id, Status.Ready, { stage: 1 }),
      ];
      // A griefer copies the second item out of the pending batch and relays it alone first.
      await (await f.d.coordinator.connect(f.D.operator).relayAttestations(packAttestations([items[1]]))).wait();
      const tx = f.d.coordinator.connect(f.relayer).relayAttestations(packAttestations(items));
      await expect(tx)
        .to.emit(f.d.coordinator, "AttestationSkipped")
        .withArgs(id, f.E.operator.address, SkipReason.Stale);
      await expect(tx).to.emit(f.d.coordinator, "AttestationsRelayed").withArgs(f.relayer.address, 1n, 1n);
      const stage = await f.d.coordinator.getStage(id, 1);
      expect([stage.readyStake, stage.readyCount]).to.deep.equal([STAKE(100), 2n]);
    });

    it("lands when advance activated the stage before its Ready items, skipping them", async function () {
      const f = await loadFixture(adversarialFixture);
      const id = await openAndActivate(f, "advance-first");
      const ready = await signed(f, f.A, id, Status.Ready);
      const healthy = await signed(f, f.B, id, Status.Healthy);
      const tx = f.d.coordinator.connect(f.relayer).relayAttestations(packAttestations([ready, healthy]));
      await expect(tx)
        .to.emit(f.d.coordinator, "AttestationSkipped")
        .withArgs(id, f.A.operator.address, SkipReason.StageNotPending);
      await expect(tx).to.emit(f.d.coordinator, "AttestationsRelayed").withArgs(f.relayer.address, 1n, 1n);
      expect((await f.d.coordinator.getStage(id, 0)).healthyStake).to.equal(STAKE(30));
    });

    it("skips a duplicate inside the batch and an item superseded by a newer statement", async function () {
      const f = await loadFixture(adversarialFixture);
      const id = await openAndActivate(f, "duplicates");
      const older = await signed(f, f.A, id, Status.Unhealthy);
      const newer = await signed(f, f.A, id, Status.Healthy, { issuedAt: BigInt(older.attestation.issuedAt) + 1n });
      const other = await signed(f, f.B, id, Status.Healthy);
      const tx = f.d.coordinator.connect(f.relayer).relayAttestations(packAttestations([newer, older, other, other]));
      await expect(tx).to.emit(f.d.coordinator, "AttestationsRelayed").withArgs(f.relayer.address, 2n, 2n);
      const receipt = (await (await tx).wait())!;
      const skipped = receipt.logs
        .map((l) => f.d.coordinator.interface.parseLog(l))
        .filter((e) => e?.name === "AttestationSkipped")
        .map((e) => [e!.args.operator, Number(e!.args.reason)]);
      expect(skipped).to.deep.equal([
        [f.A.operator.address, SkipReason.Stale],
        [f.B.operator.address, SkipReason.Stale],
      ]);
      const stage = await f.d.coordinator.getStage(id, 0);
      expect([stage.healthyStake, stage.unhealthyStake]).to.deep.equal([STAKE(70), 0n]);
    });

    it("skips an item signed by another key than the operator's attester (the key may have rotated)", async function () {
      const f = await loadFixture(adversarialFixture);
      const id = await openAndActivate(f, "other-key");
      const forged = await signedBy(f, f.B.attester, f.A, id, Status.Unhealthy);
      const good = await signed(f, f.B, id, Status.Healthy);
      const tx = f.d.coordinator.connect(f.relayer).relayAttestations(packAttestations([forged, good]));
      await expect(tx)
        .to.emit(f.d.coordinator, "AttestationSkipped")
        .withArgs(id, f.A.operator.address, SkipReason.NotAttester);
      await expect(tx).to.emit(f.d.coordinator, "AttestationsRelayed").withArgs(f.relayer.address, 1n, 1n);
    });

    it("still reverts as a whole on a signature that recovers no key", async function () {
      const f = await loadFixture(adversarialFixture);
      const id = await openAndActivate(f, "unrecoverable");
      const good = await signed(f, f.B, id, Status.Healthy);
      const bad = await signed(f, f.A, id, Status.Healthy);
      // s above half the curve order: ECDSA refuses it (malleable), whoever relays it.
      const highS = { ...bad, vs: `0x${"f".repeat(64)}` as const };
      await expect(f.d.coordinator.connect(f.relayer).relayAttestations(packAttestations([good, highS])))
        .to.be.revertedWithCustomError(f.d.coordinator, "ECDSAInvalidSignatureS")
        .withArgs("0x" + "7" + "f".repeat(63));
      expect((await f.d.coordinator.getStage(id, 0)).healthyStake).to.equal(0n);
    });
  });

  describe("finding 4: a validator's cohort sticks to it", function () {
    it("keeps the cohort governance gave across deregister and register", async function () {
      const f = await loadFixture(adversarialFixture);
      const key = await fundedWallet("sticky:A:new-key");
      await (await f.d.coordinator.connect(f.A.operator).deregister()).wait();
      const proof = await attesterProof(f.d.coordinator, f.A.operator, key);
      await expect(f.d.coordinator.connect(f.A.operator).register(key.address, "ipfs://A-again", proof))
        .to.emit(f.d.coordinator, "ValidatorRegistered")
        .withArgs(f.A.operator.address, key.address, 1, "ipfs://A-again");
      expect((await f.d.coordinator.getValidator(f.A.operator.address)).cohort).to.equal(1n);
      expect(await f.d.token.cohortOf(f.A.operator.address)).to.equal(1n);
    });

    it("keeps the default cohort a validator first registered in, after governance changes the default", async function () {
      const f = await loadFixture(adversarialFixture);
      await (await f.asGovernance.setDefaultCohort(2)).wait();
      await (await f.d.coordinator.connect(f.F.operator).deregister()).wait();
      const proof = await attesterProof(f.d.coordinator, f.F.operator, f.F.attester);
      await (await f.d.coordinator.connect(f.F.operator).register(f.F.attester.address, "", proof)).wait();
      expect((await f.d.coordinator.getValidator(f.F.operator.address)).cohort).to.equal(3n);
    });

    it("lets a canary that left and came back still be scheduled, and moves cohorts by governance only", async function () {
      const f = await loadFixture(adversarialFixture);
      for (const v of [f.A, f.B, f.C, f.W, f.Z]) {
        await (await f.d.coordinator.connect(v.operator).deregister()).wait();
        const proof = await attesterProof(f.d.coordinator, v.operator, v.attester);
        await (await f.d.coordinator.connect(v.operator).register(v.attester.address, "", proof)).wait();
      }
      const id = await openAndActivate(f, "canary-came-back");
      expect((await f.d.coordinator.getStage(id, 0)).cohortStake).to.equal(STAKE(100));
      await expect(f.d.coordinator.connect(f.A.operator).setCohort(f.A.operator.address, 3))
        .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnauthorized")
        .withArgs(f.A.operator.address);
      await expect(f.asGovernance.setCohort(f.A.operator.address, 3))
        .to.emit(f.d.coordinator, "CohortAssigned")
        .withArgs(f.A.operator.address, 1, 3);
      await (await f.d.coordinator.connect(f.A.operator).deregister()).wait();
      const proof = await attesterProof(f.d.coordinator, f.A.operator, f.A.attester);
      await (await f.d.coordinator.connect(f.A.operator).register(f.A.attester.address, "", proof)).wait();
      expect((await f.d.coordinator.getValidator(f.A.operator.address)).cohort).to.equal(3n);
    });
  });

  describe("finding 5: attester keys cannot be squatted", function () {
    it("refuses a key to anyone without its proof of possession, even one copied from the owner's pending call", async function () {
      const f = await loadFixture(adversarialFixture);
      const c = f.d.coordinator;
      const squatter = await fundedWallet("squat:operator");
      const next = await fundedWallet("squat:A:next-key"); // the key A is about to rotate to
      // A signs its rotation; the squatter copies the proof out of the mempool and lands first.
      const ownersProof = await attesterProof(c, f.A.operator, next);
      const ownProof = await attesterProof(c, squatter, squatter);
      for (const proof of ["0x", ownersProof, ownProof]) {
        await expect(c.connect(squatter).register(next.address, "ipfs://squat", proof))
          .to.be.revertedWithCustomError(c, "RegistryInvalidAttesterProof")
          .withArgs(squatter.address, next.address);
      }
      expect(await c.operatorOf(next.address)).to.equal(ZeroAddress);

      // A's rotation goes through with its own proof, and uses up A's nonce.
      expect(await c.nonces(f.A.operator.address)).to.equal(1n);
      await expect(c.connect(f.A.operator).rotateAttester(next.address, ownersProof))
        .to.emit(c, "AttesterRotated")
        .withArgs(f.A.operator.address, f.A.attester.address, next.address);
      expect(await c.nonces(f.A.operator.address)).to.equal(2n);

      // A proof serves once: rotating back to the old key needs a fresh one at the new nonce.
      const stale = await attesterProof(c, f.A.operator, f.A.attester);
      await (await c.connect(f.A.operator).rotateAttester(f.A.attester.address, stale)).wait();
      await expect(c.connect(f.A.operator).rotateAttester(next.address, ownersProof))
        .to.be.revertedWithCustomError(c, "RegistryInvalidAttesterProof")
        .withArgs(f.A.operator.address, next.address);
    });

    it("refuses a proof signed for another coordinator or chain", async function () {
      const f = await loadFixture(adversarialFixture);
      const c = f.d.coordinator;
      const key = await fundedWallet("squat:F:other-domain");
      const other = await f.d.token.getAddress(); // any other verifying contract
      const { chainId } = await ethers.provider.getNetwork();
      const typed = attesterProofTypedData(chainId, other, f.F.operator.address as `0x${string}`, 1n);
      const elsewhere = await key.signTypedData(
        typed.domain,
        { AttesterProof: [...typed.types.AttesterProof] },
        typed.message,
      );
      const typedChain = attesterProofTypedData(
        chainId + 1n,
        await c.getAddress(),
        f.F.operator.address as `0x${string}`,
        1n,
      );
      const otherChain = await key.signTypedData(
        typedChain.domain,
        { AttesterProof: [...typedChain.types.AttesterProof] },
        typedChain.message,
      );
      for (const proof of [elsewhere, otherChain]) {
        await expect(c.connect(f.F.operator).rotateAttester(key.address, proof))
          .to.be.revertedWithCustomError(c, "RegistryInvalidAttesterProof")
          .withArgs(f.F.operator.address, key.address);
      }
    });
  });
});
