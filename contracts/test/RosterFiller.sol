// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {IValidatorRegistry} from "../rollout/IValidatorRegistry.sol";

/// @notice Test double: a validator operator that is a contract, self-delegating the stake it is given and
/// registering itself with the given attester. Only for benchmarks and tests that need thousands of validators.
contract FillerOperator {
    constructor(IERC20 token, IValidatorRegistry registry, address attester) {
        IVotes(address(token)).delegate(address(this));
        registry.register(attester, "");
    }
}

/// @notice Test double: registers many validators per transaction (tests and the gas benchmark only).
/// Each operator receives `stakeEach` after delegating to itself, so it ends with exactly one vote checkpoint.
contract RosterFiller {
    event Filled(uint256 first, address[] operators);

    /// @param attesters Attester per operator; zero entries get a unique key-less address derived from `salt`.
    function fill(
        IERC20 token,
        IValidatorRegistry registry,
        address[] calldata attesters,
        uint256 stakeEach,
        uint256 salt
    ) external returns (address[] memory operators) {
        uint256 n = attesters.length;
        operators = new address[](n);
        for (uint256 i; i < n; ++i) {
            address attester = attesters[i];
            if (attester == address(0)) attester = address(uint160(uint256(keccak256(abi.encode(salt, i)))));
            FillerOperator op = new FillerOperator(token, registry, attester);
            if (stakeEach != 0) token.transfer(address(op), stakeEach);
            operators[i] = address(op);
        }
        emit Filled(salt, operators);
    }

    /// @notice Sends `amount` to each operator: one more vote checkpoint each when mined in its own block.
    function sprinkle(IERC20 token, address[] calldata operators, uint256 amount) external {
        for (uint256 i; i < operators.length; ++i) {
            token.transfer(operators[i], amount);
        }
    }
}
