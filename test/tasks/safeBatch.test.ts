import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre, { ethers } from "hardhat";
import { reset } from "@nomicfoundation/hardhat-network-helpers";
import { getAddress } from "viem";
import { readDeployment } from "../../lib/deployments";
import { readSafeBatch } from "../../lib/safeBatch";
import { LockstepGovernor__factory, UpgradeCoordinator__factory } from "../../typechain-types";
import { TaskError } from "../../tasks/cli";
import { connectFor } from "../../tasks/governance";

/** Runs a task in process and returns what it printed. */
async function runTask(name: string, args: Record<string, unknown> = {}): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => lines.push(parts.map(String).join(" "));
  try {
    await hre.run(name, args);
  } finally {
    console.log = log;
  }
  return lines.join("\n");
}

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
