// A simulated validator node: a test double for the watcher's tests and the drill, not the product.
// It serves GET /status -> {"version","height","healthy"} with a height that advances every tick, and
// follows a fault plan that can crash it, stall its height, or make it report a wrong version when it
// runs a given version. Its state directory holds `height` (persisted, so a restart resumes) and `data`.
//
//   node -r ts-node/register/transpile-only sim/validator-node.ts --version v2.0.0 --port 26657 \
//     --state-dir /tmp/node --fault crash@v2.0.0 [--tick-ms 200] [--start-delay-ms 0]
//
// Faults (--fault, repeatable): crash@VERSION (exit 1 after --crash-after-ms), stall@VERSION (height never
// advances), wrong-version@VERSION (reports VERSION-wrong). A fault file (--fault-file) is re-read on every
// tick, so a test can change the plan of a running fleet.
import { createServer } from "node:http";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

interface Options {
  version: string;
  port: number;
  host: string;
  stateDir: string;
  tickMs: number;
  startDelayMs: number;
  crashAfterMs: number;
  faults: string[];
  faultFile?: string;
}

function parse(argv: string[]): Options {
  const o: Options = {
    version: "",
    port: 0,
    host: "127.0.0.1",
    stateDir: "",
    tickMs: 200,
    startDelayMs: 0,
    crashAfterMs: 500,
    faults: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv[i + 1];
    const need = () => {
      if (value === undefined) fail(`${flag} needs a value`);
      i++;
      return value!;
    };
    switch (flag) {
      case "--version":
        o.version = need();
        break;
      case "--port":
        o.port = Number(need());
        break;
      case "--host":
        o.host = need();
        break;
      case "--state-dir":
        o.stateDir = need();
        break;
      case "--tick-ms":
        o.tickMs = Number(need());
        break;
      case "--start-delay-ms":
        o.startDelayMs = Number(need());
        break;
      case "--crash-after-ms":
        o.crashAfterMs = Number(need());
        break;
      case "--fault":
        o.faults.push(need());
        break;
      case "--fault-file":
        o.faultFile = need();
        break;
      default:
        fail(`unknown option ${flag}`);
    }
  }
  if (!o.version) fail("--version is required");
  if (!o.stateDir) fail("--state-dir is required");
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) fail("--port must be a port number");
  return o;
}

function fail(message: string): never {
  process.stderr.write(`validator-node: ${message}\n`);
  process.exit(2);
}

function faultsFor(o: Options): Set<string> {
  const plan = [...o.faults];
  if (o.faultFile && existsSync(o.faultFile)) {
    plan.push(...readFileSync(o.faultFile, "utf8").split(/\s+/).filter(Boolean));
  }
  const active = new Set<string>();
  for (const entry of plan) {
    const [kind, version] = entry.split("@");
    if (version === o.version || version === "*") active.add(kind);
  }
  return active;
}

function main() {
  const o = parse(process.argv.slice(2));
  mkdirSync(o.stateDir, { recursive: true });
  const heightFile = join(o.stateDir, "height");
  let height = existsSync(heightFile) ? Number(readFileSync(heightFile, "utf8")) || 0 : 0;
  const started = Date.now();
  let serving = false;

  const persist = () => {
    const tmp = `${heightFile}.tmp`;
    writeFileSync(tmp, String(height));
    renameSync(tmp, heightFile);
  };

  const tick = setInterval(() => {
    const faults = faultsFor(o);
    if (faults.has("crash") && Date.now() - started >= o.crashAfterMs) {
      process.stderr.write(`validator-node ${o.version}: crashing (fault plan)\n`);
      process.exit(1);
    }
    if (!serving || faults.has("stall")) return;
    height += 1;
    persist();
  }, o.tickMs);

  const server = createServer((req, res) => {
    if (req.url !== "/status" || !serving) {
      res.writeHead(serving ? 404 : 503).end();
      return;
    }
    const faults = faultsFor(o);
    const version = faults.has("wrong-version") ? `${o.version}-wrong` : o.version;
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ version, height, healthy: !faults.has("stall") }));
  });
  server.listen(o.port, o.host, () => {
    setTimeout(() => {
      serving = true;
    }, o.startDelayMs);
  });

  const stop = () => {
    clearInterval(tick);
    persist();
    server.close(() => process.exit(0));
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main();
