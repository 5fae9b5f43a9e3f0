// End-to-end harness: a real Hardhat JSON-RPC node in its own process, the system deployed over JSON-RPC,
// a local artifact server, simulated validator nodes as the "binaries", and real watcher processes.
// The process plumbing lives in rehearsal/localnet.ts (the drill uses it too); this file adds what only tests need.
import { AddressInfo } from "node:net";
import { createServer } from "node:http";

export {
  ROOT,
  freePort,
  waitFor,
  startChain,
  stopProcess,
  serveArtifacts,
  makeBinary,
  tempDir,
  spawnWatcher,
  runWatcher,
  deployLocal as deployOn,
} from "../../rehearsal/localnet";
export type { Chain, WatcherProcess, LocalDeployment as Deployment } from "../../rehearsal/localnet";

/** A JSON-RPC proxy in front of `target` that a test can take down (connections reset) and bring back. */
export async function rpcProxy(
  target: string,
): Promise<{ url: string; down: boolean; requests: number; stop(): Promise<void> }> {
  const state = { down: false, requests: 0 };
  const server = createServer(async (req, res) => {
    state.requests += 1;
    if (state.down) {
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    try {
      const upstream = await fetch(target, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: Buffer.concat(chunks),
      });
      res.writeHead(upstream.status, { "content-type": "application/json" });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    } catch {
      res.writeHead(502).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return Object.assign(state, {
    url,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}
