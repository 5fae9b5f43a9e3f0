// The scaled rehearsal (--in-process): every validator's watcher runs in this process. Each one is the watcher as
// build() wires it (state machine, event follower, SQLite journal, artifact download and digest check, binary
// store with its `current` symlink, attestations signed by its own attester key and sent as transactions);
// only the node is a fake (a NodeController in memory), and the validators share one cached view of the
// chain's head and logs, as a fleet behind one RPC provider would.
import { copyFileSync, mkdirSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import type { Log } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { ViemChainReader, connect } from "../../watcher/src/adapters/viemChain";
import { build, type Watcher } from "../../watcher/src/build";
import { parseConfig, paths as pathsOf } from "../../watcher/src/config";
import { createLogger } from "../../watcher/src/log";
import { Metrics } from "../../watcher/src/metrics";
import type { Binaries, ChainReader, Hex, NodeController, NodeStatus } from "../../watcher/src/ports";
import { reattestOf, type Fleet, type FleetSettings } from "./fleet";
import type { DrillValidator, Net } from "./network";
import type { FaultKind } from "./options";
import type { FleetHealth } from "./rollout";

/** A node in memory: runs the version `current` names when started; height grows every 100 ms unless a fault says otherwise. */
export class FakeNode implements NodeController {
  private running?: { version: string; startedAt: number; base: number };
  private height = 0;

  constructor(
    private readonly binaries: Binaries,
    private readonly fault: (version: string) => FaultKind,
  ) {}

  async start() {
    if (this.running) return;
    const version = await this.binaries.active();
    if (!version) throw new Error("the fake node has no active binary");
    this.running = { version, startedAt: Date.now(), base: this.height };
  }

  async stop() {
    this.height = this.currentHeight();
    this.running = undefined;
  }

  async status(): Promise<NodeStatus | undefined> {
    const r = this.running;
    if (!r) return undefined;
    const fault = this.fault(r.version);
    if (fault === "crash" && Date.now() - r.startedAt > 500) {
      await this.stop();
      return undefined;
    }
    return {
      version: fault === "wrong-version" ? `${r.version}-wrong` : r.version,
      height: BigInt(this.currentHeight()),
    };
  }

  private currentHeight() {
    const r = this.running;
    if (!r || this.fault(r.version) === "stall") return this.height;
    return r.base + Math.floor((Date.now() - r.startedAt) / 100);
  }

  // The fake node keeps no state on disk to copy aside: snapshots are no-ops (the drill's upgrades are state-compatible).
  async snapshot() {}
  async restore() {}

  version(): string | undefined {
    return this.running?.version;
  }
}

/** One chain view shared by every in-process watcher: the head, blocks and log pages cached briefly. */
class SharedChain {
  private cache = new Map<string, { at: number; value: Promise<unknown> }>();
  constructor(private readonly base: ViemChainReader) {}

  private cached<T>(key: string, ttlMs: number, load: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < ttlMs) return hit.value as Promise<T>;
    const value = load();
    this.cache.set(key, { at: Date.now(), value });
    value.catch(() => this.cache.delete(key));
    if (this.cache.size > 5_000) this.cache.clear();
    return value;
  }

  for(own: ViemChainReader): ChainReader {
    return {
      chainId: () => this.cached("chainId", 60_000, () => this.base.chainId()),
      code: (address) => this.cached(`code:${address}`, 60_000, () => this.base.code(address)),
      block: (n) =>
        n === undefined
          ? this.cached("head", 150, () => this.base.block())
          : this.cached(`block:${n}`, 1_000, () => this.base.block(n)),
      coordinatorLogs: (from, to) =>
        this.cached<Log[]>(`logs:${from}:${to}`, 2_000, () => this.base.coordinatorLogs(from, to)),
      assignment: (id) => own.assignment(id),
      registration: () => own.registration(),
    };
  }
}

export class InProcessFleet implements Fleet {
  readonly kind = "every validator's watcher runtime in this process, fake nodes";
  private nodes: FakeNode[] = [];
  private watchers: Watcher[] = [];
  private runs: Promise<void>[] = [];
  private crashed: string[] = [];
  /** How long building every watcher runtime took: the pace for the limit on their stop. */
  private startupMs = 0;
  health?: FleetHealth;

  constructor(
    private readonly net: Net,
    private readonly validators: DrillValidator[],
    private readonly s: FleetSettings & { faultyVersion?: string; fault: FaultKind },
  ) {}

  async start(onProgress: (text: string) => void) {
    const url = this.net.chain.url;
    const client = connect(url);
    const coordinator = this.net.addresses.coordinator as Hex;
    const shared = new SharedChain(new ViemChainReader(client, coordinator, coordinator));
    const log = createLogger("silent", false);
    const started = Date.now();
    // Every runtime shares this process's event loop with the others: on a busy machine a probe round comes late, so
    // the deadline to come up healthy and the time without a new block grow with the drill's measured start-up.
    const startupMs = Math.ceil(this.s.startupMs ?? 0); // the config takes whole milliseconds
    const health = {
      ...this.s.health,
      deadlineMs: Math.max(this.s.health.deadlineMs, 2 * startupMs),
      unhealthyAfterMs: Math.max(this.s.health.unhealthyAfterMs ?? 2_000, startupMs),
    };
    this.health = { unhealthyAfterMs: health.unhealthyAfterMs, reattestIntervalMs: reattestOf(this.s.health) };
    for (const v of this.validators) {
      const dataDir = join(this.s.root, v.name, "watcher");
      const p = pathsOf({ dataDir });
      mkdirSync(join(p.version(this.s.initial.version), "bin"), { recursive: true });
      copyFileSync(this.s.initial.binary, p.binary(this.s.initial.version));
      symlinkSync(join("versions", this.s.initial.version), p.current);
      const config = parseConfig({
        chain: {
          rpcUrl: url,
          chainId: 31337,
          coordinator,
          startBlock: this.net.startBlock,
          confirmations: 1,
          pollIntervalMs: 500,
          pageSize: 500,
        },
        validator: { operator: v.operator.address, attesterKey: { env: "UNUSED_IN_PROCESS" } },
        dataDir,
        node: {
          adapter: "command",
          statusUrl: "http://127.0.0.1:1/status",
          stateDir: join(this.s.root, v.name, "state"),
          commands: { start: "true", stop: "true" },
        },
        health,
        artifacts: { maxBytes: 10_000_000, allowInsecureHttp: true },
        // A watcher's retry backoff doubles up to 5 minutes by default, longer than the keeper's window without
        // progress (90 s and up): on a busy machine every runtime here can fail one RPC round at once and back off
        // together, and the keeper would give up while they all sleep. A rehearsal retries at least every 30 s.
        retry: { backoffCapMs: 30_000 },
      });
      const faulty = v.cohort === 2 && this.s.fault !== "none";
      const operator = v.operator.address as Hex;
      const watcher = await build(config, {
        chain: shared.for(new ViemChainReader(client, coordinator, operator)),
        account: privateKeyToAccount(v.attester.privateKey as Hex),
        node: ({ binaries }) =>
          new FakeNode(binaries, (version) => (faulty && version === this.s.faultyVersion ? this.s.fault : "none")),
        logger: log,
        metrics: new Metrics(false),
      });
      const node = watcher.deps.node as FakeNode;
      await node.start();
      this.nodes.push(node);
      this.watchers.push(watcher);
    }
    this.startupMs = Date.now() - started;
    onProgress(
      `${this.validators.length} fake nodes on ${this.s.initial.version}; starting ${this.validators.length} watcher runtimes in this process`,
    );
    this.runs = this.watchers.map(({ runtime }, i) =>
      runtime.run().catch((e: Error) => {
        this.crashed.push(`${this.validators[i].name}: ${e.message}`);
      }),
    );
  }

  async versions() {
    return this.nodes.map((n) => n.version());
  }

  crashedWatchers() {
    return this.crashed;
  }

  alive(): number[] {
    return [];
  }

  async stop() {
    for (const w of this.watchers) w.runtime.stop();
    const graceMs = Math.max(15_000, this.startupMs);
    await Promise.race([Promise.all(this.runs), new Promise((r) => setTimeout(r, graceMs).unref())]);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }
}
