import { readFile, rm } from "node:fs/promises";
import { keccak256, toHex } from "viem";
import type { WatcherConfig, Paths } from "./config";
import type { AttestStatus, Effect, Job, MachineEvent } from "./machine/types";
import { startupPhase } from "./machine/health";
import type { Binaries, ChainReader, ChainWriter, Clock, Downloader, Hex, NodeController } from "./ports";
import { WatcherError, fatal, fsCall } from "./errors";
import { ManifestError, manifestHashOfText, parseArtifactUri } from "../../lib/manifest";
import type { Logger } from "./log";
import { runUpgradeHooks } from "./adapters/hooks";
import type { KillPoints } from "./faults";

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
  /** Crash-drill points (tests and rehearsals); absent in normal runs. */
  kill?: KillPoints;
}

/**
 * Carries out one effect and reports its outcome as a fact for the machine (or nothing, for attestations).
 * Every executor first checks whether its work is already done, so running it again after a crash at any point
 * ends in the same place and never repeats what must not be repeated (a second swap, a second attestation).
 * Retryable failures are thrown for the runtime to retry; a failure that retrying cannot fix becomes a fact.
 */
export async function execute(effect: Effect, job: Job, deps: ExecutorDeps): Promise<MachineEvent | undefined> {
  const upgradeId = effect.upgradeId;
  switch (effect.kind) {
    case "prepare":
      return prepare(job, deps);
    case "attest":
      await attest(job, effect.status, deps);
      return undefined;
    case "upgrade":
      return upgrade(job, deps);
    case "rollbackLocally":
      await fallBack(job, job.manifest.stateIncompatible, deps);
      return { type: "RolledBackLocally", upgradeId };
    case "restore":
      await fallBack(job, effect.restoreState, deps);
      return { type: "Restored", upgradeId };
    case "discard":
      if ((await deps.binaries.active()) !== job.manifest.version) await deps.binaries.discard(job.manifest.version);
      await fsCall("remove", deps.paths.download(upgradeId), () => rm(deps.paths.download(upgradeId), { force: true }));
      return { type: "Discarded", upgradeId };
  }
}

async function prepare(job: Job, deps: ExecutorDeps): Promise<MachineEvent> {
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
    const { sha256 } = await deps.downloader.fetch(uri, file, deps.config.artifacts.maxBytes);
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

async function attest(job: Job, status: AttestStatus, deps: ExecutorDeps) {
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
  });
  deps.kill?.hit("attest:sent");
  deps.log.info({ upgrade: upgradeId, stage, status, via: result.via, reference: result.reference }, "attested");
}

/** Stop, snapshot, swap, start, then wait for the new version to report itself and produce blocks. */
async function upgrade(job: Job, deps: ExecutorDeps): Promise<MachineEvent> {
  const { upgradeId, manifest } = job;
  const log = deps.log.child({ upgrade: upgradeId, version: manifest.version });
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
  if ((await deps.binaries.active()) !== manifest.version) {
    const before = await deps.node.status().catch(() => undefined); // the height the upgrade takes effect at
    const upgrade = { name: manifest.name, version: manifest.version, height: before?.height ?? 0n };
    const aborted = await runUpgradeHooks(deps.config.hooks, upgrade, deps.clock, (m) => log.warn(m));
    if (aborted) {
      log.error({ reason: aborted }, "an upgrade hook said no: the node is not touched");
      return { type: "UpgradeFailed", upgradeId, reason: aborted };
    }
    // Stopped first, so the snapshot is a consistent copy of the state the old version left.
    log.info("stopping the node to snapshot its state and swap its binary");
    await deps.node.stop();
    deps.kill?.hit("upgrade:stopped");
    await deps.node.snapshot(snapshotTag(upgradeId));
    deps.kill?.hit("upgrade:snapshotted");
    const refused = await deps.binaries.activate(manifest.version, digest).then(
      () => undefined,
      (e: unknown) => asNotRetryable(e),
    );
    if (refused) {
      log.error({ reason: refused }, "the staged build changed before the swap: not switched");
      return { type: "UpgradeFailed", upgradeId, reason: refused };
    }
    deps.kill?.hit("upgrade:swapped");
    const info = planInfo(manifest.artifact!);
    await deps.binaries.recordUpgrade?.({ name: manifest.name, height: before?.height ?? 0n, info });
  }
  await deps.node.start();
  deps.kill?.hit("upgrade:node-started");
  const outcome = await waitHealthy(manifest.version, deps);
  if (outcome.healthy) {
    deps.kill?.hit("upgrade:healthy");
    log.info({ height: outcome.height?.toString() }, "upgraded and healthy");
    return { type: "Upgraded", upgradeId };
  }
  log.error({ reason: outcome.reason }, "the new binary never came up healthy");
  return { type: "UpgradeFailed", upgradeId, reason: outcome.reason };
}

/** Back to the previous version (and the pre-upgrade state when asked), then wait for it to run. */
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
    await deps.node.stop();
    if (restoreState) await deps.node.restore(snapshotTag(upgradeId));
    await deps.binaries.activate(manifest.previousVersion);
  }
  await deps.node.start();
  const outcome = await waitHealthy(manifest.previousVersion, deps);
  if (outcome.healthy) log.info("back on the previous version and healthy");
  else log.error({ reason: outcome.reason }, "back on the previous version, but it is not healthy");
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
 * from the first reading after it stopped syncing) before the deadline.
 */
export async function waitHealthy(
  version: string,
  deps: Pick<ExecutorDeps, "node" | "clock" | "config">,
): Promise<{ healthy: boolean; reason: string; height?: bigint }> {
  const { deadlineMs, probeIntervalMs, minHeightGain } = deps.config.health;
  const until = deps.clock.now() + deadlineMs;
  let first: bigint | undefined;
  let last = "the node never answered";
  while (deps.clock.now() <= until) {
    const status = await deps.node.status().catch(() => undefined);
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
    await deps.clock.sleep(probeIntervalMs);
  }
  return { healthy: false, reason: last };
}
