import type { IUpgradeCoordinator } from "../typechain-types/contracts/rollout/IUpgradeCoordinator";

export type ManifestInput = IUpgradeCoordinator.ManifestStruct;
export type StageRulesInput = IUpgradeCoordinator.StageRulesStruct;

/** Stage rules with every field named; durations in seconds, thresholds in basis points. */
export function stageRules(cohort: number, over: Partial<StageRulesInput> = {}): StageRulesInput {
  return {
    cohort,
    timelock: 0,
    observationWindow: 600,
    attestationDeadline: 3600,
    readinessBps: 0,
    healthyBps: 6700,
    unhealthyBps: 3400,
    rollbackBps: 0,
    ...over,
  };
}
