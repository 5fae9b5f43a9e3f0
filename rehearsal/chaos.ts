// The chaos harness: a chain that mines on a timer with a real mempool (transactions wait there for the next
// block, as on a live network), and a fault proxy between the watcher and the RPC node that drops, delays and
// reorders replies. The chaos tests (test/watcher/chaos.*.test.ts, `npm run chaos`) reproduce each finding
// the way the world behaves with these two.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Chain } from "./localnet";
import { freePort } from "./localnet";

/**
 * Turns off instant mining: from now on `chain` mines a block every `blockTimeMs` (0: never, until called
 * again), and a sent transaction waits in the mempool until then. Deploy and set up first, then call this.
 */
export async function mineEvery(chain: Pick<Chain, "send">, blockTimeMs: number): Promise<void> {
  await chain.send("evm_setAutomine", [false]);
  await chain.send("evm_setIntervalMining", [blockTimeMs]);
}

/** What the proxy does to a request a rule matches. */
export type FaultAction =
  /** Forwards the request, then closes the connection instead of replying: the call took effect, the caller
   * never learns it (a lost reply to eth_sendRawTransaction). */
  | { kind: "drop-reply" }
  /** Closes the connection without forwarding: the call never took effect. */
  | { kind: "drop-request" }
  /** Forwards the request and replies `ms` later (a random delay in [ms, maxMs] when maxMs is given: replies to
   * concurrent requests then arrive out of order). */
  | { kind: "delay"; ms: number; maxMs?: number }
  /** Holds the reply until `release()` (replies held together are released last-first: reordered). */
  | { kind: "hold" };

export interface FaultRule {
  /** The JSON-RPC method the rule applies to (any method when omitted). */
  method?: string;
  action: FaultAction;
  /** How many matching requests the rule acts on before it retires (every one when omitted). */
  times?: number;
}

export interface FaultProxy {
  url: string;
  /** Adds a rule; rules are tried in the order added, the first that matches acts. */
  add(rule: FaultRule): void;
  /** Removes every rule and releases held replies. */
  clear(): void;
  /** Sends the held replies, the most recent first. */
  release(): void;
  /** While down, every connection is reset at once (an outage). */
  down: boolean;
  /** How many times each method was asked, and how many times a rule acted on it. */
  seen: Record<string, number>;
  faulted: Record<string, number>;
  stop(): Promise<void>;
}

/** A JSON-RPC proxy in front of `target`, on a free loopback port, that applies fault rules to what passes. */
export async function faultProxy(target: string): Promise<FaultProxy> {
  const rules: (FaultRule & { used: number })[] = [];
  const held: (() => void)[] = [];
  const seen: Record<string, number> = {};
  const faulted: Record<string, number> = {};
  const state = { down: false };

  const match = (methods: string[]) => {
    for (const rule of rules) {
      if (rule.times !== undefined && rule.used >= rule.times) continue;
      if (rule.method !== undefined && !methods.includes(rule.method)) continue;
      rule.used += 1;
      for (const m of methods) faulted[m] = (faulted[m] ?? 0) + 1;
      return rule.action;
    }
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (state.down) return void req.socket.destroy();
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const methods = methodsOf(body);
    for (const m of methods) seen[m] = (seen[m] ?? 0) + 1;
    const action = match(methods);
    if (action?.kind === "drop-request") return void req.socket.destroy();
    let status: number;
    let reply: Buffer;
    try {
      const upstream = await fetch(target, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      status = upstream.status;
      reply = Buffer.from(await upstream.arrayBuffer());
    } catch {
      status = 502;
      reply = Buffer.from("");
    }
    const send = () => {
      if (res.destroyed) return;
      res.writeHead(status, { "content-type": "application/json" });
      res.end(reply);
    };
    switch (action?.kind) {
      case "drop-reply":
        return void req.socket.destroy();
      case "delay": {
        const ms = action.maxMs === undefined ? action.ms : action.ms + Math.random() * (action.maxMs - action.ms);
        setTimeout(send, ms);
        return;
      }
      case "hold":
        held.push(send);
        return;
      default:
        send();
    }
  };

  const server: Server = createServer((req, res) => void handle(req, res));
  const port = await freePort();
  await new Promise<void>((ready) => server.listen(port, "127.0.0.1", () => ready()));
  const release = () => {
    for (const send of held.splice(0).reverse()) send();
  };
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    seen,
    faulted,
    add: (rule: FaultRule) => void rules.push({ ...rule, used: 0 }),
    clear: () => {
      rules.splice(0);
      release();
    },
    release,
    stop: () =>
      new Promise<void>((done) => {
        held.splice(0);
        server.closeAllConnections();
        server.close(() => done());
      }),
  });
}

/** The JSON-RPC methods in a request body (one, or several for a batch); none when it is not JSON-RPC. */
function methodsOf(body: Buffer): string[] {
  try {
    const parsed = JSON.parse(body.toString("utf8")) as { method?: unknown } | { method?: unknown }[];
    return (Array.isArray(parsed) ? parsed : [parsed]).flatMap((r) => (typeof r.method === "string" ? [r.method] : []));
  } catch {
    return [];
  }
}
