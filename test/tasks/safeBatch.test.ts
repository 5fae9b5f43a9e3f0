import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre, { ethers } from "hardhat";
import { mine, reset } from "@nomicfoundation/hardhat-network-helpers";
import { getAddress } from "viem";
import { readDeployment } from "../../lib/deployments";
import { readSafeBatch } from "../../lib/safeBatch";
import { LockstepGovernor__factory, StakeToken__factory, UpgradeCoordinator__factory } from "../../typechain-types";
import { TaskError } from "../../tasks/cli";
import { connectFor } from "../../tasks/governance";
import { refusal, runTask } from "../helpers/tasks";

describe("tasks write Safe Transaction Builder batches", function () {
  this.timeout(240_000);
  let dir: string;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), "lockstep-safe-tasks-"));
    process.env.LOCKSTEP_DEPLOYMENTS_DIR = dir;
    await reset();
    await runTask("deploy");
  });

  after(function () {
    delete process.env.LOCKSTEP_DEPLOYMENTS_DIR;
    rmSync(dir, { recursive: true, force: true });
  });

  it("proposes, then cancels, as a Safe: each step a batch that the Safe's transaction carries out", async function () {
    const d = readDeployment("hardhat", dir);
    const [holder] = await ethers.getSigners();
    const governor = LockstepGovernor__factory.connect(d.contracts.LockstepGovernor, holder);
    // The "Safe" is an account the test can send from, so the batch's calls can be replayed as the Safe would.
    const safe = getAddress(holder.address);
    const proposeFile = join(dir, "propose.json");
    const out = await runTask("upgrade:restart-budget", {
      bps: "500",
      leaseDuration: "3600",
      safeBatch: proposeFile,
      safe,
    });
    expect(out).to.match(/nothing was sent/);
    expect(out).to.include("LockstepGovernor.propose(targets=");
    expect(out).to.include("1. UpgradeCoordinator.setRestartBudget(bps=500, leaseDuration=3600)");

    const batch = readSafeBatch(proposeFile);
    expect(batch.meta.createdFromSafeAddress).to.equal(safe);
    expect(batch.chainId).to.equal("31337");
    expect(batch.transactions).to.have.length(1);
    const [tx] = batch.transactions;
    expect(tx.to).to.equal(getAddress(d.contracts.LockstepGovernor));
    const receipt = await (await holder.sendTransaction({ to: tx.to, data: tx.data!, value: BigInt(tx.value) })).wait();
    const created = receipt!.logs.map((l) => governor.interface.parseLog(l)).find((e) => e?.name === "ProposalCreated");
    const proposalId: bigint = created!.args.proposalId;
    expect(created!.args.proposer).to.equal(safe);
    expect(batch.meta.name).to.equal(`Lockstep: propose proposal ${proposalId}`);

    const cancelFile = join(dir, "cancel.json");
    const cancelled = await runTask("cancel", { proposalId: proposalId.toString(), safeBatch: cancelFile, safe });
    expect(cancelled).to.include("LockstepGovernor.cancel(targets=");
    const [c] = readSafeBatch(cancelFile).transactions;
    await (await holder.sendTransaction({ to: c.to, data: c.data! })).wait();
    expect(await governor.state(proposalId)).to.equal(2n); // Canceled
  });

  it("a guardian action defaults to the coordinator's guardian as the Safe", async function () {
    const d = readDeployment("hardhat", dir);
    const [, guardian] = await ethers.getSigners();
    const coordinator = UpgradeCoordinator__factory.connect(d.contracts.UpgradeCoordinator, guardian);
    expect(getAddress(await coordinator.guardian())).to.equal(getAddress(guardian.address));
    const { c, batch } = await connectFor(hre, { signer: "0", safeBatch: join(dir, "g.json") }, false);
    expect(batch?.safe).to.equal(undefined); // the steering task then reads the guardian
    expect(c.coordinator).to.equal(getAddress(d.contracts.UpgradeCoordinator));
  });

  describe("votes and operator actions as a Safe", function () {
    /** Sends a batch's one transaction from `from`, as the Safe would once its owners signed. */
    async function replay(file: string, from: Awaited<ReturnType<typeof ethers.getSigners>>[number]) {
      const batch = readSafeBatch(file);
      expect(batch.transactions).to.have.length(1);
      expect(batch.meta.createdFromSafeAddress).to.equal(getAddress(from.address));
      const [tx] = batch.transactions;
      return (await from.sendTransaction({ to: tx.to, data: tx.data!, value: BigInt(tx.value) })).wait();
    }

    it("vote: the Safe's ballot, with its reason, counted with the Safe's delegated votes", async function () {
      const d = readDeployment("hardhat", dir);
      const [holder, , , , , , , , , poor] = await ethers.getSigners();
      const governor = LockstepGovernor__factory.connect(d.contracts.LockstepGovernor, holder);
      await (await StakeToken__factory.connect(d.contracts.StakeToken, holder).delegate(holder.address)).wait();
      const proposed = await runTask("upgrade:restart-budget", { bps: "450", leaseDuration: "3600", signer: "0" });
      const id = proposed.match(/^proposal\s+(\d+)/m)![1];
      await mine(2);
      const file = join(dir, "vote.json");
      const out = await runTask("vote", {
        proposalId: id,
        support: "for",
        reason: "the Safe agrees",
        safeBatch: file,
        safe: holder.address,
      });
      expect(out).to.include(
        `LockstepGovernor.castVoteWithReason(proposalId=${id}, support=1, reason=the Safe agrees)`,
      );
      expect(out).to.match(/the Safe votes for with [1-9]\d* votes/);
      expect(readSafeBatch(file).meta.name).to.equal(`Lockstep: vote for on proposal ${id}`);
      expect(await governor.hasVoted(id, holder.address)).to.equal(false); // nothing was sent
      await replay(file, holder);
      expect(await governor.hasVoted(id, holder.address)).to.equal(true);
      expect((await governor.proposalVotes(id)).forVotes).to.be.greaterThan(0n);

      const again = await refusal("vote", {
        proposalId: id,
        support: "against",
        safeBatch: join(dir, "v2.json"),
        safe: holder.address,
      });
      expect(again).to.equal(`${getAddress(holder.address)} has already voted on proposal ${id}`);
      const none = await refusal("vote", {
        proposalId: id,
        support: "for",
        safeBatch: join(dir, "v3.json"),
        safe: poor.address,
      });
      expect(none).to.match(/had no voting power at block \d+: tokens count only once delegated/);
    });

    it("delegate: a Safe holding tokens delegates its votes to itself", async function () {
      const d = readDeployment("hardhat", dir);
      const [holder, , , , , , , , safe] = await ethers.getSigners();
      const token = StakeToken__factory.connect(d.contracts.StakeToken, holder);
      await (await token.transfer(safe.address, 10n ** 18n)).wait();
      const file = join(dir, "delegate.json");
      const out = await runTask("delegate", { safeBatch: file, safe: safe.address, signer: "0" });
      expect(out).to.include(`StakeToken.delegate(delegatee=${getAddress(safe.address)})`);
      expect(out).to.include(getAddress(safe.address));
      expect(await token.delegates(safe.address)).to.equal(ethers.ZeroAddress);
      await replay(file, safe);
      expect(await token.delegates(safe.address)).to.equal(safe.address);
      expect(await token.getVotes(safe.address)).to.equal(10n ** 18n);
    });

    it("validator:register and validator:rotate-attester: a Safe as the operator, proven by the attester key", async function () {
      const d = readDeployment("hardhat", dir);
      const signers = await ethers.getSigners();
      const safe = signers[5];
      const coordinator = UpgradeCoordinator__factory.connect(d.contracts.UpgradeCoordinator, safe);
      const key = ethers.Wallet.createRandom();
      process.env.ATTESTER_KEY = key.privateKey;
      try {
        const file = join(dir, "register.json");
        const out = await runTask("validator:register", {
          attester: key.address,
          metadata: "safe-op",
          safeBatch: file,
          safe: safe.address,
          signer: "0",
        });
        expect(out).to.include(`UpgradeCoordinator.register(attester=${key.address}, metadataURI=safe-op, proof=0x`);
        expect((await coordinator.getValidator(safe.address)).registered).to.equal(false);
        await replay(file, safe);
        const v = await coordinator.getValidator(safe.address);
        expect(v.registered).to.equal(true);
        expect(v.attester).to.equal(key.address);

        const twice = await refusal("validator:register", {
          attester: key.address,
          metadata: "",
          safeBatch: join(dir, "r2.json"),
          safe: safe.address,
          signer: "0",
        });
        expect(twice).to.equal(`${getAddress(safe.address)} is already a registered validator`);

        const next = ethers.Wallet.createRandom();
        process.env.ATTESTER_KEY = next.privateKey;
        const rotateFile = join(dir, "rotate.json");
        const rotated = await runTask("validator:rotate-attester", {
          attester: next.address,
          safeBatch: rotateFile,
          safe: safe.address,
          signer: "0",
        });
        expect(rotated).to.include(`UpgradeCoordinator.rotateAttester(newAttester=${next.address}, proof=0x`);
        await replay(rotateFile, safe);
        expect((await coordinator.getValidator(safe.address)).attester).to.equal(next.address);
      } finally {
        delete process.env.ATTESTER_KEY;
      }
    });

    it("validator:set-cohort: the Safe proposes the move, spelled out call by call", async function () {
      const d = readDeployment("hardhat", dir);
      const [holder, , , , , operator] = await ethers.getSigners();
      const governor = LockstepGovernor__factory.connect(d.contracts.LockstepGovernor, holder);
      const file = join(dir, "cohort.json");
      const out = await runTask("validator:set-cohort", {
        cohort: "2",
        operators: [operator.address],
        safeBatch: file,
        safe: holder.address,
        signer: "0",
      });
      expect(out).to.include("LockstepGovernor.propose(targets=");
      expect(out).to.include(`1. UpgradeCoordinator.setCohort(operator=${getAddress(operator.address)}, cohort=2)`);
      const receipt = await replay(file, holder);
      const created = receipt!.logs
        .map((l) => governor.interface.parseLog(l))
        .find((e) => e?.name === "ProposalCreated");
      expect(created!.args.proposer).to.equal(getAddress(holder.address));
      expect(created!.args.description).to.equal(`Move 1 validator(s) to cohort 2: ${getAddress(operator.address)}`);
    });
  });

  describe("refuses in one line", function () {
    it("a proposal batch without --safe", async function () {
      const err = await connectFor(hre, { signer: "0", safeBatch: join(dir, "x.json") }, true).catch((e) => e);
      expect(err).to.be.instanceOf(TaskError);
      expect((err as Error).message).to.equal("--safe-batch needs --safe <the Safe's address>");
    });
    it("--safe without --safe-batch", async function () {
      const err = await connectFor(hre, { signer: "0", safe: ethers.ZeroAddress }, true).catch((e) => e);
      expect((err as Error).message).to.equal("--safe goes with --safe-batch <out.json>");
    });
  });
});
