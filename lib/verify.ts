// What explorer verification needs for each contract of a deployment: its fully qualified name, its address, its
// constructor arguments and the libraries it is linked against, all rebuilt from the deployments file as the deploy
// (lib/deploy.ts) created them. The verify task hands these to @nomicfoundation/hardhat-verify.
import { getAddress, zeroAddress, type Address } from "viem";
import type { Deployment } from "./deployments";

export interface VerifyTarget {
  /** The deployments file's name for it. */
  name: keyof Deployment["contracts"];
  /** "contracts/…/X.sol:X", so the explorer compiles exactly that contract. */
  contract: string;
  address: Address;
  constructorArguments: (string | string[])[];
  libraries: Record<string, Address>;
}

/** A deployments file that lacks what verification needs: one line. */
export class VerifyTargetsError extends Error {}

export const LIBRARY_FQNS = {
  ManifestPlanner: "contracts/rollout/ManifestPlanner.sol:ManifestPlanner",
  RolloutViews: "contracts/rollout/RolloutViews.sol:RolloutViews",
  RegistryLogic: "contracts/rollout/RegistryLogic.sol:RegistryLogic",
  GovernanceLogic: "contracts/rollout/GovernanceLogic.sol:GovernanceLogic",
} as const;

/** Every contract of `d`, libraries first, with what its verification needs. */
export function verificationTargets(d: Deployment): VerifyTarget[] {
  const param = (key: string): string => {
    const v = d.params[key];
    if (v === undefined) {
      throw new VerifyTargetsError(`the deployments file for ${d.network} records no params.${key}: deploy it again`);
    }
    return String(v);
  };
  for (const library of ["RegistryLogic", "GovernanceLogic"] as const) {
    if (!d.contracts[library]) {
      throw new VerifyTargetsError(`the deployments file for ${d.network} records no ${library}: deploy it again`);
    }
  }
  const c = Object.fromEntries(Object.entries(d.contracts).map(([k, v]) => [k, getAddress(v)])) as Record<
    keyof Deployment["contracts"],
    Address
  >;
  return [
    {
      name: "ManifestPlanner",
      contract: LIBRARY_FQNS.ManifestPlanner,
      address: c.ManifestPlanner,
      constructorArguments: [],
      libraries: {},
    },
    {
      name: "RolloutViews",
      contract: LIBRARY_FQNS.RolloutViews,
      address: c.RolloutViews,
      constructorArguments: [],
      libraries: {},
    },
    {
      name: "RegistryLogic",
      contract: LIBRARY_FQNS.RegistryLogic,
      address: c.RegistryLogic,
      constructorArguments: [],
      libraries: {},
    },
    {
      name: "GovernanceLogic",
      contract: LIBRARY_FQNS.GovernanceLogic,
      address: c.GovernanceLogic,
      constructorArguments: [],
      libraries: {},
    },
    {
      name: "StakeToken",
      contract: "contracts/governance/StakeToken.sol:StakeToken",
      address: c.StakeToken,
      constructorArguments: [param("tokenName"), param("tokenSymbol"), param("holder"), param("supply")],
      libraries: {},
    },
    {
      name: "LockstepGovernor",
      contract: "contracts/governance/LockstepGovernor.sol:LockstepGovernor",
      address: c.LockstepGovernor,
      constructorArguments: [
        c.StakeToken,
        c.LockstepTimelock,
        param("votingDelay"),
        param("votingPeriod"),
        param("proposalThreshold"),
        param("quorumPercent"),
        param("voteExtension"),
      ],
      libraries: {},
    },
    {
      // Created with the governor as its only proposer, anyone as executor and no admin (lib/deploy.ts).
      name: "LockstepTimelock",
      contract: "contracts/governance/LockstepTimelock.sol:LockstepTimelock",
      address: c.LockstepTimelock,
      constructorArguments: [param("timelockDelay"), [c.LockstepGovernor], [zeroAddress], zeroAddress],
      libraries: {},
    },
    {
      name: "UpgradeCoordinator",
      contract: "contracts/rollout/UpgradeCoordinator.sol:UpgradeCoordinator",
      address: c.UpgradeCoordinator,
      constructorArguments: [c.StakeToken, c.LockstepTimelock, getAddress(d.guardian), param("defaultCohort")],
      libraries: {
        [LIBRARY_FQNS.ManifestPlanner]: c.ManifestPlanner,
        [LIBRARY_FQNS.RolloutViews]: c.RolloutViews,
        [LIBRARY_FQNS.RegistryLogic]: c.RegistryLogic,
        [LIBRARY_FQNS.GovernanceLogic]: c.GovernanceLogic,
      },
    },
  ];
}
