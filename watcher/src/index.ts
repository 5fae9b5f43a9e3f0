// The watcher's entry points: run it, or say what it would do (--dry-run). build.ts wires it.
import { build } from "./build";
import type { WatcherConfig } from "./config";
import { describeEffect } from "./describe";
import { fatal } from "./errors";
import { SqliteJournal } from "./journal/sqlite";
import { lockDataDir } from "./lock";

/** Runs the watcher until SIGTERM/SIGINT (or one round with `once`); returns the exit code. */
export async function startWatcher(config: WatcherConfig, options: { once?: boolean } = {}): Promise<number> {
  // Before anything opens the journal: a second watcher on this data directory stops here.
  const lock = lockDataDir(config.dataDir);
  try {
    return await run(config, options);
  } finally {
    lock.release();
  }
}

async function run(config: WatcherConfig, options: { once?: boolean }): Promise<number> {
  const { runtime, deps, close } = await build(config);
  // A step in progress counts as alive for as long as its slowest part may take: a download, then the start-up.
  const stepLimitMs = config.artifacts.totalTimeoutMs + config.health.deadlineMs + config.chain.pollIntervalMs * 10;
  const server = await deps.metrics.serve(
    config.metrics.host,
    config.metrics.port,
    config.chain.pollIntervalMs * 10,
    Date.now,
    stepLimitMs,
  );
  deps.log.info(
    {
      chainId: config.chain.chainId,
      coordinator: config.chain.coordinator,
      metrics: `${config.metrics.host}:${config.metrics.port}`,
    },
    "watcher starting",
  );
  const stop = () => runtime.stop();
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
  try {
    if (options.once) {
      await runtime.checkChain();
      await runtime.tick();
    } else {
      await runtime.run();
    }
    deps.log.info("watcher stopped");
    return 0;
  } finally {
    server.close();
    await deps.notify.close(); // a last notice gets a moment to go out; a dead webhook does not hold the exit
    close();
  }
}

/** What the watcher would do for the current chain state, one line per action; touches neither node nor journal. */
export async function dryRun(config: WatcherConfig): Promise<string[]> {
  const { runtime, deps, close } = await build(
    { ...config, log: { level: "warn" } },
    { journal: new SqliteJournal(":memory:") },
  );
  let effects, state;
  try {
    await runtime.checkChain();
    effects = await runtime.plan();
    state = runtime.state();
  } finally {
    close();
  }
  if (!effects.length) return ["nothing to do: no upgrade asks anything of this validator now"];
  return effects.map((effect) => {
    const job = state.jobs[String(effect.upgradeId)];
    if (!job) throw fatal("dry-run", `no job for upgrade ${effect.upgradeId}`);
    return `would ${describeEffect(effect, job, deps.paths)}`;
  });
}
