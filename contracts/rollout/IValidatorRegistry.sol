// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title Lockstep validator registry interface
/// @notice A validator is identified by its operator address, the account its delegators delegate stake to.
/// Its attester is the hot key its watcher signs attestations with; the operator can rotate it at any time.
/// Its cohort (1 = canary, 2 = early, 3 = main, ...; 0 = not registered) is assigned by governance.
interface IValidatorRegistry {
    /// @notice A validator's registration, as the registry holds it now.
    struct ValidatorInfo {
        address operator;
        address attester;
        bool registered;
        uint8 cohort;
        string metadataURI;
    }

    event ValidatorRegistered(address indexed operator, address indexed attester, uint8 cohort, string metadataURI);
    event ValidatorDeregistered(address indexed operator, uint8 cohort);
    event AttesterRotated(address indexed operator, address indexed previousAttester, address indexed newAttester);
    event CohortAssigned(address indexed operator, uint8 previousCohort, uint8 newCohort);
    event DefaultCohortSet(uint8 previousCohort, uint8 newCohort);
    event MetadataURISet(address indexed operator, string previousURI, string newURI);

    /// @notice The operator is already registered.
    error RegistryAlreadyRegistered(address operator);
    /// @notice The operator is not registered.
    error RegistryNotRegistered(address operator);
    /// @notice The attester is zero or already serves another validator.
    error RegistryAttesterUnavailable(address attester, address currentOperator);
    /// @notice Cohort 0 means "none" and cannot be assigned.
    error RegistryInvalidCohort(uint8 cohort);
    /// @notice `proof` is not the attester key's signature of the operator's next AttesterProof.
    error RegistryInvalidAttesterProof(address operator, address attester);

    /// @notice Registers `msg.sender` as a validator operator: in the cohort governance last gave it, or, on its
    /// first registration, in the cohort the stake token already counts it in (a previous coordinator's, after a
    /// migration) or else the default cohort, which then stays its cohort until governance moves it.
    /// @param proof The attester key's EIP-712 signature of AttesterProof(operator, nonces(operator)) under this
    /// coordinator's domain (ERC-1271 for a contract key): proof of possession, so no one can claim another's key.
    function register(address attester, string calldata metadataURI, bytes calldata proof) external;

    /// @notice Removes `msg.sender`'s registration. Attestations already posted keep counting; no more can be posted.
    /// The validator's cohort is kept for its next registration.
    function deregister() external;

    /// @notice Replaces `msg.sender`'s attester key. The validator's attestations stay one record, so it never
    /// counts twice.
    /// @param proof The new key's proof of possession, as for register.
    function rotateAttester(address newAttester, bytes calldata proof) external;

    /// @notice Updates `msg.sender`'s moniker / metadata URI.
    function setMetadataURI(string calldata metadataURI) external;

    /// @notice Moves a registered validator to another cohort (governance only). Rollouts already scheduled keep
    /// the cohort the validator had at their snapshot.
    function setCohort(address operator, uint8 cohort) external;

    /// @notice The cohort new registrations land in (governance only).
    function setDefaultCohort(uint8 cohort) external;

    /// @notice The registration of `operator` (cohort 0 if not registered).
    function getValidator(address operator) external view returns (ValidatorInfo memory);

    /// @notice The operator an attester key serves (zero if none).
    function operatorOf(address attester) external view returns (address);

    /// @notice The nonce `operator`'s next attester proof must carry; each register and rotateAttester uses one.
    function nonces(address operator) external view returns (uint256);

    /// @notice The cohort `operator` belonged to at the end of block `timepoint` (0 if not registered then).
    function cohortAt(address operator, uint48 timepoint) external view returns (uint8);

    /// @notice The cohort new registrations land in.
    function defaultCohort() external view returns (uint8);
}
