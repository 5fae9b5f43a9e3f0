// The validators' side, as separate processes: per validator one simulated node (the "binary", started from the
// watcher's `current` symlink) and one real `lockstep-watcher` process with a generated config: the release build
// (packaging/build.ts), the package operators install, built once for the drill.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  layoutWatcher,
  nodeStatusAt,
  spawnWatcher,
  waitFor,
  type WatcherLayout,
  type WatcherProcess,
} from "../../rehearsal/localnet";
import { builtWatcher } from "../../packaging/build";
import type { DrillValidator, Net } from "./network";

/** Set in the environment of the early cohort's nodes: the trigger of the second upgrade's bug. */
export const QUIRK_ENV = "LOCKSTEP_DRILL_EARLY_COHORT";

export interface Fleet {
  kind: string;
  /** The version each validator's node reports now (undefined: not answering). */
  versions(): Promise<(string | undefined)[]>;
  /** Every process the fleet started that is still alive (for the "nothing left running" check). */
  alive(): number[];
  stop(): Promise<void>;
}

export interface FleetSettings {
  root: string;
  initial: { version: string; binary: string };
  health: {
    deadlineMs: number;
    probeIntervalMs: number;
    minHeightGain: number;
    observeIntervalMs: number;
    unhealthyAfterMs?: number;
    reattestIntervalMs?: number;
  };
}

export class ProcessFleet implements Fleet {
  readonly kind = "a real watcher process (the release build) and a simulated node process per validator";
  private layouts: WatcherLayout[] = [];
  private watchers: WatcherProcess[] = [];
  private nodePids: number[] = [];

  constructor(
    private readonly net: Net,
    private readonly validators: DrillValidator[],
    private readonly s: FleetSettings,
  ) {}

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
    await Promise.all(this.layouts.map((l) => l.node.start()));
    this.nodePids = this.layouts.map((l) => pidOf(l));
    await waitFor(
      "every node to report its version",
      async () => {
        const versions = await this.versions();
        onProgress(
          `${versions.filter((x) => x === this.s.initial.version).length}/${versions.length} nodes up on ${this.s.initial.version}`,
        );
        return versions.every((x) => x === this.s.initial.version);
      },
      60_000,
      250,
    );
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
      90_000,
      300,
    );
  }

  async versions() {
    return Promise.all(this.layouts.map(async (l) => (await nodeStatusAt(l.port))?.version));
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
    await Promise.all(this.layouts.map((l) => l.node.stop().catch(() => undefined)));
  }
}

function pidOf(l: WatcherLayout): number {
  try {
    const text = readFileSync(join(l.dataDir, "node.pid"), "utf8");
    return Number(text.trim().split(/\s+/)[0]) || 0; // "<pid> <start time>"
  } catch {
    return 0;
  }
}
