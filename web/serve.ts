// Serves the built dashboard (web/dist) on loopback, and /config.json with the network's deployments file and
// RPC URL, so one build serves every network. The page reads the chain through /rpc, a same-origin relay to the
// RPC URL, so nodes that send no CORS headers (geth without --http.corsdomain, proxies) work as they are:
//   npm run dashboard -- --network localhost [--rpc http://127.0.0.1:8545] [--port 5173] [--explorer URL]
// The relay passes only the reads the page makes: a local node often has unlocked accounts and admin methods, and
// any web page the operator visits can send requests to a loopback port. It also refuses requests whose Host or
// Origin is not the dashboard's own (DNS rebinding) and bodies that are not JSON (forms need no CORS preflight).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize, resolve, sep } from "node:path";
import {
  SERVICE_DEFAULTS,
  checkHttpUrl,
  parseServiceOptions,
  serviceDeployment,
  type ServiceOptions,
} from "../lib/cliOptions";

const BUILD = resolve(__dirname, "dist");

/** JSON-RPC methods the page uses; every other method (signing, hardhat_*, admin_*, personal_*, …) is refused. */
const READ_METHODS = new Set([
  "eth_chainId",
  "net_version",
  "eth_blockNumber",
  "eth_getBlockByNumber",
  "eth_getBlockByHash",
  "eth_getLogs",
  "eth_call",
  "eth_estimateGas",
  "eth_getCode",
  "eth_getBalance",
  "eth_getTransactionCount",
  "eth_getTransactionByHash",
  "eth_getTransactionReceipt",
  "eth_gasPrice",
  "eth_maxPriorityFeePerGas",
  "eth_feeHistory",
]);
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

interface Options extends ServiceOptions {
  explorer: string;
  dist: string;
}

function parseArgs(argv: string[]): Options {
  return parseServiceOptions<Options>(
    argv,
    { ...SERVICE_DEFAULTS, port: 5173, explorer: "", pollMs: 1000, dist: BUILD },
    {
      flags: {
        "--explorer": (o, v) => (o.explorer = v),
        "--dist": (o, v) => (o.dist = resolve(v)),
      },
      check: (o) => (o.explorer ? checkHttpUrl("--explorer", o.explorer) : []),
    },
  );
}

const MAX_RPC_BODY = 1 << 20;

type RpcRequest = { id?: unknown; method?: unknown };

/** The methods a JSON-RPC body asks for that the relay does not pass; undefined when the body is not JSON-RPC. */
function refusedMethods(body: Buffer): string[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    return undefined;
  }
  const calls = (Array.isArray(parsed) ? parsed : [parsed]) as RpcRequest[];
  if (calls.length === 0 || calls.some((c) => typeof c !== "object" || c === null || typeof c.method !== "string"))
    return undefined;
  return calls.map((c) => c.method as string).filter((m) => !READ_METHODS.has(m));
}

function refuse(res: ServerResponse, status: number, message: string) {
  res
    .writeHead(status, { "content-type": "application/json" })
    .end(JSON.stringify({ jsonrpc: "2.0", id: null, error: { code: -32600, message } }) + "\n");
}

/** Forwards one JSON-RPC request (or batch) of reads to the node; a node that does not answer is a 502. */
async function relay(rpc: string, req: IncomingMessage, res: ServerResponse) {
  if (!/^application\/json\b/i.test(req.headers["content-type"] ?? ""))
    return refuse(res, 415, "the relay takes application/json only");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_RPC_BODY) return refuse(res, 413, "request too large");
    chunks.push(chunk as Buffer);
  }
  const body = Buffer.concat(chunks);
  const refused = refusedMethods(body);
  if (refused === undefined) return refuse(res, 400, "not a JSON-RPC request");
  if (refused.length)
    return refuse(res, 403, `the dashboard's relay passes reads only, not ${[...new Set(refused)].join(", ")}`);
  try {
    const upstream = await fetch(rpc, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  } catch (e) {
    res.writeHead(502, { "content-type": "text/plain" }).end(`the RPC did not answer: ${(e as Error).message}\n`);
  }
}

/**
 * Whether a request was made to this server by name (not a rebound DNS name) and, when a browser says where it
 * comes from, from the dashboard's own page. Bound to every interface, any Host is accepted.
 */
function fromOwnPage(req: IncomingMessage, host: string, port: number): boolean {
  const anyInterface = host === "0.0.0.0" || host === "::";
  const allowed = new Set([`${host}:${port}`, `localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`]);
  const h = (req.headers.host ?? "").toLowerCase();
  if (!anyInterface && !allowed.has(h)) return false;
  const origin = req.headers.origin;
  return origin === undefined || origin === `http://${h}`;
}

function main() {
  let o: Options;
  let deployment;
  try {
    o = parseArgs(process.argv.slice(2));
    deployment = serviceDeployment(o);
    if (!existsSync(join(o.dist, "index.html")))
      throw new Error(`${o.dist} has no build: run \`npm run dashboard\` (it builds first)`);
  } catch (e) {
    console.error(`dashboard: ${(e as Error).message}`);
    process.exit(2);
  }
  const config = JSON.stringify({
    rpcUrl: o.rpc,
    rpcRelay: "./rpc",
    deployment,
    explorerUrl: o.explorer,
    pollMs: o.pollMs,
  });
  let port = o.port;
  const server = createServer(async (req, res) => {
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    } catch {
      res.writeHead(400, { "content-type": "text/plain" }).end("bad request path\n");
      return;
    }
    if (!fromOwnPage(req, o.host, port)) {
      res.writeHead(403, { "content-type": "text/plain" }).end("this dashboard answers its own page only\n");
      return;
    }
    if (path === "/rpc" && req.method === "POST") {
      await relay(o.rpc, req, res).catch(() => res.headersSent || res.writeHead(500).end());
      return;
    }
    if (path === "/config.json") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(config);
      return;
    }
    const file = normalize(join(o.dist, path === "/" ? "index.html" : path));
    if (!file.startsWith(o.dist + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  server.once("error", (e: NodeJS.ErrnoException) => {
    const why =
      e.code === "EADDRINUSE" ? "is in use by another process (EADDRINUSE)" : `cannot be listened on (${e.code})`;
    console.error(`dashboard: ${o.host}:${o.port} ${why}; choose another with --port`);
    process.exit(1);
  });
  server.listen(o.port, o.host, () => {
    const a = server.address();
    port = typeof a === "object" && a ? a.port : o.port;
    console.log(
      `dashboard http://${o.host}:${port}/ (network ${o.network}, chain ${deployment.chainId}, rpc ${o.rpc})`,
    );
  });
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main();
