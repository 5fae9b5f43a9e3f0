// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IStakeToken} from "../governance/IStakeToken.sol";
import {IUpgradeCoordinator} from "./IUpgradeCoordinator.sol";
import {
    Stage,
    Pulse,
    Limits,
    Readiness,
    Progress,
    Header,
    Phase,
    ManifestSummary,
    LeaseBudget,
    versionCheckOf,
    LEASE_UNIT
} from "./RolloutStorage.sol";

/// @title Manifest planner
/// @notice Validates an upgrade manifest and lays out its stages: each stage's denominator (its cohort's stake at
/// the snapshot) and its thresholds turned from basis points into absolute stake.
/// @dev An external library, run by DELEGATECALL on the coordinator's storage, so the coordinator's own code stays
/// under the contract size limit. It loops over the manifest's stages and artifacts (bounded by MAX_STAGES and
/// MAX_ARTIFACTS), never over validators.
library ManifestPlanner {
    uint256 internal constant MAX_STAGES = 16;
    uint256 internal constant MAX_ARTIFACTS = 16;
    uint256 internal constant MAX_FEATURE_FLAGS = 32;
    uint256 private constant _BPS = 10_000;

    /// @notice Schedules `m` as upgrade `upgradeId` (the coordinator has checked nothing else is open): checks its
    /// name is new, lays out its stages, writes its header, then emits UpgradeScheduled, keeps its summary and fixes
    /// its restart budget.
    function schedule(
        IUpgradeCoordinator.Manifest calldata m,
        uint256 upgradeId,
        uint48 snapshot,
        IStakeToken token,
        mapping(bytes32 nameHash => uint256 upgradeId) storage idByName,
        mapping(uint256 upgradeId => Header) storage headers,
        mapping(uint256 stage => Stage) storage stages,
        mapping(uint256 upgradeId => ManifestSummary) storage manifests,
        mapping(uint256 upgradeId => LeaseBudget) storage leaseBudgets,
        uint16 restartBudgetBps,
        uint24 leaseDuration
    ) external {
        if (bytes(m.name).length == 0) revert IUpgradeCoordinator.CoordinatorEmptyName();
        bytes32 nameHash = keccak256(bytes(m.name));
        uint256 existing = idByName[nameHash];
        if (existing != 0) revert IUpgradeCoordinator.CoordinatorDuplicateName(m.name, existing);
        idByName[nameHash] = upgradeId;

        uint96[] memory cohortStakes = plan(m, stages, token, snapshot);
        headers[upgradeId] = Header({
            snapshot: snapshot,
            scheduledAt: uint40(block.timestamp),
            pausedAt: 0,
            endedAt: 0,
            stageCount: uint8(cohortStakes.length),
            currentStage: 0,
            phase: Phase.Scheduled,
            pauseReason: IUpgradeCoordinator.PauseReason.None,
            versionCheck: versionCheckOf(bytes32(bytes(m.version)))
        });
        emit IUpgradeCoordinator.UpgradeScheduled(upgradeId, nameHash, m, snapshot, cohortStakes);
        manifests[upgradeId] = ManifestSummary({
            manifestHash: m.manifestHash,
            versionTag: bytes32(bytes(m.version)),
            stateIncompatible: m.stateIncompatible
        });
        _openLeaseBudget(
            leaseBudgets, upgradeId, token.getPastRegisteredStake(snapshot), restartBudgetBps, leaseDuration
        );
    }

    /// @dev Fixes the restart budget of `upgradeId` from `registeredStake` (the total registered stake at its
    /// snapshot) and closes the previous upgrade's: one budget is live at a time, so the cap holds fleet-wide.
    function _openLeaseBudget(
        mapping(uint256 upgradeId => LeaseBudget) storage budgets,
        uint256 upgradeId,
        uint256 registeredStake,
        uint16 bps,
        uint24 duration
    ) private {
        // Floored: the budget in whole lease units never exceeds the share governance set.
        uint256 budget = registeredStake * bps / _BPS / LEASE_UNIT;
        if (upgradeId > 1) budgets[upgradeId - 1].live = false;
        budgets[upgradeId] = LeaseBudget({
            budget: uint64(budget),
            current: 0,
            previous: 0,
            epoch: uint32(block.timestamp / duration),
            duration: duration,
            live: true
        });
        emit IUpgradeCoordinator.LeaseBudgetOpened(upgradeId, budget * LEASE_UNIT, duration);
    }

    /// @notice Checks `m` and writes its stages into `stages`. Returns every stage's denominator (its cohort's
    /// stake at `snapshot`), which the coordinator reports in UpgradeScheduled once the upgrade's header is written.
    function plan(
        IUpgradeCoordinator.Manifest calldata m,
        mapping(uint256 stage => Stage) storage stages,
        IStakeToken token,
        uint48 snapshot
    ) public returns (uint96[] memory cohortStakes) {
        _checkDescription(m);
        uint256 count = m.stages.length;
        if (count == 0) revert IUpgradeCoordinator.CoordinatorNoStages();
        if (count > MAX_STAGES) revert IUpgradeCoordinator.CoordinatorTooMany("stages", count, MAX_STAGES);
        cohortStakes = new uint96[](count);
        uint256 seen;
        for (uint256 i; i < count; ++i) {
            IUpgradeCoordinator.StageRules calldata rules = m.stages[i];
            _checkRules(rules, i);
            uint256 bit = 1 << rules.cohort;
            if (seen & bit != 0) revert IUpgradeCoordinator.CoordinatorDuplicateCohort(i, rules.cohort);
            seen |= bit;
            cohortStakes[i] = _layOut(stages[i], rules, i, token, snapshot);
        }
    }

    function _checkDescription(IUpgradeCoordinator.Manifest calldata m) private pure {
        uint256 len = bytes(m.version).length;
        if (len == 0 || len > 32) revert IUpgradeCoordinator.CoordinatorInvalidVersion(m.version);
        len = bytes(m.previousVersion).length;
        if (len == 0 || len > 32 || keccak256(bytes(m.previousVersion)) == keccak256(bytes(m.version))) {
            revert IUpgradeCoordinator.CoordinatorInvalidPreviousVersion(m.previousVersion);
        }
        if (m.manifestHash == bytes32(0)) revert IUpgradeCoordinator.CoordinatorEmptyManifestHash();

        uint256 count = m.artifacts.length;
        if (count == 0) revert IUpgradeCoordinator.CoordinatorNoArtifacts();
        if (count > MAX_ARTIFACTS) revert IUpgradeCoordinator.CoordinatorTooMany("artifacts", count, MAX_ARTIFACTS);
        for (uint256 i; i < count; ++i) {
            IUpgradeCoordinator.Artifact calldata a = m.artifacts[i];
            if (bytes(a.platform).length == 0 || bytes(a.uri).length == 0) {
                revert IUpgradeCoordinator.CoordinatorInvalidArtifact(i);
            }
            if (a.sha256Digest == bytes32(0)) revert IUpgradeCoordinator.CoordinatorEmptyDigest(i);
        }
        count = m.featureFlags.length;
        if (count > MAX_FEATURE_FLAGS) {
            revert IUpgradeCoordinator.CoordinatorTooMany("featureFlags", count, MAX_FEATURE_FLAGS);
        }
    }

    function _checkRules(IUpgradeCoordinator.StageRules calldata r, uint256 i) private pure {
        if (r.cohort == 0) revert IUpgradeCoordinator.CoordinatorInvalidCohort(i, r.cohort);
        if (r.healthyBps == 0 || r.healthyBps > _BPS) {
            revert IUpgradeCoordinator.CoordinatorThresholdOutOfRange(i, r.healthyBps);
        }
        if (r.unhealthyBps == 0 || r.unhealthyBps > _BPS) {
            revert IUpgradeCoordinator.CoordinatorThresholdOutOfRange(i, r.unhealthyBps);
        }
        if (r.readinessBps > _BPS) revert IUpgradeCoordinator.CoordinatorThresholdOutOfRange(i, r.readinessBps);
        if (r.rollbackBps > _BPS) revert IUpgradeCoordinator.CoordinatorThresholdOutOfRange(i, r.rollbackBps);
        if (r.attestationDeadline == 0) revert IUpgradeCoordinator.CoordinatorZeroDeadline(i);
    }

    /// @dev Fixes the stage's denominator at the snapshot and turns its basis points into absolute stake.
    function _layOut(
        Stage storage s,
        IUpgradeCoordinator.StageRules calldata rules,
        uint256 index,
        IStakeToken token,
        uint48 snapshot
    ) private returns (uint96 cohortStake) {
        cohortStake = uint96(token.getPastCohortStake(rules.cohort, snapshot));
        if (cohortStake == 0) revert IUpgradeCoordinator.CoordinatorEmptyCohort(index, rules.cohort);
        s.rules = rules;
        s.pulse = Pulse({cohort: rules.cohort, activatedAt: 0, healthyStake: 0, unhealthyStake: 0});
        s.limits = Limits({
            unhealthyLimit: _share(cohortStake, rules.unhealthyBps),
            rollbackLimit: rules.rollbackBps == 0 ? type(uint96).max : _share(cohortStake, rules.rollbackBps)
        });
        s.readiness = Readiness({
            readyStake: 0,
            readyNeeded: _share(cohortStake, rules.readinessBps),
            readyCount: 0,
            live: true
        });
        s.progress =
            Progress({cohortStake: cohortStake, healthyNeeded: _share(cohortStake, rules.healthyBps), verifiedAt: 0});
    }

    /// @dev `bps` of `stake`, rounded up: "at least 67%" is never met by 66.99%.
    function _share(uint96 stake, uint16 bps) private pure returns (uint96) {
        return uint96(Math.mulDiv(stake, bps, _BPS, Math.Rounding.Ceil));
    }
}
