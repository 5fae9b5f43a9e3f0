// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IStakeToken} from "../governance/IStakeToken.sol";
import {IValidatorRegistry} from "./IValidatorRegistry.sol";
import {Registry, RegistryLogic} from "./RegistryLogic.sol";
import {ValidatorSlot, Lease} from "./RolloutStorage.sol";

/// @title Lockstep validator registry
/// @notice Operators, their attester keys, metadata and cohorts. Cohort membership is checkpointed, together
/// with the operator's stake, in the stake token's roster, so a rollout reads each validator's cohort and weight
/// at its snapshot: registrations, departures and cohort moves made during a rollout change nothing in it.
/// @dev Abstract: the coordinator inherits it. A validator's slot holds its attester and, for the coordinator,
/// its last attestation, so an attestation authenticates and records in one slot. The slot never returns to
/// zero once a validator has registered, which keeps the first attestation's write cheap. The cold paths
/// (registration, rotation, cohort moves) run in the RegistryLogic library, for the coordinator's size.
abstract contract ValidatorRegistry is IValidatorRegistry {
    IStakeToken internal immutable _stakeToken;

    mapping(address operator => ValidatorSlot) internal _validators;
    /// @dev Restart leases, keyed by attester key (see Lease); the coordinator fills and uses them.
    mapping(address attester => Lease) internal _leases;
    Registry private _registry;

    constructor(IStakeToken stakeToken, uint8 defaultCohort_) {
        if (defaultCohort_ == 0) revert RegistryInvalidCohort(0);
        _stakeToken = stakeToken;
        _registry.defaultCohort = defaultCohort_;
        emit DefaultCohortSet(0, defaultCohort_);
    }

    /// @dev Governance check for cohort assignment, supplied by the inheriting contract.
    function _checkGovernance() internal view virtual;

    /// @dev The EIP-712 domain separator attester proofs are signed under, supplied by the inheriting contract.
    function _attesterProofDomain() internal view virtual returns (bytes32);

    /// @inheritdoc IValidatorRegistry
    function register(address attester, string calldata metadataURI, bytes calldata proof) external {
        RegistryLogic.register(
            _registry,
            _validators,
            _leases,
            _stakeToken,
            _attesterProofDomain(),
            msg.sender,
            attester,
            metadataURI,
            proof
        );
    }

    /// @inheritdoc IValidatorRegistry
    function deregister() external {
        RegistryLogic.deregister(_registry, _validators, _leases, _stakeToken, msg.sender);
    }

    /// @inheritdoc IValidatorRegistry
    function rotateAttester(address newAttester, bytes calldata proof) external {
        RegistryLogic.rotateAttester(
            _registry, _validators, _leases, _attesterProofDomain(), msg.sender, newAttester, proof
        );
    }

    /// @inheritdoc IValidatorRegistry
    function setMetadataURI(string calldata metadataURI) external {
        RegistryLogic.setMetadataURI(_registry, _validators, msg.sender, metadataURI);
    }

    /// @inheritdoc IValidatorRegistry
    function setCohort(address operator, uint8 cohort) external {
        _checkGovernance();
        RegistryLogic.setCohort(_registry, _validators, _stakeToken, operator, cohort);
    }

    /// @inheritdoc IValidatorRegistry
    function setDefaultCohort(uint8 cohort) external {
        _checkGovernance();
        RegistryLogic.setDefaultCohort(_registry, cohort);
    }

    /// @inheritdoc IValidatorRegistry
    function getValidator(address operator) external view returns (ValidatorInfo memory) {
        _returnEncoded(RegistryLogic.validatorView(_registry, _validators[operator], _stakeToken, operator));
    }

    /// @inheritdoc IValidatorRegistry
    function operatorOf(address attester) external view returns (address) {
        return _registry.operatorOf[attester];
    }

    /// @inheritdoc IValidatorRegistry
    function nonces(address operator) external view returns (uint256) {
        return _registry.nonces[operator];
    }

    /// @inheritdoc IValidatorRegistry
    function cohortAt(address operator, uint48 timepoint) external view returns (uint8 cohort) {
        (cohort,) = _stakeToken.rosterAt(operator, timepoint);
    }

    /// @inheritdoc IValidatorRegistry
    function defaultCohort() external view returns (uint8) {
        return _registry.defaultCohort;
    }

    /// @dev Ends the call returning `encoded`, an ABI-encoded return value built by a library (RegistryLogic,
    /// RolloutViews), so the coordinator carries no encoder for the view structs.
    function _returnEncoded(bytes memory encoded) internal pure {
        assembly ("memory-safe") {
            return(add(encoded, 0x20), mload(encoded))
        }
    }
}
