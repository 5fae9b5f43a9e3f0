// Serves the built dashboard (web/dist) on loopback, and /config.json with the network's deployments file and
// RPC URL, so one build serves every network. The page reads the chain through /rpc, a same-origin relay to the
// RPC URL, so nodes that send no CORS headers (geth without --http.corsdomain, proxies) work as they are:
//   npm run dashboard -- --network localhost [--rpc http://127.0.0.1:8545] [--port 5173] [--explorer URL]
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { existsSync, readFileSync, statSync } from "node:fs";
import { extname, join, normalize, resolve } from "node:path";
import { readDeployment } from "../lib/deployments";

const DIST = resolve(__dirname, "dist");
const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
};

interface Options {
  network: string;
  rpc: string;
  host: string;
  port: number;
  explorer: string;
  pollMs: number;
  deployments?: string;
}

function parseArgs(argv: string[]): Options {
  const o: Options = { network: "localhost", rpc: "http://127.0.0.1:8545", host: "127.0.0.1", port: 5173, explorer: "", pollMs: 1000 };
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split("=", 2);
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case "--network": o.network = value(); break;
      case "--rpc": o.rpc = value(); break;
      case "--host": o.host = value(); break;
      case "--port": o.port = Number(value()); break;
      case "--explorer": o.explorer = value(); break;
      case "--poll-ms": o.pollMs = Number(value()); break;
      case "--deployments": o.deployments = value(); break;
      default: problems.push(`unknown option ${argv[i]}`);
    }
  }
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) problems.push("--port must be a port number");
  if (!(o.pollMs >= 100)) problems.push("--poll-ms must be at least 100");
  if (!/^https?:\/\//.test(o.rpc)) problems.push("--rpc must be an http(s) URL");
  if (o.explorer && !/^https?:\/\//.test(o.explorer)) problems.push("--explorer must be an http(s) URL");
  if (problems.length) throw new Error(problems.join("; "));
  return o;
}

const MAX_RPC_BODY = 1 << 20;

/** Forwards one JSON-RPC request to the node; a node that does not answer is a 502 the page reports as such. */
async function relay(rpc: string, req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_RPC_BODY) {
      res.writeHead(413, { "content-type": "text/plain" }).end("request too large\n");
      return;
    }
    chunks.push(chunk as Buffer);
  }
  try {
    const upstream = await fetch(rpc, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Buffer.concat(chunks),
      signal: AbortSignal.timeout(10_000),
    });
    res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" });
    res.end(Buffer.from(await upstream.arrayBuffer()));
  } catch (e) {
    res.writeHead(502, { "content-type": "text/plain" }).end(`the RPC at ${rpc} did not answer: ${(e as Error).message}\n`);
  }
}

function main() {
  let o: Options;
  let deployment;
  try {
    o = parseArgs(process.argv.slice(2));
    deployment = readDeployment(o.network, o.deployments ?? (process.env.LOCKSTEP_DEPLOYMENTS_DIR || undefined));
    if (!existsSync(join(DIST, "index.html"))) throw new Error(`${DIST} has no build: run \`npm run dashboard\` (it builds first)`);
  } catch (e) {
    console.error(`dashboard: ${(e as Error).message}`);
    process.exit(2);
  }
  const config = JSON.stringify({ rpcUrl: o.rpc, rpcRelay: "./rpc", deployment, explorerUrl: o.explorer, pollMs: o.pollMs });
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    if (path === "/rpc" && req.method === "POST") {
      await relay(o.rpc, req, res);
      return;
    }
    if (path === "/config.json") {
      res.writeHead(200, { "content-type": "application/json", "cache-control": "no-store" }).end(config);
      return;
    }
    const file = normalize(join(DIST, path === "/" ? "index.html" : path));
    if (!file.startsWith(DIST) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      return;
    }
    res.writeHead(200, { "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
  });
  server.listen(o.port, o.host, () => {
    const a = server.address();
    const port = typeof a === "object" && a ? a.port : o.port;
    console.log(`dashboard http://${o.host}:${port}/ (network ${o.network}, chain ${deployment.chainId}, rpc ${o.rpc})`);
  });
  const stop = () => server.close(() => process.exit(0));
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main();
