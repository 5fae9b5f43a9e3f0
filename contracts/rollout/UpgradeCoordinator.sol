// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IStakeToken} from "../governance/IStakeToken.sol";
import {IUpgradeCoordinator} from "./IUpgradeCoordinator.sol";
import {ValidatorRegistry} from "./ValidatorRegistry.sol";
import {ManifestPlanner} from "./ManifestPlanner.sol";
import {RolloutViews} from "./RolloutViews.sol";
import {GovernanceLogic, Administration} from "./GovernanceLogic.sol";
import {AttestationCalldata, PackedAttestation} from "./AttestationCalldata.sol";
import {LeaseWord, BudgetWord, LeaseWords} from "./LeaseWords.sol";
import {
    Phase,
    Header,
    Pulse,
    Limits,
    Readiness,
    Progress,
    Stage,
    ValidatorSlot,
    Restored,
    ManifestSummary,
    LeaseBudget,
    Lease,
    notBeforeOf,
    stateOf,
    versionCheckOf,
    leaseUnitsOf,
    VALIDATOR_RESTORED,
    VALIDATOR_LEASE_CACHED,
    LEASE_UNIT
} from "./RolloutStorage.sol";

/// @title Lockstep upgrade coordinator
/// @notice Runs governed, staged validator upgrades. See docs/design.md for the state machine, roles and threat model.
/// @dev Gas discipline (held by test/contracts/gas.test.ts): no state-changing function loops over validators.
/// An attestation touches the validator's slot, the upgrade header and its stage's pulse, plus one roster read in
/// the stake token; every slot it writes is already non-zero (validator slots are initialised at registration,
/// stage slots at scheduling), so a first attestation costs what a later one does.
contract UpgradeCoordinator is IUpgradeCoordinator, ValidatorRegistry, EIP712 {
    bytes32 public constant ATTESTATION_TYPEHASH = keccak256(
        "Attestation(address operator,uint32 upgradeId,uint8 stage,uint8 status,bytes32 version,uint64 height,"
        "bytes32 metricsDigest,uint40 issuedAt,uint40 deadline)"
    );

    uint256 public constant MAX_BATCH = 256;
    /// @notice Bytes per attestation in a relayed batch: operator (20), upgradeId (4), stage (1), status (1),
    /// version (32), height (8), metricsDigest (32), issuedAt (5), deadline (5), r (32), vs (32).
    uint256 public constant PACKED_ATTESTATION_SIZE = AttestationCalldata.ITEM_SIZE;
    /// @notice How far ahead of the chain's clock a signed attestation's `issuedAt` may be.
    uint256 public constant MAX_CLOCK_SKEW = 5 minutes;

    /// @dev States in which a rollout may move (activate, verify, pause): open and not paused.
    bytes32 private constant _MOVING_STATES =
        bytes32((uint256(1) << uint8(UpgradeState.Scheduled)) | (uint256(1) << uint8(UpgradeState.Rolling)));
    /// @dev States of an upgrade that has not ended: it may be withdrawn, rolled back and attested to.
    bytes32 private constant _OPEN_STATES = _MOVING_STATES | bytes32(uint256(1) << uint8(UpgradeState.Paused));

    /// @dev Governance, the guardian, the restart budget settings and the migration state (GovernanceLogic).
    Administration private _admin;

    mapping(uint256 upgradeId => Header) private _headers;
    mapping(uint256 upgradeId => mapping(uint256 stage => Stage)) private _stages;
    mapping(uint256 upgradeId => ManifestSummary) private _manifests;
    mapping(uint256 upgradeId => Restored) private _restored;
    /// @dev When governance last resumed the upgrade: the participation deadline counts from here too.
    mapping(uint256 upgradeId => uint40) private _resumedAt;
    /// @dev A stage's not-healthy stake when governance last resumed the upgrade: stake governance has seen and
    /// accepted, so it is no new evidence. Read only when an attestation takes the stage to its unhealthy limit.
    mapping(uint256 upgradeId => mapping(uint256 stage => uint96)) private _unhealthyAtResume;
    mapping(uint256 upgradeId => LeaseBudget) private _leaseBudgets;
    mapping(bytes32 nameHash => uint256 upgradeId) private _idByName;
    uint32 private _upgradeCount;
    uint32 private _openUpgrade;

    /// @param stakeToken_ The stake token; it must bind this contract as its cohort registry.
    /// @param governance_ The timelock: schedules, resumes, withdraws, assigns cohorts, appoints the guardian.
    /// @param guardian_ The incident commander (zero for none yet).
    /// @param defaultCohort_ The cohort new registrations land in.
    constructor(IStakeToken stakeToken_, address governance_, address guardian_, uint8 defaultCohort_)
        ValidatorRegistry(stakeToken_, defaultCohort_)
        EIP712("Lockstep Coordinator", "1")
    {
        if (governance_ == address(0) || governance_ == guardian_) {
            revert CoordinatorRoleConflict(governance_, guardian_);
        }
        _admin.governance = governance_;
        _admin.guardian = guardian_;
        emit GuardianSet(address(0), guardian_);
        _admin.leaseDuration = 1 hours;
        emit RestartBudgetSet(0, 0, 0, 1 hours);
    }

    modifier onlyGovernance() {
        _checkGovernance();
        _;
    }

    // ================================================================== governance

    /// @inheritdoc IUpgradeCoordinator
    function schedule(Manifest calldata manifest) external onlyGovernance returns (uint256 upgradeId) {
        address successor_ = _admin.successor;
        if (successor_ != address(0)) revert CoordinatorRetired(successor_);
        uint256 open = _openUpgrade;
        if (open != 0) revert CoordinatorUpgradeInFlight(open);
        upgradeId = ++_upgradeCount;
        _openUpgrade = uint32(upgradeId);
        uint48 snapshot = uint48(block.number - 1);
        ManifestPlanner.schedule(
            manifest,
            upgradeId,
            snapshot,
            _stakeToken,
            _idByName,
            _headers,
            _stages[upgradeId],
            _manifests,
            _leaseBudgets,
            _admin.restartBudgetBps,
            _admin.leaseDuration
        );
    }

    /// @inheritdoc IUpgradeCoordinator
    function resume(uint256 upgradeId) external onlyGovernance {
        Header memory h = _headerIn(upgradeId, _encodeStateBitmap(UpgradeState.Paused));
        h.pauseReason = PauseReason.None;
        h.pausedAt = 0;
        _headers[upgradeId] = h;
        _resumedAt[upgradeId] = uint40(block.timestamp);
        RolloutViews.recordResume(_stages[upgradeId], _unhealthyAtResume[upgradeId], h.currentStage);
        emit UpgradeResumed(upgradeId, msg.sender, h.currentStage);
    }

    /// @inheritdoc IUpgradeCoordinator
    function withdraw(uint256 upgradeId) external onlyGovernance {
        Header memory h = _headerIn(upgradeId, _OPEN_STATES);
        bool activated = h.phase == Phase.Rolling;
        _end(upgradeId, h, Phase.Withdrawn);
        emit UpgradeWithdrawn(upgradeId, msg.sender, h.currentStage, activated);
    }

    /// @inheritdoc IUpgradeCoordinator
    function setGuardian(address newGuardian) external onlyGovernance {
        GovernanceLogic.setGuardian(_admin, newGuardian);
    }

    /// @inheritdoc IUpgradeCoordinator
    function setRestartBudget(uint16 bps, uint32 leaseDuration) external onlyGovernance {
        GovernanceLogic.setRestartBudget(_admin, bps, leaseDuration);
    }

    /// @inheritdoc IUpgradeCoordinator
    function transferGovernance(address newGovernance) external onlyGovernance {
        GovernanceLogic.transferGovernance(_admin, newGovernance);
    }

    /// @inheritdoc IUpgradeCoordinator
    function acceptGovernance() external {
        GovernanceLogic.acceptGovernance(_admin);
    }

    /// @inheritdoc IUpgradeCoordinator
    function migrateRegistry(address successor_) external onlyGovernance {
        GovernanceLogic.migrateRegistry(_admin, _stakeToken, _openUpgrade, successor_);
    }

    // ================================================================== guardian

    /// @inheritdoc IUpgradeCoordinator
    function renounceGuardian() external {
        GovernanceLogic.renounceGuardian(_admin);
    }

    /// @inheritdoc IUpgradeCoordinator
    function pause(uint256 upgradeId) external {
        _checkGuardianOrGovernance();
        Header memory h = _headerIn(upgradeId, _MOVING_STATES);
        _pause(upgradeId, h, PauseReason.Manual, h.currentStage, _stages[upgradeId][h.currentStage].pulse);
    }

    /// @inheritdoc IUpgradeCoordinator
    function orderRollback(uint256 upgradeId) external {
        _checkGuardianOrGovernance();
        Header memory h = _headerIn(upgradeId, _OPEN_STATES);
        if (h.phase != Phase.Rolling) revert CoordinatorNothingActivated(upgradeId);
        _rollback(upgradeId, h, RollbackReason.Manual, h.currentStage, _stages[upgradeId][h.currentStage].pulse);
    }

    // ================================================================== anyone

    /// @inheritdoc IUpgradeCoordinator
    /// @dev Verifying a stage costs at most 60,000 gas (held by the gas test).
    function advance(uint256 upgradeId) external {
        Header memory h = _headerIn(upgradeId, _MOVING_STATES);
        Stage storage s = _stages[upgradeId][h.currentStage];
        Pulse memory pulse = s.pulse;
        uint40 activatedAt = pulse.activatedAt;
        if (activatedAt == 0) {
            _activate(upgradeId, h, s, true);
            return;
        }

        uint256 endsAt = uint256(activatedAt) + s.rules.observationWindow;
        if (block.timestamp < endsAt) revert CoordinatorObservationActive(upgradeId, h.currentStage, endsAt);
        Progress memory p = s.progress;
        if (pulse.healthyStake < p.healthyNeeded) {
            revert CoordinatorBelowThreshold(upgradeId, h.currentStage, pulse.healthyStake, p.healthyNeeded);
        }
        uint96 limit = s.limits.unhealthyLimit;
        if (pulse.unhealthyStake >= limit) {
            revert CoordinatorUnhealthy(upgradeId, h.currentStage, pulse.unhealthyStake, limit);
        }

        s.progress.verifiedAt = uint40(block.timestamp);
        emit StageVerified(upgradeId, h.currentStage, pulse.healthyStake, p.healthyNeeded, pulse.unhealthyStake);

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
        Header memory h = _headerIn(upgradeId, _MOVING_STATES);
        Stage storage s = _stages[upgradeId][h.currentStage];
        RolloutViews.checkParticipationMissed(s, upgradeId, h.currentStage, _resumedAt[upgradeId]);
        _pause(upgradeId, h, PauseReason.ParticipationDeadline, h.currentStage, s.pulse);
    }

    /// @inheritdoc IUpgradeCoordinator
    /// @dev A validator's first attestation in a stage costs at most 55,000 gas (held by the gas test).
    function attest(
        address operator,
        uint32 upgradeId,
        uint8 stage,
        uint8 status,
        bytes32 version,
        uint64 height,
        bytes32 metricsDigest
    ) external {
        (uint96 weight,) = _attest(operator, upgradeId, stage, status, version, msg.sender, 0);
        emit Attested(upgradeId, operator, stage, Status(status), version, height, metricsDigest, weight);
    }

    /// @inheritdoc IUpgradeCoordinator
    /// @dev At most 25,000 gas per attestation in a batch of 100 (held by the gas test). Items are read where they
    /// lie in calldata (AttestationCalldata), so an item allocates no memory. The loop runs over the caller's own
    /// calldata, at a constant cost per item, never over stored validators.
    function relayAttestations(bytes calldata batch) external returns (uint256 accepted) {
        uint256 count = AttestationCalldata.countOf(batch);
        if (count == 0 || count > MAX_BATCH) revert CoordinatorMalformedBatch(batch.length);
        // Hashed once per batch: the optimizer does not fold the keccak256 of a string this long.
        bytes32 typeHash = ATTESTATION_TYPEHASH;
        for (uint256 i; i < count; ++i) {
            if (_relayOne(AttestationCalldata.at(batch, i), typeHash)) ++accepted;
        }
        emit AttestationsRelayed(msg.sender, accepted, count - accepted);
    }

    /// @dev Counts one relayed item, or skips it (returning false) when the chain's state or clock makes it
    /// inapplicable. Reverts only for what the relayer can check offline: a bad status byte or an unrecoverable
    /// signature.
    function _relayOne(PackedAttestation item, bytes32 typeHash) private returns (bool) {
        uint40 issuedAt = item.issuedAt();
        SkipReason skipped;
        if (block.timestamp > item.deadline()) {
            skipped = SkipReason.Expired;
        } else if (issuedAt == 0) {
            skipped = SkipReason.Stale; // older than any statement: 0 is what "never attested" records
        } else if (issuedAt > block.timestamp + MAX_CLOCK_SKEW) {
            skipped = SkipReason.Future;
        } else {
            (bytes32 r, bytes32 vs) = item.signature();
            address signer = ECDSA.recover(_hashTypedDataV4(item.hashStruct(typeHash)), r, vs);
            uint96 weight;
            (weight, skipped) = _attest(
                item.operator(), item.upgradeId(), item.stage(), item.status(), item.version(), signer, issuedAt
            );
            if (skipped == SkipReason.None) {
                _emitAttested(item, weight);
                return true;
            }
        }
        emit AttestationSkipped(item.upgradeId(), item.operator(), skipped);
        return false;
    }

    function _emitAttested(PackedAttestation item, uint96 weight) private {
        emit Attested(
            item.upgradeId(),
            item.operator(),
            item.stage(),
            Status(item.status()),
            item.version(),
            item.height(),
            item.metricsDigest(),
            weight
        );
    }

    /// @inheritdoc IUpgradeCoordinator
    /// @dev At most 35,000 gas, flat in the number of validators (held by the gas test): two slots, the key's
    /// Lease and the upgrade's LeaseBudget, both already non-zero, each read and rewritten as one word (LeaseWords).
    /// The epoch shift is RolloutViews.shiftLeaseEpochs, written out on words.
    function takeLease() external {
        Lease storage leaseSlot = _leases[msg.sender];
        LeaseWord lease = LeaseWords.load(leaseSlot);
        uint256 upgradeId = lease.upgradeId();
        LeaseBudget storage budgetSlot = _leaseBudgets[upgradeId];
        BudgetWord b = LeaseWords.load(budgetSlot);
        if (!b.live()) revert CoordinatorLeaseRefused(msg.sender, upgradeId, 0);
        uint256 duration = b.duration();
        uint256 epoch = uint32(block.timestamp / duration);
        uint256 current = b.current();
        uint256 previous = b.previous();
        if (epoch != b.epoch()) {
            uint256 expired = previous;
            if (epoch == b.epoch() + 1) {
                previous = current;
            } else {
                expired += current;
                previous = 0;
            }
            current = 0;
            if (expired != 0) emit LeasesExpired(upgradeId, expired * LEASE_UNIT, previous * LEASE_UNIT);
        }
        if (lease.leased() && lease.epoch() + 1 >= epoch) {
            revert CoordinatorLeaseRefused(msg.sender, upgradeId, (lease.epoch() + 2) * duration);
        }
        uint256 units = leaseUnitsOf(lease.weight());
        uint256 inUse = current + previous;
        uint256 budget = b.budget();
        if (inUse + units > budget) {
            revert CoordinatorLeaseBudgetFull(upgradeId, inUse * LEASE_UNIT, budget * LEASE_UNIT, units * LEASE_UNIT);
        }
        unchecked {
            // current + units <= budget < 2^64, and epoch < 2^32: each fits its field.
            current += units;
            LeaseWords.store(budgetSlot, b.withCounters(current, previous, epoch));
            LeaseWords.store(leaseSlot, lease.granted(epoch));
            emit LeaseGranted(
                upgradeId, msg.sender, units * LEASE_UNIT, (epoch + 2) * duration, (inUse + units) * LEASE_UNIT
            );
        }
    }

    // ================================================================== views

    /// @inheritdoc IUpgradeCoordinator
    function restartBudget() external view returns (uint16 bps, uint32 leaseDuration) {
        return (_admin.restartBudgetBps, _admin.leaseDuration);
    }

    /// @inheritdoc IUpgradeCoordinator
    function getLease(uint256 upgradeId, address attester) external view returns (LeaseView memory) {
        _returnEncoded(RolloutViews.leaseView(_leaseBudgets, _leases, upgradeId, attester));
    }

    /// @inheritdoc IUpgradeCoordinator
    function getUpgrade(uint256 upgradeId) external view returns (UpgradeView memory) {
        Header memory h = _knownHeader(upgradeId);
        _returnEncoded(RolloutViews.upgradeView(h, _manifests[upgradeId], _restored[upgradeId], upgradeId));
    }

    /// @inheritdoc IUpgradeCoordinator
    function getStage(uint256 upgradeId, uint256 stage) public view returns (StageView memory) {
        Header memory h = _knownHeader(upgradeId);
        if (stage >= h.stageCount) revert CoordinatorUnknownStage(upgradeId, stage);
        _returnEncoded(RolloutViews.stageView(_stages[upgradeId], stage, h.scheduledAt));
    }

    /// @inheritdoc IUpgradeCoordinator
    function getCurrentStage(uint256 upgradeId) external view returns (StageView memory) {
        return getStage(upgradeId, _headers[upgradeId].currentStage);
    }

    /// @inheritdoc IUpgradeCoordinator
    function getAssignment(uint256 upgradeId, address operator) external view returns (Assignment memory) {
        Header memory h = _knownHeader(upgradeId);
        _returnEncoded(
            RolloutViews.assignmentView(h, _stages[upgradeId], _validators[operator], _stakeToken, operator)
        );
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
    function governance() external view returns (address) {
        return _admin.governance;
    }

    /// @inheritdoc IUpgradeCoordinator
    function pendingGovernance() external view returns (address) {
        return _admin.pendingGovernance;
    }

    /// @inheritdoc IUpgradeCoordinator
    function successor() external view returns (address) {
        return _admin.successor;
    }

    /// @inheritdoc IUpgradeCoordinator
    function guardian() external view returns (address) {
        return _admin.guardian;
    }

    /// @inheritdoc IUpgradeCoordinator
    function stakeToken() external view returns (address) {
        return address(_stakeToken);
    }

    // ================================================================== internals: attestations

    /// @dev Checks and counts one attestation; returns the validator's weight for the caller's event.
    /// `issuedAt` is 0 for a direct attestation (the block time is used and nothing can be stale): it reverts on
    /// every refusal. A relayed one is skipped instead (`skipped` says why, and nothing is written) when the
    /// chain's state refuses it; a status that names no reportable Status reverts on both paths.
    /// Cold reads: the validator's slot, the upgrade header, the stage's pulse, one roster checkpoint.
    function _attest(
        address operator,
        uint32 upgradeId,
        uint8 stage,
        uint8 rawStatus,
        bytes32 version,
        address sender,
        uint40 issuedAt
    ) private returns (uint96 weight, SkipReason skipped) {
        if (rawStatus > uint8(Status.RolledBack)) revert CoordinatorInvalidStatus(rawStatus);
        Status status = Status(rawStatus);
        bool strict = issuedAt == 0;
        ValidatorSlot memory v = _validators[operator];
        if (v.attester != sender) {
            if (strict) revert CoordinatorNotAttester(operator, sender);
            return (0, SkipReason.NotAttester);
        }
        Header memory h = _headers[upgradeId];
        if (stage >= h.stageCount) {
            if (strict) revert CoordinatorUnknownStage(upgradeId, stage);
            return (0, SkipReason.UnknownStage);
        }
        Stage storage s = _stages[upgradeId][stage];
        Pulse memory pulse = s.pulse;
        uint8 cohort;
        (cohort, weight) = _rosterOf(operator, sender, v, upgradeId, stage, h.snapshot, pulse.cohort);
        if (cohort != pulse.cohort) {
            if (strict) revert CoordinatorNotInCohort(operator, cohort, pulse.cohort);
            return (0, SkipReason.NotInCohort);
        }

        if (strict) {
            issuedAt = uint40(block.timestamp);
            if (issuedAt < v.lastIssuedAt) issuedAt = v.lastIssuedAt;
        } else if (issuedAt <= v.lastIssuedAt) {
            return (0, SkipReason.Stale);
        }
        // Membership is fixed at the snapshot, so within one upgrade a validator only ever attests one stage.
        Status previous = Status.None;
        if (v.lastUpgradeId == upgradeId) {
            previous = v.lastStatus;
        } else {
            v.lastUpgradeId = upgradeId;
            v.lastStage = stage;
            v.flags &= ~(VALIDATOR_RESTORED | VALIDATOR_LEASE_CACHED);
        }

        if (status == Status.Ready) {
            if (!_validateStateBitmap(upgradeId, h, _OPEN_STATES, strict)) return (0, SkipReason.UpgradeEnded);
            if (pulse.activatedAt != 0) {
                if (strict) revert CoordinatorStageNotPending(upgradeId, stage);
                return (0, SkipReason.StageNotPending);
            }
            if (previous == Status.None) {
                Readiness storage readiness = s.readiness;
                readiness.readyStake += weight;
                ++readiness.readyCount;
            }
        } else {
            if (status == Status.None) revert CoordinatorInvalidStatus(uint8(status));
            if (pulse.activatedAt == 0) {
                if (strict) revert CoordinatorStageNotActivated(upgradeId, stage);
                return (0, SkipReason.StageNotActivated);
            }
            if (status == Status.Healthy && versionCheckOf(version) != h.versionCheck) {
                if (strict) revert CoordinatorVersionMismatch(upgradeId, version);
                return (0, SkipReason.VersionMismatch);
            }
            if (h.phase == Phase.RolledBack && status == Status.RolledBack && upgradeId == _upgradeCount) {
                // After a rollback order, `RolledBack` counts as a restoration, but only until the next upgrade is
                // scheduled: the validator's one record must never alternate between two upgrades, or its next
                // attestation would count as a first one.
                if (v.flags & VALIDATOR_RESTORED == 0) {
                    v.flags |= VALIDATOR_RESTORED;
                    Restored storage restored = _restored[upgradeId];
                    restored.stake += weight;
                    ++restored.count;
                }
            } else {
                if (!_validateStateBitmap(upgradeId, h, _OPEN_STATES, strict)) return (0, SkipReason.UpgradeEnded);
                _countHealth(upgradeId, h, stage, s, pulse, previous, status, weight);
            }
        }
        // A Ready caches the weight where takeLease and the validator's later attestations read it (again after a
        // rotation: the new key's slot is empty). Healthy, FailedToUpgrade and RolledBack end the validator's lease:
        // its node is back, or is not coming back.
        bool cached = v.flags & VALIDATOR_LEASE_CACHED != 0;
        if (
            status == Status.Ready
                ? !cached || _leases[sender].upgradeId != upgradeId
                : cached && status != Status.Unhealthy
        ) {
            RolloutViews.noteLease(_leaseBudgets, _leases, upgradeId, operator, sender, stage, status, weight);
            v.flags |= VALIDATOR_LEASE_CACHED;
        }
        v.lastStatus = status;
        v.lastIssuedAt = issuedAt;
        _validators[operator] = v;
    }

    /// @dev Moves the validator's weight between the health tallies and applies the stage's automatic limits.
    function _countHealth(
        uint256 upgradeId,
        Header memory h,
        uint8 stage,
        Stage storage s,
        Pulse memory pulse,
        Status previous,
        Status status,
        uint96 weight
    ) private {
        bool wasHealthy = previous == Status.Healthy;
        bool wasUnhealthy = previous > Status.Healthy;
        bool isHealthy = status == Status.Healthy;
        if ((wasHealthy && isHealthy) || (wasUnhealthy && !isHealthy)) return;

        if (wasHealthy) pulse.healthyStake -= weight;
        else if (wasUnhealthy) pulse.unhealthyStake -= weight;
        if (isHealthy) {
            pulse.healthyStake += weight;
            s.pulse = pulse;
            return;
        }
        uint96 unhealthyBefore = pulse.unhealthyStake;
        uint96 unhealthyAfter = unhealthyBefore + weight;
        pulse.unhealthyStake = unhealthyAfter;
        s.pulse = pulse;

        // Only new evidence acts: this attestation must take the not-healthy stake from below a limit to at or
        // above it. Zero stake, or stake toggling back to where it was, never crosses anything.
        Limits memory limits = s.limits;
        if (unhealthyBefore < limits.rollbackLimit && unhealthyAfter >= limits.rollbackLimit) {
            _rollback(upgradeId, h, RollbackReason.AutomaticThreshold, stage, pulse);
        } else if (unhealthyAfter >= limits.unhealthyLimit && h.pauseReason == PauseReason.None) {
            // After a resume, the stake counted then was accepted: only stake beyond it can pause again.
            uint96 trigger = limits.unhealthyLimit;
            uint96 accepted = _unhealthyAtResume[upgradeId][stage];
            if (accepted >= trigger) trigger = accepted + 1;
            if (unhealthyBefore < trigger && unhealthyAfter >= trigger) {
                _pause(upgradeId, h, PauseReason.UnhealthyThreshold, stage, pulse);
            }
        }
    }

    // ================================================================== internals: leases

    /// @dev The validator's cohort and weight at the upgrade's snapshot: from the key's Lease slot once its Ready
    /// cached them there (one storage read instead of a call to the token), else from the token's roster.
    function _rosterOf(
        address operator,
        address attester,
        ValidatorSlot memory v,
        uint32 upgradeId,
        uint8 stage,
        uint48 snapshot,
        uint8 stageCohort
    ) private view returns (uint8 cohort, uint96 weight) {
        if (v.lastUpgradeId == upgradeId && v.flags & VALIDATOR_LEASE_CACHED != 0) {
            Lease storage lease = _leases[attester];
            if (lease.upgradeId == upgradeId && lease.stage == stage) return (stageCohort, lease.weight);
        }
        return _stakeToken.rosterAt(operator, snapshot);
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
        s.pulse.activatedAt = uint40(block.timestamp);
        h.phase = Phase.Rolling;
        _headers[upgradeId] = h;
        emit StageActivated(upgradeId, index, s.pulse.cohort, r.readyStake, r.readyNeeded);
        return true;
    }

    /// @dev `stage` is the stage whose tallies (`pulse`) caused the pause, or the current one for a manual pause.
    function _pause(uint256 upgradeId, Header memory h, PauseReason reason, uint8 stage, Pulse memory pulse) private {
        h.pauseReason = reason;
        h.pausedAt = uint40(block.timestamp);
        _headers[upgradeId] = h;
        emit UpgradePaused(upgradeId, msg.sender, reason, stage, pulse.healthyStake, pulse.unhealthyStake);
    }

    /// @dev `stage` is the stage whose tallies (`pulse`) caused the order, or the current one for a manual order.
    function _rollback(uint256 upgradeId, Header memory h, RollbackReason reason, uint8 stage, Pulse memory pulse)
        private
    {
        _end(upgradeId, h, Phase.RolledBack);
        emit RollbackOrdered(upgradeId, msg.sender, reason, stage, pulse.unhealthyStake);
    }

    function _end(uint256 upgradeId, Header memory h, Phase phase) private {
        h.phase = phase;
        h.endedAt = uint40(block.timestamp);
        _headers[upgradeId] = h;
        _openUpgrade = 0;
    }

    // ================================================================== internals: helpers

    function _knownHeader(uint256 upgradeId) private view returns (Header memory h) {
        h = _headers[upgradeId];
        if (h.phase == Phase.None) revert CoordinatorUnknownUpgrade(upgradeId);
    }

    /// @dev The one state guard: the header of `upgradeId`, which must be in one of `expectedStates`.
    function _headerIn(uint256 upgradeId, bytes32 expectedStates) private view returns (Header memory h) {
        h = _headers[upgradeId];
        _validateStateBitmap(upgradeId, h, expectedStates, true);
    }

    /// @dev Whether the state of `h` (the header of `upgradeId`) is one of `expectedStates`, a bitmap built with
    /// _encodeStateBitmap. With `strict`, it is not a question: anything else reverts with CoordinatorUnexpectedState.
    function _validateStateBitmap(uint256 upgradeId, Header memory h, bytes32 expectedStates, bool strict)
        private
        pure
        returns (bool)
    {
        // stateOf(h) without its chain of comparisons, on every hot path: UpgradeState is Phase with Paused inserted
        // after Rolling, and only an open phase (Scheduled or Rolling) can be paused.
        uint256 phase = uint8(h.phase);
        uint256 state = phase > uint8(Phase.Rolling)
            ? phase + 1
            : (h.pauseReason != PauseReason.None ? uint256(UpgradeState.Paused) : phase);
        if ((uint256(1) << state) & uint256(expectedStates) != 0) return true;
        if (strict) revert CoordinatorUnexpectedState(upgradeId, stateOf(h), expectedStates);
        return false;
    }

    /// @dev The bitmap with the one bit of `state` set; bitmaps of several states are OR-ed together.
    function _encodeStateBitmap(UpgradeState state) private pure returns (bytes32) {
        return bytes32(uint256(1) << uint8(state));
    }

    function _checkGuardianOrGovernance() private view {
        if (msg.sender != _admin.guardian && msg.sender != _admin.governance) {
            revert CoordinatorUnauthorized(msg.sender);
        }
    }

    function _checkGovernance() internal view override {
        if (msg.sender != _admin.governance) revert CoordinatorUnauthorized(msg.sender);
    }

    function _attesterProofDomain() internal view override returns (bytes32) {
        return _domainSeparatorV4();
    }
}
