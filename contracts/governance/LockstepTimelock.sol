// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";

/// @title Lockstep timelock
/// @notice The account that executes what governance approved, after a minimum delay. It holds the coordinator's
/// governance role. Deployed with the governor as its only proposer and canceller, anyone as executor, and no
/// admin but itself, so nothing reaches the coordinator's governance functions without a passed vote.
contract LockstepTimelock is TimelockController {
    /// @param minDelay Seconds between queueing and execution.
    /// @param proposers Accounts allowed to queue (and cancel) operations: the governor.
    /// @param executors Accounts allowed to execute ready operations; address(0) lets anyone execute.
    /// @param admin Optional bootstrap admin (address(0) for none); the deploy task renounces it.
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin)
        TimelockController(minDelay, proposers, executors, admin)
    {}
}
