// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IUpgradeCoordinator} from "./IUpgradeCoordinator.sol";

// Storage layout of a rollout, shared by the coordinator and the planner library that fills it at scheduling.
// Every struct is packed so the hot paths (attest, advance) read and write as few slots as possible.

/// @dev Where an upgrade is in its life; `Paused` is a flag on top (see Header.pauseReason).
enum Phase {
    None,
    Scheduled,
    Rolling,
    Completed,
    Withdrawn,
    RolledBack
}

/// @dev One slot, read by every attestation and every transition.
struct Header {
    uint48 snapshot;
    uint40 scheduledAt;
    uint40 pausedAt;
    uint40 endedAt;
    uint8 stageCount;
    uint8 currentStage;
    Phase phase;
    IUpgradeCoordinator.PauseReason pauseReason;
    uint48 versionCheck; // versionCheckOf(the manifest's version tag): what a Healthy attestation must report
}

/// @dev A 48-bit digest of a version tag, kept in the header so checking a Healthy attestation's version costs no
/// extra storage read. It guards against a watcher reporting Healthy for the wrong binary, not against a validator
/// lying (a liar can report the right version as easily).
function versionCheckOf(bytes32 versionTag) pure returns (uint48) {
    return uint48(uint256(keccak256(abi.encode(versionTag))));
}

/// @dev The hot slot of a stage, read and written by every health attestation: who may attest to it, whether it
/// is active, and its tallies. Non-zero from scheduling on (the cohort is never 0), so the first attestation pays
/// for a warm rewrite, not a fresh slot.
struct Pulse {
    uint8 cohort;
    uint40 activatedAt;
    uint96 healthyStake;
    uint96 unhealthyStake; // Unhealthy + FailedToUpgrade + RolledBack
}

/// @dev Read only when a not-healthy attestation may cross a limit.
struct Limits {
    uint96 unhealthyLimit;
    uint96 rollbackLimit; // type(uint96).max when automatic rollback is off
}

/// @dev Written by `Ready` attestations; non-zero from scheduling on for the same reason.
struct Readiness {
    uint96 readyStake;
    uint96 readyNeeded;
    uint24 readyCount;
    bool live;
}

/// @dev Read and written by `advance`. The cohort stake is never zero (scheduling refuses empty cohorts).
struct Progress {
    uint96 cohortStake;
    uint96 healthyNeeded;
    uint40 verifiedAt;
}

struct Stage {
    Pulse pulse;
    Limits limits;
    Readiness readiness;
    Progress progress;
    IUpgradeCoordinator.StageRules rules;
}

/// @dev A validator's one slot: its attester key (the registry's part) and its last attestation (the
/// coordinator's part). Keyed by operator, so attester rotation never makes a second record. `flags` keeps the
/// slot non-zero from the first registration on.
struct ValidatorSlot {
    address attester;
    uint32 lastUpgradeId;
    uint8 lastStage;
    IUpgradeCoordinator.Status lastStatus;
    uint8 flags;
    uint40 lastIssuedAt; // the replay guard: a signed attestation must be newer
}

uint8 constant VALIDATOR_LIVE = 1;
uint8 constant VALIDATOR_REGISTERED = 2;
uint8 constant VALIDATOR_RESTORED = 4; // counted in the restored tally of lastUpgradeId
uint8 constant VALIDATOR_LEASE_CACHED = 8; // the attester's Lease slot holds lastUpgradeId's weight and stage

/// @dev Lease amounts are counted in units of 10^10 wei so three counters share one slot: a lease's weight is
/// rounded up to a whole unit and the budget down, so rounding can never let leased stake exceed the cap.
uint256 constant LEASE_UNIT = 1e10;

/// @dev An upgrade's restart budget: one slot, read and written by every grant, release and epoch shift. Time is
/// cut into epochs of `duration` seconds; a lease granted in epoch e counts until the end of epoch e + 1, so the
/// stake leased is `current` (granted this epoch) plus `previous` (granted the epoch before), with no queue.
struct LeaseBudget {
    uint64 budget; // in LEASE_UNITs, floored
    uint64 current;
    uint64 previous;
    uint32 epoch; // block.timestamp / duration when the counters were last shifted
    uint24 duration; // seconds: the lease duration fixed at scheduling
    bool live; // from scheduling until the next upgrade is scheduled
}

/// @dev A key's lease: keyed by attester, so taking a lease reads one slot for both the authentication and the
/// record. Its validator's `Ready` attestation caches the snapshot weight and stage here; rotation and
/// deregistration delete it, so only the operator's current attester can use it. Initialised non-zero when a key
/// is claimed, so the `Ready` attestation pays for a rewrite, not a fresh slot.
struct Lease {
    uint96 weight; // wei, the validator's stake at upgradeId's snapshot
    uint32 upgradeId;
    uint32 epoch; // the budget epoch the lease was granted in
    uint8 stage;
    bool leased;
    bool claimed;
}

/// @dev A weight in LEASE_UNITs, rounded up.
function leaseUnitsOf(uint256 weight) pure returns (uint64) {
    return uint64((weight + LEASE_UNIT - 1) / LEASE_UNIT);
}

/// @dev Stake that attested `RolledBack` after a rollback order.
struct Restored {
    uint96 stake;
    uint32 count;
}

/// @dev What the hot paths and views need of the manifest; the full manifest is in the UpgradeScheduled event.
struct ManifestSummary {
    bytes32 manifestHash;
    bytes32 versionTag;
    bool stateIncompatible;
}

/// @dev Earliest activation time of stage `index`: the time lock counts from scheduling for the first stage and
/// from the previous stage's verification for the others (0 while that stage is not verified).
function notBeforeOf(mapping(uint256 => Stage) storage stages, uint256 index, uint40 scheduledAt, uint32 timelock)
    view
    returns (uint40)
{
    if (index == 0) return scheduledAt + timelock;
    uint40 previousVerifiedAt = stages[index - 1].progress.verifiedAt;
    return previousVerifiedAt == 0 ? 0 : previousVerifiedAt + timelock;
}

/// @dev The public state of an upgrade, computed from its phase and pause flag.
function stateOf(Header memory h) pure returns (IUpgradeCoordinator.UpgradeState) {
    Phase phase = h.phase;
    if (phase == Phase.None) return IUpgradeCoordinator.UpgradeState.None;
    if (phase == Phase.Completed) return IUpgradeCoordinator.UpgradeState.Completed;
    if (phase == Phase.Withdrawn) return IUpgradeCoordinator.UpgradeState.Withdrawn;
    if (phase == Phase.RolledBack) return IUpgradeCoordinator.UpgradeState.RolledBack;
    if (h.pauseReason != IUpgradeCoordinator.PauseReason.None) return IUpgradeCoordinator.UpgradeState.Paused;
    return phase == Phase.Scheduled
        ? IUpgradeCoordinator.UpgradeState.Scheduled
        : IUpgradeCoordinator.UpgradeState.Rolling;
}
