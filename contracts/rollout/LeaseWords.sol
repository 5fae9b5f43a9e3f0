// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Lease, LeaseBudget} from "./RolloutStorage.sol";

/// @dev A `Lease` slot read as one word.
type LeaseWord is uint256;
/// @dev A `LeaseBudget` slot read as one word.
type BudgetWord is uint256;

using LeaseWords for LeaseWord global;
using LeaseWords for BudgetWord global;

/// @title Lease words
/// @notice Reads and rewrites the two slots `takeLease` touches as whole words, so its gas ceiling holds: copying a
/// packed struct to memory and back unpacks and repacks every field, about 1,500 gas more than this. Solidity
/// packs a struct's fields from the low-order bits up, in declaration order, so the offsets below are those of
/// `Lease` and `LeaseBudget` in RolloutStorage.sol (test/contracts/coordinator.leases.test.ts reads both through
/// getLease after takeLease, which would disagree if they drifted):
///
/// | Lease field | bit offset | bits |      | LeaseBudget field | bit offset | bits |
/// |-------------|-----------:|-----:|------|-------------------|-----------:|-----:|
/// | weight      |          0 |   96 |      | budget            |          0 |   64 |
/// | upgradeId   |         96 |   32 |      | current           |         64 |   64 |
/// | epoch       |        128 |   32 |      | previous          |        128 |   64 |
/// | stage       |        160 |    8 |      | epoch             |        192 |   32 |
/// | leased      |        168 |    8 |      | duration          |        224 |   24 |
/// | claimed     |        176 |    8 |      | live              |        248 |    8 |
library LeaseWords {
    uint256 internal constant LEASE_WEIGHT_OFFSET = 0;
    uint256 internal constant LEASE_UPGRADE_ID_OFFSET = 96;
    uint256 internal constant LEASE_EPOCH_OFFSET = 128;
    uint256 internal constant LEASE_LEASED_OFFSET = 168;

    uint256 internal constant BUDGET_BUDGET_OFFSET = 0;
    uint256 internal constant BUDGET_CURRENT_OFFSET = 64;
    uint256 internal constant BUDGET_PREVIOUS_OFFSET = 128;
    uint256 internal constant BUDGET_EPOCH_OFFSET = 192;
    uint256 internal constant BUDGET_DURATION_OFFSET = 224;
    uint256 internal constant BUDGET_LIVE_OFFSET = 248;

    uint256 private constant _MASK_8 = 0xff;
    uint256 private constant _MASK_24 = 0xffffff;
    uint256 private constant _MASK_32 = 0xffffffff;
    uint256 private constant _MASK_64 = 0xffffffffffffffff;
    uint256 private constant _MASK_96 = 0xffffffffffffffffffffffff;

    // ------------------------------------------------------------------ slots

    function load(Lease storage lease) internal view returns (LeaseWord word) {
        assembly ("memory-safe") {
            word := sload(lease.slot)
        }
    }

    function store(Lease storage lease, LeaseWord word) internal {
        assembly ("memory-safe") {
            sstore(lease.slot, word)
        }
    }

    function load(LeaseBudget storage b) internal view returns (BudgetWord word) {
        assembly ("memory-safe") {
            word := sload(b.slot)
        }
    }

    function store(LeaseBudget storage b, BudgetWord word) internal {
        assembly ("memory-safe") {
            sstore(b.slot, word)
        }
    }

    // ------------------------------------------------------------------ Lease

    function weight(LeaseWord w) internal pure returns (uint256) {
        return (LeaseWord.unwrap(w) >> LEASE_WEIGHT_OFFSET) & _MASK_96;
    }

    function upgradeId(LeaseWord w) internal pure returns (uint256) {
        return (LeaseWord.unwrap(w) >> LEASE_UPGRADE_ID_OFFSET) & _MASK_32;
    }

    function epoch(LeaseWord w) internal pure returns (uint256) {
        return (LeaseWord.unwrap(w) >> LEASE_EPOCH_OFFSET) & _MASK_32;
    }

    function leased(LeaseWord w) internal pure returns (bool) {
        return (LeaseWord.unwrap(w) >> LEASE_LEASED_OFFSET) & _MASK_8 != 0;
    }

    /// @dev `w` granted in `epoch_`: leased set, its epoch replaced, every other field kept.
    function granted(LeaseWord w, uint256 epoch_) internal pure returns (LeaseWord) {
        uint256 kept = LeaseWord.unwrap(w)
            & ~((_MASK_32 << LEASE_EPOCH_OFFSET) | (_MASK_8 << LEASE_LEASED_OFFSET));
        return LeaseWord.wrap(kept | (epoch_ << LEASE_EPOCH_OFFSET) | (uint256(1) << LEASE_LEASED_OFFSET));
    }

    // ------------------------------------------------------------------ LeaseBudget

    function budget(BudgetWord w) internal pure returns (uint256) {
        return (BudgetWord.unwrap(w) >> BUDGET_BUDGET_OFFSET) & _MASK_64;
    }

    function current(BudgetWord w) internal pure returns (uint256) {
        return (BudgetWord.unwrap(w) >> BUDGET_CURRENT_OFFSET) & _MASK_64;
    }

    function previous(BudgetWord w) internal pure returns (uint256) {
        return (BudgetWord.unwrap(w) >> BUDGET_PREVIOUS_OFFSET) & _MASK_64;
    }

    function epoch(BudgetWord w) internal pure returns (uint256) {
        return (BudgetWord.unwrap(w) >> BUDGET_EPOCH_OFFSET) & _MASK_32;
    }

    function duration(BudgetWord w) internal pure returns (uint256) {
        return (BudgetWord.unwrap(w) >> BUDGET_DURATION_OFFSET) & _MASK_24;
    }

    function live(BudgetWord w) internal pure returns (bool) {
        return (BudgetWord.unwrap(w) >> BUDGET_LIVE_OFFSET) & _MASK_8 != 0;
    }

    /// @dev `w` with its counters and epoch replaced (each must fit its field), budget, duration and live kept.
    function withCounters(BudgetWord w, uint256 current_, uint256 previous_, uint256 epoch_)
        internal
        pure
        returns (BudgetWord)
    {
        uint256 kept =
            BudgetWord.unwrap(w) & ((_MASK_64 << BUDGET_BUDGET_OFFSET) | (~uint256(0) << BUDGET_DURATION_OFFSET));
        return BudgetWord.wrap(
            kept | (current_ << BUDGET_CURRENT_OFFSET) | (previous_ << BUDGET_PREVIOUS_OFFSET)
                | (epoch_ << BUDGET_EPOCH_OFFSET)
        );
    }
}
