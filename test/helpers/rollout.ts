// The bench the end-to-end watcher tests share: a real chain with the system deployed, an artifact server, the old
// binary every node starts on, and the fleet and watcher processes a test adds, all stopped by stop(). With it, the
// single-stage manifests those tests schedule and the attestations they read back.
import { join } from "node:path";
import { keccak256, toUtf8Bytes } from "ethers";
import { Status } from "../../lib/coordinator";
import { stageRules, type StageRules } from "../../lib/manifest";
import {
  deployOn,
  makeBinary,
  serveArtifacts,
  startChain,
  tempDir,
  waitFor,
  type Chain,
  type Deployment,
  type WatcherProcess,
} from "./e2e";
import type { FleetOptions, FleetValidator } from "./fleet";

/** A binary as makeBinary writes it: its path and its SHA-256 (hex, no 0x). */
export interface Binary {
  path: string;
  sha256: string;
}

export interface RolloutBenchOptions {
  /** The version every node starts on. */
  old: string;
  /** Blocks every this many milliseconds; default: Hardhat's automine alone. */
  intervalMiningMs?: number;
  /** Where the fleet's data directories go, under the bench's directory; default: the directory itself. */
  fleetDir?: string;
}

/**
 * Set up by start() (in a `before`), torn down by stop() (in an `after`): what a test pushes to `watchers` and
 * `fleet` is stopped with it, watchers first, then nodes, the artifact server, the chain, the directory.
 */
export class RolloutBench {
  chain!: Chain;
  d!: Deployment;
  dir!: ReturnType<typeof tempDir>;
  server!: Awaited<ReturnType<typeof serveArtifacts>>;
  /** What addValidator needs: the chain, the coordinator, and the old binary every node starts on. */
  options!: FleetOptions;
  readonly watchers: WatcherProcess[] = [];
  readonly fleet: FleetValidator[] = [];

  constructor(private readonly o: RolloutBenchOptions) {}

  async start(): Promise<this> {
    this.dir = tempDir();
    this.chain = await startChain();
    this.d = await deployOn(this.chain);
    if (this.o.intervalMiningMs) await this.chain.provider.send("evm_setIntervalMining", [this.o.intervalMiningMs]);
    this.server = await serveArtifacts(this.artifactsDir);
    this.options = {
      rpcUrl: this.chain.url,
      startBlock: this.d.startBlock,
      coordinator: await this.d.coordinator.getAddress(),
      root: this.o.fleetDir ? join(this.dir.path, this.o.fleetDir) : this.dir.path,
      initial: { version: this.o.old, binary: makeBinary(join(this.dir.path, "bin"), this.o.old).path },
    };
    return this;
  }

  /** The folder the artifact server serves. */
  get artifactsDir(): string {
    return join(this.dir.path, "artifacts");
  }

  /** Writes a node binary for `version` where the artifact server serves it (makeBinary's arguments). */
  artifact(version: string, extra: Parameters<typeof makeBinary>[2] = [], fileName?: string): Binary {
    return makeBinary(this.artifactsDir, version, extra, fileName);
  }

  /** The URL the artifact server serves `binary` at. */
  uriOf(binary: Binary): string {
    return `${this.server.url}/${binary.path.split("/").pop()}`;
  }

  /**
   * Schedules upgrade `name`, from the bench's old version to `binary` (version `version`), for `v`'s cohort alone,
   * and waits for `v`'s watcher to roll it out: Ready, the stage activated, then Healthy (each within 120 s at a
   * quiet machine's pace). `explain` adds what the watcher said to a timeout. Returns the upgrade's id.
   */
  async rollOut(
    v: FleetValidator,
    name: string,
    version: string,
    binary: Binary,
    explain: (e: Error) => Error = (e) => e,
  ): Promise<number> {
    const id = await scheduleSingleStage(this.d, {
      name,
      version,
      previousVersion: this.o.old,
      uri: this.uriOf(binary),
      sha256: binary.sha256,
      cohort: v.cohort,
      rules: { readinessBps: 10_000 },
    });
    const statuses = () => attestedStatuses(this.d, v.operator.address, id);
    await waitFor("Ready", async () => (await statuses()).includes(Status.Ready), 120_000).catch((e) => {
      throw explain(e);
    });
    await (await this.d.coordinator.advance(id)).wait();
    await waitFor("Healthy", async () => (await statuses()).includes(Status.Healthy), 120_000).catch((e) => {
      throw explain(e);
    });
    return id;
  }

  async stop(signal?: NodeJS.Signals): Promise<void> {
    for (const w of this.watchers) await w.stop(signal);
    for (const v of this.fleet) await v.node.stop().catch(() => undefined);
    await this.server?.stop();
    await this.chain?.stop();
    this.dir?.cleanup();
  }
}

/** A manifest with one stage, over `cohort`, that upgrades `previousVersion` to `version` from `uri`. */
export interface SingleStage {
  name: string;
  version: string;
  previousVersion: string;
  uri: string;
  /** The binary's SHA-256, hex without 0x. */
  sha256: string;
  cohort: number;
  rules?: Partial<StageRules>;
  stateIncompatible?: boolean;
}

/** Schedules `m` through the timelock (no vote: the set-up is not about voting); returns the upgrade's id. */
export async function scheduleSingleStage(d: Deployment, m: SingleStage): Promise<number> {
  await (
    await d.coordinator.connect(d.timelockSigner).schedule({
      name: m.name,
      version: m.version,
      previousVersion: m.previousVersion,
      artifacts: [{ platform: "linux-amd64", uri: m.uri, sha256Digest: `0x${m.sha256}` }],
      featureFlags: [],
      metadataURI: "",
      manifestHash: keccak256(toUtf8Bytes(m.name)),
      stateIncompatible: m.stateIncompatible ?? false,
      stages: [stageRules(m.cohort, { observationWindow: 1, healthyBps: 5000, ...m.rules })],
    })
  ).wait();
  return Number(await d.coordinator.upgradeCount());
}

/** The statuses `operator` attested, in order: for upgrade `id`, or for every upgrade when it is left out. */
export async function attestedStatuses(d: Deployment, operator: string, id?: number): Promise<number[]> {
  const logs = await d.coordinator.queryFilter(d.coordinator.filters.Attested(id, operator));
  return logs.map((l) => Number(l.args.status));
}
