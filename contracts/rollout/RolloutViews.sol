// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IUpgradeCoordinator} from "./IUpgradeCoordinator.sol";
import {Stage, Pulse, Limits, Readiness, Progress, notBeforeOf} from "./RolloutStorage.sol";

/// @title Rollout views
/// @notice Assembles the coordinator's read models (a stage with its tallies and timings; a validator's stage in an
/// upgrade) from its packed storage.
/// @dev An external library, run by DELEGATECALL from the coordinator's view functions, which keeps the
/// coordinator under the contract size limit. Reads only.
library RolloutViews {
    /// @notice Stage `index` of an upgrade scheduled at `scheduledAt`.
    function stage(mapping(uint256 => Stage) storage stages, uint256 index, uint40 scheduledAt)
        external
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

    /// @notice The index of the stage of `cohort`, if the upgrade has one.
    function stageOfCohort(mapping(uint256 => Stage) storage stages, uint256 stageCount, uint8 cohort)
        external
        view
        returns (bool found, uint8 index)
    {
        if (cohort == 0) return (false, 0);
        for (uint256 i; i < stageCount; ++i) {
            if (stages[i].pulse.cohort == cohort) return (true, uint8(i));
        }
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
            v.state = v.verifiedAt == 0 ? IUpgradeCoordinator.StageState.Active : IUpgradeCoordinator.StageState.Verified;
            v.observationEndsAt = g.activatedAt + v.rules.observationWindow;
            v.attestationDeadlineAt = g.activatedAt + v.rules.attestationDeadline;
        }
    }
}
