import { expect } from "chai";
import { loadFixture, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import {
  ContractTransactionResponse,
  Signer,
  ZeroAddress,
  ZeroHash,
  keccak256,
  toUtf8Bytes,
  zeroPadValue,
} from "ethers";
import { StakeToken__factory, UpgradeCoordinator } from "../../typechain-types";
import { PauseReason, RollbackReason, UpgradeState } from "../../lib/coordinator";
import {
  STAKE,
  coordinatorFactory,
  deployLockstep,
  impersonate,
  manifest,
  registerValidators,
} from "../helpers/system";
import { OPEN_STATES, PAUSED_STATES } from "../helpers/model";

/** Everyone who could try to call a privileged function. */
type Role = "governance" | "guardian" | "operator" | "attester" | "stranger" | "deployer";
const ROLES: Role[] = ["governance", "guardian", "operator", "attester", "stranger", "deployer"];

const ROLE_NAMES: Record<Role, string> = {
  governance: "governance (the timelock)",
  guardian: "the guardian",
  operator: "a registered operator",
  attester: "an attester key",
  stranger: "a token holder with no role",
  deployer: "the deployer",
};

/**
 * A system with two validators (cohorts 1 and 2), a token holder with no role, and upgrade 1 scheduled with its
 * first stage active, so every privileged function has something to act on.
 */
async function accessFixture() {
  const d = await deployLockstep();
  const [canary, early] = await registerValidators(d, [
    { cohort: 1, stake: STAKE(600) },
    { cohort: 2, stake: STAKE(400) },
  ]);
  const [stranger, newGuardian] = d.others;
  await (await d.token.connect(d.deployer).transfer(stranger.address, STAKE(1000))).wait();
  await (await d.token.connect(stranger).delegate(stranger.address)).wait();

  const asGovernance = d.coordinator.connect(d.timelockSigner);
  await (await asGovernance.schedule(manifest("access-1", [1, 2]))).wait();
  const upgradeId = 1n;
  await (await d.coordinator.advance(upgradeId)).wait(); // no time lock, no readiness: stage 0 activates

  const signers: Record<Role, Signer> = {
    governance: d.timelockSigner,
    guardian: d.guardian,
    operator: canary.operator,
    attester: canary.attester,
    stranger,
    deployer: d.deployer,
  };
  const addresses = {} as Record<Role, string>;
  for (const role of ROLES) addresses[role] = await signers[role].getAddress();
  return { d, canary, early, stranger, newGuardian, upgradeId, signers, addresses, asGovernance };
}

type Fixture = Awaited<ReturnType<typeof accessFixture>>;

/** One privileged function: who may call it, how to call it, what it changes, and how to check that it did. */
interface PrivilegedFunction {
  name: string;
  allowed: Role[];
  /** Puts the system where the call can succeed (run as governance before the call). */
  setup?: (f: Fixture) => Promise<unknown>;
  call: (c: UpgradeCoordinator, f: Fixture) => Promise<ContractTransactionResponse>;
  /** The state the function changes; a refused call must leave it as it was. */
  observe: (f: Fixture) => Promise<unknown[]>;
  /** Asserts the event and the new state of a successful call by `caller`. */
  succeeded: (tx: Promise<ContractTransactionResponse>, f: Fixture, caller: string) => Promise<void>;
}

const upgradeState = async (f: Fixture) => {
  const u = await f.d.coordinator.getUpgrade(f.upgradeId);
  return [u.state, u.pauseReason, await f.d.coordinator.openUpgrade()];
};

const FUNCTIONS: PrivilegedFunction[] = [
  {
    name: "schedule",
    allowed: ["governance"],
    setup: (f) => f.asGovernance.withdraw(f.upgradeId).then((tx) => tx.wait()),
    call: (c) => c.schedule(manifest("access-2", [1, 2])),
    observe: async (f) => [
      await f.d.coordinator.upgradeCount(),
      await f.d.coordinator.openUpgrade(),
      await f.d.coordinator.upgradeIdOf("access-2"),
    ],
    succeeded: async (tx, f) => {
      await expect(tx)
        .to.emit(f.d.coordinator, "UpgradeScheduled")
        .withArgs(2n, keccak256(toUtf8Bytes("access-2")), anyValue, anyValue, [STAKE(600), STAKE(400)]);
      expect(await f.d.coordinator.upgradeCount()).to.equal(2n);
      expect(await f.d.coordinator.openUpgrade()).to.equal(2n);
      expect(await f.d.coordinator.upgradeIdOf("access-2")).to.equal(2n);
      expect((await f.d.coordinator.getUpgrade(2n)).state).to.equal(UpgradeState.Scheduled);
    },
  },
  {
    name: "resume",
    allowed: ["governance"],
    setup: (f) => f.asGovernance.pause(f.upgradeId).then((tx) => tx.wait()),
    call: (c, f) => c.resume(f.upgradeId),
    observe: upgradeState,
    succeeded: async (tx, f, caller) => {
      await expect(tx).to.emit(f.d.coordinator, "UpgradeResumed").withArgs(f.upgradeId, caller, 0);
      expect(await upgradeState(f)).to.deep.equal([UpgradeState.Rolling, PauseReason.None, f.upgradeId]);
    },
  },
  {
    name: "withdraw",
    allowed: ["governance"],
    call: (c, f) => c.withdraw(f.upgradeId),
    observe: upgradeState,
    succeeded: async (tx, f, caller) => {
      await expect(tx).to.emit(f.d.coordinator, "UpgradeWithdrawn").withArgs(f.upgradeId, caller, 0, true);
      expect(await upgradeState(f)).to.deep.equal([UpgradeState.Withdrawn, PauseReason.None, 0n]);
    },
  },
  {
    name: "setCohort",
    allowed: ["governance"],
    call: (c, f) => c.setCohort(f.early.operator.address, 4),
    observe: async (f) => [
      (await f.d.coordinator.getValidator(f.early.operator.address)).cohort,
      await f.d.token.getCohortStake(2),
      await f.d.token.getCohortStake(4),
    ],
    succeeded: async (tx, f) => {
      await expect(tx).to.emit(f.d.coordinator, "CohortAssigned").withArgs(f.early.operator.address, 2, 4);
      expect((await f.d.coordinator.getValidator(f.early.operator.address)).cohort).to.equal(4n);
      expect(await f.d.token.getCohortStake(2)).to.equal(0n);
      expect(await f.d.token.getCohortStake(4)).to.equal(STAKE(400));
    },
  },
  {
    name: "setDefaultCohort",
    allowed: ["governance"],
    call: (c) => c.setDefaultCohort(5),
    observe: async (f) => [await f.d.coordinator.defaultCohort()],
    succeeded: async (tx, f) => {
      await expect(tx).to.emit(f.d.coordinator, "DefaultCohortSet").withArgs(3, 5);
      expect(await f.d.coordinator.defaultCohort()).to.equal(5n);
    },
  },
  {
    name: "setGuardian",
    allowed: ["governance"],
    call: (c, f) => c.setGuardian(f.newGuardian.address),
    observe: async (f) => [await f.d.coordinator.guardian()],
    succeeded: async (tx, f) => {
      await expect(tx).to.emit(f.d.coordinator, "GuardianSet").withArgs(f.d.guardian.address, f.newGuardian.address);
      expect(await f.d.coordinator.guardian()).to.equal(f.newGuardian.address);
    },
  },
  {
    name: "pause",
    allowed: ["governance", "guardian"],
    call: (c, f) => c.pause(f.upgradeId),
    observe: upgradeState,
    succeeded: async (tx, f, caller) => {
      await expect(tx)
        .to.emit(f.d.coordinator, "UpgradePaused")
        .withArgs(f.upgradeId, caller, PauseReason.Manual, 0, 0, 0);
      expect(await upgradeState(f)).to.deep.equal([UpgradeState.Paused, PauseReason.Manual, f.upgradeId]);
    },
  },
  {
    name: "orderRollback",
    allowed: ["governance", "guardian"],
    call: (c, f) => c.orderRollback(f.upgradeId),
    observe: upgradeState,
    succeeded: async (tx, f, caller) => {
      await expect(tx)
        .to.emit(f.d.coordinator, "RollbackOrdered")
        .withArgs(f.upgradeId, caller, RollbackReason.Manual, 0, 0);
      expect(await upgradeState(f)).to.deep.equal([UpgradeState.RolledBack, PauseReason.None, 0n]);
    },
  },
  {
    name: "renounceGuardian",
    allowed: ["guardian"],
    call: (c) => c.renounceGuardian(),
    observe: async (f) => [await f.d.coordinator.guardian()],
    succeeded: async (tx, f) => {
      await expect(tx).to.emit(f.d.coordinator, "GuardianSet").withArgs(f.d.guardian.address, ZeroAddress);
      expect(await f.d.coordinator.guardian()).to.equal(ZeroAddress);
    },
  },
];

describe("UpgradeCoordinator: access control", function () {
  describe("role-by-function matrix", function () {
    for (const fn of FUNCTIONS) {
      describe(fn.name, function () {
        for (const role of ROLES) {
          const allowed = fn.allowed.includes(role);
          it(`${allowed ? "succeeds" : "reverts"} for ${ROLE_NAMES[role]}`, async function () {
            const f = await loadFixture(accessFixture);
            if (fn.setup) await fn.setup(f);
            const caller = f.addresses[role];
            const before = await fn.observe(f);
            const call = fn.call(f.d.coordinator.connect(f.signers[role]), f);
            if (allowed) {
              await fn.succeeded(call, f, caller);
            } else {
              await expect(call)
                .to.be.revertedWithCustomError(f.d.coordinator, "CoordinatorUnauthorized")
                .withArgs(caller);
              expect(await fn.observe(f)).to.deep.equal(before);
            }
          });
        }
      });
    }
  });

  describe("guardian", function () {
    it("pauses at once, but only governance resumes", async function () {
      const { d, upgradeId, asGovernance } = await loadFixture(accessFixture);
      await d.coordinator.connect(d.guardian).pause(upgradeId);
      await expect(d.coordinator.connect(d.guardian).resume(upgradeId))
        .to.be.revertedWithCustomError(d.coordinator, "CoordinatorUnauthorized")
        .withArgs(d.guardian.address);
      expect((await d.coordinator.getUpgrade(upgradeId)).state).to.equal(UpgradeState.Paused);
      await expect(asGovernance.resume(upgradeId))
        .to.emit(d.coordinator, "UpgradeResumed")
        .withArgs(upgradeId, await d.timelockSigner.getAddress(), 0);
    });

    it("orders rollback of a paused upgrade, which then can no longer be resumed or withdrawn", async function () {
      const { d, upgradeId, asGovernance } = await loadFixture(accessFixture);
      await d.coordinator.connect(d.guardian).pause(upgradeId);
      await expect(d.coordinator.connect(d.guardian).orderRollback(upgradeId))
        .to.emit(d.coordinator, "RollbackOrdered")
        .withArgs(upgradeId, d.guardian.address, RollbackReason.Manual, 0, 0);
      await expect(asGovernance.resume(upgradeId))
        .to.be.revertedWithCustomError(d.coordinator, "CoordinatorUnexpectedState")
        .withArgs(upgradeId, UpgradeState.RolledBack, PAUSED_STATES);
      await expect(asGovernance.withdraw(upgradeId))
        .to.be.revertedWithCustomError(d.coordinator, "CoordinatorUnexpectedState")
        .withArgs(upgradeId, UpgradeState.RolledBack, OPEN_STATES);
    });

    it("is refused once governance revokes it with setGuardian(ZeroAddress)", async function () {
      const { d, upgradeId, asGovernance } = await loadFixture(accessFixture);
      await expect(asGovernance.setGuardian(ZeroAddress))
        .to.emit(d.coordinator, "GuardianSet")
        .withArgs(d.guardian.address, ZeroAddress);
      expect(await d.coordinator.guardian()).to.equal(ZeroAddress);
      for (const call of [
        () => d.coordinator.connect(d.guardian).pause(upgradeId),
        () => d.coordinator.connect(d.guardian).orderRollback(upgradeId),
        () => d.coordinator.connect(d.guardian).renounceGuardian(),
      ]) {
        await expect(call())
          .to.be.revertedWithCustomError(d.coordinator, "CoordinatorUnauthorized")
          .withArgs(d.guardian.address);
      }
      expect((await d.coordinator.getUpgrade(upgradeId)).state).to.equal(UpgradeState.Rolling);
      // Governance keeps its own pause right without a guardian.
      await expect(asGovernance.pause(upgradeId)).to.emit(d.coordinator, "UpgradePaused");
    });

    it("is replaced by a newly appointed guardian: the new one pauses, the old one is refused", async function () {
      const { d, upgradeId, asGovernance, newGuardian } = await loadFixture(accessFixture);
      await asGovernance.setGuardian(newGuardian.address);
      await expect(d.coordinator.connect(d.guardian).pause(upgradeId))
        .to.be.revertedWithCustomError(d.coordinator, "CoordinatorUnauthorized")
        .withArgs(d.guardian.address);
      await expect(d.coordinator.connect(newGuardian).pause(upgradeId))
        .to.emit(d.coordinator, "UpgradePaused")
        .withArgs(upgradeId, newGuardian.address, PauseReason.Manual, 0, 0, 0);
    });

    it("renounces, after which it can neither pause nor renounce again", async function () {
      const { d, upgradeId } = await loadFixture(accessFixture);
      await expect(d.coordinator.connect(d.guardian).renounceGuardian())
        .to.emit(d.coordinator, "GuardianSet")
        .withArgs(d.guardian.address, ZeroAddress);
      await expect(d.coordinator.connect(d.guardian).pause(upgradeId))
        .to.be.revertedWithCustomError(d.coordinator, "CoordinatorUnauthorized")
        .withArgs(d.guardian.address);
      await expect(d.coordinator.connect(d.guardian).renounceGuardian())
        .to.be.revertedWithCustomError(d.coordinator, "CoordinatorUnauthorized")
        .withArgs(d.guardian.address);
    });
  });

  describe("separation of governance and guardian", function () {
    it("reverts setGuardian(governance) with CoordinatorRoleConflict and keeps the guardian", async function () {
      const { d, asGovernance } = await loadFixture(accessFixture);
      const governance = await d.timelockSigner.getAddress();
      await expect(asGovernance.setGuardian(governance))
        .to.be.revertedWithCustomError(d.coordinator, "CoordinatorRoleConflict")
        .withArgs(governance, governance);
      expect(await d.coordinator.guardian()).to.equal(d.guardian.address);
    });

    it("reverts a constructor whose governance is also the guardian", async function () {
      const { d } = await loadFixture(accessFixture);
      const factory = coordinatorFactory(d);
      const governance = await d.timelockSigner.getAddress();
      await expect(factory.deploy(await d.token.getAddress(), governance, governance, 3))
        .to.be.revertedWithCustomError(d.coordinator, "CoordinatorRoleConflict")
        .withArgs(governance, governance);
    });

    it("reverts a constructor with no governance", async function () {
      const { d } = await loadFixture(accessFixture);
      await expect(coordinatorFactory(d).deploy(await d.token.getAddress(), ZeroAddress, d.guardian.address, 3))
        .to.be.revertedWithCustomError(d.coordinator, "CoordinatorRoleConflict")
        .withArgs(ZeroAddress, d.guardian.address);
    });

    it("reverts a constructor with default cohort 0", async function () {
      const { d } = await loadFixture(accessFixture);
      const governance = await d.timelockSigner.getAddress();
      await expect(coordinatorFactory(d).deploy(await d.token.getAddress(), governance, d.guardian.address, 0))
        .to.be.revertedWithCustomError(d.coordinator, "RegistryInvalidCohort")
        .withArgs(0);
    });

    it("deploys with no guardian, and then nobody but governance can pause", async function () {
      const { d, stranger } = await loadFixture(accessFixture);
      const governance = await d.timelockSigner.getAddress();
      const c = await coordinatorFactory(d).deploy(await d.token.getAddress(), governance, ZeroAddress, 3);
      expect(await c.guardian()).to.equal(ZeroAddress);
      expect(await c.governance()).to.equal(governance);
      await expect(c.connect(stranger).renounceGuardian())
        .to.be.revertedWithCustomError(c, "CoordinatorUnauthorized")
        .withArgs(stranger.address);
    });
  });

  describe("stake token", function () {
    describe("bindRegistry", function () {
      it("binds the coordinator once, at deployment", async function () {
        const { d } = await loadFixture(accessFixture);
        expect(await d.token.registry()).to.equal(await d.coordinator.getAddress());
      });

      for (const role of ROLES) {
        it(`reverts a second binding by ${ROLE_NAMES[role]}`, async function () {
          const f = await loadFixture(accessFixture);
          const current = await f.d.coordinator.getAddress();
          await expect(f.d.token.connect(f.signers[role]).bindRegistry(f.stranger.address))
            .to.be.revertedWithCustomError(f.d.token, "StakeTokenRegistryBinding")
            .withArgs(f.addresses[role], current);
          expect(await f.d.token.registry()).to.equal(current);
        });
      }

      it("on a fresh token, binds only for its deployer, only once and never to zero", async function () {
        const { d, stranger, newGuardian } = await loadFixture(accessFixture);
        const token = await new StakeToken__factory(d.deployer).deploy("T", "T", d.deployer.address, STAKE(1));
        await expect(token.connect(stranger).bindRegistry(newGuardian.address))
          .to.be.revertedWithCustomError(token, "StakeTokenRegistryBinding")
          .withArgs(stranger.address, ZeroAddress);
        await expect(token.bindRegistry(ZeroAddress))
          .to.be.revertedWithCustomError(token, "StakeTokenRegistryBinding")
          .withArgs(d.deployer.address, ZeroAddress);
        await expect(token.bindRegistry(newGuardian.address))
          .to.emit(token, "CohortRegistryBound")
          .withArgs(newGuardian.address);
        expect(await token.registry()).to.equal(newGuardian.address);
        await expect(token.bindRegistry(stranger.address))
          .to.be.revertedWithCustomError(token, "StakeTokenRegistryBinding")
          .withArgs(d.deployer.address, newGuardian.address);
      });
    });

    describe("setOperatorCohort", function () {
      for (const role of ROLES) {
        it(`reverts for ${ROLE_NAMES[role]}`, async function () {
          const f = await loadFixture(accessFixture);
          await expect(f.d.token.connect(f.signers[role]).setOperatorCohort(f.stranger.address, 1))
            .to.be.revertedWithCustomError(f.d.token, "StakeTokenUnauthorizedRegistry")
            .withArgs(f.addresses[role]);
          expect(await f.d.token.cohortOf(f.stranger.address)).to.equal(0n);
          expect(await f.d.token.getCohortStake(1)).to.equal(STAKE(600));
        });
      }

      it("succeeds for the bound registry and moves the operator's stake into the cohort", async function () {
        const { d, stranger } = await loadFixture(accessFixture);
        const registry = await impersonate(await d.coordinator.getAddress());
        await expect(d.token.connect(registry).setOperatorCohort(stranger.address, 1))
          .to.emit(d.token, "OperatorCohortSet")
          .withArgs(stranger.address, 0, 1);
        expect(await d.token.cohortOf(stranger.address)).to.equal(1n);
        expect(await d.token.getCohortStake(1)).to.equal(STAKE(1600));
      });
    });
  });

  describe("timelock", function () {
    /** A timelock operation that calls coordinator.setDefaultCohort(5). */
    async function operation(f: Fixture) {
      const target = await f.d.coordinator.getAddress();
      const data = f.d.coordinator.interface.encodeFunctionData("setDefaultCohort", [5]);
      const salt = keccak256(toUtf8Bytes("access-timelock"));
      const delay = await f.d.timelock.getMinDelay();
      const id = await f.d.timelock.hashOperation(target, 0, data, ZeroHash, salt);
      return { target, data, salt, delay, id };
    }

    it("is the coordinator's governance and the governor's executor", async function () {
      const { d } = await loadFixture(accessFixture);
      const timelock = await d.timelock.getAddress();
      expect(await d.coordinator.governance()).to.equal(timelock);
      expect(await d.governor.timelock()).to.equal(timelock);
    });

    it("leaves the deployer no role: admin, proposer, canceller and executor all belong to others", async function () {
      const { d } = await loadFixture(accessFixture);
      const tl = d.timelock;
      const [admin, proposer, canceller, executor] = await Promise.all([
        tl.DEFAULT_ADMIN_ROLE(),
        tl.PROPOSER_ROLE(),
        tl.CANCELLER_ROLE(),
        tl.EXECUTOR_ROLE(),
      ]);
      for (const role of [admin, proposer, canceller]) {
        expect(await tl.hasRole(role, d.deployer.address)).to.equal(false);
      }
      expect(await tl.hasRole(admin, await tl.getAddress())).to.equal(true);
      expect(await tl.hasRole(proposer, await d.governor.getAddress())).to.equal(true);
      expect(await tl.hasRole(canceller, await d.governor.getAddress())).to.equal(true);
      expect(await tl.hasRole(executor, ZeroAddress)).to.equal(true);
      await expect(tl.connect(d.deployer).grantRole(proposer, d.deployer.address))
        .to.be.revertedWithCustomError(tl, "AccessControlUnauthorizedAccount")
        .withArgs(d.deployer.address, admin);
    });

    for (const role of ROLES.filter((r) => r !== "governance")) {
      it(`refuses to queue an operation from ${ROLE_NAMES[role]}`, async function () {
        const f = await loadFixture(accessFixture);
        const op = await operation(f);
        await expect(f.d.timelock.connect(f.signers[role]).schedule(op.target, 0, op.data, ZeroHash, op.salt, op.delay))
          .to.be.revertedWithCustomError(f.d.timelock, "AccessControlUnauthorizedAccount")
          .withArgs(f.addresses[role], await f.d.timelock.PROPOSER_ROLE());
        expect(await f.d.timelock.isOperation(op.id)).to.equal(false);
      });
    }

    it("queues for the governor only, after which anyone executes once the delay has passed", async function () {
      const f = await loadFixture(accessFixture);
      const { d, stranger } = f;
      const op = await operation(f);
      const governor = await impersonate(await d.governor.getAddress());
      await expect(d.timelock.connect(governor).schedule(op.target, 0, op.data, ZeroHash, op.salt, op.delay))
        .to.emit(d.timelock, "CallScheduled")
        .withArgs(op.id, 0, op.target, 0, op.data, ZeroHash, op.delay);

      await expect(d.timelock.connect(stranger).cancel(op.id))
        .to.be.revertedWithCustomError(d.timelock, "AccessControlUnauthorizedAccount")
        .withArgs(stranger.address, await d.timelock.CANCELLER_ROLE());
      const readyBitmap = zeroPadValue("0x04", 32); // 1 << OperationState.Ready
      await expect(d.timelock.connect(stranger).execute(op.target, 0, op.data, ZeroHash, op.salt))
        .to.be.revertedWithCustomError(d.timelock, "TimelockUnexpectedOperationState")
        .withArgs(op.id, readyBitmap);
      expect(await d.coordinator.defaultCohort()).to.equal(3n);

      await time.increase(op.delay);
      await expect(d.timelock.connect(stranger).execute(op.target, 0, op.data, ZeroHash, op.salt))
        .to.emit(d.timelock, "CallExecuted")
        .withArgs(op.id, 0, op.target, 0, op.data)
        .and.to.emit(d.coordinator, "DefaultCohortSet")
        .withArgs(3, 5);
      expect(await d.coordinator.defaultCohort()).to.equal(5n);
    });
  });
});
