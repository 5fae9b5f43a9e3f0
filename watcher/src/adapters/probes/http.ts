// HTTP and JSON-RPC calls for the probes, on the watcher's HTTP client (not fetch: ../httpClient.ts says why). Every
// call has a timeout and a size limit, and follows redirects as fetch did; a failure (refused, timed out, too large,
// not JSON) throws, and the probe turns it into "the node does not answer".
import { request } from "../httpClient";

/** The most a probe reads of an answer: a node's status is a few kilobytes. */
const MAX_BODY_BYTES = 1024 * 1024;
/** Redirects followed, as many as fetch follows. */
const MAX_REDIRECTS = 20;

export interface JsonRpcReply {
  result?: unknown;
  error?: { code?: unknown; message?: unknown; data?: unknown };
}

/** GET `url`; its status and its JSON body (undefined when the body is empty or not JSON). */
export async function getJson(url: string, timeoutMs: number): Promise<{ status: number; body: unknown }> {
  const response = await request(url, { timeoutMs, maxBodyBytes: MAX_BODY_BYTES, maxRedirects: MAX_REDIRECTS });
  const text = response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, body };
}

/** One JSON-RPC 2.0 call; the reply's result or error. Throws when there is neither. */
export async function rpcCall(url: string, method: string, timeoutMs: number): Promise<JsonRpcReply> {
  const response = await request(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: [] }),
    timeoutMs,
    maxBodyBytes: MAX_BODY_BYTES,
    maxRedirects: MAX_REDIRECTS,
  });
  const reply = JSON.parse(response.text()) as JsonRpcReply | null;
  if (!reply || typeof reply !== "object" || !("result" in reply || "error" in reply))
    throw new Error(`${method}: not a JSON-RPC reply (HTTP ${response.status})`);
  return reply;
}

/** A non-negative integer from a JSON number, a decimal string or a 0x-prefixed hex string. */
export function toHeight(value: unknown): bigint | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === "string" && /^(\d+|0x[0-9a-fA-F]+)$/.test(value)) return BigInt(value);
  return undefined;
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
