// The validators' side, as separate processes: per validator one node (the simulated node, or a real anvil with
// --node anvil: nodes.ts), started from the watcher's `current` symlink by the watcher's process adapter, and one real
// `lockstep-watcher` process with a generated config: the release build (packaging/build.ts), the package operators
// install, built once for the drill.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  REHEARSAL_REATTEST_MS,
  layoutWatcher,
  spawnWatcher,
  waitFor,
  type WatcherHealth,
  type WatcherLayout,
  type WatcherProcess,
} from "../../rehearsal/localnet";
import { builtWatcher } from "../../packaging/build";
import { ProcessNodeController, type ProcessNodeConfig } from "../../watcher/src/adapters/processNode";
import { paths as pathsOf } from "../../watcher/src/config";
import type { DrillValidator, Net } from "./network";
import type { FleetHealth } from "./rollout";
import { QUIRK_ENV, anvilArgs, simNode, type DrillNode } from "./nodes";

export { QUIRK_ENV };

export interface Fleet {
  kind: string;
  /** The health rules its watchers run with, once started (they grow with the measured start-up). */
  health?: FleetHealth;
  /** The version each validator's node reports now (undefined: not answering). */
  versions(): Promise<(string | undefined)[]>;
  /** Every process the fleet started that is still alive (for the "nothing left running" check). */
  alive(): number[];
  stop(): Promise<void>;
}

/** The watchers' re-attestation interval under `health` (the rehearsal layout's when it is not set). */
export const reattestOf = (health: WatcherHealth): number => health.reattestIntervalMs ?? REHEARSAL_REATTEST_MS;

export interface FleetSettings {
  root: string;
  initial: { version: string; binary: string };
  /** How long the drill took to start: the machine's pace, for the limit on the nodes' start. */
  startupMs?: number;
  /** The rehearsal's health rules; deadlineMs and unhealthyAfterMs grow with the nodes' measured start-up. */
  health: WatcherHealth;
}

export class ProcessFleet implements Fleet {
  readonly kind: string;
  private layouts: WatcherLayout[] = [];
  /** Each validator's node, controlled as its watcher's process adapter controls it. */
  private nodes: ProcessNodeController[] = [];
  private watchers: WatcherProcess[] = [];
  private nodePids: number[] = [];
  /** How long the nodes took to start and answer, all at once, at the fleet's start. */
  startupMs = 0;
  health?: FleetHealth;

  constructor(
    private readonly net: Net,
    private readonly validators: DrillValidator[],
    private readonly s: FleetSettings,
    private readonly node: DrillNode = simNode,
  ) {
    this.kind = `a real watcher process (the release build) and ${node.what} per validator`;
  }

  async start(onProgress: (text: string) => void) {
    onProgress("building the watcher release");
    const release = builtWatcher();
    onProgress(`watcher release built (${(release.bytes / 1e6).toFixed(1)} MB bundle)`);
    for (const v of this.validators) {
      this.layouts.push(
        await layoutWatcher({
          name: v.name,
          root: this.s.root,
          rpcUrl: this.net.chain.url,
          coordinator: this.net.addresses.coordinator,
          startBlock: this.net.startBlock,
          operator: v.operator.address,
          initial: this.s.initial,
          health: this.s.health,
          nodeEnv: v.cohort === 2 ? { [QUIRK_ENV]: "1" } : {},
          logLevel: "info",
        }),
      );
    }
    this.nodes = this.layouts.map((l) => (this.node.kind === "anvil" ? anvilController(l) : l.node));
    const started = Date.now();
    await Promise.all(this.nodes.map((n) => n.start()));
    this.nodePids = this.layouts.map((l) => pidOf(l));
    const initial = this.node.reportOf(this.s.initial.version);
    await waitFor(
      "every node to report its version",
      async () => {
        const versions = await this.versions();
        onProgress(`${versions.filter((x) => x === initial).length}/${versions.length} nodes up on ${initial}`);
        return versions.every((x) => x === initial);
      },
      Math.max(60_000, 10 * (this.s.startupMs ?? 0)),
      250,
    );
    this.startupMs = Date.now() - started;
    // The nodes' start-up on this machine now sets how long an upgraded node gets to come up healthy, and how long
    // a node may go without a new block before it counts as unhealthy (a busy machine starves a healthy node too).
    const { deadlineMs, unhealthyAfterMs = 2_000 } = this.s.health;
    const health = {
      deadlineMs: Math.max(deadlineMs, this.node.kind === "anvil" ? 15_000 : 0, 2 * this.startupMs),
      unhealthyAfterMs: Math.max(unhealthyAfterMs, this.startupMs),
    };
    this.health = { unhealthyAfterMs: health.unhealthyAfterMs, reattestIntervalMs: reattestOf(this.s.health) };
    for (const l of this.layouts) {
      const config = JSON.parse(readFileSync(l.configPath, "utf8"));
      config.health = { ...config.health, ...health };
      writeFileSync(l.configPath, JSON.stringify(config, null, 2));
    }
    this.validators.forEach((v, i) =>
      this.watchers.push(spawnWatcher(this.layouts[i].configPath, { [this.layouts[i].keyEnv]: v.attester.privateKey })),
    );
    await waitFor(
      "every watcher to start",
      async () => {
        const up = await Promise.all(
          this.layouts.map((l) =>
            fetch(`http://127.0.0.1:${l.metricsPort}/healthz`).then(
              (r) => r.status < 500,
              () => false,
            ),
          ),
        );
        const dead = this.watchers.find((w) => w.child.exitCode !== null);
        if (dead) throw new Error(`a watcher exited: ${dead.output().slice(-500)}`);
        onProgress(`${up.filter(Boolean).length}/${up.length} watchers up`);
        return up.every(Boolean);
      },
      Math.max(90_000, 3 * this.startupMs),
      300,
    );
  }

  /** What each node answers now: the simulated node's version, anvil's web3_clientVersion. */
  async versions() {
    // A node gets as long to answer as the fleet's nodes took to start together, a second at least.
    return Promise.all(this.layouts.map((l) => this.node.report(l.port, Math.max(1_000, this.startupMs))));
  }

  /** Watchers that died on their own (a crash is a failed expectation, not something to hide). */
  crashedWatchers(): string[] {
    return this.watchers.flatMap((w, i) =>
      w.child.exitCode !== null ? [`${this.validators[i].name}: ${w.output().slice(-300)}`] : [],
    );
  }

  alive(): number[] {
    const pids = [
      ...this.watchers.map((w) => w.child.pid!).filter(Boolean),
      ...this.layouts.map(pidOf).filter((p) => p > 0),
      ...this.nodePids,
    ];
    return [...new Set(pids)].filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
  }

  async stop() {
    await Promise.all(this.watchers.map((w) => w.stop()));
    this.watchers.forEach((w, i) =>
      writeFileSync(join(this.s.root, this.validators[i].name, "watcher.log"), w.output()),
    );
    await Promise.all(this.nodes.map((n) => n.stop().catch(() => undefined)));
  }
}

/**
 * Makes a laid-out validator's node a real anvil: the watcher's config gets the ethereum-execution probe on the node's
 * port, anvil's arguments, and room for a real release (anvil is some 45 MB); returns the controller for it.
 */
function anvilController(l: WatcherLayout): ProcessNodeController {
  const config = JSON.parse(readFileSync(l.configPath, "utf8"));
  const node: ProcessNodeConfig = {
    adapter: "process",
    probe: { type: "ethereum-execution", url: `http://127.0.0.1:${l.port}`, timeoutMs: 2_000 },
    stateDir: l.stateDir,
    binaryName: "node",
    args: anvilArgs(l.port),
    env: config.node.env,
  };
  config.node = node;
  config.artifacts.maxBytes = 256 * 1024 * 1024;
  writeFileSync(l.configPath, JSON.stringify(config, null, 2));
  return new ProcessNodeController(node, pathsOf({ dataDir: l.dataDir }), { stopTimeoutMs: 5_000 });
}

function pidOf(l: WatcherLayout): number {
  try {
    const text = readFileSync(join(l.dataDir, "node.pid"), "utf8");
    return Number(text.trim().split(/\s+/)[0]) || 0; // "<pid> <start time>"
  } catch {
    return 0;
  }
}
