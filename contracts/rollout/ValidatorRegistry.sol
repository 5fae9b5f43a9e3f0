// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Checkpoints} from "@openzeppelin/contracts/utils/structs/Checkpoints.sol";
import {IStakeToken} from "../governance/IStakeToken.sol";
import {IValidatorRegistry} from "./IValidatorRegistry.sol";

/// @title Lockstep validator registry
/// @notice Operators, their attester keys, metadata and cohorts. Cohort membership is checkpointed by block so a
/// rollout reads each validator's cohort at its snapshot: registrations, departures and cohort moves made during
/// a rollout change nothing in it.
/// @dev Abstract: the coordinator inherits it, so an attestation reads the validator's record without an external
/// call. The latest membership sits in the validator's own slot (the fast path: one read when nothing changed
/// since the snapshot); the full history is a checkpoint trace read only for validators moved after the snapshot.
abstract contract ValidatorRegistry is IValidatorRegistry {
    using Checkpoints for Checkpoints.Trace208;

    /// @dev One slot: what an attestation needs to authenticate the sender and place it in its cohort.
    struct Validator {
        address attester;
        uint8 cohort;
        uint48 cohortSince;
    }

    IStakeToken internal immutable _stakeToken;

    mapping(address operator => Validator) internal _validators;
    mapping(address operator => Checkpoints.Trace208) private _cohortHistory;
    mapping(address attester => address operator) private _operatorOf;
    mapping(address operator => string) private _metadataURIs;
    uint8 private _defaultCohort;

    constructor(IStakeToken stakeToken, uint8 defaultCohort_) {
        if (defaultCohort_ == 0) revert RegistryInvalidCohort(0);
        _stakeToken = stakeToken;
        _defaultCohort = defaultCohort_;
        emit DefaultCohortSet(0, defaultCohort_);
    }

    /// @dev Governance check for cohort assignment, supplied by the inheriting contract.
    function _checkGovernance() internal view virtual;

    /// @dev Called once per registration, so the inheriting contract can prepare per-validator storage.
    function _afterRegister(address operator) internal virtual;

    /// @inheritdoc IValidatorRegistry
    function register(address attester, string calldata metadataURI) external {
        address operator = msg.sender;
        if (_validators[operator].cohort != 0) revert RegistryAlreadyRegistered(operator);
        _claimAttester(operator, attester);
        uint8 cohort = _defaultCohort;
        _validators[operator].attester = attester;
        _setMembership(operator, cohort);
        _metadataURIs[operator] = metadataURI;
        _afterRegister(operator);
        emit ValidatorRegistered(operator, attester, cohort, metadataURI);
    }

    /// @inheritdoc IValidatorRegistry
    function deregister() external {
        address operator = msg.sender;
        Validator storage v = _validators[operator];
        uint8 cohort = v.cohort;
        if (cohort == 0) revert RegistryNotRegistered(operator);
        delete _operatorOf[v.attester];
        v.attester = address(0);
        _setMembership(operator, 0);
        emit ValidatorDeregistered(operator, cohort);
    }

    /// @inheritdoc IValidatorRegistry
    function rotateAttester(address newAttester) external {
        address operator = msg.sender;
        Validator storage v = _validators[operator];
        if (v.cohort == 0) revert RegistryNotRegistered(operator);
        address previous = v.attester;
        _claimAttester(operator, newAttester);
        delete _operatorOf[previous];
        v.attester = newAttester;
        emit AttesterRotated(operator, previous, newAttester);
    }

    /// @inheritdoc IValidatorRegistry
    function setMetadataURI(string calldata metadataURI) external {
        address operator = msg.sender;
        if (_validators[operator].cohort == 0) revert RegistryNotRegistered(operator);
        string memory previous = _metadataURIs[operator];
        _metadataURIs[operator] = metadataURI;
        emit MetadataURISet(operator, previous, metadataURI);
    }

    /// @inheritdoc IValidatorRegistry
    function setCohort(address operator, uint8 cohort) external {
        _checkGovernance();
        if (cohort == 0) revert RegistryInvalidCohort(cohort);
        uint8 previous = _validators[operator].cohort;
        if (previous == 0) revert RegistryNotRegistered(operator);
        _setMembership(operator, cohort);
        emit CohortAssigned(operator, previous, cohort);
    }

    /// @inheritdoc IValidatorRegistry
    function setDefaultCohort(uint8 cohort) external {
        _checkGovernance();
        if (cohort == 0) revert RegistryInvalidCohort(cohort);
        uint8 previous = _defaultCohort;
        _defaultCohort = cohort;
        emit DefaultCohortSet(previous, cohort);
    }

    /// @inheritdoc IValidatorRegistry
    function getValidator(address operator) external view returns (ValidatorInfo memory info) {
        Validator memory v = _validators[operator];
        info = ValidatorInfo({
            operator: operator,
            attester: v.attester,
            cohort: v.cohort,
            cohortSince: v.cohortSince,
            metadataURI: _metadataURIs[operator]
        });
    }

    /// @inheritdoc IValidatorRegistry
    function operatorOf(address attester) external view returns (address) {
        return _operatorOf[attester];
    }

    /// @inheritdoc IValidatorRegistry
    function cohortAt(address operator, uint48 timepoint) external view returns (uint8) {
        return _cohortAt(_validators[operator], operator, timepoint);
    }

    /// @inheritdoc IValidatorRegistry
    function defaultCohort() external view returns (uint8) {
        return _defaultCohort;
    }

    /// @dev The cohort of `operator` at the end of block `timepoint`, given its current record `v`.
    function _cohortAt(Validator memory v, address operator, uint48 timepoint) internal view returns (uint8) {
        if (v.cohortSince <= timepoint) return v.cohort;
        return uint8(_cohortHistory[operator].upperLookupRecent(timepoint));
    }

    function _claimAttester(address operator, address attester) private {
        address current = _operatorOf[attester];
        if (attester == address(0) || current != address(0)) revert RegistryAttesterUnavailable(attester, current);
        _operatorOf[attester] = operator;
    }

    /// @dev Records the membership change in the validator's slot, its history and the token's cohort totals,
    /// all in the same block, so the cohort totals at any block equal the sum of their members' stakes.
    function _setMembership(address operator, uint8 cohort) private {
        uint48 now_ = uint48(block.number);
        Validator storage v = _validators[operator];
        v.cohort = cohort;
        v.cohortSince = now_;
        _cohortHistory[operator].push(now_, cohort);
        _stakeToken.setOperatorCohort(operator, cohort);
    }
}
