// lib/sync: one reorg-aware event follower for every consumer. See follower.ts for how a poll goes.
export { Follower, logId, type FollowerOptions, type PollResult } from "./follower";
export { MemoryCheckpointStore } from "./memory";
export { DEFAULT_PAGE_SIZE, getLogsPaged, type PagingOptions } from "./paging";
export { viemSource } from "./viem";
export { ReorgTooDeepError, SyncConfigError, SyncError } from "./errors";
export type {
  Awaitable,
  ChainBlock,
  ChainSource,
  Checkpoint,
  CheckpointStore,
  Hex,
  LogRange,
  Page,
  PageResult,
  ReorgEvent,
  SyncHandlers,
} from "./types";
