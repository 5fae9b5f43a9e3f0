// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IStakeToken} from "../governance/IStakeToken.sol";
import {IValidatorRegistry} from "./IValidatorRegistry.sol";
import {ValidatorSlot, Lease, VALIDATOR_LIVE, VALIDATOR_REGISTERED} from "./RolloutStorage.sol";

/// @dev The registry's cold state: what registration, rotation and cohort moves read and write, and no attestation
/// does. The validator slots and leases, which attestations and takeLease read, stay in the coordinator's own
/// mappings and are passed beside it.
struct Registry {
    mapping(address attester => address operator) operatorOf;
    mapping(address operator => string) metadataURIs;
    /// @dev The cohort governance gave the operator (or the one it first registered in). It outlives a
    /// deregistration, so leaving and registering again never moves a validator: only governance does.
    mapping(address operator => uint8 cohort) assignedCohort;
    /// @dev Consumed by each proof of possession the operator presents (register, rotateAttester).
    mapping(address operator => uint256) nonces;
    uint8 defaultCohort;
}

/// @title Registry logic
/// @notice Registration, attester rotation and cohort assignment: the validator registry's cold paths.
/// @dev An external library, run by DELEGATECALL on the coordinator's storage, which keeps the coordinator under the
/// contract size limit (as ManifestPlanner and RolloutViews do). Callers check governance where it is needed.
library RegistryLogic {
    /// @notice The EIP-712 struct an attester key signs to prove the operator holds it. The domain is the
    /// coordinator's ("Lockstep Coordinator", "1", chain id, coordinator address), so a proof is bound to the
    /// operator, the coordinator, the chain and the operator's nonce, and serves once.
    bytes32 internal constant ATTESTER_PROOF_TYPEHASH = keccak256("AttesterProof(address operator,uint256 nonce)");

    /// @notice Registers `operator` with `attester`, proven by `proof`, in the cohort governance last gave it; on
    /// its first registration with this coordinator, in the cohort the token already counts it in (one a previous
    /// coordinator gave it, so a migration keeps cohorts) or else the default.
    function register(
        Registry storage r,
        mapping(address => ValidatorSlot) storage validators,
        mapping(address => Lease) storage leases,
        IStakeToken token,
        bytes32 domainSeparator,
        address operator,
        address attester,
        string calldata metadataURI,
        bytes calldata proof
    ) external {
        ValidatorSlot storage v = validators[operator];
        if (v.flags & VALIDATOR_REGISTERED != 0) revert IValidatorRegistry.RegistryAlreadyRegistered(operator);
        _claimAttester(r, leases, domainSeparator, operator, attester, proof);
        v.attester = attester;
        v.flags |= VALIDATOR_LIVE | VALIDATOR_REGISTERED;
        r.metadataURIs[operator] = metadataURI;
        uint8 cohort = r.assignedCohort[operator];
        if (cohort == 0) {
            cohort = token.cohortOf(operator);
            if (cohort == 0) cohort = r.defaultCohort;
            r.assignedCohort[operator] = cohort;
        }
        token.setOperatorCohort(operator, cohort);
        emit IValidatorRegistry.ValidatorRegistered(operator, attester, cohort, metadataURI);
    }

    /// @notice Removes `operator`'s registration; its attester key and that key's lease slot are released.
    function deregister(
        Registry storage r,
        mapping(address => ValidatorSlot) storage validators,
        mapping(address => Lease) storage leases,
        IStakeToken token,
        address operator
    ) external {
        ValidatorSlot storage v = _registered(validators, operator);
        delete r.operatorOf[v.attester];
        delete leases[v.attester];
        v.attester = address(0);
        v.flags &= ~VALIDATOR_REGISTERED;
        uint8 cohort = token.cohortOf(operator);
        token.setOperatorCohort(operator, 0);
        emit IValidatorRegistry.ValidatorDeregistered(operator, cohort);
    }

    /// @notice Replaces `operator`'s attester key with `newAttester`, proven by `proof`.
    function rotateAttester(
        Registry storage r,
        mapping(address => ValidatorSlot) storage validators,
        mapping(address => Lease) storage leases,
        bytes32 domainSeparator,
        address operator,
        address newAttester,
        bytes calldata proof
    ) external {
        ValidatorSlot storage v = _registered(validators, operator);
        address previous = v.attester;
        _claimAttester(r, leases, domainSeparator, operator, newAttester, proof);
        delete r.operatorOf[previous];
        delete leases[previous];
        v.attester = newAttester;
        emit IValidatorRegistry.AttesterRotated(operator, previous, newAttester);
    }

    /// @notice Replaces `operator`'s metadata URI.
    function setMetadataURI(
        Registry storage r,
        mapping(address => ValidatorSlot) storage validators,
        address operator,
        string calldata metadataURI
    ) external {
        _registered(validators, operator);
        string memory previous = r.metadataURIs[operator];
        r.metadataURIs[operator] = metadataURI;
        emit IValidatorRegistry.MetadataURISet(operator, previous, metadataURI);
    }

    /// @notice Moves a registered `operator` to `cohort` (the caller checked governance).
    function setCohort(
        Registry storage r,
        mapping(address => ValidatorSlot) storage validators,
        IStakeToken token,
        address operator,
        uint8 cohort
    ) external {
        if (cohort == 0) revert IValidatorRegistry.RegistryInvalidCohort(cohort);
        _registered(validators, operator);
        uint8 previous = token.cohortOf(operator);
        r.assignedCohort[operator] = cohort;
        token.setOperatorCohort(operator, cohort);
        emit IValidatorRegistry.CohortAssigned(operator, previous, cohort);
    }

    /// @notice Sets the cohort first registrations land in (the caller checked governance).
    function setDefaultCohort(Registry storage r, uint8 cohort) external {
        if (cohort == 0) revert IValidatorRegistry.RegistryInvalidCohort(cohort);
        uint8 previous = r.defaultCohort;
        r.defaultCohort = cohort;
        emit IValidatorRegistry.DefaultCohortSet(previous, cohort);
    }

    /// @notice abi.encode(ValidatorInfo) of `operator`, whose slot is `slot`.
    function validatorView(Registry storage r, ValidatorSlot storage slot, IStakeToken token, address operator)
        external
        view
        returns (bytes memory)
    {
        return abi.encode(
            IValidatorRegistry.ValidatorInfo({
                operator: operator,
                attester: slot.attester,
                registered: slot.flags & VALIDATOR_REGISTERED != 0,
                cohort: token.cohortOf(operator),
                metadataURI: r.metadataURIs[operator]
            })
        );
    }

    /// @notice The EIP-712 digest `attester` signs to prove it is `operator`'s key, at `operator`'s current nonce.
    function attesterProofDigest(Registry storage r, bytes32 domainSeparator, address operator)
        internal
        view
        returns (bytes32)
    {
        bytes32 structHash = keccak256(abi.encode(ATTESTER_PROOF_TYPEHASH, operator, r.nonces[operator]));
        return MessageHashUtils.toTypedDataHash(domainSeparator, structHash);
    }

    function _registered(mapping(address => ValidatorSlot) storage validators, address operator)
        private
        view
        returns (ValidatorSlot storage v)
    {
        v = validators[operator];
        if (v.flags & VALIDATOR_REGISTERED == 0) revert IValidatorRegistry.RegistryNotRegistered(operator);
    }

    /// @dev Claims `attester` for `operator`: it must be free, and `proof` must be its signature (or, for a contract
    /// key, its ERC-1271 approval) of the operator's next AttesterProof, so nobody can claim a key they do not hold.
    function _claimAttester(
        Registry storage r,
        mapping(address => Lease) storage leases,
        bytes32 domainSeparator,
        address operator,
        address attester,
        bytes calldata proof
    ) private {
        address current = r.operatorOf[attester];
        if (attester == address(0) || current != address(0)) {
            revert IValidatorRegistry.RegistryAttesterUnavailable(attester, current);
        }
        bytes32 digest = attesterProofDigest(r, domainSeparator, operator);
        if (!SignatureChecker.isValidSignatureNow(attester, digest, proof)) {
            revert IValidatorRegistry.RegistryInvalidAttesterProof(operator, attester);
        }
        ++r.nonces[operator];
        r.operatorOf[attester] = operator;
        leases[attester].claimed = true;
    }
}
