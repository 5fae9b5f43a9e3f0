// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {IVotes} from "@openzeppelin/contracts/governance/utils/IVotes.sol";
import {IValidatorRegistry} from "../rollout/IValidatorRegistry.sol";

/// @notice Test double: a validator operator that is a contract, self-delegating the stake it is given and
/// registering itself. Only for benchmarks and tests that need thousands of validators. As its own attester (a
/// contract key) it approves every attester proof by ERC-1271, so key-less background validators need no signature.
contract FillerOperator is IERC1271 {
    constructor(IERC20 token) {
        IVotes(address(token)).delegate(address(this));
    }

    /// @notice Registers with `attester` (this contract when zero), `proof` being the key's proof of possession.
    function join(IValidatorRegistry registry, address attester, bytes calldata proof) external {
        registry.register(attester == address(0) ? address(this) : attester, "", proof);
    }

    /// @inheritdoc IERC1271
    function isValidSignature(bytes32, bytes calldata) external pure returns (bytes4) {
        return IERC1271.isValidSignature.selector;
    }
}

/// @notice Test double: registers many validators per transaction (tests and the gas benchmark only).
/// Each operator receives `stakeEach` after delegating to itself, so it ends with exactly one vote checkpoint.
contract RosterFiller {
    event Filled(uint256 first, address[] operators);

    /// @param attesters Attester per operator; a zero entry makes the operator its own (contract) attester.
    /// @param proofs The proof of possession of each non-zero attester, signed for the operator this call creates
    /// (the filler's CREATE address at its nonce then, with nonce 0 at the coordinator); ignored for zero entries.
    function fill(
        IERC20 token,
        IValidatorRegistry registry,
        address[] calldata attesters,
        bytes[] calldata proofs,
        uint256 stakeEach,
        uint256 salt
    ) external returns (address[] memory operators) {
        uint256 n = attesters.length;
        operators = new address[](n);
        for (uint256 i; i < n; ++i) {
            FillerOperator op = new FillerOperator(token);
            address attester = attesters[i];
            op.join(registry, attester, attester == address(0) ? bytes("") : proofs[i]);
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
