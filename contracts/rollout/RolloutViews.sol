// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IStakeToken} from "../governance/IStakeToken.sol";
import {IUpgradeCoordinator} from "./IUpgradeCoordinator.sol";
import {
    Header,
    ManifestSummary,
    Restored,
    ValidatorSlot,
    Stage,
    Pulse,
    Limits,
    Readiness,
    Progress,
    LeaseBudget,
    Lease,
    notBeforeOf,
    stateOf,
    leaseUnitsOf,
    LEASE_UNIT
} from "./RolloutStorage.sol";

/// @title Rollout views
/// @notice Assembles the coordinator's read models (a stage with its tallies and timings; a validator's stage in an
/// upgrade) from its packed storage.
/// @dev An external library, run by DELEGATECALL from the coordinator's view functions, which keeps the
/// coordinator under the contract size limit. Each view comes back ABI-encoded, and the coordinator returns those
/// bytes as they are, so it carries no encoder or decoder for the view structs.
/// It also keeps the restart budget's books (opening a budget, ending a lease, expiry by epochs): the only writes
/// here, moved out of the coordinator for its size. Taking a lease stays in the coordinator, where its gas ceiling
/// is held; `shiftLeaseEpochs` is internal and runs inline in both. No loop: expiry is two counters.
library RolloutViews {
    // ------------------------------------------------------------------ restart leases

    /// @notice On a Ready attestation, caches the validator's snapshot weight and stage in `attester`'s Lease slot;
    /// on any other status it is called for (Healthy, FailedToUpgrade, RolledBack), ends `attester`'s lease if it
    /// holds one for `upgradeId`: its weight leaves the counter of the epoch it was granted in, if that epoch still
    /// counts (a lease past its expiry was already dropped).
    function noteLease(
        mapping(uint256 upgradeId => LeaseBudget) storage budgets,
        mapping(address attester => Lease) storage leases,
        uint32 upgradeId,
        address operator,
        address attester,
        uint8 stage,
        IUpgradeCoordinator.Status status,
        uint96 weight
    ) external {
        if (status == IUpgradeCoordinator.Status.Ready) {
            leases[attester] =
                Lease({weight: weight, upgradeId: upgradeId, epoch: 0, stage: stage, leased: false, claimed: true});
            return;
        }
        Lease memory lease = leases[attester];
        if (!lease.leased || lease.upgradeId != upgradeId) return;
        leases[attester].leased = false;
        LeaseBudget memory b = budgets[upgradeId];
        uint32 epoch = shiftLeaseEpochs(upgradeId, b);
        uint64 units = leaseUnitsOf(lease.weight);
        bool counted = true;
        if (lease.epoch == epoch) b.current -= units;
        else if (lease.epoch + 1 == epoch) b.previous -= units;
        else counted = false;
        budgets[upgradeId] = b;
        if (counted) {
            emit IUpgradeCoordinator.LeaseReleased(
                upgradeId, attester, operator, units * LEASE_UNIT, (b.current + b.previous) * LEASE_UNIT
            );
        }
    }

    /// @notice abi.encode(LeaseView) of `upgradeId`'s budget and `attester`'s lease.
    function leaseView(
        mapping(uint256 upgradeId => LeaseBudget) storage budgets,
        mapping(address attester => Lease) storage leases,
        uint256 upgradeId,
        address attester
    ) external view returns (bytes memory) {
        LeaseBudget memory b = budgets[upgradeId];
        Lease memory lease = leases[attester];
        IUpgradeCoordinator.LeaseView memory v;
        v.budget = b.budget * LEASE_UNIT;
        v.duration = b.duration;
        v.live = b.live;
        if (b.duration != 0) {
            uint256 epoch = block.timestamp / b.duration;
            if (epoch == b.epoch) v.inUse = (b.current + b.previous) * LEASE_UNIT;
            else if (epoch == uint256(b.epoch) + 1) v.inUse = b.current * LEASE_UNIT;
            if (lease.upgradeId == upgradeId) {
                v.weight = lease.weight;
                uint256 expiresAt = (uint256(lease.epoch) + 2) * b.duration;
                if (lease.leased && block.timestamp < expiresAt) v.expiresAt = expiresAt;
            }
        }
        return abi.encode(v);
    }

    /// @notice On resume: records every activated stage's not-healthy stake, which governance has now accepted.
    /// Bounded by MAX_STAGES, not by validators: only stages up to `currentStage` have been activated.
    function recordResume(
        mapping(uint256 stage => Stage) storage stages,
        mapping(uint256 stage => uint96) storage unhealthyAtResume,
        uint8 currentStage
    ) external {
        for (uint256 i; i <= currentStage; ++i) {
            uint96 unhealthy = stages[i].pulse.unhealthyStake;
            if (unhealthyAtResume[i] != unhealthy) unhealthyAtResume[i] = unhealthy;
        }
    }

    /// @dev Moves `b` (in memory; the caller writes it) to the current epoch, dropping the leases whose time ran
    /// out (LeasesExpired), and returns that epoch. A lease granted in epoch e counts until the end of epoch e + 1.
    function shiftLeaseEpochs(uint256 upgradeId, LeaseBudget memory b) internal returns (uint32 epoch) {
        epoch = uint32(block.timestamp / b.duration);
        if (epoch == b.epoch) return epoch;
        uint64 expired = b.previous;
        if (epoch == b.epoch + 1) {
            b.previous = b.current;
        } else {
            expired += b.current;
            b.previous = 0;
        }
        b.current = 0;
        b.epoch = epoch;
        if (expired != 0) {
            emit IUpgradeCoordinator.LeasesExpired(upgradeId, expired * LEASE_UNIT, b.previous * LEASE_UNIT);
        }
    }

    // ------------------------------------------------------------------ checks

    /// @notice Reverts unless stage `s` (index `stage` of `upgradeId`) has activated, its attestation deadline
    /// (counted from its activation or from the last resume, `resumedAt`) has passed, and it is still below its
    /// healthy threshold: the conditions of pauseForMissingParticipation.
    function checkParticipationMissed(Stage storage s, uint256 upgradeId, uint8 stage, uint40 resumedAt)
        external
        view
    {
        Pulse memory pulse = s.pulse;
        if (pulse.activatedAt == 0) revert IUpgradeCoordinator.CoordinatorNoActiveStage(upgradeId);
        // A resume gives the cohort a fresh deadline: validators had no reason to attest while paused.
        uint256 from = pulse.activatedAt > resumedAt ? pulse.activatedAt : resumedAt;
        uint256 deadlineAt = from + s.rules.attestationDeadline;
        if (block.timestamp <= deadlineAt) {
            revert IUpgradeCoordinator.CoordinatorDeadlineNotPassed(upgradeId, stage, deadlineAt);
        }
        uint96 healthy = pulse.healthyStake;
        uint96 needed = s.progress.healthyNeeded;
        if (healthy >= needed) {
            revert IUpgradeCoordinator.CoordinatorParticipationMet(upgradeId, stage, healthy, needed);
        }
    }

    // ------------------------------------------------------------------ read models

    /// @notice abi.encode(UpgradeView) of upgrade `upgradeId` (whose header is `h`).
    function upgradeView(
        Header memory h,
        ManifestSummary storage m,
        Restored storage r,
        uint256 upgradeId
    ) external view returns (bytes memory) {
        IUpgradeCoordinator.UpgradeView memory v = IUpgradeCoordinator.UpgradeView({
            id: uint32(upgradeId),
            state: stateOf(h),
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
        return abi.encode(v);
    }

    /// @notice abi.encode(StageView) of stage `index` of an upgrade scheduled at `scheduledAt`.
    function stageView(mapping(uint256 => Stage) storage stages, uint256 index, uint40 scheduledAt)
        external
        view
        returns (bytes memory)
    {
        return abi.encode(_stage(stages, index, scheduledAt));
    }

    /// @notice abi.encode(Assignment) of `operator` in the upgrade whose header is `h`.
    function assignmentView(
        Header memory h,
        mapping(uint256 => Stage) storage stages,
        ValidatorSlot storage slot,
        IStakeToken token,
        address operator
    ) external view returns (bytes memory) {
        IUpgradeCoordinator.Assignment memory a;
        ValidatorSlot memory v = slot;
        a.operator = operator;
        a.attester = v.attester;
        (a.cohort, a.weight) = token.rosterAt(operator, h.snapshot);
        if (a.cohort != 0) {
            for (uint256 i; i < h.stageCount; ++i) {
                if (stages[i].pulse.cohort == a.cohort) {
                    a.inRoster = true;
                    a.stage = uint8(i);
                    break;
                }
            }
        }
        a.lastUpgradeId = v.lastUpgradeId;
        a.lastStage = v.lastStage;
        a.lastStatus = v.lastStatus;
        a.lastAttestedAt = v.lastIssuedAt;
        return abi.encode(a);
    }

    function _stage(mapping(uint256 => Stage) storage stages, uint256 index, uint40 scheduledAt)
        private
        view
        returns (IUpgradeCoordinator.StageView memory v)
    {
        Stage storage s = stages[index];
        v.index = uint8(index);
        v.rules = s.rules;
        v.notBefore = notBeforeOf(stages, index, scheduledAt, v.rules.timelock);
        _fillTallies(v, s);
        _fillTimings(v, s.pulse, s.limits);
    }

    function _fillTallies(IUpgradeCoordinator.StageView memory v, Stage storage s) private view {
        Pulse memory t = s.pulse;
        Readiness memory r = s.readiness;
        Progress memory p = s.progress;
        v.cohortStake = p.cohortStake;
        v.readyStake = r.readyStake;
        v.readyNeeded = r.readyNeeded;
        v.readyCount = r.readyCount;
        v.healthyStake = t.healthyStake;
        v.healthyNeeded = p.healthyNeeded;
        v.unhealthyStake = t.unhealthyStake;
        v.attestedStake = t.healthyStake + t.unhealthyStake;
        v.verifiedAt = p.verifiedAt;
    }

    function _fillTimings(IUpgradeCoordinator.StageView memory v, Pulse memory g, Limits memory l) private pure {
        v.unhealthyLimit = l.unhealthyLimit;
        v.rollbackLimit = l.rollbackLimit;
        v.activatedAt = g.activatedAt;
        if (g.activatedAt == 0) {
            v.state = IUpgradeCoordinator.StageState.Pending;
        } else {
            v.state = v.verifiedAt == 0
                ? IUpgradeCoordinator.StageState.Active
                : IUpgradeCoordinator.StageState.Verified;
            v.observationEndsAt = g.activatedAt + v.rules.observationWindow;
            v.attestationDeadlineAt = g.activatedAt + v.rules.attestationDeadline;
        }
    }
}
