// Each health probe against its client's documented replies (test/fixtures/probes/), served from a local HTTP
// server on a free port, including the syncing and error shapes; then the version rules and the config.
import { expect } from "chai";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { parseConfig, probeConfigOf } from "../../watcher/src/config";
import { createProbe } from "../../watcher/src/adapters/probes";
import { clientToken, releaseSpellings } from "../../watcher/src/adapters/probes/version";
import { judgeHealth, runsVersion, startupPhase } from "../../watcher/src/machine/health";
import { waitHealthy } from "../../watcher/src/executors";
import type { NodeStatus } from "../../watcher/src/ports";
import * as comet from "../fixtures/probes/cometbft";
import * as exec from "../fixtures/probes/ethereum-execution";
import * as beacon from "../fixtures/probes/ethereum-beacon";
import * as sol from "../fixtures/probes/solana";

type Reply = { status?: number; body?: unknown };

/** Answers GET by path and JSON-RPC POST by method, from whatever the test put in `routes`. */
class FixtureServer {
  routes = new Map<string, Reply>();
  private server?: Server;
  url = "";

  async start() {
    this.server = createServer(async (req, res) => {
      let key = req.url ?? "/";
      let id: unknown = 1;
      if (req.method === "POST") {
        const chunks: Buffer[] = [];
        for await (const chunk of req) chunks.push(chunk as Buffer);
        const call = JSON.parse(Buffer.concat(chunks).toString()) as { method: string; id: unknown };
        key = `rpc:${call.method}`;
        id = call.id;
      }
      const reply = this.routes.get(key);
      if (!reply) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(reply.status ?? 200, { "content-type": "application/json" });
      const body = reply.body;
      const rpc = key.startsWith("rpc:") && !(typeof body === "object" && body !== null && "jsonrpc" in body);
      res.end(body === undefined ? "" : JSON.stringify(rpc ? { jsonrpc: "2.0", id, ...(body as object) } : body));
    });
    await new Promise<void>((r) => this.server!.listen(0, "127.0.0.1", () => r()));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
  }

  stop() {
    return new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }
}

describe("watcher health probes", function () {
  const server = new FixtureServer();
  before(() => server.start());
  after(() => server.stop());
  beforeEach(() => server.routes.clear());

  const probe = (type: "cometbft" | "ethereum-execution" | "ethereum-beacon" | "solana" | "lockstep") =>
    createProbe({ type, url: type === "lockstep" ? `${server.url}/status` : server.url, timeoutMs: 2_000 })();

  describe("cometbft", function () {
    it("reads version, height and catching_up from /status in its JSON-RPC envelope", async function () {
      server.routes.set("/status", { body: comet.synced });
      const s = await probe("cometbft");
      expect(s).to.include({ version: "0.38.12", height: 26083n, syncing: false });
      expect(runsVersion(s!, "v0.38.12")).to.equal(true);
      expect(runsVersion(s!, "0.38.12")).to.equal(true);
      expect(runsVersion(s!, "v0.38.1")).to.equal(false);
    });

    it("reports a catching-up node as syncing, which is starting, not running", async function () {
      server.routes.set("/status", { body: comet.catchingUp });
      const s = await probe("cometbft");
      expect(s).to.include({ height: 1200n, syncing: true });
      expect(startupPhase(s, "v0.38.12")).to.equal("starting");
    });

    it("accepts the bare result, and treats an error reply or a 500 as no answer", async function () {
      server.routes.set("/status", { body: comet.bare });
      expect(await probe("cometbft")).to.include({ version: "0.38.12", height: 26083n });
      server.routes.set("/status", { body: comet.error });
      expect(await probe("cometbft")).to.equal(undefined);
      server.routes.set("/status", { status: 500, body: comet.error });
      expect(await probe("cometbft")).to.equal(undefined);
    });
  });

  describe("ethereum-execution", function () {
    const answer = (client: unknown, syncing: unknown, block: unknown) => {
      server.routes.set("rpc:web3_clientVersion", { body: { result: client } });
      server.routes.set("rpc:eth_syncing", { body: { result: syncing } });
      server.routes.set("rpc:eth_blockNumber", { body: { result: block } });
    };

    it("reads web3_clientVersion, eth_syncing and eth_blockNumber", async function () {
      answer(exec.gethClientVersion, exec.notSyncing, exec.blockNumber);
      const s = await probe("ethereum-execution");
      expect(s).to.include({ version: exec.gethClientVersion, height: 0x4b7n, syncing: false });
      expect(startupPhase(s, "v1.14.12")).to.equal("running");
    });

    it("reports a syncing node (eth_syncing an object) as starting", async function () {
      answer(exec.gethClientVersion, exec.syncing, exec.blockNumber);
      const s = await probe("ethereum-execution");
      expect(s?.syncing).to.equal(true);
      expect(startupPhase(s, "v1.14.12")).to.equal("starting");
    });

    it("matches the client's semver token, never a prefix of it", async function () {
      answer(exec.gethClientVersion, exec.notSyncing, exec.blockNumber);
      const s = (await probe("ethereum-execution"))!;
      for (const v of ["v1.14.12", "1.14.12", "v1.14.12-stable-293a300d", "1.14.12-stable-293a300d"])
        expect(runsVersion(s, v), v).to.equal(true);
      for (const v of ["v1.1", "v1.14", "v1.14.1", "1.14.123", "v1.14.12-stable", "go1.23.4", "linux-amd64"])
        expect(runsVersion(s, v), v).to.equal(false);
      answer(exec.anvilClientVersion, exec.notSyncing, "0x0");
      const a = (await probe("ethereum-execution"))!;
      expect(runsVersion(a, "v1.5.1")).to.equal(true);
      expect(runsVersion(a, "v1.5")).to.equal(false);
      expect(runsVersion(a, "v1.5.10")).to.equal(false);
    });

    it("finds the version past a geth identity", async function () {
      answer(exec.gethWithIdentity, exec.notSyncing, exec.blockNumber);
      expect(runsVersion((await probe("ethereum-execution"))!, "v1.14.12")).to.equal(true);
    });

    it("treats a JSON-RPC error or a malformed result as no answer", async function () {
      answer(exec.gethClientVersion, exec.notSyncing, exec.blockNumber);
      server.routes.set("rpc:eth_syncing", { body: { error: exec.methodNotFound } });
      expect(await probe("ethereum-execution")).to.equal(undefined);
      answer(exec.gethClientVersion, exec.notSyncing, "1207");
      expect(await probe("ethereum-execution")).to.equal(undefined);
    });
  });

  describe("ethereum-beacon", function () {
    const answer = (version: unknown, syncing: unknown, health: number) => {
      server.routes.set("/eth/v1/node/version", { body: version });
      server.routes.set("/eth/v1/node/syncing", { body: syncing });
      server.routes.set("/eth/v1/node/health", { status: health });
    };

    it("reads the version, the head slot and is_syncing of a ready node (health 200)", async function () {
      answer(beacon.lighthouseVersion, beacon.synced, 200);
      const s = await probe("ethereum-beacon");
      expect(s).to.include({ version: "Lighthouse/v4.5.0-441fc16/x86_64-linux", height: 8123456n, syncing: false });
      expect(runsVersion(s!, "v4.5.0")).to.equal(true);
      expect(runsVersion(s!, "v4.5")).to.equal(false);
    });

    it("reports syncing from is_syncing or from health 206", async function () {
      answer(beacon.lighthouseVersion, beacon.syncing, 206);
      expect(startupPhase(await probe("ethereum-beacon"), "v4.5.0")).to.equal("starting");
      answer(beacon.lighthouseVersion, beacon.synced, 206);
      expect((await probe("ethereum-beacon"))?.syncing).to.equal(true);
    });

    it("treats health 503 or a 500 from /syncing as no answer", async function () {
      answer(beacon.lighthouseVersion, beacon.synced, 503);
      expect(await probe("ethereum-beacon")).to.equal(undefined);
      answer(beacon.lighthouseVersion, beacon.synced, 200);
      server.routes.set("/eth/v1/node/syncing", { status: 500, body: beacon.internalError });
      expect(await probe("ethereum-beacon")).to.equal(undefined);
    });

    it("reads the specification's example version string", async function () {
      answer(beacon.specExampleVersion, beacon.synced, 200);
      expect(runsVersion((await probe("ethereum-beacon"))!, "v0.1.5")).to.equal(true);
    });
  });

  describe("solana", function () {
    const answer = (health: unknown) => {
      server.routes.set("rpc:getVersion", { body: sol.version });
      server.routes.set("rpc:getSlot", { body: sol.slot });
      server.routes.set("rpc:getHealth", { body: health });
    };

    it("reads solana-core, getSlot and a healthy getHealth", async function () {
      answer(sol.healthy);
      const s = await probe("solana");
      expect(s).to.include({ version: "2.1.16", height: 1234n, syncing: false });
      expect(runsVersion(s!, "v2.1.16")).to.equal(true);
      expect(runsVersion(s!, "v2.1.1")).to.equal(false);
    });

    it("reports a node behind (error -32005), or of unknown health, as syncing", async function () {
      answer(sol.behind);
      expect(startupPhase(await probe("solana"), "2.1.16")).to.equal("starting");
      answer(sol.unknownHealth);
      expect((await probe("solana"))?.syncing).to.equal(true);
    });

    it("treats any other error as no answer", async function () {
      answer(sol.methodNotFound);
      expect(await probe("solana")).to.equal(undefined);
    });
  });

  describe("lockstep", function () {
    it("reads today's {version, height}, compared exactly", async function () {
      server.routes.set("/status", { body: { version: "v2.0.0", height: 12 } });
      const s = await probe("lockstep");
      expect(s).to.include({ version: "v2.0.0", height: 12n, syncing: false });
      expect(runsVersion(s!, "v2.0.0")).to.equal(true);
      expect(runsVersion(s!, "2.0.0")).to.equal(false);
      server.routes.set("/status", { body: { version: "v2.0.0", height: 12, syncing: true } });
      expect(startupPhase(await probe("lockstep"), "v2.0.0")).to.equal("starting");
    });

    it("treats a refused connection as no answer", async function () {
      const gone = createProbe({ type: "lockstep", url: "http://127.0.0.1:1/status", timeoutMs: 500 });
      expect(await gone()).to.equal(undefined);
    });
  });

  describe("command", function () {
    const run = (command: string, timeoutMs = 5_000) => createProbe({ type: "command", command, timeoutMs })();

    it("reads {version, height, syncing} from the command's output", async function () {
      expect(await run(`echo '{"version":"v3.1.0","height":"77","syncing":true}'`)).to.deep.equal({
        version: "v3.1.0",
        height: 77n,
        syncing: true,
      });
    });

    it("runs with the node's minimal environment, not the watcher's", async function () {
      process.env.LOCKSTEP_PROBE_SECRET = "do-not-leak";
      try {
        const s = await run(`printf '{"version":"%s","height":1}' "\${LOCKSTEP_PROBE_SECRET:-none}"`);
        expect(s?.version).to.equal("none");
      } finally {
        delete process.env.LOCKSTEP_PROBE_SECRET;
      }
    });

    it("gives no answer for a failing command, nonsense output, or one that outlives its timeout", async function () {
      expect(await run(`echo '{"version":"v1","height":1}'; exit 3`)).to.equal(undefined);
      expect(await run("echo not json")).to.equal(undefined);
      const started = Date.now();
      expect(await run("sleep 30", 300)).to.equal(undefined);
      expect(Date.now() - started).to.be.below(10_000);
    });
  });

  describe("version rule", function () {
    it("takes the client's token after its name and its MAJOR.MINOR.PATCH core", function () {
      expect(clientToken("Geth/v1.14.12-stable-293a300d/linux-amd64/go1.23.4")).to.equal("v1.14.12-stable-293a300d");
      expect(clientToken("Nethermind/v1.25.4+20b10b35/linux-x64/dotnet8.0.2")).to.equal("v1.25.4+20b10b35");
      expect(clientToken("erigon/2.59.3/linux-amd64/go1.21.6")).to.equal("2.59.3");
      expect(clientToken("nonsense")).to.equal(undefined);
      expect(releaseSpellings("v1.25.4+20b10b35")).to.include.members(["1.25.4", "v1.25.4"]);
      expect(releaseSpellings("1.14")).to.deep.equal([]);
      expect(releaseSpellings("1.14.12x")).to.deep.equal([]);
    });
  });

  describe("health rule", function () {
    /** A node whose probe answers `readings` in turn (the last one from then on), on a clock that sleeps instantly. */
    function scripted(readings: (NodeStatus | undefined)[]) {
      let now = 0;
      let i = 0;
      return {
        node: { status: async () => readings[Math.min(i++, readings.length - 1)] },
        clock: { now: () => now, sleep: async (ms: number) => void (now += ms) },
        config: { health: { deadlineMs: 10_000, probeIntervalMs: 1_000, minHeightGain: 2, observeIntervalMs: 5_000 } },
      } as unknown as Parameters<typeof waitHealthy>[1];
    }
    const anvil = (height: bigint, syncing = false): NodeStatus => ({
      version: "anvil/v1.7.1",
      height,
      syncing,
      matches: releaseSpellings("v1.7.1"),
    });

    it("waits through syncing at start-up, then counts the height gain from when it stopped", async function () {
      const outcome = await waitHealthy(
        "v1.7.1",
        scripted([undefined, anvil(50n, true), anvil(90n, true), anvil(100n), anvil(101n), anvil(102n)]),
      );
      expect(outcome).to.deep.equal({ healthy: true, reason: "", height: 102n });
    });

    it("fails a node still syncing at the deadline, naming why", async function () {
      const outcome = await waitHealthy("v1.7.1", scripted([anvil(10n, true), anvil(20n, true), anvil(30n, true)]));
      expect(outcome.healthy).to.equal(false);
      expect(outcome.reason).to.match(/still syncing/);
    });

    it("does not judge a syncing node healthy once it is observed", function () {
      const job = { manifest: { version: "v1.7.1" } } as Parameters<typeof judgeHealth>[0];
      expect(judgeHealth(job, anvil(10n), 9n)).to.equal(true);
      expect(judgeHealth(job, anvil(10n, true), 9n)).to.equal(false);
    });
  });

  describe("config", function () {
    const base = {
      chain: { rpcUrl: "http://127.0.0.1:1", chainId: 1, coordinator: `0x${"1".repeat(40)}`, startBlock: 1 },
      validator: { operator: `0x${"2".repeat(40)}`, attesterKey: { env: "KEY" } },
      dataDir: "/var/lib/lockstep",
    };

    it("takes node.probe, and keeps node.statusUrl as the lockstep probe", function () {
      const probeConfig = { type: "ethereum-execution", url: "http://127.0.0.1:1" };
      const c = parseConfig({ ...base, node: { adapter: "process", probe: probeConfig, stateDir: "/s" } });
      expect(probeConfigOf(c.node)).to.deep.equal({ ...probeConfig, timeoutMs: 2_000 });
      const old = parseConfig({
        ...base,
        node: { adapter: "process", statusUrl: "http://127.0.0.1:1/status", stateDir: "/s" },
      });
      expect(probeConfigOf(old.node)).to.deep.equal({
        type: "lockstep",
        url: "http://127.0.0.1:1/status",
        timeoutMs: 2_000,
      });
    });

    it("refuses both, neither, and an unknown probe type", function () {
      const withNode = (node: object) => () =>
        parseConfig({ ...base, node: { adapter: "process", stateDir: "/s", ...node } });
      expect(withNode({})).to.throw(/config node\.probe: set exactly one of node\.probe and node\.statusUrl/);
      expect(
        withNode({ statusUrl: "http://a/status", probe: { type: "solana", url: "http://127.0.0.1:8899" } }),
      ).to.throw(/config node\.probe/);
      expect(withNode({ probe: { type: "bitcoin", url: "http://127.0.0.1:8332" } })).to.throw(
        /config node\.probe\.type/,
      );
    });
  });
});
