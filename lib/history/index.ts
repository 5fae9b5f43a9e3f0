// The history of every upgrade, rebuilt from the coordinator's event logs alone (no contract views):
//   reducer.ts  the incremental fold (a state, `apply` new events to it), mirroring the contract's accounting;
//   rules.ts    the contract's timing and threshold arithmetic, written once;
//   audit.ts    the checks an auditor runs over a folded history;
//   build.ts    the fold over all events plus the audit pass; fetch.ts the logs and block times.
export * from "./model";
export { MAX_UINT96, share } from "./rules";
export { apply, cohortAt, foldAll, initialState, settle, type HistoryState } from "./reducer";
export { auditChecks } from "./audit";
export { buildHistory } from "./build";
export {
  decodeLogs,
  fetchBlockTimes,
  fetchLogs,
  foldEventPage,
  loadHistory,
  type FetchOptions,
  type FollowedEvents,
  type LoadOptions,
} from "./fetch";
