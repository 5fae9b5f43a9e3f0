// Wires the watcher once: the real adapter behind every port, built from the configuration. Any port can be
// overridden (tests, the in-process drill, --dry-run); what is not overridden is the real thing.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { createWalletClient, type LocalAccount } from "viem";
import { Attester } from "./adapters/attester";
import { ViemLeases } from "./adapters/leases";
import { BinaryStore } from "./adapters/binaries";
import { CommandNodeController } from "./adapters/commandNode";
import { HttpDownloader } from "./adapters/downloader";
import { cosmovisorLayout } from "./adapters/layouts";
import { loadAttesterKey } from "./adapters/keys";
import { ProcessNodeController } from "./adapters/processNode";
import { RPC_TIMEOUT_MS, ViemChainReader, connect } from "./adapters/viemChain";
import { rpcTransport } from "./adapters/rpcTransport";
import { paths as pathsOf, type Paths, type WatcherConfig } from "./config";
import { KillPoints } from "./faults";
import { SqliteJournal } from "./journal/sqlite";
import { createLogger, type Logger } from "./log";
import { Metrics } from "./metrics";
import { NOTIFY_DEFAULTS, Notifier, type Notify } from "./notify";
import type {
  Binaries,
  ChainReader,
  ChainWriter,
  Clock,
  Downloader,
  Hex,
  Journal,
  NodeController,
  RestartLeases,
} from "./ports";
import { Runtime, type RuntimeDeps } from "./runtime";

export const systemClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

/** Ports to use instead of the real adapters. */
export interface Overrides {
  chain?: ChainReader;
  writer?: ChainWriter;
  /** Restart leases (default: taken by the attester key, unless `writer` is overridden: then none, unless given). */
  leases?: RestartLeases;
  /** The attester key (instead of loading `validator.attesterKey`); the default writer signs with it. */
  account?: LocalAccount;
  /** A node controller, or a function making one from the watcher's paths and binary store. */
  node?: NodeController | ((context: { paths: Paths; binaries: Binaries }) => NodeController);
  downloader?: Downloader;
  binaries?: Binaries;
  clock?: Clock;
  journal?: Journal;
  /** The base logger; the watcher logs through a child naming its operator. */
  logger?: Logger;
  metrics?: Metrics;
  /** Where notifications go (default: the webhooks of `notify`, or none). */
  notify?: Notify;
  kill?: KillPoints;
}

/** A wired watcher: its runtime, the ports it runs on, and `close()` to release the journal. */
export interface Watcher {
  runtime: Runtime;
  deps: RuntimeDeps;
  close(): void;
}

export async function build(config: WatcherConfig, overrides: Overrides = {}): Promise<Watcher> {
  const binaryName = config.node.adapter === "process" ? config.node.binaryName : "node";
  const paths = pathsOf(config, binaryName);
  mkdirSync(paths.root, { recursive: true });
  const logger = overrides.logger ?? createLogger(config.log.level);
  const clock = overrides.clock ?? systemClock;
  const coordinator = config.chain.coordinator as Hex;
  const operator = config.validator.operator as Hex;
  const client = connect(config.chain.rpcUrl); // makes no request until a port uses it
  const account = overrides.account ?? (await loadAttesterKey(config.validator.attesterKey));
  const binaries =
    overrides.binaries ??
    new BinaryStore(
      paths,
      config.cosmovisor && config.layout === "cosmovisor" ? cosmovisorLayout(config.cosmovisor) : undefined,
      {
        maxBytes: config.artifacts.maxExtractedBytes,
        maxEntries: config.artifacts.maxArchiveEntries,
      },
    );
  const kill = overrides.kill ?? new KillPoints(join(paths.root, "drill"));
  const node =
    typeof overrides.node === "function"
      ? overrides.node({ paths, binaries })
      : (overrides.node ??
        (config.node.adapter === "process"
          ? new ProcessNodeController(config.node, paths, { kill })
          : new CommandNodeController(config.node, paths, {
              cosmovisor: config.layout === "cosmovisor" ? config.cosmovisor : undefined,
            })));
  const journal = overrides.journal ?? new SqliteJournal(paths.journal);
  const wallet = createWalletClient({
    account,
    transport: rpcTransport(config.chain.rpcUrl, { timeoutMs: RPC_TIMEOUT_MS }),
  });
  const writer =
    overrides.writer ??
    new Attester({
      wallet,
      client,
      coordinator,
      operator,
      chainId: config.chain.chainId,
      relay: config.relay,
      clock,
      logger,
      // An overriding journal (--dry-run's in-memory one) may not keep an outbox: then retries sign anew.
      outbox: journal instanceof SqliteJournal ? journal : undefined,
      kill,
    });
  const metrics = overrides.metrics ?? new Metrics();
  const log = logger.child({ operator });
  const notify =
    overrides.notify ??
    new Notifier(config.notify ?? { webhooks: [], ...NOTIFY_DEFAULTS }, {
      metrics,
      log,
      operator,
      now: () => clock.now(),
    });
  const deps: RuntimeDeps = {
    config,
    paths,
    chain: overrides.chain ?? new ViemChainReader(client, coordinator, operator),
    writer,
    // The lease is the attester key's transaction: a replaced writer (a fake) takes none unless given leases.
    leases: overrides.leases ?? (overrides.writer ? undefined : new ViemLeases({ wallet, client, coordinator, kill })),
    node,
    downloader: overrides.downloader ?? new HttpDownloader(config.artifacts),
    binaries,
    clock,
    log,
    journal,
    metrics,
    notify,
    attester: account.address,
    kill,
  };
  return { runtime: new Runtime(deps), deps, close: () => journal.close() };
}
