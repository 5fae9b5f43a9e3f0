// The watcher's one HTTP client, on node:http and node:https. Node's global fetch (and Headers, Request, Response)
// loads the bundled undici on first touch, about 13 MB of resident memory an idle watcher never gives back; every
// request the watcher makes (JSON-RPC through viem, probes, webhooks, the relay, downloads) goes through here instead.
//
// `open` sends a request and resolves with the response's head and its body as a stream (downloads); `request`
// buffers the body, within a timeout and a size limit, and can follow redirects the way fetch does. Connections are
// kept alive for a few seconds, as fetch keeps them. Failures are errors of their own: HttpTimeoutError,
// HttpConnectionError (the socket: refused, reset, DNS, TLS) and HttpBodyTooLargeError; an aborted signal rejects
// with its reason, as fetch does.
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";

export type HttpMethod = "GET" | "POST";

export interface OpenOptions {
  method?: HttpMethod;
  /** Request headers, names in lower case. */
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Aborts the request, and the body's stream once open, with the signal's reason. */
  signal?: AbortSignal;
}

export interface RequestOptions extends OpenOptions {
  /** The longest the whole exchange may take, the body included (0: no limit). */
  timeoutMs?: number;
  /** The most body bytes read (default 10 MiB); a longer body fails with HttpBodyTooLargeError. */
  maxBodyBytes?: number;
  /** Redirects followed (default 0: a 3xx is returned as it is), with fetch's rules for the method. */
  maxRedirects?: number;
  /** Resolve on the response's head and drain the body unread (an answer whose status is all that counts). */
  discardBody?: boolean;
}

/** A response whose body is still to be read: iterate `body` (Buffers), or `body.destroy()` to abandon it. */
export interface OpenResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

export interface HttpResponse {
  status: number;
  /** Whether the status is 2xx. */
  ok: boolean;
  headers: IncomingHttpHeaders;
  /** The URL that answered (the last one, after redirects). */
  url: string;
  body: Buffer;
  text(): string;
}

export const DEFAULT_MAX_BODY_BYTES = 10 * 1024 * 1024;

/** The request did not complete within its timeout. */
export class HttpTimeoutError extends Error {
  override readonly name = "HttpTimeoutError";
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super(`${redact(url)} did not answer within ${timeoutMs} ms`);
  }
}

/** The connection failed: refused, reset, closed early, a DNS or TLS failure. Trying again may help. */
export class HttpConnectionError extends Error {
  override readonly name = "HttpConnectionError";
  /** The system's code (ECONNREFUSED, ECONNRESET, ENOTFOUND ...), when there is one. */
  readonly code?: string;
  constructor(
    readonly url: string,
    cause: Error,
  ) {
    super(`${redact(url)}: ${cause.message}`, { cause });
    this.code = (cause as NodeJS.ErrnoException).code;
  }
}

/** The response's body is larger than the request allowed. */
export class HttpBodyTooLargeError extends Error {
  override readonly name = "HttpBodyTooLargeError";
  constructor(
    readonly url: string,
    readonly maxBytes: number,
    readonly bytes: number,
  ) {
    super(`${redact(url)} answered with a body over ${maxBytes} bytes`);
  }
}

// Idle connections are kept 4 s (fetch's default) or less when the server's Keep-Alive header asks for less; idle
// sockets do not hold the process open.
const agents = {
  "http:": new HttpAgent({ keepAlive: true, timeout: 4_000 }),
  "https:": new HttpsAgent({ keepAlive: true, timeout: 4_000 }),
};

/** Sends a request; resolves once the response's head has arrived. */
export function open(url: string, options: OpenOptions = {}): Promise<OpenResponse> {
  return new Promise((resolve, reject) => {
    const { signal } = options;
    if (signal?.aborted) return reject(signal.reason);
    let target: URL;
    try {
      target = new URL(url);
    } catch {
      return reject(new TypeError(`${JSON.stringify(url)} is not a URL`));
    }
    if (target.protocol !== "http:" && target.protocol !== "https:")
      return reject(new TypeError(`${target.protocol} URLs are not supported: only http and https`));
    const body = typeof options.body === "string" ? Buffer.from(options.body) : options.body;
    // Uncompressed, as an artifact's digest is over the bytes served; `request` still decodes a server that insists.
    const headers: Record<string, string> = {
      accept: "*/*",
      "accept-encoding": "identity",
      "user-agent": "lockstep-watcher",
      ...options.headers,
    };
    if (body) headers["content-length"] = String(body.length);
    const send = target.protocol === "https:" ? httpsRequest : httpRequest;
    // The URL's user and password, if any, become a Basic Authorization header (node:http does it from the URL).
    const req = send(target, { method: options.method ?? "GET", headers, agent: agents[target.protocol] });
    let response: IncomingMessage | undefined;
    const onAbort = () => {
      const reason = signal!.reason;
      if (response) response.destroy(reason);
      req.destroy(reason);
      reject(reason);
    };
    const done = () => signal?.removeEventListener("abort", onAbort);
    signal?.addEventListener("abort", onAbort, { once: true });
    req.once("response", (res) => {
      response = res;
      res.once("close", done);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    req.on("error", (error) => {
      done();
      reject(signal?.aborted ? signal.reason : new HttpConnectionError(url, error));
    });
    req.end(body);
  });
}

/** Sends a request and reads its whole response, following redirects when allowed. */
export async function request(url: string, options: RequestOptions = {}): Promise<HttpResponse> {
  const { timeoutMs = 0, maxBodyBytes = DEFAULT_MAX_BODY_BYTES, maxRedirects = 0 } = options;
  const controller = new AbortController();
  const onAbort = () => controller.abort(options.signal!.reason);
  if (options.signal?.aborted) throw options.signal.reason;
  options.signal?.addEventListener("abort", onAbort, { once: true });
  const timer =
    timeoutMs > 0 ? setTimeout(() => controller.abort(new HttpTimeoutError(url, timeoutMs)), timeoutMs) : undefined;
  try {
    let current = url;
    let { method = "GET", body } = options;
    for (let hop = 0; ; hop++) {
      const res = await open(current, { ...options, method, body, signal: controller.signal });
      const location = res.headers.location;
      if (REDIRECTS.has(res.status) && location && hop < maxRedirects) {
        res.body.on("error", () => undefined).resume();
        current = new URL(location, current).href;
        // As fetch: a 303, or a 301 or 302 answering a POST, is followed with a GET without the body.
        if (res.status === 303 || (method === "POST" && res.status !== 307 && res.status !== 308)) {
          method = "GET";
          body = undefined;
        }
        continue;
      }
      const ok = res.status >= 200 && res.status < 300;
      if (options.discardBody) {
        res.body.on("error", () => undefined).resume();
        return { status: res.status, ok, headers: res.headers, url: current, body: Buffer.alloc(0), text: () => "" };
      }
      const raw = await readAll(res.body, current, maxBodyBytes);
      const data = decode(raw, res.headers["content-encoding"], current, maxBodyBytes);
      return { status: res.status, ok, headers: res.headers, url: current, body: data, text: () => data.toString() };
    }
  } catch (error) {
    throw controller.signal.aborted ? controller.signal.reason : error;
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** The body's bytes, stopping (and closing the connection) as soon as they pass `maxBytes`. */
async function readAll(body: IncomingMessage, url: string, maxBytes: number): Promise<Buffer> {
  const declared = Number(body.headers["content-length"]);
  if (declared > maxBytes) {
    body.destroy();
    throw new HttpBodyTooLargeError(url, maxBytes, declared);
  }
  const chunks: Buffer[] = [];
  let bytes = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      if (bytes > maxBytes) {
        body.destroy();
        throw new HttpBodyTooLargeError(url, maxBytes, bytes);
      }
      chunks.push(chunk);
    }
  } catch (error) {
    if (error instanceof HttpBodyTooLargeError) throw error;
    throw new HttpConnectionError(url, error as Error);
  }
  return Buffer.concat(chunks);
}

/** The body as sent, when the server compressed it although asked not to. */
function decode(raw: Buffer, encoding: string | undefined, url: string, maxBytes: number): Buffer {
  const coding = encoding?.trim().toLowerCase();
  if (!coding || coding === "identity") return raw;
  const inflate = { gzip: gunzipSync, "x-gzip": gunzipSync, deflate: inflateSync, br: brotliDecompressSync }[coding];
  if (!inflate) throw new HttpConnectionError(url, new Error(`unsupported content-encoding ${coding}`));
  try {
    return inflate(raw, { maxOutputLength: maxBytes });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE")
      throw new HttpBodyTooLargeError(url, maxBytes, maxBytes + 1);
    throw new HttpConnectionError(url, error as Error);
  }
}

/** `url` without its user and password, for messages and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (!u.username && !u.password) return url;
    u.username = "";
    u.password = "";
    return u.href;
  } catch {
    return url;
  }
}
