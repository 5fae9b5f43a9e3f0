// The watcher's HTTP client (node:http, not fetch) and the viem transport over it, against a local server that
// misbehaves on purpose: each failure ends in its own error, at once, and the transport's errors are viem's, sorted
// into retryable or not as viem's own http transport's were.
import { expect } from "chai";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import {
  HttpRequestError,
  InternalRpcError,
  MethodNotFoundRpcError,
  ResponseBodyTooLargeError,
  TimeoutError,
  createPublicClient,
} from "viem";
import {
  HttpBodyTooLargeError,
  HttpConnectionError,
  HttpTimeoutError,
  open,
  redact,
  request,
} from "../../watcher/src/adapters/httpClient";
import { rpcTransport } from "../../watcher/src/adapters/rpcTransport";
import { causes, isTransient } from "../../watcher/src/adapters/viemChain";
import { closedUrl } from "../helpers/e2e";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** Whatever `promise` rejects with (fails the test if it resolves). */
async function rejected(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a rejection");
}

describe("watcher HTTP client", function () {
  let server: Server;
  let base: string;
  let handle: Handler;
  /** Every request the server saw: method, path, headers. */
  let seen: { method: string; url: string; headers: IncomingMessage["headers"]; body: string }[];
  const hanging: ServerResponse[] = [];

  before(async function () {
    server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      handle(req, res, body);
    });
    await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(function () {
    seen = [];
  });
  afterEach(function () {
    for (const res of hanging.splice(0)) res.destroy();
  });
  after(async function () {
    server.closeAllConnections();
    await new Promise((done) => server.close(done));
  });

  describe("request", function () {
    it("sends the method, headers and body, and reads status, headers and body", async function () {
      handle = (_req, res, body) => res.writeHead(201, { "x-echo": body }).end(`got ${body}`);
      const res = await request(`${base}/path?q=1`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect([res.status, res.ok, res.text(), res.headers["x-echo"]]).to.deep.equal([201, true, "got {}", "{}"]);
      expect(seen).to.have.length(1);
      expect(seen[0]).to.include({ method: "POST", url: "/path?q=1", body: "{}" });
      expect(seen[0].headers).to.include({ "content-type": "application/json", "accept-encoding": "identity" });
    });

    it("returns a non-2xx answer with its body, not as an error", async function () {
      handle = (_req, res) => res.writeHead(503, { "retry-after": "7" }).end("busy");
      const res = await request(base);
      expect([res.status, res.ok, res.text(), res.headers["retry-after"]]).to.deep.equal([503, false, "busy", "7"]);
    });

    it("reuses a kept-alive connection for the next request", async function () {
      const ports: number[] = [];
      handle = (req, res) => {
        ports.push(req.socket.remotePort!);
        res.end("ok");
      };
      await request(base);
      await request(base);
      expect(ports).to.have.length(2);
      expect(ports[1]).to.equal(ports[0]);
    });

    it("fails with HttpTimeoutError when the answer does not come in time, headers or body", async function () {
      handle = (_req, res) => void hanging.push(res);
      const started = Date.now();
      const error = await rejected(request(base, { timeoutMs: 200 }));
      expect(error).to.be.instanceOf(HttpTimeoutError);
      expect(error.message).to.equal(`${base} did not answer within 200 ms`);
      expect(Date.now() - started).to.be.lessThan(5_000);

      handle = (_req, res) => {
        res.writeHead(200, { "content-length": "100" }).write("x"); // then nothing
        hanging.push(res);
      };
      expect(await rejected(request(base, { timeoutMs: 200 }))).to.be.instanceOf(HttpTimeoutError);
    });

    it("rejects with the signal's reason when aborted, before or during the request", async function () {
      handle = (_req, res) => void hanging.push(res);
      const reason = new Error("stop now");
      const controller = new AbortController();
      const pending = request(base, { signal: controller.signal, timeoutMs: 10_000 });
      await waitUntil(() => seen.length === 1);
      controller.abort(reason);
      expect(await rejected(pending)).to.equal(reason);
      expect(await rejected(request(base, { signal: AbortSignal.abort(reason) }))).to.equal(reason);
      expect(seen).to.have.length(1); // an aborted signal sends nothing
    });

    it("fails with HttpConnectionError, naming the system's code, when the connection is refused", async function () {
      const url = await closedUrl();
      const error = await rejected(request(url));
      expect(error).to.be.instanceOf(HttpConnectionError);
      expect((error as HttpConnectionError).code).to.equal("ECONNREFUSED");
      expect(error.message).to.match(/ECONNREFUSED/);
    });

    it("fails with HttpConnectionError when the server closes the connection mid-body", async function () {
      handle = (_req, res) => {
        res.writeHead(200, { "content-length": "100" }).write("x");
        setTimeout(() => res.destroy(), 50);
      };
      expect(await rejected(request(base))).to.be.instanceOf(HttpConnectionError);
    });

    it("fails with HttpBodyTooLargeError on a body over the limit, declared or streamed", async function () {
      handle = (_req, res) => res.end("x".repeat(2_000));
      const declared = await rejected(request(base, { maxBodyBytes: 1_000 }));
      expect(declared).to.be.instanceOf(HttpBodyTooLargeError);
      expect(declared).to.include({ maxBytes: 1_000, bytes: 2_000 });

      handle = (_req, res) => {
        res.writeHead(200); // chunked: no length announced
        const timer = setInterval(() => res.write("x".repeat(500)), 5);
        res.on("close", () => clearInterval(timer));
        hanging.push(res);
      };
      const streamed = await rejected(request(base, { maxBodyBytes: 1_000, timeoutMs: 10_000 }));
      expect(streamed).to.be.instanceOf(HttpBodyTooLargeError);
      expect((streamed as HttpBodyTooLargeError).bytes).to.be.greaterThan(1_000);
    });

    it("decodes a body the server compressed although asked not to, within the limit", async function () {
      handle = (_req, res) => res.writeHead(200, { "content-encoding": "gzip" }).end(gzipSync("the answer"));
      expect((await request(base)).text()).to.equal("the answer");
      handle = (_req, res) => res.writeHead(200, { "content-encoding": "gzip" }).end(gzipSync("x".repeat(10_000)));
      expect(await rejected(request(base, { maxBodyBytes: 1_000 }))).to.be.instanceOf(HttpBodyTooLargeError);
    });

    describe("redirects", function () {
      beforeEach(function () {
        handle = (req, res) => {
          const [path, status] = req.url!.split("?s=");
          if (path === "/target") return res.end(`${req.method} target`);
          if (path.startsWith("/loop/"))
            return res.writeHead(302, { location: `/loop/${Number(path.slice(6)) + 1}` }).end();
          res.writeHead(Number(status), { location: "/target" }).end();
        };
      });

      it("returns a 3xx as it is unless asked to follow", async function () {
        const res = await request(`${base}/from?s=302`);
        expect([res.status, res.headers.location]).to.deep.equal([302, "/target"]);
      });

      it("follows a relative location, with fetch's rules for the method", async function () {
        const follow = async (status: number, method: "GET" | "POST") => {
          seen = [];
          const res = await request(`${base}/from?s=${status}`, {
            method,
            body: method === "POST" ? "{}" : undefined,
            maxRedirects: 5,
          });
          return [res.status, res.text(), res.url, seen[1].body];
        };
        expect(await follow(302, "GET")).to.deep.equal([200, "GET target", `${base}/target`, ""]);
        expect(await follow(301, "POST")).to.deep.equal([200, "GET target", `${base}/target`, ""]);
        expect(await follow(303, "POST")).to.deep.equal([200, "GET target", `${base}/target`, ""]);
        expect(await follow(307, "POST")).to.deep.equal([200, "POST target", `${base}/target`, "{}"]);
        expect(await follow(308, "POST")).to.deep.equal([200, "POST target", `${base}/target`, "{}"]);
      });

      it("stops after the given number of hops, returning the last redirect", async function () {
        const res = await request(`${base}/loop/0`, { maxRedirects: 3 });
        expect([res.status, res.url, seen.length]).to.deep.equal([302, `${base}/loop/3`, 4]);
      });
    });

    it("refuses a URL that is not http or https, sending nothing", async function () {
      expect(await rejected(request("file:///etc/passwd"))).to.be.instanceOf(TypeError);
      expect(await rejected(request("not a url"))).to.be.instanceOf(TypeError);
    });

    it("drains the body unread when asked to, resolving on the status", async function () {
      handle = (_req, res) => res.writeHead(202).end("x".repeat(100_000));
      const res = await request(base, { method: "POST", body: "{}", discardBody: true, maxBodyBytes: 10 });
      expect([res.status, res.body.length]).to.deep.equal([202, 0]);
    });

    it("sends a URL's credentials as Basic authorization, and keeps them out of messages", async function () {
      handle = (_req, res) => res.end();
      const withCredentials = base.replace("http://", "http://user:s3cret@");
      await request(withCredentials);
      expect(seen[0].headers.authorization).to.equal(`Basic ${Buffer.from("user:s3cret").toString("base64")}`);
      expect(redact(withCredentials)).to.equal(`${base}/`);
      handle = (_req, res) => void hanging.push(res);
      const error = await rejected(request(withCredentials, { timeoutMs: 100 }));
      expect(error.message).to.not.include("s3cret");
    });
  });

  describe("open (streaming)", function () {
    it("resolves on the head and streams the body in chunks", async function () {
      handle = (_req, res) => {
        res.writeHead(200);
        res.write("first ");
        setTimeout(() => res.end("second"), 50);
      };
      const res = await open(base);
      expect(res.status).to.equal(200);
      const chunks: string[] = [];
      for await (const chunk of res.body) chunks.push(String(chunk));
      expect(chunks.join("")).to.equal("first second");
    });

    it("ends the body's stream with the signal's reason when aborted mid-body", async function () {
      handle = (_req, res) => {
        res.writeHead(200).write("x");
        hanging.push(res);
      };
      const controller = new AbortController();
      const res = await open(base, { signal: controller.signal });
      const reason = new Error("withdrawn");
      setTimeout(() => controller.abort(reason), 50);
      const error = await rejected(
        (async () => {
          for await (const _ of res.body);
        })(),
      );
      expect(error).to.equal(reason);
    });
  });

  describe("viem transport (rpcTransport)", function () {
    const client = (url: string, timeoutMs?: number) =>
      createPublicClient({ transport: rpcTransport(url, { timeoutMs }) });
    const rpc = (status: number, body: unknown) => {
      handle = (_req, res) => res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };

    it("calls a method with JSON-RPC 2.0 and returns its result", async function () {
      rpc(200, { jsonrpc: "2.0", id: 1, result: "0x2a" });
      expect(await client(base).getBlockNumber({ cacheTime: 0 })).to.equal(42n);
      const call = JSON.parse(seen[0].body);
      expect(call).to.include({ jsonrpc: "2.0", method: "eth_blockNumber" });
      expect(seen[0].headers["content-type"]).to.equal("application/json");
    });

    it("throws viem's class for the code of a JSON-RPC error, in a 2xx answer: not retryable", async function () {
      rpc(200, { jsonrpc: "2.0", id: 1, error: { code: -32601, message: "no such method" } });
      const error = await rejected(client(base).getBlockNumber({ cacheTime: 0 }));
      expect(error).to.be.instanceOf(MethodNotFoundRpcError);
      expect(isTransient(error)).to.equal(false);
    });

    it("keeps the JSON-RPC error of a non-2xx answer, with its status", async function () {
      rpc(500, { jsonrpc: "2.0", id: 1, error: { code: -32603, message: "internal error" } });
      const error = await rejected(client(base).getBlockNumber({ cacheTime: 0 }));
      expect(error).to.be.instanceOf(InternalRpcError);
      const request = [...causes(error)].find((e) => (e as { status?: number }).status !== undefined);
      expect((request as { status?: number }).status).to.equal(500);
    });

    it("throws HttpRequestError with the status for another non-2xx answer: retryable on 5xx and 429", async function () {
      for (const [status, transient] of [
        [503, true],
        [429, true],
        [404, false],
      ] as const) {
        handle = (_req, res) => res.writeHead(status).end("no");
        const error = await rejected(client(base).getBlockNumber({ cacheTime: 0 }));
        expect(error, String(status)).to.be.instanceOf(HttpRequestError);
        expect([(error as HttpRequestError).status, isTransient(error)]).to.deep.equal([status, transient]);
      }
    });

    it("throws viem's TimeoutError when the node does not answer in time: retryable", async function () {
      handle = (_req, res) => void hanging.push(res);
      const error = await rejected(client(base, 200).getBlockNumber({ cacheTime: 0 }));
      expect(error).to.be.instanceOf(TimeoutError);
      expect(isTransient(error)).to.equal(true);
    });

    it("throws HttpRequestError caused by the refused connection: retryable", async function () {
      const error = await rejected(client(await closedUrl()).getBlockNumber({ cacheTime: 0 }));
      expect(error).to.be.instanceOf(HttpRequestError);
      expect((error as HttpRequestError).status).to.equal(undefined);
      expect([...causes(error)].some((e) => e instanceof HttpConnectionError)).to.equal(true);
      expect(isTransient(error)).to.equal(true);
    });

    it("throws HttpRequestError for a 2xx body that is not JSON: not retryable", async function () {
      handle = (_req, res) => res.end("<html>proxy login</html>");
      const error = await rejected(client(base).getBlockNumber({ cacheTime: 0 }));
      expect(error).to.be.instanceOf(HttpRequestError);
      expect(isTransient(error)).to.equal(false);
    });

    it("throws ResponseBodyTooLargeError for an answer over its limit", async function () {
      rpc(200, { jsonrpc: "2.0", id: 1, result: "0x" + "00".repeat(1_000) });
      const transport = rpcTransport(base, { maxBodyBytes: 100 });
      const error = await rejected(createPublicClient({ transport }).getBlockNumber({ cacheTime: 0 }));
      expect([...causes(error)].some((e) => e instanceof ResponseBodyTooLargeError)).to.equal(true);
    });
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}
