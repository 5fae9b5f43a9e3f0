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

    /// @notice Registers `msg.sender` as a validator operator: in the cohort governance last gave it, or, on its
    /// first registration, in the default cohort, which then stays its cohort until governance moves it.
    function register(address attester, string calldata metadataURI) external;

    /// @notice Removes `msg.sender`'s registration. Attestations already posted keep counting; no more can be posted.
    /// The validator's cohort is kept for its next registration.
    function deregister() external;

    /// @notice Replaces `msg.sender`'s attester key. The validator's attestations stay one record, so it never
    /// counts twice.
    function rotateAttester(address newAttester) external;

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

    /// @notice The cohort `operator` belonged to at the end of block `timepoint` (0 if not registered then).
    function cohortAt(address operator, uint48 timepoint) external view returns (uint8);

    /// @notice The cohort new registrations land in.
    function defaultCohort() external view returns (uint8);
}
