// The tests' view of a deployed system: TypeChain contracts at the addresses lib/deploy.ts returns. No Hardhat
// runtime here, so the process-based harness (test/helpers/e2e.ts) and the benches can use it too.
import type { ContractRunner } from "ethers";
import type { SystemAddresses } from "../../lib/deploy";
import {
  LockstepGovernor__factory,
  LockstepTimelock__factory,
  StakeToken__factory,
  UpgradeCoordinator__factory,
  type LockstepGovernor,
  type LockstepTimelock,
  type StakeToken,
  type UpgradeCoordinator,
} from "../../typechain-types";

/** A deployed system as TypeChain contracts, for the tests' ethers-based assertions. */
export interface System {
  token: StakeToken;
  timelock: LockstepTimelock;
  governor: LockstepGovernor;
  coordinator: UpgradeCoordinator;
  libraries: SystemAddresses["libraries"];
  /** Where it lives (lib/deploy.ts's result), e.g. for deploymentRecord. */
  addresses: SystemAddresses;
}

/** TypeChain contracts at `addresses`, connected to `runner` (a signer or a provider). */
export function contractsAt(addresses: SystemAddresses, runner: ContractRunner): System {
  return {
    token: StakeToken__factory.connect(addresses.token, runner),
    timelock: LockstepTimelock__factory.connect(addresses.timelock, runner),
    governor: LockstepGovernor__factory.connect(addresses.governor, runner),
    coordinator: UpgradeCoordinator__factory.connect(addresses.coordinator, runner),
    libraries: addresses.libraries,
    addresses,
  };
}
