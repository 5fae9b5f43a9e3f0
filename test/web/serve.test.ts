// web/serve.ts as a process: it serves the page and its config, and its /rpc relay passes the page's reads only,
// to its own page only, whatever another site or a rebound DNS name sends it.
import { expect } from "chai";
import { spawnSync, type ChildProcess } from "node:child_process";
import { createServer, request, type Server } from "node:http";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { ROOT, stopProcess, tempDir } from "../helpers/e2e";
import { SERVE } from "../../rehearsal/localnet";
import { serveDashboard } from "../helpers/dashboard";

const DEPLOYMENT = {
  network: "servetest",
  chainId: 31337,
  startBlock: 1,
  contracts: {
    UpgradeCoordinator: `0x${"11".repeat(20)}`,
    LockstepGovernor: `0x${"22".repeat(20)}`,
    StakeToken: `0x${"33".repeat(20)}`,
    LockstepTimelock: `0x${"44".repeat(20)}`,
  },
};

/** A raw HTTP request, so the test controls Host, Origin and Content-Type as a hostile page could. */
function send(
  port: number,
  o: { path?: string; method?: string; headers?: Record<string, string>; body?: string },
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port, path: o.path ?? "/rpc", method: o.method ?? "POST", headers: o.headers },
      (res) => {
        let body = "";
        res.on("data", (c) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on("error", reject);
    req.end(o.body);
  });
}

describe("dashboard server (web/serve.ts)", function () {
  this.timeout(60_000);
  let dir: ReturnType<typeof tempDir>;
  let upstream: Server;
  const received: string[] = [];
  let server: ChildProcess;
  let port: number;
  const json = (body: unknown, headers: Record<string, string> = {}) =>
    send(port, {
      headers: { "content-type": "application/json", host: `127.0.0.1:${port}`, ...headers },
      body: JSON.stringify(body),
    });

  before(async function () {
    dir = tempDir("lockstep-serve-");
    mkdirSync(join(dir.path, "dist"));
    writeFileSync(join(dir.path, "dist", "index.html"), "<!doctype html><title>test build</title>");
    // A sibling whose name starts like the build's: a prefix check alone would serve it.
    mkdirSync(join(dir.path, "dist-sibling"));
    writeFileSync(join(dir.path, "dist-sibling", "secret.txt"), "secret");
    writeFileSync(join(dir.path, "servetest.json"), JSON.stringify(DEPLOYMENT));
    upstream = createServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => {
        received.push(body);
        res
          .writeHead(200, { "content-type": "application/json" })
          .end(JSON.stringify({ jsonrpc: "2.0", id: 1, result: "0x2a" }));
      });
    });
    await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", () => r()));
    ({ child: server, port } = await serveDashboard({
      network: "servetest",
      rpc: `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`,
      args: ["--deployments", dir.path, "--dist", join(dir.path, "dist")],
    }));
  });

  after(async function () {
    if (server) await stopProcess(server);
    await new Promise((r) => upstream?.close(r));
    dir?.cleanup();
  });

  it("serves the page and its config", async function () {
    const page = await send(port, { path: "/", method: "GET", headers: { host: `127.0.0.1:${port}` } });
    expect(page.status).to.equal(200);
    expect(page.body).to.include("test build");
    const config = JSON.parse(
      (await send(port, { path: "/config.json", method: "GET", headers: { host: `localhost:${port}` } })).body,
    );
    expect(config.deployment.contracts.UpgradeCoordinator).to.equal(DEPLOYMENT.contracts.UpgradeCoordinator);
    expect(config.rpcRelay).to.equal("./rpc");
  });

  it("relays reads, single and batched", async function () {
    received.length = 0;
    const one = await json({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] });
    expect(one.status).to.equal(200);
    expect(JSON.parse(one.body).result).to.equal("0x2a");
    const batch = await json([
      { jsonrpc: "2.0", id: 1, method: "eth_getLogs", params: [{}] },
      { jsonrpc: "2.0", id: 2, method: "eth_call", params: [{}, "latest"] },
    ]);
    expect(batch.status).to.equal(200);
    expect(received).to.have.length(2);
  });

  it("refuses signing, node-admin and test-node methods, alone or hidden in a batch, without asking the node", async function () {
    received.length = 0;
    for (const method of [
      "eth_sendTransaction",
      "personal_unlockAccount",
      "hardhat_setBalance",
      "evm_revert",
      "admin_addPeer",
      "debug_traceTransaction",
    ]) {
      const r = await json({ jsonrpc: "2.0", id: 1, method, params: [] });
      expect(r.status, method).to.equal(403);
      expect(JSON.parse(r.body).error.message).to.equal(`the dashboard's relay passes reads only, not ${method}`);
    }
    const hidden = await json([
      { jsonrpc: "2.0", id: 1, method: "eth_chainId" },
      { jsonrpc: "2.0", id: 2, method: "eth_sendTransaction", params: [{}] },
    ]);
    expect(hidden.status).to.equal(403);
    expect(received, "the node was never asked").to.deep.equal([]);
  });

  it("refuses what another site could send: a form's text body, a foreign Origin, a rebound Host", async function () {
    received.length = 0;
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber" });
    expect(
      (await send(port, { headers: { "content-type": "text/plain", host: `127.0.0.1:${port}` }, body })).status,
    ).to.equal(415);
    expect(
      (await json({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber" }, { origin: "https://evil.example" })).status,
    ).to.equal(403);
    expect(
      (await json({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber" }, { host: `evil.example:${port}` })).status,
    ).to.equal(403);
    expect(
      (await json({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber" }, { origin: `http://127.0.0.1:${port}` })).status,
    ).to.equal(200);
    expect(
      (
        await send(port, {
          headers: { "content-type": "application/json", host: `127.0.0.1:${port}` },
          body: "not json",
        })
      ).status,
    ).to.equal(400);
    expect(received).to.have.length(1);
  });

  it("answers a malformed path with 400 and keeps serving; never serves files outside the build", async function () {
    expect(
      (await send(port, { path: "/%E0%A4%A", method: "GET", headers: { host: `127.0.0.1:${port}` } })).status,
    ).to.equal(400);
    expect(
      (await send(port, { path: "/../servetest.json", method: "GET", headers: { host: `127.0.0.1:${port}` } })).status,
    ).to.equal(404);
    expect(
      (await send(port, { path: "/%2e%2e/servetest.json", method: "GET", headers: { host: `127.0.0.1:${port}` } }))
        .status,
    ).to.equal(404);
    // The URL parser resolves the two above; an encoded slash reaches the server's own guard.
    expect(
      (await send(port, { path: "/..%2fservetest.json", method: "GET", headers: { host: `127.0.0.1:${port}` } }))
        .status,
    ).to.equal(404);
    expect(
      (
        await send(port, {
          path: "/..%2fdist-sibling%2fsecret.txt",
          method: "GET",
          headers: { host: `127.0.0.1:${port}` },
        })
      ).status,
    ).to.equal(404);
    expect((await send(port, { path: "/", method: "GET", headers: { host: `127.0.0.1:${port}` } })).status).to.equal(
      200,
    );
  });

  it("refuses bad options in one line, exit 2", function () {
    const r = spawnSync(
      process.execPath,
      [...SERVE, "--network", "servetest", "--port", "99999", "--rpc", "ftp://x", "--deployments", dir.path],
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(r.status).to.equal(2);
    expect(r.stderr.trim().split("\n")).to.deep.equal([
      "dashboard: --port must be a port number; --rpc must be an http(s) URL",
    ]);
  });

  it("says in one line, exit 1, that its port is taken by another process", function () {
    // The running server's own port: another process holds it.
    const r = spawnSync(
      process.execPath,
      [...SERVE, "--network", "servetest", "--port", String(port), "--rpc", "http://127.0.0.1:1"].concat([
        "--deployments",
        dir.path,
        "--dist",
        join(dir.path, "dist"),
      ]),
      { cwd: ROOT, encoding: "utf8" },
    );
    expect(r.status).to.equal(1);
    expect(r.stderr.trim().split("\n")).to.deep.equal([
      `dashboard: 127.0.0.1:${port} is in use by another process (EADDRINUSE); choose another with --port`,
    ]);
  });
});
