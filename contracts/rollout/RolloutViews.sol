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
    notBeforeOf,
    stateOf
} from "./RolloutStorage.sol";

/// @title Rollout views
/// @notice Assembles the coordinator's read models (a stage with its tallies and timings; a validator's stage in an
/// upgrade) from its packed storage.
/// @dev An external library, run by DELEGATECALL from the coordinator's view functions, which keeps the
/// coordinator under the contract size limit. Reads only. Each view comes back ABI-encoded, and the coordinator
/// returns those bytes as they are, so it carries no encoder or decoder for the view structs.
library RolloutViews {
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
