import { expect } from "chai";
import { loadFixture, mine } from "@nomicfoundation/hardhat-network-helpers";
import { ZeroHash, keccak256, toUtf8Bytes } from "ethers";
import { Status, StageState } from "../../lib/coordinator";
import { versionTag } from "../../lib/version";
import { deployLockstep, manifest, registerValidators, stageRules, STAKE } from "../helpers/system";

async function registryFixture() {
  const d = await deployLockstep();
  const validators = await registerValidators(d, [
    { cohort: 1, stake: STAKE(100) },
    { cohort: 2, stake: STAKE(200) },
  ]);
  return { d, validators };
}

describe("validator registry and coordinator wiring", function () {
  it("lets an operator update its metadata URI, reporting the old and the new", async function () {
    const { d, validators } = await loadFixture(registryFixture);
    const [v] = validators;
    await expect(d.coordinator.connect(v.operator).setMetadataURI("ipfs://moniker/new"))
      .to.emit(d.coordinator, "MetadataURISet")
      .withArgs(v.operator.address, "ipfs://validator/v0", "ipfs://moniker/new");
    expect((await d.coordinator.getValidator(v.operator.address)).metadataURI).to.equal("ipfs://moniker/new");
  });

  it("reports a validator's cohort at any past block through cohortAt", async function () {
    const { d, validators } = await loadFixture(registryFixture);
    const [v] = validators;
    const before = await d.coordinator.cohortAt(v.operator.address, (await d.token.clock()) - 1n);
    await (await d.coordinator.connect(d.timelockSigner).setCohort(v.operator.address, 3)).wait();
    const moved = await d.token.clock();
    await mine(1);
    expect(before).to.equal(1n);
    expect(await d.coordinator.cohortAt(v.operator.address, moved - 1n)).to.equal(1n);
    expect(await d.coordinator.cohortAt(v.operator.address, moved)).to.equal(3n);
  });

  it("exposes the contracts and accounts it is wired to", async function () {
    const { d } = await loadFixture(registryFixture);
    expect(await d.coordinator.stakeToken()).to.equal(await d.token.getAddress());
    expect(await d.coordinator.governance()).to.equal(await d.timelock.getAddress());
    expect(await d.coordinator.guardian()).to.equal(d.guardian.address);
    expect(await d.token.registry()).to.equal(await d.coordinator.getAddress());
  });

  it("leaves a next stage without time lock pending when its cohort is not ready yet", async function () {
    const { d, validators } = await loadFixture(registryFixture);
    const [a, b] = validators;
    const m = manifest("not-ready", [1, 2], {
      stages: [stageRules(1, { observationWindow: 0, healthyBps: 5000 }), stageRules(2, { readinessBps: 10_000 })],
    });
    await (await d.coordinator.connect(d.timelockSigner).schedule(m)).wait();
    await (await d.coordinator.advance(1)).wait();
    await (
      await d.coordinator
        .connect(a.attester)
        .attest(a.operator.address, 1, 0, Status.Healthy, versionTag("v2.0.0"), 1, ZeroHash)
    ).wait();
    await expect(d.coordinator.advance(1))
      .to.emit(d.coordinator, "StageVerified")
      .and.not.to.emit(d.coordinator, "StageActivated");
    expect((await d.coordinator.getStage(1, 1)).state).to.equal(StageState.Pending);
    await expect(d.coordinator.advance(1))
      .to.be.revertedWithCustomError(d.coordinator, "CoordinatorNotReady")
      .withArgs(1, 1, 0, STAKE(200));
    await (
      await d.coordinator
        .connect(b.attester)
        .attest(b.operator.address, 1, 1, Status.Ready, versionTag("v2.0.0"), 1, ZeroHash)
    ).wait();
    await expect(d.coordinator.advance(1)).to.emit(d.coordinator, "StageActivated");
  });

  it("lets a proposer cancel its proposal before the vote opens", async function () {
    const { d } = await loadFixture(registryFixture);
    await (await d.token.delegate(d.deployer.address)).wait();
    const target = await d.coordinator.getAddress();
    const calldata = d.coordinator.interface.encodeFunctionData("setDefaultCohort", [2]);
    const description = "cancel me";
    await (await d.governor.propose([target], [0], [calldata], description)).wait();
    const id = await d.governor.hashProposal([target], [0], [calldata], keccak256(toUtf8Bytes(description)));
    await expect(d.governor.cancel([target], [0], [calldata], keccak256(toUtf8Bytes(description)))).to.emit(
      d.governor,
      "ProposalCanceled",
    );
    expect(await d.governor.state(id)).to.equal(2n);
  });
});
