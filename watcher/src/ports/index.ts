// The side effects the watcher needs, each behind a small interface. The state machine never sees these; the
// runtime uses them, tests give it fakes, and watcher/src/adapters/ holds the real implementations.
import type { Log } from "viem";
import type { ChainBlock } from "../../../lib/sync";
import type { AttestStatus } from "../machine/types";

export type { ChainBlock };
export type { Journal, PageOutcome, Step, StepStatus } from "./journal";

export type Hex = `0x${string}`;

/** Reads the chain. */
export interface ChainReader {
  chainId(): Promise<number>;
  /** The code at `address` ("0x" when none). */
  code(address: Hex): Promise<Hex>;
  /** Block `number` (the latest when omitted), or undefined when the chain has no such block (yet). */
  block(number?: bigint): Promise<ChainBlock | undefined>;
  /** The coordinator's logs in blocks [from, to], in chain order. */
  coordinatorLogs(from: bigint, to: bigint): Promise<Log[]>;
  /** This validator's place in an upgrade and its last attestation, as the coordinator reports them. */
  assignment(upgradeId: number): Promise<Assignment>;
  /** This validator's registration now. */
  registration(): Promise<{ registered: boolean; attester: Hex; cohort: number }>;
}

export interface Assignment {
  inRoster: boolean;
  stage: number;
  lastUpgradeId: number;
  lastStatus: AttestStatus | null;
}

export interface AttestationRequest {
  upgradeId: number;
  stage: number;
  status: AttestStatus;
  version: string;
  height: bigint;
  metricsDigest: Hex;
  /** The statement's identity (one attest step): a retry with the same key lands the transaction already signed. */
  key?: string;
}

/** Writes attestations: a transaction from the attester key, or a signed statement handed to a relay. */
export interface ChainWriter {
  attest(request: AttestationRequest): Promise<{ via: "transaction" | "relay"; reference: string }>;
}

/** What the node's health probe read (watcher/src/adapters/probes/). */
export interface NodeStatus {
  /** The version as the client reports it (`anvil/v1.5.1`, `0.38.12`, ...). */
  version: string;
  /** Block height (slot, for the slot-based clients). */
  height: bigint;
  /** Syncing or catching up: the node runs but is still starting, not yet healthy. Absent: cannot tell. */
  syncing?: boolean;
  /** The manifest versions, besides `version` itself, that this reading counts as, by the probe's version rule. */
  matches?: string[];
}

/** Controls the validator node. Every method is safe to call again after a crash. */
export interface NodeController {
  stop(): Promise<void>;
  start(): Promise<void>;
  /** The node's reported status, or undefined when it does not answer. */
  status(): Promise<NodeStatus | undefined>;
  /** Copies the node's state aside under `tag` (a no-op when a snapshot with that tag exists). */
  snapshot(tag: string): Promise<void>;
  /** Puts the state snapshot `tag` back. */
  restore(tag: string): Promise<void>;
}

/**
 * Fetches an artifact to a file, refusing anything larger than `maxBytes`; returns its sha256 (hex). When `signal`
 * is aborted the download stops at once, leaves no partial file, and rejects with the signal's reason.
 */
export interface Downloader {
  fetch(
    uri: string,
    destination: string,
    maxBytes: number,
    signal?: AbortSignal,
  ): Promise<{ sha256: string; bytes: number }>;
}

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** How a build is staged besides its digest. */
export interface StageOptions {
  /** The upgrade's name (the Cosmovisor layout names the directory after it). */
  upgradeName?: string;
  /** The artifact is an archive: its format and the binary's path inside it. */
  archive?: { format: "tar.gz" | "zip"; binary: string };
}

/** The versions of the node binary on disk and which one is active. Builds are staged by artifact digest. */
export interface Binaries {
  /** Without `sha256`: some build of `version` is on disk. With it: the one staged from that digest, unchanged. */
  isStaged(version: string, sha256?: string): Promise<boolean>;
  /** Moves a downloaded file into place as `version` once its sha256 matches; refuses otherwise. */
  stage(version: string, downloadedFile: string, expectedSha256: string, options?: StageOptions): Promise<void>;
  /** Points the active binary at `version` (atomically), first checking the staged build against `sha256`. */
  activate(version: string, sha256?: string): Promise<void>;
  active(): Promise<string | undefined>;
  discard(version: string): Promise<void>;
  /** Throws, not retryable, unless the build staged as `version` is the one from `sha256`, unchanged. */
  verify(version: string, sha256: string): Promise<void>;
  /** Records the x/upgrade plan the node now runs, where the layout keeps it (Cosmovisor's upgrade-info.json). */
  recordUpgrade?(plan: { name: string; height: bigint; info: string }): Promise<void>;
}

/** An upgrade's restart budget and this watcher's lease in it, as the coordinator's `getLease` reports them. */
export interface LeaseView {
  /** Wei; 0 when no budget was set for the upgrade (no lease is ever needed). */
  budget: bigint;
  /** Wei leased now, expired leases left out. */
  inUse: bigint;
  /** Seconds: a lease lasts between one and two durations. */
  duration: number;
  /** Leases may be taken: from scheduling until the next upgrade is scheduled. */
  live: boolean;
  /** The stake a lease of this key weighs (cached by its validator's Ready; 0 before). */
  weight: bigint;
  /** While this key holds an unexpired lease: when it expires (seconds); 0 otherwise. */
  expiresAt: bigint;
}

/** What asking for a lease came to. Refusals are answers, found by simulation: they cost no gas. */
export type LeaseAnswer =
  | { kind: "granted"; expiresAt: bigint; transaction: Hex }
  /** The budget is full: `inUse + weight > budget`. */
  | { kind: "full"; inUse: bigint; budget: bigint; weight: bigint }
  /** This key holds a lease already (taken before a crash, say), until `expiresAt`. */
  | { kind: "held"; expiresAt: bigint }
  /** The key has no weight in a live budget: it never attested Ready to the latest upgrade, or that budget closed. */
  | { kind: "unleasable" }
  /** A transaction of the attester key is still pending (perhaps a lease sent before a crash): ask again later. */
  | { kind: "pending" };

/** Restart leases for this validator, taken by its attester key (docs/design.md, "Restart leases"). */
export interface RestartLeases {
  view(upgradeId: number): Promise<LeaseView>;
  /** Takes a lease in the budget of the key's latest Ready upgrade: simulated first, then sent and awaited. */
  take(): Promise<LeaseAnswer>;
}
