// End-to-end harness: a real Hardhat JSON-RPC node in its own process, the system deployed over JSON-RPC,
// a local artifact server, simulated validator nodes as the "binaries", and real watcher processes.
// The process plumbing lives in rehearsal/localnet.ts (the drill uses it too, with viem); this file adds what only
// tests need, among it an ethers provider and TypeChain contracts for the tests written with them.
import { AddressInfo } from "node:net";
import { createServer } from "node:http";
import { JsonRpcProvider, JsonRpcSigner } from "ethers";
import {
  deployLocal,
  freePort as freePortOf,
  spawnWatcher,
  startChain as startLocalChain,
  type Chain as LocalChain,
  type WatcherProcess,
} from "../../rehearsal/localnet";
import { contractsAt, type System } from "./contracts";

export {
  ROOT,
  freePort,
  stopProcess,
  serveArtifacts,
  makeBinary,
  tempDir,
  spawnWatcher,
  runWatcher,
} from "../../rehearsal/localnet";
export type { WatcherProcess } from "../../rehearsal/localnet";
/** The tests wait at the pace this process measured: rehearsal/localnet.ts waitForAtPace. */
export { waitForAtPace as waitFor } from "../../rehearsal/localnet";

/**
 * Keeps a watcher process for `configPath` running: one that exits (at a kill point, say) is started again within
 * 200 ms. Every process started goes into `watchers`, for the caller's clean-up; `restarts` counts the new starts.
 */
/** The URL of a port on 127.0.0.1 that nothing listens on (below the ephemeral range: no connection takes it). */
export async function closedUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePortOf()}`;
}

export function keepWatcherAlive(configPath: string, env: Record<string, string>, watchers: WatcherProcess[]) {
  let current = spawnWatcher(configPath, env);
  watchers.push(current);
  const kept = { restarts: 0, stop: () => clearInterval(timer) };
  const timer = setInterval(() => {
    if (current.child.exitCode === null && current.child.signalCode === null) return;
    kept.restarts += 1;
    current = spawnWatcher(configPath, env);
    watchers.push(current);
  }, 200);
  return kept;
}

/** A local chain (rehearsal/localnet.ts) with an ethers provider beside its viem client. */
export interface Chain extends LocalChain {
  provider: JsonRpcProvider;
}

/** Starts `hardhat node` on loopback, on `port` or a free one (contracts must be compiled already). */
export async function startChain(options: { port?: number } = {}): Promise<Chain> {
  const chain = await startLocalChain(options);
  // No request cache: callers send transactions back to back from the same accounts.
  const provider = new JsonRpcProvider(chain.url, undefined, {
    staticNetwork: true,
    polling: true,
    pollingInterval: 100,
    cacheTimeout: -1,
  });
  return {
    ...chain,
    provider,
    async stop() {
      provider.destroy();
      await chain.stop();
    },
  };
}

/** The system deployed on a local chain as TypeChain contracts, with the signers a test acts through. */
export interface Deployment extends System {
  deployer: JsonRpcSigner;
  guardian: JsonRpcSigner;
  /** The timelock, impersonated: governance's calls without a vote, for set-ups that are not about voting. */
  timelockSigner: JsonRpcSigner;
  startBlock: number;
}

/** Deploys the system on `chain` (rehearsal/localnet.ts deployLocal) and connects its contracts to the deployer. */
export async function deployOn(chain: Chain, options: { binderKey?: `0x${string}` } = {}): Promise<Deployment> {
  const d = await deployLocal(chain, options);
  const deployer = new JsonRpcSigner(chain.provider, d.deployer);
  return {
    ...contractsAt(d.addresses, deployer),
    deployer,
    guardian: new JsonRpcSigner(chain.provider, d.guardian),
    timelockSigner: new JsonRpcSigner(chain.provider, d.timelock),
    startBlock: d.startBlock,
  };
}

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
