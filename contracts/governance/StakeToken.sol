// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";
import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IStakeToken} from "./IStakeToken.sol";

/// @title Lockstep stake token
/// @notice ERC-20 with checkpointed, delegable voting power (ERC20Votes, ERC-5805, EIP-6372 block clock) and
/// permit. Delegators delegate to a validator's operator address; that delegated stake is both the operator's
/// vote in governance and its weight in rollouts, always read at a past snapshot so it cannot be flash-borrowed.
/// @dev On top of the per-account checkpoints, the token keeps, in the same step as the delegate checkpoints,
/// one checkpointed stake total per cohort and one roster entry (cohort, stake) per registered operator. A
/// cohort's stake at a past block is then one lookup, which lets the coordinator compute stage thresholds without
/// looping over validators, and a validator's place and weight at a snapshot is one more.
/// The supply is capped at 2^96 - 1 so every stake, and every sum of stakes, fits the coordinator's 96-bit tallies.
contract StakeToken is ERC20, ERC20Permit, ERC20Votes, IStakeToken {
    using Checkpoints for Checkpoints.Trace208;

    uint256 private constant _SUPPLY_CAP = type(uint96).max;

    address private immutable _binder;
    address private _registry;

    mapping(address operator => uint8 cohort) private _cohortOf;
    mapping(uint8 cohort => Checkpoints.Trace208) private _cohortStake;
    /// @dev The sum of every cohort's stake, moved only when stake enters or leaves the cohorts.
    Checkpoints.Trace208 private _registeredStake;
    /// @dev An operator's place in the validator set since block `since`: its cohort and delegated stake.
    struct RosterEntry {
        uint48 since;
        uint8 cohort;
        uint96 stake;
    }

    /// @dev The latest entry sits in its own slot so a rollout reading it at a snapshot after `since` (the usual
    /// case) pays one storage read; earlier entries move to the history, (cohort << 96) | stake keyed by block.
    mapping(address operator => RosterEntry) private _rosterLatest;
    mapping(address operator => Checkpoints.Trace208) private _rosterHistory;

    /// @param name_ Token name (also the EIP-712 domain name for permits and delegation by signature).
    /// @param symbol_ Token symbol.
    /// @param holder Receives the whole initial supply.
    /// @param supply Initial supply, at most 2^96 - 1.
    constructor(string memory name_, string memory symbol_, address holder, uint256 supply)
        ERC20(name_, symbol_)
        ERC20Permit(name_)
    {
        _binder = msg.sender;
        if (supply > 0) _mint(holder, supply);
    }

    /// @inheritdoc IStakeToken
    function bindRegistry(address registry_) external {
        if (msg.sender != _binder || _registry != address(0) || registry_ == address(0)) {
            revert StakeTokenRegistryBinding(msg.sender, _registry);
        }
        _registry = registry_;
        emit CohortRegistryBound(registry_);
    }

    /// @inheritdoc IStakeToken
    function moveRegistry(address newRegistry) external {
        address current = _registry;
        if (msg.sender != current || current == address(0) || newRegistry == address(0) || newRegistry == current) {
            revert StakeTokenRegistryBinding(msg.sender, current);
        }
        _registry = newRegistry;
        emit CohortRegistryBound(newRegistry);
    }

    /// @inheritdoc IStakeToken
    function setOperatorCohort(address operator, uint8 cohort) external {
        if (msg.sender != _registry) revert StakeTokenUnauthorizedRegistry(msg.sender);
        uint8 previous = _cohortOf[operator];
        if (previous == cohort) return;
        _cohortOf[operator] = cohort;
        uint256 stake = getVotes(operator);
        _moveCohortStake(previous, cohort, stake);
        _pushRoster(operator, cohort, stake);
        emit OperatorCohortSet(operator, previous, cohort);
    }

    /// @inheritdoc IStakeToken
    function registry() external view returns (address) {
        return _registry;
    }

    /// @inheritdoc IStakeToken
    function cohortOf(address operator) external view returns (uint8) {
        return _cohortOf[operator];
    }

    /// @inheritdoc IStakeToken
    function getCohortStake(uint8 cohort) external view returns (uint256) {
        return _cohortStake[cohort].latest();
    }

    /// @inheritdoc IStakeToken
    function getPastCohortStake(uint8 cohort, uint256 timepoint) external view returns (uint256) {
        uint48 current = clock();
        if (timepoint >= current) revert ERC5805FutureLookup(timepoint, current);
        return _cohortStake[cohort].upperLookupRecent(SafeCast.toUint48(timepoint));
    }

    /// @inheritdoc IStakeToken
    function getPastRegisteredStake(uint256 timepoint) external view returns (uint256) {
        uint48 current = clock();
        if (timepoint >= current) revert ERC5805FutureLookup(timepoint, current);
        return _registeredStake.upperLookupRecent(SafeCast.toUint48(timepoint));
    }

    /// @inheritdoc IStakeToken
    function rosterAt(address operator, uint256 timepoint) external view returns (uint8 cohort, uint96 stake) {
        uint48 current = clock();
        if (timepoint >= current) revert ERC5805FutureLookup(timepoint, current);
        RosterEntry memory latest = _rosterLatest[operator];
        if (latest.since <= timepoint) return (latest.cohort, latest.stake);
        uint208 entry = _rosterHistory[operator].upperLookupRecent(SafeCast.toUint48(timepoint));
        return (uint8(entry >> 96), uint96(entry));
    }

    /// @inheritdoc ERC20Permit
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }

    function _maxSupply() internal pure override returns (uint256) {
        return _SUPPLY_CAP;
    }

    /// @dev Every change of delegated votes (transfer, mint, burn, re-delegation) passes here; the cohort
    /// totals follow the operators' checkpoints in the same block.
    function _moveDelegateVotes(address from, address to, uint256 amount) internal override {
        super._moveDelegateVotes(from, to, amount);
        if (from == to || amount == 0) return;
        uint8 fromCohort = from == address(0) ? 0 : _cohortOf[from];
        uint8 toCohort = to == address(0) ? 0 : _cohortOf[to];
        if (fromCohort != 0) _pushRoster(from, fromCohort, getVotes(from));
        if (toCohort != 0) _pushRoster(to, toCohort, getVotes(to));
        _moveCohortStake(fromCohort, toCohort, amount);
    }

    /// @dev The supply cap keeps every stake below 2^96, so cohort and stake share one checkpoint value.
    function _pushRoster(address operator, uint8 cohort, uint256 stake) private {
        uint48 now_ = clock();
        RosterEntry memory latest = _rosterLatest[operator];
        if (latest.since != 0 && latest.since != now_) {
            _rosterHistory[operator].push(latest.since, (uint208(latest.cohort) << 96) | latest.stake);
        }
        _rosterLatest[operator] = RosterEntry({since: now_, cohort: cohort, stake: uint96(stake)});
    }

    function _moveCohortStake(uint8 fromCohort, uint8 toCohort, uint256 amount) private {
        if (fromCohort == toCohort || amount == 0) return;
        uint208 delta = SafeCast.toUint208(amount);
        uint48 now_ = clock();
        if (fromCohort != 0) {
            Checkpoints.Trace208 storage trace = _cohortStake[fromCohort];
            trace.push(now_, trace.latest() - delta);
        }
        if (toCohort != 0) {
            Checkpoints.Trace208 storage trace = _cohortStake[toCohort];
            trace.push(now_, trace.latest() + delta);
        }
        if (fromCohort == 0) _registeredStake.push(now_, _registeredStake.latest() + delta);
        else if (toCohort == 0) _registeredStake.push(now_, _registeredStake.latest() - delta);
    }
}
