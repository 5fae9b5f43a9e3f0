// Restart leases (issue 9): governance caps the stake that may be restarting at once; a validator's attester
// takes a lease before stopping its node, and its next Healthy, FailedToUpgrade or RolledBack attestation, or
// time, ends it. The events alone let an auditor replay the stake leased and check it never passed the budget.
import { expect } from "chai";
import { ethers } from "hardhat";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { ContractTransactionReceipt, keccak256, toUtf8Bytes } from "ethers";
import { Status, coordinatorDomain } from "../../lib/coordinator";
import { packAttestations } from "../../lib/actions/packAttestations";
import { versionTag } from "../../lib/version";
import {
  STAKE,
  attesterProof,
  Validator,
  deployLockstep,
  manifest,
  registerValidators,
  signAttestation,
  stageRules,
} from "../helpers/system";

const VERSION = versionTag("v2.0.0");
const DIGEST = keccak256(toUtf8Bytes("metrics"));
const DURATION = 600n;
const BUDGET_BPS = 1000; // 10% of 200 registered: 20, two validators of 10

/** Cohort 1: ten validators of 10. Cohort 2: one of 100. Budget 10% (20), leases of 600 s. */
async function leasesFixture() {
  const d = await deployLockstep();
  const fleet = await registerValidators(
    d,
    Array.from({ length: 10 }, () => ({ cohort: 1, stake: STAKE(10) })),
  );
  const [big] = await registerValidators(d, [{ cohort: 2, stake: STAKE(100) }], "big");
  const asGovernance = d.coordinator.connect(d.timelockSigner);
  await (await asGovernance.setRestartBudget(BUDGET_BPS, DURATION)).wait();
  const rules = { timelock: 0, readinessBps: 0, observationWindow: 600, healthyBps: 6000, unhealthyBps: 9000 };
  const m = manifest("leases", [1, 2], { version: "v2.0.0", stages: [stageRules(1, rules), stageRules(2, rules)] });
  await (await asGovernance.schedule(m)).wait();
  const id = await d.coordinator.upgradeCount();
  for (const v of fleet) await attest(d, v, id, Status.Ready);
  await (await d.coordinator.advance(id)).wait();
  return { d, fleet, big, id, asGovernance };
}

type Fixture = Awaited<ReturnType<typeof leasesFixture>>;
type D = Fixture["d"];

function attest(d: D, v: Validator, id: bigint, status: Status, stage = 0) {
  return d.coordinator.connect(v.attester).attest(v.operator.address, id, stage, status, VERSION, 100n, DIGEST);
}

function take(d: D, v: Validator) {
  return d.coordinator.connect(v.attester).takeLease();
}

async function leasedNow(d: D, id: bigint): Promise<bigint> {
  return (await d.coordinator.getLease(id, ethers.ZeroAddress)).inUse;
}

async function expiryOf(ts: number | bigint): Promise<bigint> {
  return (BigInt(ts) / DURATION + 2n) * DURATION;
}

/** Replays the lease events of `receipts` in order; returns the highest stake leased and checks each `inUse`. */
function replay(d: D, receipts: (ContractTransactionReceipt | null)[]): bigint {
  let inUse = 0n;
  let highest = 0n;
  for (const r of receipts) {
    for (const log of r!.logs) {
      const e = d.coordinator.interface.parseLog(log);
      if (!e) continue;
      if (e.name === "LeaseGranted") inUse += e.args.weight;
      else if (e.name === "LeaseReleased") inUse -= e.args.weight;
      else if (e.name === "LeasesExpired") inUse -= e.args.stake;
      else continue;
      expect(e.args.inUse, `${e.name} reports the stake leased after it`).to.equal(inUse);
      if (inUse > highest) highest = inUse;
    }
  }
  return highest;
}

describe("UpgradeCoordinator restart leases", function () {
  describe("settings", function () {
    it("governance sets the budget and the lease duration, and the event carries old and new values", async function () {
      const { d, asGovernance } = await loadFixture(leasesFixture);
      expect(await d.coordinator.restartBudget()).to.deep.equal([BigInt(BUDGET_BPS), DURATION]);
      await expect(asGovernance.setRestartBudget(2500, 900))
        .to.emit(d.coordinator, "RestartBudgetSet")
        .withArgs(BUDGET_BPS, 2500, DURATION, 900);
      expect(await d.coordinator.restartBudget()).to.deep.equal([2500n, 900n]);
    });

    it("the budget is fixed at scheduling from the registered stake at the snapshot, floored", async function () {
      const { d, id } = await loadFixture(leasesFixture);
      const view = await d.coordinator.getLease(id, ethers.ZeroAddress);
      expect(view.budget).to.equal(STAKE(20));
      expect(view.duration).to.equal(DURATION);
      expect(view.live).to.equal(true);
    });

    describe("reverts", function () {
      for (const who of ["guardian", "validator", "anyone"] as const) {
        it(`when the ${who} sets the budget`, async function () {
          const { d, fleet } = await loadFixture(leasesFixture);
          const caller = who === "guardian" ? d.guardian : who === "validator" ? fleet[0].operator : d.others[3];
          await expect(d.coordinator.connect(caller).setRestartBudget(5000, 60))
            .to.be.revertedWithCustomError(d.coordinator, "CoordinatorUnauthorized")
            .withArgs(caller.address);
        });
      }

      it("when the budget is over 10,000 bps or the duration is 0 or over 2^24 - 1 s", async function () {
        const { d, asGovernance } = await loadFixture(leasesFixture);
        for (const [bps, duration] of [
          [10_001, 60],
          [1000, 0],
          [1000, 2 ** 24],
        ]) {
          await expect(asGovernance.setRestartBudget(bps, duration))
            .to.be.revertedWithCustomError(d.coordinator, "CoordinatorInvalidLeaseSettings")
            .withArgs(bps, duration);
        }
      });
    });
  });

  describe("taking a lease", function () {
    it("grants the validator's snapshot stake and reports the expiry and the stake leased", async function () {
      const { d, fleet, id } = await loadFixture(leasesFixture);
      const tx = take(d, fleet[0]);
      const ts = (await ethers.provider.getBlock("latest"))!.timestamp + 1;
      await time.setNextBlockTimestamp(ts);
      await expect(tx)
        .to.emit(d.coordinator, "LeaseGranted")
        .withArgs(id, fleet[0].attester.address, STAKE(10), await expiryOf(ts), STAKE(10));
      const view = await d.coordinator.getLease(id, fleet[0].attester.address);
      expect(view.inUse).to.equal(STAKE(10));
      expect(view.weight).to.equal(STAKE(10));
      expect(view.expiresAt).to.equal(await expiryOf(ts));
    });

    it("refuses while the budget is full, with the figures a watcher waits on", async function () {
      const { d, fleet, id } = await loadFixture(leasesFixture);
      await (await take(d, fleet[0])).wait();
      await (await take(d, fleet[1])).wait();
      await expect(take(d, fleet[2]))
        .to.be.revertedWithCustomError(d.coordinator, "CoordinatorLeaseBudgetFull")
        .withArgs(id, STAKE(20), STAKE(20), STAKE(10));
    });

    describe("reverts", function () {
      it("when the validator has not attested Ready (no weight cached)", async function () {
        const { d, big } = await loadFixture(leasesFixture);
        await expect(take(d, big))
          .to.be.revertedWithCustomError(d.coordinator, "CoordinatorLeaseRefused")
          .withArgs(big.attester.address, 0, 0);
      });

      it("when the key already holds a lease, naming its expiry", async function () {
        const { d, fleet, id } = await loadFixture(leasesFixture);
        const receipt = await (await take(d, fleet[0])).wait();
        const ts = (await ethers.provider.getBlock(receipt!.blockNumber))!.timestamp;
        await expect(take(d, fleet[0]))
          .to.be.revertedWithCustomError(d.coordinator, "CoordinatorLeaseRefused")
          .withArgs(fleet[0].attester.address, id, await expiryOf(ts));
      });

      it("when the key was rotated away, even holding a lease", async function () {
        const { d, fleet } = await loadFixture(leasesFixture);
        await (await take(d, fleet[0])).wait();
        const fresh = ethers.Wallet.createRandom();
        const proof = await attesterProof(d.coordinator, fleet[0].operator, fresh);
        await (await d.coordinator.connect(fleet[0].operator).rotateAttester(fresh.address, proof)).wait();
        await expect(take(d, fleet[0]))
          .to.be.revertedWithCustomError(d.coordinator, "CoordinatorLeaseRefused")
          .withArgs(fleet[0].attester.address, 0, 0);
      });

      it("when the next upgrade has been scheduled (one budget is live at a time)", async function () {
        const { d, fleet, id, asGovernance } = await loadFixture(leasesFixture);
        await (await asGovernance.withdraw(id)).wait();
        await (await asGovernance.schedule(manifest("next", [1]))).wait();
        expect((await d.coordinator.getLease(id, ethers.ZeroAddress)).live).to.equal(false);
        await expect(take(d, fleet[0]))
          .to.be.revertedWithCustomError(d.coordinator, "CoordinatorLeaseRefused")
          .withArgs(fleet[0].attester.address, id, 0);
      });
    });
  });

  describe("ending a lease", function () {
    for (const status of [Status.Healthy, Status.FailedToUpgrade] as const) {
      it(`a direct ${Status[status]} attestation releases it`, async function () {
        const { d, fleet, id } = await loadFixture(leasesFixture);
        await (await take(d, fleet[0])).wait();
        await (await take(d, fleet[1])).wait();
        await expect(attest(d, fleet[0], id, status))
          .to.emit(d.coordinator, "LeaseReleased")
          .withArgs(id, fleet[0].attester.address, fleet[0].operator.address, STAKE(10), STAKE(10));
        expect(await leasedNow(d, id)).to.equal(STAKE(10));
        await expect(take(d, fleet[2])).to.emit(d.coordinator, "LeaseGranted");
      });
    }

    it("a RolledBack attestation after a rollback order releases it", async function () {
      const { d, fleet, id, asGovernance } = await loadFixture(leasesFixture);
      await (await asGovernance.orderRollback(id)).wait();
      await (await take(d, fleet[0])).wait();
      await expect(attest(d, fleet[0], id, Status.RolledBack))
        .to.emit(d.coordinator, "LeaseReleased")
        .withArgs(id, fleet[0].attester.address, fleet[0].operator.address, STAKE(10), 0);
    });

    it("a relayed Healthy attestation releases it", async function () {
      const { d, fleet, id } = await loadFixture(leasesFixture);
      await (await take(d, fleet[0])).wait();
      const domain = coordinatorDomain((await ethers.provider.getNetwork()).chainId, await d.coordinator.getAddress());
      const now = (await ethers.provider.getBlock("latest"))!.timestamp;
      const signed = await signAttestation(fleet[0].attester, domain, {
        operator: fleet[0].operator.address,
        upgradeId: id,
        stage: 0,
        status: Status.Healthy,
        version: VERSION,
        height: 100n,
        metricsDigest: DIGEST,
        issuedAt: now,
        deadline: now + 3600,
      });
      await expect(d.coordinator.relayAttestations(packAttestations([signed])))
        .to.emit(d.coordinator, "LeaseReleased")
        .withArgs(id, fleet[0].attester.address, fleet[0].operator.address, STAKE(10), 0);
    });

    it("an Unhealthy attestation does not: the node may restart again", async function () {
      const { d, fleet, id } = await loadFixture(leasesFixture);
      await (await take(d, fleet[0])).wait();
      await expect(attest(d, fleet[0], id, Status.Unhealthy)).not.to.emit(d.coordinator, "LeaseReleased");
      expect(await leasedNow(d, id)).to.equal(STAKE(10));
    });

    it("expires between one and two durations after the grant, reported by the next call", async function () {
      const { d, fleet, id } = await loadFixture(leasesFixture);
      const first = await (await take(d, fleet[0])).wait();
      await (await take(d, fleet[1])).wait();
      const ts = (await ethers.provider.getBlock(first!.blockNumber))!.timestamp;
      const expiresAt = await expiryOf(ts);
      expect(expiresAt - BigInt(ts)).to.be.within(DURATION, 2n * DURATION);
      await time.increaseTo(expiresAt - 2n);
      await expect(take(d, fleet[2])).to.be.revertedWithCustomError(d.coordinator, "CoordinatorLeaseBudgetFull");
      await time.increaseTo(expiresAt);
      expect(await leasedNow(d, id)).to.equal(0n);
      await expect(take(d, fleet[2]))
        .to.emit(d.coordinator, "LeasesExpired")
        .withArgs(id, STAKE(20), 0)
        .and.to.emit(d.coordinator, "LeaseGranted");
      // The crashed watcher's key may lease again once its lease has expired; its late Healthy releases nothing.
      await expect(take(d, fleet[0])).to.emit(d.coordinator, "LeaseGranted");
      await expect(attest(d, fleet[1], id, Status.Healthy)).not.to.emit(d.coordinator, "LeaseReleased");
    });
  });

  it("a cohort larger than the budget rolls through in waves, never leasing more than the budget", async function () {
    const { d, fleet, id } = await loadFixture(leasesFixture);
    const receipts: (ContractTransactionReceipt | null)[] = [];
    const waiting = [...fleet];
    const restarting: Validator[] = [];
    let waves = 0;
    while (waiting.length > 0 || restarting.length > 0) {
      // Every waiting watcher tries; the refused ones wait for the next round.
      for (const v of [...waiting]) {
        try {
          receipts.push(await (await take(d, v)).wait());
          waiting.splice(waiting.indexOf(v), 1);
          restarting.push(v);
        } catch (e) {
          expect(String(e)).to.contain("CoordinatorLeaseBudgetFull");
        }
      }
      expect(await leasedNow(d, id)).to.be.at.most(STAKE(20));
      waves++;
      // The restarted nodes come back healthy, releasing their leases.
      for (const v of restarting.splice(0)) receipts.push(await (await attest(d, v, id, Status.Healthy)).wait());
      await time.increase(30);
    }
    expect(waves).to.equal(5);
    expect(replay(d, receipts)).to.equal(STAKE(20));
  });
});
