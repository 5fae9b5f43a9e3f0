// Wires the real adapters into the runtime, once.
import { mkdirSync } from "node:fs";
import { createWalletClient, http } from "viem";
import { paths as pathsOf, type WatcherConfig } from "./config";
import { Attester } from "./adapters/attester";
import { BinaryStore } from "./adapters/binaries";
import { CommandNodeController } from "./adapters/commandNode";
import { HttpDownloader } from "./adapters/downloader";
import { loadAttesterKey } from "./adapters/keys";
import { ProcessNodeController } from "./adapters/processNode";
import { ViemChainReader, connect } from "./adapters/viemChain";
import { fatal } from "./errors";
import { SqliteJournal } from "./journal/sqlite";
import { createLogger } from "./log";
import { Metrics } from "./metrics";
import type { Clock, Hex, NodeController } from "./ports";
import { Runtime, type RuntimeDeps } from "./runtime";
import { describeEffect } from "./describe";
import { KillPoints } from "./faults";
import { join } from "node:path";

const systemClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

async function build(config: WatcherConfig, journalPath?: string): Promise<RuntimeDeps> {
  const binaryName = config.node.adapter === "process" ? config.node.binaryName : "node";
  const paths = pathsOf(config, binaryName);
  mkdirSync(paths.root, { recursive: true });
  const log = createLogger(config.log.level);
  const client = connect(config.chain.rpcUrl);
  const coordinator = config.chain.coordinator as Hex;
  const operator = config.validator.operator as Hex;
  const chain = new ViemChainReader(client, coordinator, operator);
  const account = await loadAttesterKey(config.validator.attesterKey);
  const wallet = createWalletClient({
    account,
    transport: http(config.chain.rpcUrl, { retryCount: 0, timeout: 15_000 }),
  });
  const writer = new Attester({
    wallet,
    client,
    coordinator,
    operator,
    chainId: config.chain.chainId,
    relay: config.relay,
    clock: systemClock,
    logger: log,
  });
  const node: NodeController =
    config.node.adapter === "process"
      ? new ProcessNodeController(config.node, paths)
      : new CommandNodeController(config.node, paths);
  return {
    config,
    paths,
    chain,
    writer,
    node,
    downloader: new HttpDownloader({ allowInsecureHttp: config.artifacts.allowInsecureHttp }),
    binaries: new BinaryStore(paths),
    clock: systemClock,
    log: log.child({ operator }),
    journal: new SqliteJournal(journalPath ?? paths.journal),
    metrics: new Metrics(),
    attester: account.address,
    kill: new KillPoints(join(paths.root, "drill")),
  };
}

/** Runs the watcher until SIGTERM/SIGINT (or one round with `once`); returns the exit code. */
export async function startWatcher(config: WatcherConfig, options: { once?: boolean } = {}): Promise<number> {
  const deps = await build(config);
  const runtime = new Runtime(deps);
  const server = await deps.metrics.serve(config.metrics.host, config.metrics.port, config.chain.pollIntervalMs * 10);
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
    deps.journal.close();
  }
}

/** What the watcher would do for the current chain state, one line per action; touches neither node nor journal. */
export async function dryRun(config: WatcherConfig): Promise<string[]> {
  const deps = await build({ ...config, log: { level: "warn" } }, ":memory:");
  const runtime = new Runtime(deps);
  await runtime.checkChain();
  const effects = await runtime.plan();
  const state = runtime.state();
  deps.journal.close();
  if (!effects.length) return ["nothing to do: no upgrade asks anything of this validator now"];
  return effects.map((effect) => {
    const job = state.jobs[String(effect.upgradeId)];
    if (!job) throw fatal("dry-run", `no job for upgrade ${effect.upgradeId}`);
    return `would ${describeEffect(effect, job, deps.paths)}`;
  });
}
