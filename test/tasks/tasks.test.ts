import { expect } from "chai";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers, network } from "hardhat";
import { mine, reset, time } from "@nomicfoundation/hardhat-network-helpers";
import { parseEther, ZeroHash } from "ethers";
import { packAttestations } from "../../lib/actions/packAttestations";
import { formatRelayEntry } from "../../lib/actions/relayFile";
import { Status, coordinatorDomain } from "../../lib/coordinator";
import { versionTag } from "../../lib/version";
import { readDeployment } from "../../lib/deployments";
import { manifestHash, readManifest } from "../../lib/manifest";
import { StakeToken__factory, UpgradeCoordinator__factory, LockstepGovernor__factory } from "../../typechain-types";
import { ROOT } from "../helpers/e2e";
import { attesterProof, signAttestation } from "../helpers/system";
import { runTask } from "../helpers/tasks";

/** Runs `npx hardhat <args>` in a child process (for exit codes and error lines). */
function hardhat(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(join(ROOT, "node_modules", ".bin", "hardhat"), args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, ...env },
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("hardhat tasks", function () {
  this.timeout(240_000);
  let dir: string;

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), "lockstep-tasks-"));
    process.env.LOCKSTEP_DEPLOYMENTS_DIR = dir;
    await reset();
  });

  after(function () {
    delete process.env.LOCKSTEP_DEPLOYMENTS_DIR;
    rmSync(dir, { recursive: true, force: true });
  });

  it("deploys, writes the deployments file, and does nothing when run again", async function () {
    const out = await runTask("deploy");
    expect(out).to.match(/deployed on hardhat \(chain 31337\)/);
    const d = readDeployment("hardhat", dir);
    expect(await ethers.provider.getCode(d.contracts.UpgradeCoordinator)).to.not.equal("0x");
    expect(await runTask("deploy")).to.match(/already deployed on hardhat/);
    expect(readDeployment("hardhat", dir).contracts).to.deep.equal(d.contracts);
  });

  it("checks and hashes a manifest file", async function () {
    const file = join(ROOT, "manifests", "v2.0.0-canary-first.json");
    const hash = manifestHash(readManifest(file).manifest);
    const out = await runTask("manifest:check", { file, canonical: false });
    expect(out).to.include(`manifest hash (keccak256 of the canonical form): ${hash}`);
    expect(out).to.match(/linux-arm64\s+9a0364b9/);
    expect((await runTask("manifest:hash", { file })).trim()).to.equal(hash);
  });

  it("walks the governance path (propose, vote with reasons, queue, execute), then reads the status and pauses as guardian", async function () {
    const d = readDeployment("hardhat", dir);
    const [deployer, guardian, ...others] = await ethers.getSigners();
    const token = StakeToken__factory.connect(d.contracts.StakeToken, deployer);
    const coordinator = UpgradeCoordinator__factory.connect(d.contracts.UpgradeCoordinator, deployer);
    const governor = LockstepGovernor__factory.connect(d.contracts.LockstepGovernor, deployer);
    // Three validators (cohorts 1, 2, 3) with stake; the deployer delegates its stake to vote.
    await (await token.delegate(deployer.address)).wait();
    const operators = others.slice(0, 3);
    for (const op of operators) {
      await (await token.transfer(op.address, parseEther("1000"))).wait();
      await (await token.connect(op).delegate(op.address)).wait();
      const key = ethers.Wallet.createRandom();
      await (await coordinator.connect(op).register(key.address, "", await attesterProof(coordinator, op, key))).wait();
    }
    await mine(2);
    // Cohorts through a real proposal made by the task.
    for (const [i, op] of operators.entries()) {
      if (i === 2) break;
      const out = await runTask("validator:set-cohort", {
        cohort: String(i + 1),
        operators: [op.address],
        signer: "0",
      });
      const id = out.match(/^proposal\s+(\d+)/m)![1];
      await mine(2);
      await runTask("vote", { proposalId: id, support: "for", reason: "canary first", signer: "0" });
      await mine(60);
      await runTask("queue", { proposalId: id, signer: "0" });
      await time.increase(3601);
      expect(await runTask("execute", { proposalId: id, signer: "0" })).to.match(/executed proposal/);
    }
    expect((await coordinator.getValidator(operators[0].address)).cohort).to.equal(1n);

    const file = join(ROOT, "manifests", "v2.0.0-canary-first.json");
    const proposed = await runTask("upgrade:propose", { file, signer: "0" });
    const id = proposed.match(/^proposal\s+(\d+)/m)![1];
    expect(proposed).to.match(/state\s+Pending/);
    await mine(2);
    const voted = await runTask("vote", {
      proposalId: id,
      support: "for",
      reason: "tested on the devnet",
      signer: "0",
    });
    expect(voted).to.match(/voting for with \d+ votes/);
    await mine(60);
    await runTask("queue", { proposalId: id, signer: "0" });
    await time.increase(3601);
    await runTask("execute", { proposalId: id, signer: "0" });
    const upgradeId = await coordinator.upgradeIdOf("node-v2.0.0");
    expect(upgradeId).to.equal(1n);
    expect(await governor.state(id)).to.equal(7n);

    const status = await runTask("upgrade:status", { upgrade: "node-v2.0.0" });
    expect(status).to.match(/upgrade #1 v2\.0\.0: Scheduled/);
    expect(status).to.match(/0\s+1\s+Pending/);
    expect(status).to.include(operators[0].address);
    expect(status).to.match(/weight \(LSTK\)/);
    expect(status).to.match(new RegExp(`${operators[0].address}\\s+1\\s+0\\s+1,000\\s+none`));

    const paused = await runTask("upgrade:pause", { upgrade: "1", signer: "1" });
    expect(paused).to.match(/paused upgrade #1/);
    expect(await runTask("upgrade:status", {})).to.match(/Paused \(Manual/);
    void guardian;
  });

  it("relays a watcher's file of signed attestations in one batch", async function () {
    const d = readDeployment("hardhat", dir);
    const [deployer, , ...others] = await ethers.getSigners();
    const coordinator = UpgradeCoordinator__factory.connect(d.contracts.UpgradeCoordinator, deployer);
    // Resume the paused upgrade as governance would, then let an operator of cohort 1 rotate to a key we hold.
    const timelock = await ethers.getImpersonatedSigner(d.contracts.LockstepTimelock);
    await network.provider.send("hardhat_setBalance", [timelock.address, "0x56BC75E2D63100000"]);
    await (await coordinator.connect(timelock).resume(1)).wait();
    const operator = others[0];
    const attester = ethers.Wallet.createRandom();
    const proof = await attesterProof(coordinator, operator, attester);
    await (await coordinator.connect(operator).rotateAttester(attester.address, proof)).wait();
    const now = (await ethers.provider.getBlock("latest"))!.timestamp;
    const signed = await signAttestation(attester, coordinatorDomain(31337, d.contracts.UpgradeCoordinator), {
      operator: operator.address,
      upgradeId: 1,
      stage: 0,
      status: Status.Ready,
      version: versionTag("v2.0.0"),
      height: 10,
      metricsDigest: ZeroHash,
      issuedAt: now,
      deadline: now + 3600,
    });
    const file = join(dir, "outbox.jsonl");
    writeFileSync(file, formatRelayEntry({ attestations: [packAttestations([signed])], upgradeId: 1 }) + "\n");
    const out = await runTask("attest:relay", { file, signer: "5" });
    expect(out).to.match(/relayed 1 attestation\(s\) in one batch: 1 counted, 0 skipped/);
    expect((await coordinator.getStage(1, 0)).readyStake).to.equal(parseEther("1000"));
    // The same file again: the coordinator skips the stale item instead of reverting, and the relayer is told why.
    const again = await runTask("attest:relay", { file, signer: "5" });
    expect(again).to.match(/relayed 1 attestation\(s\) in one batch: 0 counted, 1 skipped/);
    expect(again).to.include(`skipped ${operator.address} (upgrade #1): not newer than the validator's last statement`);
    expect((await coordinator.getStage(1, 0)).readyStake).to.equal(parseEther("1000"));
  });

  it("refuses to act when the deployments file names no contract on this chain", function () {
    // A fresh in-process network has no contracts at the addresses this test's deployment wrote.
    const r = hardhat(["upgrade:rollback", "1", "--signer", "3"], { LOCKSTEP_DEPLOYMENTS_DIR: dir });
    expect(r.code).to.equal(1);
    expect(r.stderr.trim()).to.match(
      /^lockstep: no coordinator at 0x[0-9a-fA-F]{40} on network "hardhat": the deployments file is from another chain or run$/,
    );
  });

  it("against a JSON-RPC node: deploys by task, then refuses a non-guardian's pause and an unknown upgrade in one line", async function () {
    const { startChain } = await import("../helpers/e2e");
    const chain = await startChain();
    const deployments = mkdtempSync(join(tmpdir(), "lockstep-tasks-rpc-"));
    try {
      const env = {
        RPC_URL: chain.url,
        NETWORK: "rpcnode",
        CHAIN_ID: "31337",
        DEPLOYER_KEY: "",
        LOCKSTEP_DEPLOYMENTS_DIR: deployments,
      };
      const deployed = hardhat(["deploy", "--network", "rpcnode"], env);
      expect(deployed.code, deployed.stderr).to.equal(0);
      expect(deployed.stdout).to.match(/deployed on rpcnode \(chain 31337\)/);
      const notGuardian = hardhat(["upgrade:pause", "1", "--network", "rpcnode", "--signer", "3"], env);
      expect(notGuardian.code).to.equal(1);
      expect(notGuardian.stderr.trim()).to.match(
        /^lockstep: 0x[0-9a-fA-F]{40} is not the guardian \(0x[0-9a-fA-F]{40}\): only the guardian may pause at once; governance can through a proposal$/,
      );
      const unknown = hardhat(["upgrade:pause", "7", "--network", "rpcnode", "--signer", "1"], env);
      expect(unknown.code).to.equal(1);
      expect(unknown.stderr.trim()).to.equal("lockstep: no upgrade #7");
    } finally {
      await chain.stop();
      rmSync(deployments, { recursive: true, force: true });
    }
  });

  describe("one-line errors and a non-zero exit for bad input", function () {
    it("a malformed manifest file names every bad field", function () {
      const bad = join(dir, "bad.json");
      writeFileSync(
        bad,
        JSON.stringify({
          name: "x",
          version: "v1",
          previousVersion: "v1",
          artifacts: [{ platform: "p", uri: "u", sha256: "zz" }],
          stages: [],
        }),
      );
      const r = hardhat(["manifest:check", bad]);
      expect(r.code).to.equal(1);
      expect(r.stderr).to.match(
        /^lockstep: .*bad\.json: .*artifacts\.0\.sha256: a sha256 digest.*stages: .*previousVersion: must differ from version/,
      );
      expect(r.stderr.trim().split("\n")).to.have.length(1);
    });

    it("a missing deployment says how to make one", function () {
      const r = hardhat(["upgrade:status"], { LOCKSTEP_DEPLOYMENTS_DIR: join(dir, "empty") });
      expect(r.code).to.equal(1);
      expect(r.stderr.trim()).to.match(
        /^lockstep: no Lockstep deployment for network "hardhat" .*run `npx hardhat deploy --network hardhat` first$/,
      );
    });

    it("a vote with an unknown choice", function () {
      const r = hardhat(["vote", "1", "maybe"]);
      expect(r.code).to.equal(1);
      expect(r.stderr.trim()).to.equal('lockstep: support must be for, against or abstain, not "maybe"');
    });
  });
});
