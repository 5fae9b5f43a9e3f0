// The whole history in one call: the reducer folded over every event, then the audit pass.
import type { CoordinatorEvent } from "../events";
import { auditChecks } from "./audit";
import type { BuildOptions, History } from "./model";
import { foldAll } from "./reducer";

/** Folds decoded events (sorted into chain order first) into the history of every upgrade, with its checks. */
export function buildHistory(input: CoordinatorEvent[], o: BuildOptions = {}): History {
  const state = foldAll(input, o);
  state.history.checks = auditChecks(state);
  return state.history;
}
