// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IStakeToken} from "../governance/IStakeToken.sol";
import {IValidatorRegistry} from "./IValidatorRegistry.sol";
import {ValidatorSlot, Lease, VALIDATOR_LIVE, VALIDATOR_REGISTERED} from "./RolloutStorage.sol";

/// @title Lockstep validator registry
/// @notice Operators, their attester keys, metadata and cohorts. Cohort membership is checkpointed, together
/// with the operator's stake, in the stake token's roster, so a rollout reads each validator's cohort and weight
/// at its snapshot: registrations, departures and cohort moves made during a rollout change nothing in it.
/// @dev Abstract: the coordinator inherits it. A validator's slot holds its attester and, for the coordinator,
/// its last attestation, so an attestation authenticates and records in one slot. The slot never returns to
/// zero once a validator has registered, which keeps the first attestation's write cheap.
abstract contract ValidatorRegistry is IValidatorRegistry {
    IStakeToken internal immutable _stakeToken;

    mapping(address operator => ValidatorSlot) internal _validators;
    /// @dev Restart leases, keyed by attester key (see Lease); the coordinator fills and uses them.
    mapping(address attester => Lease) internal _leases;
    mapping(address attester => address operator) private _operatorOf;
    mapping(address operator => string) private _metadataURIs;
    /// @dev The cohort governance gave the operator (or the default it first registered in). It outlives a
    /// deregistration, so leaving and registering again never moves a validator: only governance does.
    mapping(address operator => uint8 cohort) private _assignedCohort;
    uint8 private _defaultCohort;

    constructor(IStakeToken stakeToken, uint8 defaultCohort_) {
        if (defaultCohort_ == 0) revert RegistryInvalidCohort(0);
        _stakeToken = stakeToken;
        _defaultCohort = defaultCohort_;
        emit DefaultCohortSet(0, defaultCohort_);
    }

    /// @dev Governance check for cohort assignment, supplied by the inheriting contract.
    function _checkGovernance() internal view virtual;

    /// @inheritdoc IValidatorRegistry
    function register(address attester, string calldata metadataURI) external {
        address operator = msg.sender;
        ValidatorSlot storage v = _validators[operator];
        if (v.flags & VALIDATOR_REGISTERED != 0) revert RegistryAlreadyRegistered(operator);
        _claimAttester(operator, attester);
        v.attester = attester;
        v.flags |= VALIDATOR_LIVE | VALIDATOR_REGISTERED;
        _metadataURIs[operator] = metadataURI;
        uint8 cohort = _assignedCohort[operator];
        if (cohort == 0) {
            cohort = _defaultCohort;
            _assignedCohort[operator] = cohort;
        }
        _stakeToken.setOperatorCohort(operator, cohort);
        emit ValidatorRegistered(operator, attester, cohort, metadataURI);
    }

    /// @inheritdoc IValidatorRegistry
    function deregister() external {
        address operator = _requireRegistered(msg.sender);
        ValidatorSlot storage v = _validators[operator];
        delete _operatorOf[v.attester];
        delete _leases[v.attester];
        v.attester = address(0);
        v.flags &= ~VALIDATOR_REGISTERED;
        uint8 cohort = _stakeToken.cohortOf(operator);
        _stakeToken.setOperatorCohort(operator, 0);
        emit ValidatorDeregistered(operator, cohort);
    }

    /// @inheritdoc IValidatorRegistry
    function rotateAttester(address newAttester) external {
        address operator = _requireRegistered(msg.sender);
        ValidatorSlot storage v = _validators[operator];
        address previous = v.attester;
        _claimAttester(operator, newAttester);
        delete _operatorOf[previous];
        delete _leases[previous];
        v.attester = newAttester;
        emit AttesterRotated(operator, previous, newAttester);
    }

    /// @inheritdoc IValidatorRegistry
    function setMetadataURI(string calldata metadataURI) external {
        address operator = _requireRegistered(msg.sender);
        string memory previous = _metadataURIs[operator];
        _metadataURIs[operator] = metadataURI;
        emit MetadataURISet(operator, previous, metadataURI);
    }

    /// @inheritdoc IValidatorRegistry
    function setCohort(address operator, uint8 cohort) external {
        _checkGovernance();
        if (cohort == 0) revert RegistryInvalidCohort(cohort);
        _requireRegistered(operator);
        uint8 previous = _stakeToken.cohortOf(operator);
        _assignedCohort[operator] = cohort;
        _stakeToken.setOperatorCohort(operator, cohort);
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
        ValidatorSlot memory v = _validators[operator];
        info = ValidatorInfo({
            operator: operator,
            attester: v.attester,
            registered: v.flags & VALIDATOR_REGISTERED != 0,
            cohort: _stakeToken.cohortOf(operator),
            metadataURI: _metadataURIs[operator]
        });
    }

    /// @inheritdoc IValidatorRegistry
    function operatorOf(address attester) external view returns (address) {
        return _operatorOf[attester];
    }

    /// @inheritdoc IValidatorRegistry
    function cohortAt(address operator, uint48 timepoint) external view returns (uint8 cohort) {
        (cohort,) = _stakeToken.rosterAt(operator, timepoint);
    }

    /// @inheritdoc IValidatorRegistry
    function defaultCohort() external view returns (uint8) {
        return _defaultCohort;
    }

    function _requireRegistered(address operator) private view returns (address) {
        if (_validators[operator].flags & VALIDATOR_REGISTERED == 0) revert RegistryNotRegistered(operator);
        return operator;
    }

    function _claimAttester(address operator, address attester) private {
        address current = _operatorOf[attester];
        if (attester == address(0) || current != address(0)) revert RegistryAttesterUnavailable(attester, current);
        _operatorOf[attester] = operator;
        _leases[attester].claimed = true;
    }
}
