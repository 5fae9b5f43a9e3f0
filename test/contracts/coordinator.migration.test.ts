// Issue 9, finding 6: migration by vote only. Governance hands the coordinator's governance role to a new timelock
// (two steps: the new timelock must accept, by its own executed proposal), and moves the stake token's registry
// binding to a new coordinator. An upgrade in flight refuses the registry move; the governance handover carries it.
import { expect } from "chai";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { Interface, Signer, ZeroAddress } from "ethers";
import { LockstepGovernor__factory, LockstepTimelock__factory, type UpgradeCoordinator } from "../../typechain-types";
import { UpgradeState } from "../../lib/coordinator";
import {
  STAKE,
  Deployed,
  attesterProof,
  coordinatorFactory,
  deployLockstep,
  fundedWallet,
  impersonate,
  manifest,
  registerValidators,
} from "../helpers/system";
import { VoteType, delegateAll, governAndExecute } from "../helpers/governance";

const TIMELOCK_DELAY = 3600n;

/** A new timelock and its governor over the same token, wired as lib/deploy.ts wires the first pair. */
async function deployNewGovernance(d: Deployed) {
  const me = d.deployer.address;
  const timelock = await new LockstepTimelock__factory(d.deployer).deploy(TIMELOCK_DELAY, [], [ZeroAddress], me);
  const governor = await new LockstepGovernor__factory(d.deployer).deploy(
    await d.token.getAddress(),
    await timelock.getAddress(),
    1n,
    50n,
    0n,
    4n,
    10n,
  );
  const governorAddress = await governor.getAddress();
  await (await timelock.grantRole(await timelock.PROPOSER_ROLE(), governorAddress)).wait();
  await (await timelock.grantRole(await timelock.CANCELLER_ROLE(), governorAddress)).wait();
  await (await timelock.renounceRole(await timelock.DEFAULT_ADMIN_ROLE(), me)).wait();
  // The governance helpers drive whichever governor and timelock the object names.
  return { ...d, governor, timelock } as Deployed;
}

function deployCoordinator(d: Deployed, governance: string): Promise<UpgradeCoordinator> {
  return coordinatorFactory(d).deploy(d.token, governance, d.guardian.address, 3);
}

async function migrationFixture() {
  const d = await deployLockstep();
  const [canary, main] = await registerValidators(d, [
    { cohort: 1, stake: STAKE(600) },
    { cohort: 3, stake: STAKE(400) },
  ]);
  const voter = d.others[0];
  await delegateAll(d, [voter], STAKE(50_000_000));
  const next = await deployNewGovernance(d);
  return { d, next, canary, main, voter, asGovernance: d.coordinator.connect(d.timelockSigner) };
}

function call(target: UpgradeCoordinator, fn: string, args: unknown[]) {
  return (target.interface as Interface).encodeFunctionData(fn, args);
}

/** Passes one proposal of `calls` (on `target`) through `via`'s governor: propose, vote, queue, execute. */
async function govern(
  via: Deployed,
  voter: Signer,
  target: UpgradeCoordinator,
  calls: [string, unknown[]][],
  what: string,
) {
  const address = await target.getAddress();
  return governAndExecute(via, [{ voter, support: VoteType.For }], {
    targets: calls.map(() => address),
    values: calls.map(() => 0n),
    calldatas: calls.map(([fn, args]) => call(target, fn, args)),
    description: what,
  });
}

describe("UpgradeCoordinator migration (finding 6)", function () {
  describe("governance handover to a new timelock", function () {
    it("takes two votes: the old governance offers, the new timelock accepts by its own proposal", async function () {
      const { d, next, voter } = await loadFixture(migrationFixture);
      const c = d.coordinator;
      const oldTimelock = await d.timelock.getAddress();
      const newTimelock = await next.timelock.getAddress();

      const offered = await govern(d, voter, c, [["transferGovernance", [newTimelock]]], "Offer governance");
      await expect(offered.receipts.execute).to.emit(c, "GovernanceTransferStarted").withArgs(oldTimelock, newTimelock);
      expect(await c.governance()).to.equal(oldTimelock);
      expect(await c.pendingGovernance()).to.equal(newTimelock);

      const accepted = await govern(next, voter, c, [["acceptGovernance", []]], "Accept governance");
      await expect(accepted.receipts.execute).to.emit(c, "GovernanceTransferred").withArgs(oldTimelock, newTimelock);
      expect(await c.governance()).to.equal(newTimelock);
      expect(await c.pendingGovernance()).to.equal(ZeroAddress);

      // The old timelock lost every power; the new one has them all.
      await expect(c.connect(d.timelockSigner).setDefaultCohort(2))
        .to.be.revertedWithCustomError(c, "CoordinatorUnauthorized")
        .withArgs(oldTimelock);
      const scheduled = await govern(next, voter, c, [["schedule", [manifest("after-handover", [1, 3])]]], "Schedule");
      await expect(scheduled.receipts.execute).to.emit(c, "UpgradeScheduled");
    });

    it("leaves governance in place while the offered account has not accepted, so a typo bricks nothing", async function () {
      const { d, asGovernance } = await loadFixture(migrationFixture);
      const typo = "0x000000000000000000000000000000000000dEaD";
      await (await asGovernance.transferGovernance(typo)).wait();
      expect(await d.coordinator.governance()).to.equal(await d.timelock.getAddress());
      // Governance corrects the offer, or withdraws it with zero.
      await expect(asGovernance.transferGovernance(ZeroAddress))
        .to.emit(d.coordinator, "GovernanceTransferStarted")
        .withArgs(await d.timelock.getAddress(), ZeroAddress);
      expect(await d.coordinator.pendingGovernance()).to.equal(ZeroAddress);
      await expect(asGovernance.setDefaultCohort(2)).to.emit(d.coordinator, "DefaultCohortSet");
    });

    it("carries an upgrade in flight over to the new governance", async function () {
      const { d, next, asGovernance } = await loadFixture(migrationFixture);
      await (await asGovernance.schedule(manifest("in-flight", [1, 3]))).wait();
      await (await d.coordinator.advance(1)).wait();
      await (await asGovernance.pause(1)).wait();
      await (await asGovernance.transferGovernance(await next.timelock.getAddress())).wait();
      const newTimelock = await impersonate(await next.timelock.getAddress());
      await (await d.coordinator.connect(newTimelock).acceptGovernance()).wait();
      await expect(d.coordinator.connect(newTimelock).resume(1)).to.emit(d.coordinator, "UpgradeResumed");
      expect(Number((await d.coordinator.getUpgrade(1)).state)).to.equal(UpgradeState.Rolling);
    });

    describe("reverts", function () {
      it("when anyone but governance offers the role, or anyone but the offered account accepts", async function () {
        const { d, next, voter, asGovernance } = await loadFixture(migrationFixture);
        const newTimelock = await next.timelock.getAddress();
        await expect(d.coordinator.connect(voter).transferGovernance(voter.address))
          .to.be.revertedWithCustomError(d.coordinator, "CoordinatorUnauthorized")
          .withArgs(voter.address);
        await expect(d.coordinator.connect(voter).acceptGovernance())
          .to.be.revertedWithCustomError(d.coordinator, "CoordinatorUnauthorized")
          .withArgs(voter.address);
        await (await asGovernance.transferGovernance(newTimelock)).wait();
        await expect(d.coordinator.connect(d.guardian).acceptGovernance())
          .to.be.revertedWithCustomError(d.coordinator, "CoordinatorUnauthorized")
          .withArgs(d.guardian.address);
      });

      it("when the role is offered to the guardian", async function () {
        const { d, asGovernance } = await loadFixture(migrationFixture);
        await expect(asGovernance.transferGovernance(d.guardian.address))
          .to.be.revertedWithCustomError(d.coordinator, "CoordinatorRoleConflict")
          .withArgs(d.guardian.address, d.guardian.address);
      });
    });
  });

  describe("moving the token's registry to a new coordinator", function () {
    it("goes through the Governor end to end, and validators keep their cohorts with the successor", async function () {
      const { d, next, canary, main, voter } = await loadFixture(migrationFixture);
      const old = d.coordinator;
      const successor = await deployCoordinator(d, await next.timelock.getAddress());
      const successorAddress = await successor.getAddress();

      const moved = await govern(d, voter, old, [["migrateRegistry", [successorAddress]]], "Move the registry");
      await expect(moved.receipts.execute).to.emit(old, "RegistryMigrated").withArgs(successorAddress);
      await expect(moved.receipts.execute).to.emit(d.token, "CohortRegistryBound").withArgs(successorAddress);
      expect(await d.token.registry()).to.equal(successorAddress);
      expect(await old.successor()).to.equal(successorAddress);

      // The old coordinator is retired: it schedules nothing and registers no one.
      await expect(old.connect(d.timelockSigner).schedule(manifest("on-the-old-one", [1, 3])))
        .to.be.revertedWithCustomError(old, "CoordinatorRetired")
        .withArgs(successorAddress);
      await expect(old.connect(canary.operator).deregister())
        .to.be.revertedWithCustomError(d.token, "StakeTokenUnauthorizedRegistry")
        .withArgs(await old.getAddress());

      // Validators register with the successor (a new proof: another domain) and keep the cohort governance gave.
      for (const v of [canary, main]) {
        const proof = await attesterProof(successor, v.operator, v.attester);
        await (await successor.connect(v.operator).register(v.attester.address, "ipfs://again", proof)).wait();
      }
      expect((await successor.getValidator(canary.operator.address)).cohort).to.equal(1n);
      expect((await successor.getValidator(main.operator.address)).cohort).to.equal(3n);

      // The new governance runs a rollout on the successor.
      const scheduled = await govern(
        next,
        voter,
        successor,
        [["schedule", [manifest("on-the-successor", [1, 3])]]],
        "Go",
      );
      await expect(scheduled.receipts.execute).to.emit(successor, "UpgradeScheduled");
      expect((await successor.getStage(1, 0)).cohortStake).to.equal(STAKE(600));
    });

    describe("reverts", function () {
      it("while an upgrade is in flight", async function () {
        const { d, next, asGovernance } = await loadFixture(migrationFixture);
        const successor = await deployCoordinator(d, await next.timelock.getAddress());
        await (await asGovernance.schedule(manifest("in-flight", [1, 3]))).wait();
        await expect(asGovernance.migrateRegistry(await successor.getAddress()))
          .to.be.revertedWithCustomError(d.coordinator, "CoordinatorUpgradeInFlight")
          .withArgs(1);
        expect(await d.token.registry()).to.equal(await d.coordinator.getAddress());
        // Once it ended, the move goes through.
        await (await asGovernance.withdraw(1)).wait();
        await expect(asGovernance.migrateRegistry(await successor.getAddress())).to.emit(
          d.coordinator,
          "RegistryMigrated",
        );
      });

      it("to a successor that is zero, itself, or not a coordinator of the same token", async function () {
        const { d, asGovernance } = await loadFixture(migrationFixture);
        const self = await d.coordinator.getAddress();
        const stranger = await fundedWallet("migration:stranger");
        // Zero, itself, an account with no code, a contract that is no coordinator.
        for (const bad of [ZeroAddress, self, stranger.address, await d.governor.getAddress()]) {
          await expect(asGovernance.migrateRegistry(bad))
            .to.be.revertedWithCustomError(d.coordinator, "CoordinatorInvalidSuccessor")
            .withArgs(bad);
        }
        await expect(d.coordinator.connect(stranger).migrateRegistry(stranger.address))
          .to.be.revertedWithCustomError(d.coordinator, "CoordinatorUnauthorized")
          .withArgs(stranger.address);
        expect(await d.token.registry()).to.equal(self);
      });

      it("when anyone but the bound registry moves the token's binding", async function () {
        const { d, voter } = await loadFixture(migrationFixture);
        await expect(d.token.connect(voter).moveRegistry(voter.address))
          .to.be.revertedWithCustomError(d.token, "StakeTokenRegistryBinding")
          .withArgs(voter.address, await d.coordinator.getAddress());
        await expect(d.token.connect(d.deployer).moveRegistry(voter.address))
          .to.be.revertedWithCustomError(d.token, "StakeTokenRegistryBinding")
          .withArgs(d.deployer.address, await d.coordinator.getAddress());
      });
    });
  });
});
