// The coordinator exporter: serves a network's coordinator state (upgrades, stage tallies and deadlines, pauses,
// the restart budget and leases) as Prometheus metrics, so alerting works without a browser:
//   npm run exporter -- --network <name> [--rpc URL] [--host 127.0.0.1] [--port 9465] [--poll-ms 5000]
//                       [--confirmations 0] [--deployments DIR]
// It reads the chain only (logs, block headers, one view); it holds no key and sends nothing.
import { createServer } from "node:http";
import { createPublicClient, http, type PublicClient } from "viem";
import { collectDefaultMetrics, Registry } from "prom-client";
import {
  SERVICE_DEFAULTS,
  parseServiceOptions,
  serviceDeployment,
  wholeNumber,
  type ServiceOptions,
} from "../../lib/cliOptions";
import { CoordinatorFollower, type CoordinatorSnapshot } from "./coordinator";
import { coordinatorRegistry, type ExporterStatus } from "./metrics";

interface Options extends ServiceOptions {
  confirmations: number;
}

export function parseArgs(argv: string[]): Options {
  return parseServiceOptions<Options>(
    argv,
    { ...SERVICE_DEFAULTS, port: 9465, pollMs: 5_000, confirmations: 0 },
    {
      flags: { "--confirmations": (o, v) => (o.confirmations = wholeNumber(v)) },
      check: (o) => (Number.isInteger(o.confirmations) ? [] : ["--confirmations must be a whole number, at least 0"]),
    },
  );
}

async function main() {
  let o: Options;
  let deployment;
  try {
    o = parseArgs(process.argv.slice(2));
    deployment = serviceDeployment(o);
  } catch (e) {
    console.error(`exporter: ${(e as Error).message}`);
    process.exit(2);
  }
  const client = createPublicClient({ transport: http(o.rpc, { retryCount: 1, timeout: 10_000 }) }) as PublicClient;
  const chainId = await client.getChainId().catch((e: Error) => {
    console.error(`exporter: the RPC ${o.rpc} does not answer: ${e.message.split("\n")[0]}`);
    process.exit(1);
  });
  if (chainId !== deployment.chainId) {
    console.error(`exporter: the RPC serves chain ${chainId}, the deployments file is for chain ${deployment.chainId}`);
    process.exit(1);
  }
  const follower = new CoordinatorFollower({
    client,
    coordinator: deployment.contracts.UpgradeCoordinator as `0x${string}`,
    startBlock: BigInt(deployment.startBlock),
    governance: deployment.contracts.LockstepTimelock,
    confirmations: o.confirmations,
  });

  const process_ = new Registry();
  collectDefaultMetrics({ register: process_ });
  const status: ExporterStatus = { lastRefreshMs: 0, refreshErrors: 0 };
  let snapshot: CoordinatorSnapshot | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const refresh = async () => {
    try {
      snapshot = await follower.refresh();
      status.lastRefreshMs = Date.now();
    } catch (e) {
      status.refreshErrors++;
      console.error(`exporter: refresh failed: ${(e as Error).message.split("\n")[0]}`);
    }
    if (!stopped) timer = setTimeout(refresh, o.pollMs);
  };
  await refresh();

  const server = createServer(async (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/metrics") {
      const merged = Registry.merge([process_, coordinatorRegistry(snapshot, status)]);
      res.writeHead(200, { "content-type": merged.contentType }).end(await merged.metrics());
    } else if (path === "/healthz") {
      const fresh = Date.now() - status.lastRefreshMs <= o.pollMs * 10;
      res.writeHead(fresh ? 200 : 503, { "content-type": "application/json" }).end(JSON.stringify({ ok: fresh }));
    } else {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found: try /metrics\n");
    }
  });
  server.on("error", (e) => {
    console.error(`exporter: cannot listen on ${o.host}:${o.port}: ${e.message}`);
    process.exit(1);
  });
  server.listen(o.port, o.host, () => {
    const a = server.address();
    const port = typeof a === "object" && a ? a.port : o.port;
    console.log(
      `exporter http://${o.host}:${port}/metrics (network ${o.network}, chain ${chainId}, coordinator ${deployment.contracts.UpgradeCoordinator})`,
    );
  });
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    server.close(() => process.exit(0));
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

if (require.main === module) void main();
