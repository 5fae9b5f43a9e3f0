// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title Lockstep upgrade coordinator interface
/// @notice Governance schedules an upgrade from a manifest; the coordinator then runs its rollout cohort after
/// cohort, counting stake-weighted attestations from validators at the upgrade's snapshot, advancing only when a
/// stage is proven healthy, pausing by itself when it is not, and offering pause, withdraw and rollback paths.
interface IUpgradeCoordinator {
    // ------------------------------------------------------------------ types

    /// @notice Lifecycle of an upgrade. `Paused` overlays Scheduled or Rolling; the last three are terminal.
    enum UpgradeState {
        None,
        Scheduled, // no stage activated yet
        Rolling, // at least one stage activated
        Paused,
        Completed,
        Withdrawn,
        RolledBack
    }

    /// @notice Lifecycle of a stage.
    enum StageState {
        Pending, // waiting for its time lock and readiness
        Active, // activated, observing
        Verified // proven healthy
    }

    /// @notice What a validator attests. `Ready` before its stage activates; the others after.
    enum Status {
        None,
        Ready, // artifact downloaded, digest verified, binary staged
        Healthy, // upgraded and healthy
        Unhealthy, // upgraded, not healthy
        FailedToUpgrade, // the new binary never came up
        RolledBack // runs the previous version again
    }

    /// @notice Why an upgrade is paused.
    enum PauseReason {
        None,
        Manual, // guardian or governance
        UnhealthyThreshold, // a stage's unhealthy stake reached its limit
        ParticipationDeadline // a stage missed its healthy threshold by its attestation deadline
    }

    /// @notice Why a rollback was ordered.
    enum RollbackReason {
        Manual, // guardian or governance
        AutomaticThreshold // a stage's unhealthy stake reached its rollback limit
    }

    /// @notice Why an item of a relayed batch was skipped. A batch never fails as a whole because of state: an item
    /// that the chain's state or clock makes inapplicable is skipped with AttestationSkipped, and the batch goes on.
    enum SkipReason {
        None,
        Expired, // past the signature's deadline
        Future, // issued further ahead of the chain's clock than MAX_CLOCK_SKEW
        Stale, // not newer than the validator's last statement: a duplicate, superseded or front-run item
        NotAttester, // the signature is not by the operator's attester now (rotated, deregistered, or never)
        NotInCohort, // the operator was not in the stage's cohort at the upgrade's snapshot
        UnknownStage, // no such stage, or no such upgrade
        StageNotPending, // Ready for a stage that has activated since
        StageNotActivated, // a health status for a stage that has not activated yet
        VersionMismatch, // Healthy with another version than the manifest's
        UpgradeEnded // the upgrade ended (completed, withdrawn, or rolled back: an earlier item may have ordered it)
    }

    /// @notice A downloadable build of the new version.
    struct Artifact {
        string platform; // e.g. "linux-amd64"
        string uri;
        bytes32 sha256Digest;
    }

    /// @notice The rules of one stage of a rollout. Thresholds are basis points of the cohort's stake at the
    /// upgrade's snapshot; durations are seconds.
    struct StageRules {
        uint8 cohort;
        uint32 timelock; // after scheduling (first stage) or after the previous stage was verified
        uint32 observationWindow; // minimum time active before it may be verified
        uint32 attestationDeadline; // after activation; past it, a stage below its healthy threshold can be paused
        uint16 readinessBps; // `Ready` stake needed to activate
        uint16 healthyBps; // `Healthy` stake needed to advance
        uint16 unhealthyBps; // not-healthy stake that pauses at once
        uint16 rollbackBps; // not-healthy stake that orders rollback at once (0: never)
    }

    /// @notice An upgrade manifest, as voted on.
    struct Manifest {
        string name; // unique
        string version; // at most 32 bytes; attestations carry it as bytes32
        string previousVersion; // the version it replaces: the rollback target
        Artifact[] artifacts;
        string[] featureFlags;
        string metadataURI;
        bytes32 manifestHash; // keccak256 of the canonical off-chain manifest file
        bool stateIncompatible; // rollback must restore the pre-upgrade state snapshot too
        StageRules[] stages;
    }

    /// @notice One validator's statement about one stage: the EIP-712 struct its attester signs for the relayed
    /// path. A relayed batch carries each one packed (see PACKED_ATTESTATION_SIZE) with its compact signature.
    struct Attestation {
        address operator;
        uint32 upgradeId;
        uint8 stage;
        Status status;
        bytes32 version; // the version the node runs, left-aligned UTF-8
        uint64 height; // the block height the node observes
        bytes32 metricsDigest; // digest of the watcher's metrics snapshot
        uint40 issuedAt; // signing time; only a newer statement than the validator's last one is accepted
        uint40 deadline; // the signature is void after this time
    }

    /// @notice An upgrade's header.
    struct UpgradeView {
        uint32 id;
        UpgradeState state;
        PauseReason pauseReason;
        uint8 stageCount;
        uint8 currentStage; // the stage active now, or the next to activate
        uint48 snapshot; // block whose stakes and cohorts the rollout counts
        uint40 scheduledAt;
        uint40 pausedAt;
        uint40 endedAt;
        bytes32 manifestHash;
        bytes32 versionTag;
        uint96 restoredStake; // stake that attested `RolledBack` after a rollback order
        uint32 restoredCount;
    }

    /// @notice A stage with its rules, tallies and timings.
    struct StageView {
        uint8 index;
        StageState state;
        StageRules rules;
        uint96 cohortStake; // the denominator of every threshold
        uint96 readyStake;
        uint96 readyNeeded;
        uint96 healthyStake;
        uint96 healthyNeeded;
        uint96 unhealthyStake; // Unhealthy + FailedToUpgrade + RolledBack
        uint96 attestedStake; // healthy + not healthy: the stake that has reported since activation
        uint96 unhealthyLimit;
        uint96 rollbackLimit; // type(uint96).max when automatic rollback is off
        uint32 readyCount;
        uint40 notBefore; // earliest activation time (0 while the previous stage is not verified)
        uint40 activatedAt;
        uint40 observationEndsAt;
        uint40 attestationDeadlineAt;
        uint40 verifiedAt;
    }

    /// @notice An upgrade's restart budget and one attester key's lease in it. Stakes in wei, in whole lease units
    /// (10^10 wei): a weight rounded up, the budget down.
    struct LeaseView {
        uint256 budget; // 0 when the budget is 0 bps, or the upgrade is unknown
        uint256 inUse; // stake leased now, expired leases left out
        uint32 duration; // seconds: a lease lasts between one and two durations
        bool live; // leases may be taken: from scheduling until the next upgrade is scheduled
        uint256 weight; // the stake the key's validator leases (cached by its Ready; 0 before)
        uint256 expiresAt; // while the key holds a lease that has not expired, when it does; else 0
    }

    /// @notice A validator's place in an upgrade and its last attestation (in any upgrade).
    struct Assignment {
        address operator;
        address attester;
        bool inRoster; // registered in one of the upgrade's cohorts at its snapshot
        uint8 cohort; // at the snapshot
        uint8 stage; // the stage of that cohort (meaningful when inRoster)
        uint96 weight; // stake at the snapshot
        uint32 lastUpgradeId;
        uint8 lastStage;
        Status lastStatus;
        uint40 lastAttestedAt;
    }

    // ------------------------------------------------------------------ events

    /// @notice Governance scheduled an upgrade. Carries the whole manifest and every stage's denominator.
    event UpgradeScheduled(
        uint256 indexed upgradeId,
        bytes32 indexed nameHash,
        Manifest manifest,
        uint48 snapshot,
        uint96[] cohortStakes
    );

    /// @notice A stage activated: its cohort may swap binaries now.
    event StageActivated(
        uint256 indexed upgradeId, uint8 stage, uint8 cohort, uint96 readyStake, uint96 readyNeeded
    );

    /// @notice A validator attested. `weight` is its stake at the snapshot; a newer attestation replaces its older
    /// one in the tallies.
    event Attested(
        uint256 indexed upgradeId,
        address indexed operator,
        uint8 stage,
        Status status,
        bytes32 version,
        uint64 height,
        bytes32 metricsDigest,
        uint96 weight
    );

    /// @notice A stage was proven healthy.
    event StageVerified(
        uint256 indexed upgradeId, uint8 stage, uint96 healthyStake, uint96 healthyNeeded, uint96 unhealthyStake
    );

    /// @notice The rollout stopped moving. `stage` is the stage whose tallies caused it (the current stage for a
    /// manual pause), with those tallies.
    event UpgradePaused(
        uint256 indexed upgradeId,
        address indexed by,
        PauseReason reason,
        uint8 stage,
        uint96 healthyStake,
        uint96 unhealthyStake
    );

    /// @notice Governance let the rollout move again.
    event UpgradeResumed(uint256 indexed upgradeId, address indexed by, uint8 stage);

    /// @notice Governance cancelled the upgrade (terminal).
    event UpgradeWithdrawn(uint256 indexed upgradeId, address indexed by, uint8 stage, bool anyStageActivated);

    /// @notice Rollback to the previous version was ordered (terminal). `stage` is the stage whose not-healthy stake
    /// reached its limit (the current stage for a manual order).
    event RollbackOrdered(
        uint256 indexed upgradeId, address indexed by, RollbackReason reason, uint8 stage, uint96 unhealthyStake
    );

    /// @notice Governance appointed (or revoked, with zero) the guardian, or the guardian renounced.
    event GuardianSet(address indexed previousGuardian, address indexed newGuardian);

    /// @notice An item of a relayed batch was skipped: the chain's state or clock makes it inapplicable.
    event AttestationSkipped(uint256 indexed upgradeId, address indexed operator, SkipReason reason);

    /// @notice A relayed batch landed: `accepted` items were counted, `skipped` were skipped.
    event AttestationsRelayed(address indexed relayer, uint256 accepted, uint256 skipped);

    /// @notice Every stage was verified (terminal).
    event UpgradeCompleted(uint256 indexed upgradeId, uint8 stageCount);

    /// @notice Governance set the restart budget for upgrades scheduled from now on, in basis points of the total
    /// registered stake at their snapshot (0: no lease is ever granted), and the lease duration in seconds.
    event RestartBudgetSet(uint16 previousBps, uint16 newBps, uint32 previousLeaseDuration, uint32 newLeaseDuration);

    /// @notice Scheduling fixed the upgrade's restart budget (wei, floored to whole lease units) and lease duration.
    event LeaseBudgetOpened(uint256 indexed upgradeId, uint256 budget, uint32 duration);

    /// @notice `attester`'s validator may stop its node: `weight` (its snapshot stake, rounded up to whole lease
    /// units) is leased until `expiresAt` at the latest; `inUse` is the stake leased after the grant.
    event LeaseGranted(
        uint256 indexed upgradeId, address indexed attester, uint256 weight, uint256 expiresAt, uint256 inUse
    );

    /// @notice The validator's Healthy, FailedToUpgrade or RolledBack attestation ended its lease (emitted just
    /// before that Attested event); `inUse` is the stake leased after the release.
    event LeaseReleased(
        uint256 indexed upgradeId, address indexed attester, address indexed operator, uint256 weight, uint256 inUse
    );

    /// @notice Leases counted `stake` past their expiry; reported by the first call that saw their time run out.
    /// `inUse` is the stake still leased after it.
    event LeasesExpired(uint256 indexed upgradeId, uint256 stake, uint256 inUse);

    /// @notice Governance offered its role to `newGovernance` (zero withdraws the offer); nothing changes until
    /// `newGovernance` accepts.
    event GovernanceTransferStarted(address indexed governance, address indexed newGovernance);

    /// @notice `newGovernance` accepted the governance role: from now on only it schedules, resumes and withdraws.
    event GovernanceTransferred(address indexed previousGovernance, address indexed newGovernance);

    /// @notice Governance moved the stake token's registry binding to `successor`: this coordinator schedules no
    /// more upgrades, registers no more validators, and validators register with the successor.
    event RegistryMigrated(address indexed successor);

    // ------------------------------------------------------------------ errors

    error CoordinatorUnknownUpgrade(uint256 upgradeId);
    /// @notice The upgrade is in state `current`; the call needs one of `expectedStates`, a bitmap whose bit `i` is
    /// set for UpgradeState `i` (as OpenZeppelin's Governor names the proposal states it expected).
    error CoordinatorUnexpectedState(uint256 upgradeId, UpgradeState current, bytes32 expectedStates);
    error CoordinatorUpgradeInFlight(uint256 openUpgradeId);
    error CoordinatorUnauthorized(address caller);
    error CoordinatorRoleConflict(address governance, address guardian);

    error CoordinatorEmptyName();
    error CoordinatorDuplicateName(string name, uint256 upgradeId);
    error CoordinatorInvalidVersion(string version);
    error CoordinatorInvalidPreviousVersion(string previousVersion);
    error CoordinatorEmptyManifestHash();
    error CoordinatorNoArtifacts();
    error CoordinatorTooMany(string what, uint256 count, uint256 max);
    error CoordinatorInvalidArtifact(uint256 index);
    error CoordinatorEmptyDigest(uint256 index);
    error CoordinatorNoStages();
    error CoordinatorInvalidCohort(uint256 stage, uint8 cohort);
    error CoordinatorDuplicateCohort(uint256 stage, uint8 cohort);
    error CoordinatorEmptyCohort(uint256 stage, uint8 cohort);
    error CoordinatorThresholdOutOfRange(uint256 stage, uint16 bps);
    error CoordinatorZeroDeadline(uint256 stage);

    error CoordinatorUnknownStage(uint256 upgradeId, uint256 stage);
    error CoordinatorNotAttester(address operator, address sender);
    error CoordinatorNotInCohort(address operator, uint8 cohort, uint8 stageCohort);
    error CoordinatorStageNotPending(uint256 upgradeId, uint256 stage);
    error CoordinatorStageNotActivated(uint256 upgradeId, uint256 stage);
    error CoordinatorInvalidStatus(uint8 status);
    error CoordinatorVersionMismatch(uint256 upgradeId, bytes32 reported);
    error CoordinatorStaleAttestation(address operator, uint40 issuedAt, uint40 lastIssuedAt);
    error CoordinatorFutureAttestation(uint40 issuedAt, uint256 now_);
    error CoordinatorSignatureExpired(uint40 deadline, uint256 now_);
    error CoordinatorMalformedBatch(uint256 length);

    error CoordinatorTimelockActive(uint256 upgradeId, uint256 stage, uint256 notBefore);
    error CoordinatorNotReady(uint256 upgradeId, uint256 stage, uint96 readyStake, uint96 readyNeeded);
    error CoordinatorObservationActive(uint256 upgradeId, uint256 stage, uint256 endsAt);
    error CoordinatorBelowThreshold(uint256 upgradeId, uint256 stage, uint96 healthyStake, uint96 healthyNeeded);
    error CoordinatorUnhealthy(uint256 upgradeId, uint256 stage, uint96 unhealthyStake, uint96 unhealthyLimit);
    error CoordinatorDeadlineNotPassed(uint256 upgradeId, uint256 stage, uint256 deadlineAt);
    error CoordinatorParticipationMet(uint256 upgradeId, uint256 stage, uint96 healthyStake, uint96 healthyNeeded);
    error CoordinatorNoActiveStage(uint256 upgradeId);
    error CoordinatorNothingActivated(uint256 upgradeId);

    /// @notice The lease would take the stake leased past the budget: wait for releases or expiries and retry.
    /// Figures in wei, rounded to whole lease units. A `weight` above `budget` can never be granted.
    error CoordinatorLeaseBudgetFull(uint256 upgradeId, uint256 inUse, uint256 budget, uint256 weight);
    /// @notice `attester` may not take a lease now. With `expiresAt` 0: it holds no weight for a live budget (it is
    /// not an operator's current attester, its validator has not attested Ready to the latest upgrade, or that
    /// upgrade's budget closed when the next was scheduled). Otherwise it already holds a lease, until `expiresAt`.
    error CoordinatorLeaseRefused(address attester, uint256 upgradeId, uint256 expiresAt);
    error CoordinatorInvalidLeaseSettings(uint256 bps, uint256 duration);
    /// @notice The successor is zero, this coordinator, or not a coordinator of the same stake token.
    error CoordinatorInvalidSuccessor(address successor);
    /// @notice This coordinator handed its registry to `successor`: it schedules no more upgrades.
    error CoordinatorRetired(address successor);

    // ------------------------------------------------------------------ governance

    /// @notice Schedules an upgrade (governance). Snapshot = the previous block. Only one upgrade is open at a time.
    function schedule(Manifest calldata manifest) external returns (uint256 upgradeId);

    /// @notice Lets a paused rollout move again (governance only: the guardian can stop, never restart). The
    /// not-healthy stake each stage counts at the resume is accepted: only not-healthy stake beyond it can pause
    /// the upgrade again by itself.
    function resume(uint256 upgradeId) external;

    /// @notice Cancels an upgrade that has not ended (governance). Terminal.
    function withdraw(uint256 upgradeId) external;

    /// @notice Appoints a new guardian, or revokes it with address(0) (governance). Never the governance account.
    function setGuardian(address newGuardian) external;

    /// @notice Sets, for upgrades scheduled from now on (governance), the restart budget in basis points (0..10000)
    /// of the total registered stake at the upgrade's snapshot, and the lease duration in seconds (1..2^24 - 1).
    /// A lease counts until the end of the duration-long epoch after the one it was granted in: between one and two
    /// durations.
    function setRestartBudget(uint16 bps, uint32 leaseDuration) external;

    /// @notice Offers the governance role to `newGovernance`, a new timelock (governance); zero withdraws the offer.
    /// Two steps, so a mistyped address never takes the role: nothing changes until it calls acceptGovernance.
    function transferGovernance(address newGovernance) external;

    /// @notice Takes the governance role offered by transferGovernance (the offered account only, in practice a
    /// proposal executed by the new timelock). An upgrade in flight carries over: the new governance resumes,
    /// withdraws or lets it complete.
    function acceptGovernance() external;

    /// @notice Moves the stake token's registry binding to `successor`, a coordinator of the same token
    /// (governance). Refused while an upgrade is open (CoordinatorUpgradeInFlight): withdraw it or let it end
    /// first. Afterwards this coordinator schedules nothing (CoordinatorRetired) and registers no one; the token's
    /// roster carries over, so a validator registering with the successor keeps its cohort.
    function migrateRegistry(address successor) external;

    // ------------------------------------------------------------------ guardian (and governance)

    /// @notice The guardian steps down.
    function renounceGuardian() external;

    /// @notice Stops the rollout at once: nothing activates or advances until governance resumes.
    function pause(uint256 upgradeId) external;

    /// @notice Orders every upgraded validator back to the previous version. Terminal.
    function orderRollback(uint256 upgradeId) external;

    // ------------------------------------------------------------------ anyone

    /// @notice Verifies the current stage when proven healthy, and activates the next once its time lock has passed
    /// and its readiness is met. Reverts when neither is due.
    function advance(uint256 upgradeId) external;

    /// @notice Pauses a stage that missed its healthy threshold by its attestation deadline.
    function pauseForMissingParticipation(uint256 upgradeId) external;

    /// @notice Posts an attestation from the operator's attester key (`msg.sender`). `status` is a Status value; a
    /// Healthy attestation must report the manifest's version.
    function attest(
        address operator,
        uint32 upgradeId,
        uint8 stage,
        uint8 status,
        bytes32 version,
        uint64 height,
        bytes32 metricsDigest
    ) external;

    /// @notice Posts a batch of 1 to 256 attestations signed by their attesters (EIP-712, compact signatures);
    /// anyone may relay. Each item is PACKED_ATTESTATION_SIZE bytes. The batch reverts only when it is malformed:
    /// a length that is not a whole number of items (or more than MAX_BATCH), a status byte that names no
    /// reportable Status, or a signature that recovers no key (ECDSA's errors). Everything the chain's state or
    /// clock decides skips the item (see SkipReason), including a well-formed signature by another key than the
    /// operator's attester, since a key can be rotated between signing and landing. A relayer can therefore
    /// check offline what reverts, and learn by simulation what is skipped.
    /// @return accepted The number of items counted (also reported by AttestationsRelayed).
    function relayAttestations(bytes calldata batch) external returns (uint256 accepted);

    /// @notice Takes a restart lease for the validator of the calling attester key, before it stops its node for
    /// a swap or a rollback. Its weight is its stake at the latest upgrade's snapshot, cached by its `Ready`
    /// attestation. Reverts with CoordinatorLeaseBudgetFull while the budget is full. The lease ends with the
    /// validator's next Healthy, FailedToUpgrade or RolledBack attestation, or by expiry. At most 35,000 gas.
    function takeLease() external;

    // ------------------------------------------------------------------ views

    /// @notice The settings the next scheduled upgrade will fix: budget in basis points, lease duration in seconds.
    function restartBudget() external view returns (uint16 bps, uint32 leaseDuration);

    /// @notice `upgradeId`'s restart budget and the stake leased now, with `attester`'s lease in it.
    function getLease(uint256 upgradeId, address attester) external view returns (LeaseView memory);

    function getUpgrade(uint256 upgradeId) external view returns (UpgradeView memory);
    function getStage(uint256 upgradeId, uint256 stage) external view returns (StageView memory);
    function getCurrentStage(uint256 upgradeId) external view returns (StageView memory);
    function getAssignment(uint256 upgradeId, address operator) external view returns (Assignment memory);
    function upgradeIdOf(string calldata name) external view returns (uint256);
    function openUpgrade() external view returns (uint256);
    function upgradeCount() external view returns (uint256);
    function stakeToken() external view returns (address);
    function governance() external view returns (address);
    /// @notice The account offered the governance role, until it accepts (zero if none).
    function pendingGovernance() external view returns (address);
    /// @notice The coordinator the registry was migrated to (zero while this one is in service).
    function successor() external view returns (address);
    function guardian() external view returns (address);
}
