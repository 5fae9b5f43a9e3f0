// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IStakeToken} from "../governance/IStakeToken.sol";
import {IUpgradeCoordinator} from "./IUpgradeCoordinator.sol";
import {ValidatorRegistry} from "./ValidatorRegistry.sol";
import {ManifestPlanner} from "./ManifestPlanner.sol";
import {RolloutViews} from "./RolloutViews.sol";
import {
    Phase, Header, Gate, Tally, Readiness, Progress, Stage, Record, Restored, ManifestSummary, notBeforeOf
} from "./RolloutStorage.sol";

/// @title Lockstep upgrade coordinator
/// @notice Runs governed, staged validator upgrades. See docs/design.md for the state machine, roles and threat model.
/// @dev Gas discipline (held by test/contracts/gas.test.ts): no state-changing function loops over validators.
/// An attestation touches one validator slot, one attestation record, the upgrade header and two slots of its
/// stage, plus one checkpoint lookup in the stake token; every slot it writes is already non-zero (records are
/// initialised at registration, tallies at scheduling), so a first attestation costs what a later one does.
contract UpgradeCoordinator is IUpgradeCoordinator, ValidatorRegistry, EIP712 {

    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(address operator,uint32 upgradeId,uint8 stage,uint8 status,bytes32 version,uint64 height,bytes32 metricsDigest,uint40 issuedAt,uint40 deadline)"
    );

    uint256 public constant MAX_BATCH = 256;
    /// @notice How far ahead of the chain's clock a signed attestation's `issuedAt` may be.
    uint256 public constant MAX_CLOCK_SKEW = 5 minutes;

    uint8 private constant _RECORD_LIVE = 1;
    uint8 private constant _RECORD_RESTORED = 2;

    /// @dev The timelock: schedules, resumes, withdraws, assigns cohorts, appoints and revokes the guardian.
    address private immutable _governance;
    /// @dev The incident commander: pauses and orders rollback at once; never schedules or resumes.
    address private _guardian;

    mapping(uint256 upgradeId => Header) private _headers;
    mapping(uint256 upgradeId => mapping(uint256 stage => Stage)) private _stages;
    mapping(uint256 upgradeId => ManifestSummary) private _manifests;
    mapping(uint256 upgradeId => Restored) private _restored;
    mapping(bytes32 nameHash => uint256 upgradeId) private _idByName;
    mapping(address operator => Record) private _records;
    uint32 private _upgradeCount;
    uint32 private _openUpgrade;

    /// @param stakeToken_ The stake token; it must bind this contract as its cohort registry.
    /// @param governance The timelock: admin of every role and holder of the governance role.
    /// @param guardian The incident commander (zero for none yet).
    /// @param defaultCohort_ The cohort new registrations land in.
    constructor(IStakeToken stakeToken_, address governance, address guardian, uint8 defaultCohort_)
        ValidatorRegistry(stakeToken_, defaultCohort_)
        EIP712("Lockstep Coordinator", "1")
    {
        if (governance == address(0) || governance == guardian) revert CoordinatorRoleConflict(governance, guardian);
        _governance = governance;
        _guardian = guardian;
        emit GuardianSet(address(0), guardian);
    }

    modifier onlyGovernance() {
        _checkGovernance();
        _;
    }

    // ================================================================== governance

    /// @inheritdoc IUpgradeCoordinator
    function schedule(Manifest calldata manifest) external onlyGovernance returns (uint256 upgradeId) {
        uint256 open = _openUpgrade;
        if (open != 0) revert CoordinatorUpgradeInFlight(open);
        if (bytes(manifest.name).length == 0) revert CoordinatorEmptyName();
        bytes32 nameHash = keccak256(bytes(manifest.name));
        uint256 existing = _idByName[nameHash];
        if (existing != 0) revert CoordinatorDuplicateName(manifest.name, existing);

        upgradeId = ++_upgradeCount;
        _openUpgrade = uint32(upgradeId);
        _idByName[nameHash] = upgradeId;

        uint48 snapshot = uint48(block.number - 1);
        uint96[] memory cohortStakes = ManifestPlanner.plan(manifest, _stages[upgradeId], _stakeToken, snapshot);
        _headers[upgradeId] = Header({
            snapshot: snapshot,
            scheduledAt: uint40(block.timestamp),
            pausedAt: 0,
            endedAt: 0,
            stageCount: uint8(cohortStakes.length),
            currentStage: 0,
            phase: Phase.Scheduled,
            pauseReason: PauseReason.None
        });
        _manifests[upgradeId] = ManifestSummary({
            manifestHash: manifest.manifestHash,
            versionTag: bytes32(bytes(manifest.version)),
            stateIncompatible: manifest.stateIncompatible
        });

        emit UpgradeScheduled(upgradeId, nameHash, manifest, snapshot, cohortStakes);
    }

    /// @inheritdoc IUpgradeCoordinator
    function resume(uint256 upgradeId) external onlyGovernance {
        Header memory h = _headers[upgradeId];
        if (!_inFlight(h) || h.pauseReason == PauseReason.None) revert CoordinatorUnexpectedState(upgradeId, _state(h));
        h.pauseReason = PauseReason.None;
        h.pausedAt = 0;
        _headers[upgradeId] = h;
        emit UpgradeResumed(upgradeId, msg.sender, h.currentStage);
    }

    /// @inheritdoc IUpgradeCoordinator
    function withdraw(uint256 upgradeId) external onlyGovernance {
        Header memory h = _headers[upgradeId];
        if (!_inFlight(h)) revert CoordinatorUnexpectedState(upgradeId, _state(h));
        bool activated = h.phase == Phase.Rolling;
        _end(upgradeId, h, Phase.Withdrawn);
        emit UpgradeWithdrawn(upgradeId, msg.sender, h.currentStage, activated);
    }

    /// @inheritdoc IUpgradeCoordinator
    function setGuardian(address guardian) external onlyGovernance {
        if (guardian == _governance) revert CoordinatorRoleConflict(_governance, guardian);
        address previous = _guardian;
        _guardian = guardian;
        emit GuardianSet(previous, guardian);
    }

    // ================================================================== guardian

    /// @inheritdoc IUpgradeCoordinator
    function renounceGuardian() external {
        if (msg.sender != _guardian) revert CoordinatorUnauthorized(msg.sender);
        _guardian = address(0);
        emit GuardianSet(msg.sender, address(0));
    }

    /// @inheritdoc IUpgradeCoordinator
    function pause(uint256 upgradeId) external {
        _checkGuardianOrGovernance();
        Header memory h = _headers[upgradeId];
        if (!_inFlight(h) || h.pauseReason != PauseReason.None) {
            revert CoordinatorUnexpectedState(upgradeId, _state(h));
        }
        _pause(upgradeId, h, PauseReason.Manual);
    }

    /// @inheritdoc IUpgradeCoordinator
    function orderRollback(uint256 upgradeId) external {
        _checkGuardianOrGovernance();
        Header memory h = _headers[upgradeId];
        if (!_inFlight(h)) revert CoordinatorUnexpectedState(upgradeId, _state(h));
        if (h.phase != Phase.Rolling) revert CoordinatorNothingActivated(upgradeId);
        _rollback(upgradeId, h, RollbackReason.Manual, _stages[upgradeId][h.currentStage].tally.unhealthyStake);
    }

    // ================================================================== anyone

    /// @inheritdoc IUpgradeCoordinator
    /// @dev Verifying a stage costs at most 60,000 gas (held by the gas test).
    function advance(uint256 upgradeId) external {
        Header memory h = _headers[upgradeId];
        if (!_inFlight(h) || h.pauseReason != PauseReason.None) {
            revert CoordinatorUnexpectedState(upgradeId, _state(h));
        }
        Stage storage s = _stages[upgradeId][h.currentStage];
        uint40 activatedAt = s.gate.activatedAt;
        if (activatedAt == 0) {
            _activate(upgradeId, h, s, true);
            return;
        }

        uint256 endsAt = uint256(activatedAt) + s.rules.observationWindow;
        if (block.timestamp < endsAt) revert CoordinatorObservationActive(upgradeId, h.currentStage, endsAt);
        Tally memory t = s.tally;
        Progress memory p = s.progress;
        if (t.healthyStake < p.healthyNeeded) {
            revert CoordinatorBelowThreshold(upgradeId, h.currentStage, t.healthyStake, p.healthyNeeded);
        }
        uint96 limit = s.gate.unhealthyLimit;
        if (t.unhealthyStake >= limit) revert CoordinatorUnhealthy(upgradeId, h.currentStage, t.unhealthyStake, limit);

        s.progress.verifiedAt = uint40(block.timestamp);
        emit StageVerified(upgradeId, h.currentStage, t.healthyStake, p.healthyNeeded, t.unhealthyStake);

        if (h.currentStage + 1 == h.stageCount) {
            _end(upgradeId, h, Phase.Completed);
            emit UpgradeCompleted(upgradeId, h.stageCount);
            return;
        }
        unchecked {
            ++h.currentStage;
        }
        Stage storage next = _stages[upgradeId][h.currentStage];
        // A next stage without time lock whose cohort is already ready activates in the same call.
        if (next.rules.timelock == 0 && _activate(upgradeId, h, next, false)) return;
        _headers[upgradeId] = h;
    }

    /// @inheritdoc IUpgradeCoordinator
    function pauseForMissingParticipation(uint256 upgradeId) external {
        Header memory h = _headers[upgradeId];
        if (!_inFlight(h) || h.pauseReason != PauseReason.None) {
            revert CoordinatorUnexpectedState(upgradeId, _state(h));
        }
        Stage storage s = _stages[upgradeId][h.currentStage];
        uint40 activatedAt = s.gate.activatedAt;
        if (activatedAt == 0) revert CoordinatorNoActiveStage(upgradeId);
        uint256 deadlineAt = uint256(activatedAt) + s.rules.attestationDeadline;
        if (block.timestamp <= deadlineAt) revert CoordinatorDeadlineNotPassed(upgradeId, h.currentStage, deadlineAt);
        uint96 healthy = s.tally.healthyStake;
        uint96 needed = s.progress.healthyNeeded;
        if (healthy >= needed) revert CoordinatorUnexpectedState(upgradeId, _state(h));
        _pause(upgradeId, h, PauseReason.ParticipationDeadline);
    }

    /// @inheritdoc IUpgradeCoordinator
    /// @dev A validator's first attestation in a stage costs at most 55,000 gas (held by the gas test).
    function attest(
        address operator,
        uint32 upgradeId,
        uint8 stage,
        Status status,
        bytes32 version,
        uint64 height,
        bytes32 metricsDigest
    ) external {
        uint96 weight = _attest(operator, upgradeId, stage, status, height, msg.sender, 0);
        emit Attested(upgradeId, operator, stage, status, version, height, metricsDigest, weight);
    }

    /// @inheritdoc IUpgradeCoordinator
    /// @dev At most 25,000 gas per attestation in a batch of 100 (held by the gas test). The loop runs over the
    /// caller's own calldata, at a constant cost per item, never over stored validators.
    function relayAttestations(SignedAttestation[] calldata batch) external {
        uint256 n = batch.length;
        if (n == 0 || n > MAX_BATCH) revert CoordinatorBatchSize(n, MAX_BATCH);
        for (uint256 i; i < n; ++i) {
            SignedAttestation calldata signed = batch[i];
            Attestation calldata a = signed.attestation;
            if (block.timestamp > a.deadline) revert CoordinatorSignatureExpired(a.deadline, block.timestamp);
            if (a.issuedAt > block.timestamp + MAX_CLOCK_SKEW) {
                revert CoordinatorFutureAttestation(a.issuedAt, block.timestamp);
            }
            address signer = ECDSA.recover(_hashAttestation(a), signed.r, signed.vs);
            uint96 weight = _attest(a.operator, a.upgradeId, a.stage, a.status, a.height, signer, a.issuedAt);
            emit Attested(a.upgradeId, a.operator, a.stage, a.status, a.version, a.height, a.metricsDigest, weight);
        }
    }

    // ================================================================== views

    /// @inheritdoc IUpgradeCoordinator
    function getUpgrade(uint256 upgradeId) external view returns (UpgradeView memory v) {
        Header memory h = _headers[upgradeId];
        if (h.phase == Phase.None) revert CoordinatorUnknownUpgrade(upgradeId);
        ManifestSummary storage m = _manifests[upgradeId];
        Restored memory r = _restored[upgradeId];
        v = UpgradeView({
            id: uint32(upgradeId),
            state: _state(h),
            pauseReason: h.pauseReason,
            stageCount: h.stageCount,
            currentStage: h.currentStage,
            snapshot: h.snapshot,
            scheduledAt: h.scheduledAt,
            pausedAt: h.pausedAt,
            endedAt: h.endedAt,
            manifestHash: m.manifestHash,
            versionTag: m.versionTag,
            restoredStake: r.stake,
            restoredCount: r.count
        });
    }

    /// @inheritdoc IUpgradeCoordinator
    function getStage(uint256 upgradeId, uint256 stage) public view returns (StageView memory) {
        Header memory h = _headers[upgradeId];
        if (h.phase == Phase.None) revert CoordinatorUnknownUpgrade(upgradeId);
        if (stage >= h.stageCount) revert CoordinatorUnknownStage(upgradeId, stage);
        return RolloutViews.stage(_stages[upgradeId], stage, h.scheduledAt);
    }

    /// @inheritdoc IUpgradeCoordinator
    function getCurrentStage(uint256 upgradeId) external view returns (StageView memory) {
        return getStage(upgradeId, _headers[upgradeId].currentStage);
    }

    /// @inheritdoc IUpgradeCoordinator
    function getAssignment(uint256 upgradeId, address operator) external view returns (Assignment memory a) {
        Header memory h = _headers[upgradeId];
        if (h.phase == Phase.None) revert CoordinatorUnknownUpgrade(upgradeId);
        Validator memory v = _validators[operator];
        Record memory r = _records[operator];
        a.operator = operator;
        a.attester = v.attester;
        a.cohort = _cohortAt(v, operator, h.snapshot);
        (a.inRoster, a.stage) = RolloutViews.stageOfCohort(_stages[upgradeId], h.stageCount, a.cohort);
        a.weight = uint96(_stakeToken.getPastVotes(operator, h.snapshot));
        a.lastUpgradeId = r.upgradeId;
        a.lastStage = r.stage;
        a.lastStatus = r.status;
        a.lastAttestedAt = r.issuedAt;
        a.lastHeight = r.height;
    }

    /// @inheritdoc IUpgradeCoordinator
    function upgradeIdOf(string calldata name) external view returns (uint256) {
        return _idByName[keccak256(bytes(name))];
    }

    /// @inheritdoc IUpgradeCoordinator
    function openUpgrade() external view returns (uint256) {
        return _openUpgrade;
    }

    /// @inheritdoc IUpgradeCoordinator
    function upgradeCount() external view returns (uint256) {
        return _upgradeCount;
    }

    /// @inheritdoc IUpgradeCoordinator
    function attestationDigest(Attestation calldata attestation) external view returns (bytes32) {
        return _hashAttestation(attestation);
    }

    /// @inheritdoc IUpgradeCoordinator
    function governance() external view returns (address) {
        return _governance;
    }

    /// @inheritdoc IUpgradeCoordinator
    function guardian() external view returns (address) {
        return _guardian;
    }

    /// @inheritdoc IUpgradeCoordinator
    function stakeToken() external view returns (address) {
        return address(_stakeToken);
    }

    // ================================================================== internals: attestations

    /// @dev Checks and counts one attestation; returns the validator's weight for the caller's event.
    /// `issuedAt` is 0 for a direct attestation (the block time is used and nothing can be stale).
    function _attest(
        address operator,
        uint32 upgradeId,
        uint8 stage,
        Status status,
        uint64 height,
        address sender,
        uint40 issuedAt
    ) private returns (uint96 weight) {
        Header memory h = _headers[upgradeId];
        if (stage >= h.stageCount) revert CoordinatorUnknownStage(upgradeId, stage);
        Stage storage s = _stages[upgradeId][stage];
        Gate memory gate = s.gate;
        _authenticate(operator, sender, h.snapshot, gate.cohort);

        Record memory r = _records[operator];
        if (issuedAt == 0) {
            issuedAt = uint40(block.timestamp);
            if (issuedAt < r.issuedAt) issuedAt = r.issuedAt;
        } else if (issuedAt <= r.issuedAt) {
            revert CoordinatorStaleAttestation(operator, issuedAt, r.issuedAt);
        }
        if (r.upgradeId != upgradeId) {
            // First attestation of this validator in this upgrade: cache its weight at the snapshot.
            r.upgradeId = upgradeId;
            r.stage = stage;
            r.status = Status.None;
            r.flags = _RECORD_LIVE;
            r.weight = uint96(_stakeToken.getPastVotes(operator, h.snapshot));
        }
        _apply(upgradeId, h, s, gate, r, status);
        r.status = status;
        r.issuedAt = issuedAt;
        r.height = height;
        _records[operator] = r;
        return r.weight;
    }

    /// @dev The sender must be the operator's attester, and the operator a member of the stage's cohort at the
    /// upgrade's snapshot.
    function _authenticate(address operator, address sender, uint48 snapshot, uint8 stageCohort) private view {
        Validator memory v = _validators[operator];
        if (v.attester != sender) revert CoordinatorNotAttester(operator, sender);
        uint8 cohort = _cohortAt(v, operator, snapshot);
        if (cohort != stageCohort) revert CoordinatorNotInCohort(operator, cohort, stageCohort);
    }

    /// @dev Counts `status` for the validator whose record (holding its previous status in this upgrade) is `r`.
    function _apply(uint256 upgradeId, Header memory h, Stage storage s, Gate memory gate, Record memory r, Status status)
        private
    {
        if (status == Status.Ready) {
            if (!_inFlight(h)) revert CoordinatorUnexpectedState(upgradeId, _state(h));
            if (gate.activatedAt != 0) revert CoordinatorStageNotPending(upgradeId, r.stage);
            if (r.status == Status.None) {
                Readiness storage readiness = s.readiness;
                readiness.readyStake += r.weight;
                ++readiness.readyCount;
            }
            return;
        }
        if (status == Status.None) revert CoordinatorInvalidStatus(status);
        if (gate.activatedAt == 0) revert CoordinatorStageNotActivated(upgradeId, r.stage);
        if (_inFlight(h)) {
            _countHealth(upgradeId, h, s, gate, r.status, status, r.weight);
        } else if (h.phase == Phase.RolledBack && status == Status.RolledBack) {
            if (r.flags & _RECORD_RESTORED == 0) {
                r.flags |= _RECORD_RESTORED;
                Restored storage restored = _restored[upgradeId];
                restored.stake += r.weight;
                ++restored.count;
            }
        } else {
            revert CoordinatorUnexpectedState(upgradeId, _state(h));
        }
    }

    /// @dev Moves the validator's weight between the health tallies and applies the stage's automatic limits.
    function _countHealth(
        uint256 upgradeId,
        Header memory h,
        Stage storage s,
        Gate memory gate,
        Status previous,
        Status status,
        uint96 weight
    ) private {
        bool wasHealthy = previous == Status.Healthy;
        bool wasUnhealthy = previous > Status.Healthy;
        bool isHealthy = status == Status.Healthy;
        if ((wasHealthy && isHealthy) || (wasUnhealthy && !isHealthy)) return;

        Tally memory t = s.tally;
        if (wasHealthy) {
            t.healthyStake -= weight;
            --t.healthyCount;
        } else if (wasUnhealthy) {
            t.unhealthyStake -= weight;
            --t.unhealthyCount;
        }
        if (isHealthy) {
            t.healthyStake += weight;
            ++t.healthyCount;
            s.tally = t;
            return;
        }
        t.unhealthyStake += weight;
        ++t.unhealthyCount;
        s.tally = t;

        if (t.unhealthyStake >= gate.rollbackLimit) {
            _rollback(upgradeId, h, RollbackReason.AutomaticThreshold, t.unhealthyStake);
        } else if (t.unhealthyStake >= gate.unhealthyLimit && h.pauseReason == PauseReason.None) {
            _pause(upgradeId, h, PauseReason.UnhealthyThreshold);
        }
    }

    function _hashAttestation(Attestation calldata a) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(ATTESTATION_TYPEHASH, a)));
    }

    // ================================================================== internals: transitions

    /// @dev Activates stage `s` (the header's current stage) when due. With `strict`, reverts when it is not.
    function _activate(uint256 upgradeId, Header memory h, Stage storage s, bool strict) private returns (bool) {
        uint8 index = h.currentStage;
        uint256 notBefore = notBeforeOf(_stages[upgradeId], index, h.scheduledAt, s.rules.timelock);
        if (block.timestamp < notBefore) {
            if (strict) revert CoordinatorTimelockActive(upgradeId, index, notBefore);
            return false;
        }
        Readiness memory r = s.readiness;
        if (r.readyStake < r.readyNeeded) {
            if (strict) revert CoordinatorNotReady(upgradeId, index, r.readyStake, r.readyNeeded);
            return false;
        }
        s.gate.activatedAt = uint40(block.timestamp);
        h.phase = Phase.Rolling;
        _headers[upgradeId] = h;
        emit StageActivated(upgradeId, index, s.gate.cohort, r.readyStake, r.readyNeeded);
        return true;
    }

    function _pause(uint256 upgradeId, Header memory h, PauseReason reason) private {
        h.pauseReason = reason;
        h.pausedAt = uint40(block.timestamp);
        _headers[upgradeId] = h;
        Tally memory t = _stages[upgradeId][h.currentStage].tally;
        emit UpgradePaused(upgradeId, msg.sender, reason, h.currentStage, t.healthyStake, t.unhealthyStake);
    }

    function _rollback(uint256 upgradeId, Header memory h, RollbackReason reason, uint96 unhealthyStake) private {
        _end(upgradeId, h, Phase.RolledBack);
        emit RollbackOrdered(upgradeId, msg.sender, reason, h.currentStage, unhealthyStake);
    }

    function _end(uint256 upgradeId, Header memory h, Phase phase) private {
        h.phase = phase;
        h.endedAt = uint40(block.timestamp);
        _headers[upgradeId] = h;
        _openUpgrade = 0;
    }

    // ================================================================== internals: scheduling

    // ================================================================== internals: helpers

    function _inFlight(Header memory h) private pure returns (bool) {
        return h.phase == Phase.Scheduled || h.phase == Phase.Rolling;
    }

    function _state(Header memory h) private pure returns (UpgradeState) {
        Phase phase = h.phase;
        if (phase == Phase.None) return UpgradeState.None;
        if (phase == Phase.Completed) return UpgradeState.Completed;
        if (phase == Phase.Withdrawn) return UpgradeState.Withdrawn;
        if (phase == Phase.RolledBack) return UpgradeState.RolledBack;
        if (h.pauseReason != PauseReason.None) return UpgradeState.Paused;
        return phase == Phase.Scheduled ? UpgradeState.Scheduled : UpgradeState.Rolling;
    }

    function _checkGuardianOrGovernance() private view {
        if (msg.sender != _guardian && msg.sender != _governance) revert CoordinatorUnauthorized(msg.sender);
    }

    function _checkGovernance() internal view override {
        if (msg.sender != _governance) revert CoordinatorUnauthorized(msg.sender);
    }

    function _afterRegister(address operator) internal override {
        Record storage r = _records[operator];
        if (r.flags == 0) r.flags = _RECORD_LIVE;
    }
}
