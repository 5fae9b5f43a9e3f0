// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IStakeToken} from "../governance/IStakeToken.sol";
import {IUpgradeCoordinator} from "./IUpgradeCoordinator.sol";

/// @dev Who governs the coordinator and the settings governance keeps for the next upgrades: read by the governance
/// and guardian checks and by scheduling, never by an attestation.
struct Administration {
    /// @dev The timelock: schedules, resumes, withdraws, assigns cohorts, appoints and revokes the guardian.
    address governance;
    /// @dev The restart budget and lease duration the next scheduled upgrade fixes.
    uint16 restartBudgetBps;
    uint24 leaseDuration;
    /// @dev The incident commander: pauses and orders rollback at once; never schedules or resumes.
    address guardian;
    /// @dev The account governance offered its role to, until it accepts (two steps, so a typo bricks nothing).
    address pendingGovernance;
    /// @dev The coordinator the token's registry binding moved to: once set, this one schedules nothing.
    address successor;
}

/// @title Governance logic
/// @notice The coordinator's administration: the guardian, the restart budget, handing governance to a new timelock
/// and moving the stake token's registry to a successor coordinator.
/// @dev An external library, run by DELEGATECALL on the coordinator's storage (msg.sender is the coordinator's
/// caller), which keeps the coordinator under the contract size limit. The coordinator checks governance before
/// calling every function here but acceptGovernance and renounceGuardian, which check their own caller.
library GovernanceLogic {
    /// @notice Appoints `newGuardian`, or revokes the guardian with zero. Never the governance account.
    function setGuardian(Administration storage a, address newGuardian) external {
        if (newGuardian == a.governance) revert IUpgradeCoordinator.CoordinatorRoleConflict(a.governance, newGuardian);
        address previous = a.guardian;
        a.guardian = newGuardian;
        emit IUpgradeCoordinator.GuardianSet(previous, newGuardian);
    }

    /// @notice The guardian (msg.sender) steps down.
    function renounceGuardian(Administration storage a) external {
        if (msg.sender != a.guardian) revert IUpgradeCoordinator.CoordinatorUnauthorized(msg.sender);
        a.guardian = address(0);
        emit IUpgradeCoordinator.GuardianSet(msg.sender, address(0));
    }

    /// @notice Sets the restart budget and lease duration the next scheduled upgrades fix.
    function setRestartBudget(Administration storage a, uint16 bps, uint32 leaseDuration) external {
        if (bps > 10_000 || leaseDuration == 0 || leaseDuration > type(uint24).max) {
            revert IUpgradeCoordinator.CoordinatorInvalidLeaseSettings(bps, leaseDuration);
        }
        emit IUpgradeCoordinator.RestartBudgetSet(a.restartBudgetBps, bps, a.leaseDuration, leaseDuration);
        a.restartBudgetBps = bps;
        a.leaseDuration = uint24(leaseDuration);
    }

    /// @notice Offers the governance role to `newGovernance` (zero withdraws the offer).
    function transferGovernance(Administration storage a, address newGovernance) external {
        if (newGovernance != address(0) && newGovernance == a.guardian) {
            revert IUpgradeCoordinator.CoordinatorRoleConflict(newGovernance, a.guardian);
        }
        a.pendingGovernance = newGovernance;
        emit IUpgradeCoordinator.GovernanceTransferStarted(a.governance, newGovernance);
    }

    /// @notice The offered account (msg.sender) takes the governance role.
    function acceptGovernance(Administration storage a) external {
        if (msg.sender != a.pendingGovernance || msg.sender == address(0)) {
            revert IUpgradeCoordinator.CoordinatorUnauthorized(msg.sender);
        }
        // The guardian may have been appointed to this account since the offer.
        if (msg.sender == a.guardian) revert IUpgradeCoordinator.CoordinatorRoleConflict(msg.sender, a.guardian);
        address previous = a.governance;
        a.governance = msg.sender;
        a.pendingGovernance = address(0);
        emit IUpgradeCoordinator.GovernanceTransferred(previous, msg.sender);
    }

    /// @notice Moves `token`'s registry binding to `successor`, a coordinator of the same token, when no upgrade is
    /// open (`openUpgrade` is the coordinator's open upgrade, 0 for none).
    function migrateRegistry(Administration storage a, IStakeToken token, uint256 openUpgrade, address successor)
        external
    {
        if (openUpgrade != 0) revert IUpgradeCoordinator.CoordinatorUpgradeInFlight(openUpgrade);
        if (successor == address(0) || successor == address(this) || a.successor != address(0)) {
            revert IUpgradeCoordinator.CoordinatorInvalidSuccessor(successor);
        }
        // Asked without trusting the answer's shape: an account with no code, or a contract that is no coordinator,
        // is refused with the same one error.
        (bool answered, bytes memory ret) =
            successor.staticcall(abi.encodeCall(IUpgradeCoordinator.stakeToken, ()));
        if (!answered || ret.length != 32 || abi.decode(ret, (address)) != address(token)) {
            revert IUpgradeCoordinator.CoordinatorInvalidSuccessor(successor);
        }
        a.successor = successor;
        token.moveRegistry(successor);
        emit IUpgradeCoordinator.RegistryMigrated(successor);
    }
}
