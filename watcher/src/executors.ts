import { readFile, rm } from "node:fs/promises";
import { keccak256, toHex } from "viem";
import type { WatcherConfig, Paths } from "./config";
import type { AttestStatus, Effect, Job, MachineEvent } from "./machine/types";
import { startupPhase } from "./machine/health";
import type {
  Binaries,
  ChainReader,
  ChainWriter,
  Clock,
  Downloader,
  Hex,
  NodeController,
  RestartLeases,
} from "./ports";
import { WatcherError, asWatcherError, fatal, fsCall, retryable } from "./errors";
import { exists, localDisk, type DiskSpace } from "./adapters/stateCopy";
import { ManifestError, manifestHashOfText, parseArtifactUri } from "../../lib/manifest";
import type { Logger } from "./log";
import { runUpgradeHooks } from "./adapters/hooks";
import type { KillPoints } from "./faults";
import type { Notify } from "./notify";
import { NO_PREEMPTION, abortReason, abortable, isPreempted, throwIfAborted, type Preemption } from "./preempt";

export interface ExecutorDeps {
  config: WatcherConfig;
  paths: Paths;
  chain: ChainReader;
  writer: ChainWriter;
  node: NodeController;
  downloader: Downloader;
  binaries: Binaries;
  clock: Clock;
  log: Logger;
  /**
   * Webhook notifications: `send` never waits; `leaseWaiting`/`leaseGranted` around a wait for a restart lease.
   * The runtime always has one; a test calling an executor alone may leave it out.
   */
  notify?: Notify;
  /**
   * Restart leases taken by the attester key before the node is stopped. The runtime's LeaseGate (leases.ts) asks
   * for them before a step starts; executors never do. build() always wires one; a test may leave it out.
   */
  leases?: RestartLeases;
  /** Crash-drill points (tests and rehearsals); absent in normal runs. */
  kill?: KillPoints;
  /** Free space and sizes on disk (default: the local file system). */
  disk?: DiskSpace;
}

/**
 * Carries out one effect and reports its outcome as a fact for the machine (or nothing, for attestations).
 * Every executor first checks whether its work is already done, so running it again after a crash at any point
 * ends in the same place and never repeats what must not be repeated (a second swap, a second attestation).
 * Retryable failures are thrown for the runtime to retry; a failure that retrying cannot fix becomes a fact.
 * `preemption` carries the network's orders while the step runs (see preempt.ts): a step an order stops before it
 * touched the node rejects with a `preempted` error; an upgrade whose swap happened ends its health wait only for
 * a rollback order, as an UpgradeFailed that takes the node back to the previous version.
 */
export async function execute(
  effect: Effect,
  job: Job,
  deps: ExecutorDeps,
  preemption: Preemption = NO_PREEMPTION,
): Promise<MachineEvent | undefined> {
  const upgradeId = effect.upgradeId;
  switch (effect.kind) {
    case "prepare":
      return prepare(job, deps, preemption.signal);
    case "attest":
      await attest(job, effect.status, deps, `${upgradeId}:${effect.step}:${effect.status}`);
      return undefined;
    case "upgrade":
      return upgrade(job, deps, preemption);
    case "rollbackLocally":
      await fallBack(job, job.manifest.stateIncompatible, deps);
      return { type: "RolledBackLocally", upgradeId };
    case "restore":
      await fallBack(job, effect.restoreState, deps);
      return { type: "Restored", upgradeId };
    case "revert":
      await fallBack(job, effect.restoreState, deps);
      return { type: "Reverted", upgradeId };
    case "discard":
      if ((await deps.binaries.active()) !== job.manifest.version) await deps.binaries.discard(job.manifest.version);
      await fsCall("remove", deps.paths.download(upgradeId), () => rm(deps.paths.download(upgradeId), { force: true }));
      return { type: "Discarded", upgradeId };
  }
}

async function prepare(job: Job, deps: ExecutorDeps, signal: AbortSignal): Promise<MachineEvent> {
  const { upgradeId, manifest } = job;
  const failed = (reason: string): MachineEvent => {
    deps.log.error({ upgrade: upgradeId, reason }, "preparation failed: the node will not be touched");
    return { type: "PrepareFailed", upgradeId, reason };
  };
  if (deps.config.artifacts.manifestFile) {
    const file = deps.config.artifacts.manifestFile;
    let hash: string;
    try {
      hash = manifestHashOfText(await readFile(file, "utf8"), file);
    } catch (e) {
      return failed(e instanceof ManifestError ? e.message : `manifest file ${file} cannot be read`);
    }
    if (hash.toLowerCase() !== manifest.manifestHash.toLowerCase()) {
      return failed(`manifest file hash ${hash} differs from the voted ${manifest.manifestHash}`);
    }
  }
  if (!manifest.artifact) return failed(`the manifest has no artifact for platform ${deps.config.platform}`);
  // Content-addressed: only a build staged from this very digest counts, never one that merely has the name.
  if (await deps.binaries.isStaged(manifest.version, manifest.artifact.sha256)) return { type: "Prepared", upgradeId };
  let source: ReturnType<typeof parseArtifactUri>;
  try {
    source = parseArtifactUri(manifest.artifact.uri);
  } catch (e) {
    return failed(e instanceof ManifestError ? e.message : String(e));
  }
  const uri = source.url;
  const scheme = uri.split(":")[0];
  if (scheme !== "https" && !(scheme === "http" && deps.config.artifacts.allowInsecureHttp)) {
    return failed(`artifact URI ${uri} is not https (set artifacts.allowInsecureHttp only for local testing)`);
  }
  const expected = manifest.artifact.sha256.replace(/^0x/, "").toLowerCase();
  const file = deps.paths.download(upgradeId);
  try {
    const { sha256 } = await deps.downloader.fetch(uri, file, deps.config.artifacts.maxBytes, signal);
    if (sha256 !== expected) return failed(`artifact digest ${sha256} differs from the voted ${expected}`);
    await deps.binaries.stage(manifest.version, file, expected, {
      upgradeName: manifest.name,
      archive: source.archive,
    });
    deps.kill?.hit("prepare:staged");
  } catch (e) {
    if (e instanceof WatcherError && !e.retryable) return failed(e.message);
    throw e;
  }
  deps.log.info({ upgrade: upgradeId, version: manifest.version }, "artifact verified and staged");
  return { type: "Prepared", upgradeId };
}

/** The version an attestation reports: the new one when it claims to run it, the previous one otherwise. */
export function reportedVersion(job: Job, status: AttestStatus): string {
  return status === "Ready" || status === "Healthy" || status === "Unhealthy"
    ? job.manifest.version
    : job.manifest.previousVersion;
}

/** `key` names the statement (one attest step): a retry lands the transaction already signed for it. */
async function attest(job: Job, status: AttestStatus, deps: ExecutorDeps, key: string) {
  const { upgradeId, stage } = job;
  const onChain = await deps.chain.assignment(upgradeId);
  if (onChain.lastUpgradeId === upgradeId && onChain.lastStatus === status) {
    deps.log.info({ upgrade: upgradeId, status }, "attestation already on chain");
    return;
  }
  const node = await deps.node.status().catch(() => undefined);
  const metrics = {
    version: node?.version ?? null,
    height: node ? node.height.toString() : null,
    at: deps.clock.now(),
  };
  const result = await deps.writer.attest({
    upgradeId,
    stage,
    status,
    version: reportedVersion(job, status),
    height: node?.height ?? 0n,
    metricsDigest: keccak256(toHex(JSON.stringify(metrics))) as Hex,
    key,
  });
  deps.kill?.hit("attest:sent");
  deps.log.info({ upgrade: upgradeId, stage, status, via: result.via, reference: result.reference }, "attested");
}

/**
 * Stop, snapshot, swap, start, then wait for the new version to report itself and produce blocks. Every way this
 * can go wrong after the stop ends with the node running: a snapshot or a swap that fails puts the old version back
 * and starts it, and a new version that cannot start, or never comes up healthy, is an UpgradeFailed, which the
 * machine answers with a local rollback. Nothing is stopped without room for the snapshot.
 *
 * Orders: until the node is stopped (the staged build's check, the hooks, the free-space check) any order stops the
 * upgrade with the node untouched and running (`preempted`). From the stop to the switch nothing interrupts it.
 * After the switch, a rollback order ends the wait for health: UpgradeFailed (cause "order"), and the machine's local
 * rollback takes the node back; a pause or a withdrawal lets the wait finish, since its verdict decides whether the
 * new version stays.
 */
async function upgrade(job: Job, deps: ExecutorDeps, preemption: Preemption = NO_PREEMPTION): Promise<MachineEvent> {
  const { upgradeId, manifest } = job;
  const log = deps.log.child({ upgrade: upgradeId, version: manifest.version });
  const failed = (cause: string, reason: string): MachineEvent => {
    log.error({ cause, reason }, "upgrade failed: going back to the previous version");
    return { type: "UpgradeFailed", upgradeId, reason, cause };
  };
  const digest = manifest.artifact?.sha256;
  if (!digest) return { type: "UpgradeFailed", upgradeId, reason: "the manifest has no artifact for this platform" };
  // The staged build is checked against the voted digest before the node is touched, and again at the swap.
  const unverified = await deps.binaries.verify(manifest.version, digest).then(
    () => undefined,
    (e: unknown) => asNotRetryable(e),
  );
  if (unverified) {
    log.error({ reason: unverified }, "the staged build is not the voted one: the node is not touched");
    return { type: "UpgradeFailed", upgradeId, reason: unverified };
  }
  const active = await deps.binaries.active();
  if (active !== manifest.version) {
    const before = await deps.node.status().catch(() => undefined); // the height the upgrade takes effect at
    const upgrade = { name: manifest.name, version: manifest.version, height: before?.height ?? 0n };
    let aborted: string | undefined;
    try {
      throwIfAborted(preemption.signal);
      aborted = await runUpgradeHooks(deps.config.hooks, upgrade, deps.clock, (m) => log.warn(m), preemption.signal);
      if (!aborted) {
        throwIfAborted(preemption.signal);
        await checkSpace(job, active, deps);
      }
      throwIfAborted(preemption.signal);
    } catch (e) {
      // An order before the stop: the node keeps running the old version (started again if a crash left it down).
      if (isPreempted(e)) await deps.node.start();
      throw e;
    }
    if (aborted) {
      log.error({ reason: aborted }, "an upgrade hook said no: the node is not touched");
      return { type: "UpgradeFailed", upgradeId, reason: aborted };
    }
    // Stopped first, so the snapshot is a consistent copy of the state the old version left.
    log.info("stopping the node to snapshot its state and swap its binary");
    const last = await deps.node.status().catch(() => undefined); // its last block before the halt
    await deps.node.stop();
    deps.kill?.hit("upgrade:stopped");
    let refused: string | undefined;
    try {
      // The plan, where x/upgrade writes it: once the old version halted, before the snapshot and the switch.
      const plan = { name: manifest.name, height: last ? last.height + 1n : 0n, info: planInfo(manifest.artifact!) };
      await deps.binaries.recordUpgrade?.(plan);
      await deps.node.snapshot(snapshotTag(upgradeId));
      deps.kill?.hit("upgrade:snapshotted");
      refused = await deps.binaries.activate(manifest.version, digest).then(
        () => undefined,
        (e: unknown) => asNotRetryable(e),
      );
    } catch (e) {
      // `current` still names the old version (the switch is one rename): run it again before anything else.
      const error = asWatcherError(e);
      log.error({ err: error.message }, "could not snapshot or swap: starting the old version again");
      await recordsBack(active, deps, log);
      await deps.node.start();
      return failed(error.code === "fs" || error.code === "state-copy-failed" ? "snapshot" : error.code, error.message);
    }
    if (refused) {
      // Not switched: the old version is still `current`, and runs again.
      log.error({ reason: refused }, "the staged build changed before the swap: not switched");
      await recordsBack(active, deps, log);
      await deps.node.start();
      return failed("digest", refused);
    }
    deps.kill?.hit("upgrade:swapped");
  }
  try {
    await deps.node.start();
  } catch (e) {
    return failed("start", `${manifest.version} cannot start: ${asWatcherError(e).message}`);
  }
  deps.kill?.hit("upgrade:node-started");
  const outcome = await waitHealthy(manifest.version, deps, preemption.rollback);
  if (outcome.interrupted) {
    log.warn({ reason: outcome.reason }, "rollback ordered while the new version came up: going back");
    return { type: "UpgradeFailed", upgradeId, reason: outcome.reason, cause: "order" };
  }
  if (outcome.healthy) {
    deps.kill?.hit("upgrade:healthy");
    log.info({ height: outcome.height?.toString() }, "upgraded and healthy");
    return { type: "Upgraded", upgradeId };
  }
  return failed(outcome.exited ? "start" : "unhealthy", outcome.reason);
}

/**
 * An upgrade an order stopped before its swap: makes sure the old version runs (the node may have been stopped for
 * the snapshot) and reports UpgradeNotStarted. Undefined when the swap happened: then the upgrade must finish.
 */
export async function abandonUpgrade(job: Job, deps: ExecutorDeps): Promise<MachineEvent | undefined> {
  if ((await deps.binaries.active()) === job.manifest.version) return undefined;
  await deps.node.start(); // a no-op when it runs
  return { type: "UpgradeNotStarted", upgradeId: job.upgradeId };
}

/**
 * Refuses (retryable, the node untouched) an upgrade the data directory has no room for: the staged artifact and a
 * copy of the node's state, with a tenth more for what grows meanwhile.
 */
async function checkSpace(job: Job, active: string | undefined, deps: ExecutorDeps) {
  const disk = deps.disk ?? localDisk;
  const { node } = deps.config;
  const snapshot = deps.paths.snapshot(snapshotTag(job.upgradeId));
  const ownCopy = !(node.adapter === "command" && node.commands.snapshot);
  const state = ownCopy && !(await exists(snapshot)) ? await disk.size(node.stateDir) : 0;
  const artifact = await disk.size(deps.paths.binary(job.manifest.version));
  const need = Math.ceil((state + artifact) * 1.1);
  const free = await disk.free(deps.paths.snapshots);
  if (free >= need) return;
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  throw retryable(
    "disk-space",
    `not enough free space in ${deps.paths.root} to upgrade to ${job.manifest.version}: it needs ${mib(need)} ` +
      `(artifact ${mib(artifact)}, snapshot of ${node.stateDir} ${mib(state)}), ${mib(free)} is free; ` +
      `the node keeps running ${active ?? "as it is"}`,
    { upgradeId: job.upgradeId, need, free, artifact, state },
  );
}

/**
 * Back to the previous version (and the pre-upgrade state when asked), then wait for it to run. A previous version
 * that cannot start is retried (the error is retryable): the node must run.
 */
async function fallBack(job: Job, restoreState: boolean, deps: ExecutorDeps) {
  const { upgradeId, manifest } = job;
  const log = deps.log.child({ upgrade: upgradeId, version: manifest.previousVersion });
  if (!(await deps.binaries.isStaged(manifest.previousVersion))) {
    throw fatal(
      "previous-missing",
      `the previous version ${manifest.previousVersion} is not on disk: cannot roll back`,
    );
  }
  const active = await deps.binaries.active();
  if (active !== manifest.previousVersion || restoreState) {
    await restartWindowBeforeFallBack(job, deps, log);
    await deps.node.stop();
    if (restoreState) await deps.node.restore(snapshotTag(upgradeId));
    await deps.binaries.activate(manifest.previousVersion);
  } else {
    await deps.binaries.activate(manifest.previousVersion); // no switch; the layout's records agree with it again
  }
  try {
    await deps.node.start();
  } catch (e) {
    const error = asWatcherError(e);
    throw retryable(
      "node-start-failed",
      `the previous version ${manifest.previousVersion} cannot start: ${error.message}`,
      {
        version: manifest.previousVersion,
      },
      e,
    );
  }
  const outcome = await waitHealthy(manifest.previousVersion, deps);
  if (outcome.exited) {
    throw retryable("node-start-failed", `the previous version ${manifest.previousVersion} exited: ${outcome.reason}`, {
      version: manifest.previousVersion,
    });
  }
  if (outcome.healthy) log.info("back on the previous version and healthy");
  else log.error({ reason: outcome.reason }, "back on the previous version, but it is not healthy");
}

/**
 * The hooks before a rollback, fall-back or revert stops the node. The restart window applies to every stop of a
 * running node, as before an upgrade's; a node that does not answer has no window to protect, and is not made to
 * wait. Its deadline bounds the wait, after which the node goes back anyway: unlike an upgrade, which the node may
 * decline, going back to the previous version is an order (or the failed upgrade's own remedy). preUpgrade does not
 * run: Cosmovisor runs the pre-upgrade step on upgrades alone, and it prepares the new version's state.
 */
async function restartWindowBeforeFallBack(job: Job, deps: ExecutorDeps, log: Logger) {
  const window = deps.config.hooks?.restartWindow;
  if (!window) return;
  const running = await deps.node.status().catch(() => undefined);
  if (!running) {
    log.info("the node does not answer: no restart window to wait for before going back");
    return;
  }
  const { name, previousVersion } = job.manifest;
  const stop = { name, version: previousVersion, height: running.height, action: "rollback" as const };
  const late = await runUpgradeHooks({ restartWindow: window }, stop, deps.clock, (m) => log.warn(m));
  if (late) log.warn({ reason: late }, "going back to the previous version outside a restart window");
}

/**
 * An upgrade that stopped short of its switch: the layout's records (Cosmovisor's upgrade-info.json, written at the
 * halt) go back to the version that still runs, through a switch to it that switches nothing. Never in the way of
 * the node's start: a failure here is logged.
 */
async function recordsBack(active: string | undefined, deps: ExecutorDeps, log: Logger) {
  if (!active) return;
  await deps.binaries.activate(active).catch((e: unknown) => {
    log.warn({ err: asWatcherError(e).message }, "could not put the upgrade records back to the running version");
  });
}

/** An x/upgrade plan's `info` naming the artifact the way Cosmovisor reads it: {"binaries": {"os/arch": url}}. */
export function planInfo(artifact: { platform: string; uri: string; sha256: string }): string {
  const { url } = parseArtifactUri(artifact.uri);
  const checksum = `checksum=sha256:${artifact.sha256.replace(/^0x/, "").toLowerCase()}`;
  const platform = artifact.platform.replace("-", "/");
  return JSON.stringify({ binaries: { [platform]: `${url}${url.includes("?") ? "&" : "?"}${checksum}` } });
}

/** The message of a failure retrying cannot fix; a retryable one is thrown on for the runtime to retry. */
function asNotRetryable(e: unknown): string {
  if (e instanceof WatcherError && !e.retryable) return e.message;
  throw e;
}

export function snapshotTag(upgradeId: number) {
  return `before-upgrade-${upgradeId}`;
}

/**
 * Healthy = the node reports `version`, is done syncing, and its height grows by the configured gain (counted
 * from the first reading after it stopped syncing) before the deadline. An aborted `signal` ends the wait at once
 * (`interrupted`, with the signal's reason); the node is left as it is.
 */
export async function waitHealthy(
  version: string,
  deps: Pick<ExecutorDeps, "node" | "clock" | "config">,
  signal?: AbortSignal,
): Promise<{ healthy: boolean; reason: string; height?: bigint; exited?: boolean; interrupted?: boolean }> {
  const { deadlineMs, probeIntervalMs, minHeightGain } = deps.config.health;
  const until = deps.clock.now() + deadlineMs;
  let first: bigint | undefined;
  let last = "the node never answered";
  const interrupted = () => ({ healthy: false, reason: abortReason(signal!).message, interrupted: true });
  while (deps.clock.now() <= until) {
    if (signal?.aborted) return interrupted();
    let status;
    try {
      status = await deps.node.status();
    } catch (e) {
      // A node that exited will not come up by waiting: say so now, with why.
      const error = asWatcherError(e);
      if (error.code === "node-exited") return { healthy: false, reason: error.message, exited: true };
    }
    const phase = startupPhase(status, version);
    if (status && phase === "other-version") {
      last = `the node reports version ${status.version}, not ${version}`;
      first = undefined;
    } else if (status && phase === "starting") {
      last = `the node is still syncing (height ${status.height})`; // starting: neither healthy nor failed yet
      first = undefined;
    } else if (status) {
      first ??= status.height;
      if (status.height - first >= BigInt(minHeightGain)) return { healthy: true, reason: "", height: status.height };
      last = `height stuck at ${status.height}`;
    }
    try {
      await abortable(deps.clock.sleep(probeIntervalMs), signal);
    } catch {
      return interrupted();
    }
  }
  return { healthy: false, reason: last };
}
