// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";

/// @title Lockstep stake token interface
/// @notice Beyond ERC-5805 votes, the token keeps a checkpointed stake total per validator cohort, so a
/// rollout can read "the cohort's stake at the upgrade's snapshot" in one lookup instead of a loop, and a
/// checkpointed roster entry (cohort, stake) per registered operator, so an attestation reads its validator's
/// place and weight at the snapshot in one lookup.
interface IStakeToken is IVotes {
    /// @notice The registry that assigns cohorts was bound: first by the deployer, later moved by the bound
    /// registry itself (a coordinator migrating by a governance vote).
    event CohortRegistryBound(address indexed registry);

    /// @notice `operator`'s delegated stake moved from cohort `previousCohort` to `newCohort` (0 = none).
    event OperatorCohortSet(address indexed operator, uint8 previousCohort, uint8 newCohort);

    /// @notice Only the bound registry may assign cohorts.
    error StakeTokenUnauthorizedRegistry(address caller);

    /// @notice The registry is already bound, or the caller may not bind it.
    error StakeTokenRegistryBinding(address caller, address current);

    /// @notice Binds the cohort registry (once, by the deployer).
    function bindRegistry(address registry) external;

    /// @notice Moves the binding to `newRegistry` (the bound registry only). The roster and the cohort totals carry
    /// over as they are.
    function moveRegistry(address newRegistry) external;

    /// @notice Called by the registry when `operator` joins, leaves or changes cohort.
    function setOperatorCohort(address operator, uint8 cohort) external;

    /// @notice The registry allowed to assign cohorts (zero until bound).
    function registry() external view returns (address);

    /// @notice The cohort `operator`'s delegated stake is currently counted in (0 = none).
    function cohortOf(address operator) external view returns (uint8);

    /// @notice The stake currently delegated to operators of `cohort`.
    function getCohortStake(uint8 cohort) external view returns (uint256);

    /// @notice The stake delegated to operators of `cohort` at the end of block `timepoint` (must be past).
    function getPastCohortStake(uint8 cohort, uint256 timepoint) external view returns (uint256);

    /// @notice The stake delegated to registered operators (the sum of every cohort's stake) at the end of block
    /// `timepoint` (must be past): the denominator of the coordinator's restart budget.
    function getPastRegisteredStake(uint256 timepoint) external view returns (uint256);

    /// @notice `operator`'s cohort and delegated stake at the end of block `timepoint` (must be past): its place
    /// and weight in a rollout whose snapshot is `timepoint`, read in one checkpoint lookup. The roster follows an
    /// operator only while it is registered: cohort 0 means it was not registered then, and the stake returned
    /// with cohort 0 is meaningless (0 if it never registered, else its stake when it deregistered).
    function rosterAt(address operator, uint256 timepoint) external view returns (uint8 cohort, uint96 stake);
}
