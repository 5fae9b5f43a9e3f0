// EIP-170 caps deployed code at 24,576 bytes. The coordinator keeps its hot paths (attest, relay, advance, takeLease)
// inline and runs its cold paths in external libraries (ManifestPlanner, RolloutViews, RegistryLogic,
// GovernanceLogic); this test holds the headroom that leaves, so a change that eats it has to say so here.
import { expect } from "chai";
import { artifacts } from "hardhat";

const EIP170_LIMIT = 24_576;
/** Room kept free for fixes to come: a contract at the limit can take no change at all. */
const COORDINATOR_HEADROOM = 2_000;

async function deployedSize(name: string): Promise<number> {
  const { deployedBytecode } = await artifacts.readArtifact(name);
  return (deployedBytecode.length - 2) / 2;
}

describe("contract sizes (EIP-170)", function () {
  it(`leaves the coordinator at least ${COORDINATOR_HEADROOM} bytes under the limit`, async function () {
    const size = await deployedSize("UpgradeCoordinator");
    expect(size, `UpgradeCoordinator is ${size} bytes`).to.be.at.most(EIP170_LIMIT - COORDINATOR_HEADROOM);
  });

  for (const name of ["ManifestPlanner", "RolloutViews", "RegistryLogic", "GovernanceLogic", "StakeToken"]) {
    it(`keeps ${name} under the limit`, async function () {
      expect(await deployedSize(name)).to.be.at.most(EIP170_LIMIT);
    });
  }
});
