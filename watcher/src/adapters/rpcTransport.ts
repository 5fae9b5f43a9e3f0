// viem's JSON-RPC over HTTP, on the watcher's own client (httpClient.ts) instead of global fetch: a `custom` transport
// whose failures are the errors viem's `http` transport throws, so that viem maps them the same way (an RPC error by
// its code, a revert with its data) and viemChain.ts sorts them into retryable or not exactly as before:
// - a JSON-RPC error, in a 2xx or any other answer: RpcRequestError (viem turns it into the class of its code);
// - another non-2xx answer: HttpRequestError with the status;
// - no complete answer in time: TimeoutError;
// - a failed connection or a body that is not JSON: HttpRequestError whose cause says why;
// - a body over the limit: ResponseBodyTooLargeError.
import {
  HttpRequestError,
  ResponseBodyTooLargeError,
  RpcRequestError,
  TimeoutError,
  custom,
  type CustomTransport,
} from "viem";
import { HttpBodyTooLargeError, HttpTimeoutError, redact, request } from "./httpClient";

export interface RpcTransportOptions {
  /** The longest one call may take, its answer's body included (viem's `http` default: 10 s). */
  timeoutMs?: number;
  /** The largest answer accepted (viem's `http` default: 10 MiB). */
  maxBodyBytes?: number;
}

type RpcError = { code: number; message: string; data?: unknown };

/** A transport for the JSON-RPC endpoint at `url`. It never retries: the watcher's runtime does. */
export function rpcTransport(url: string, options: RpcTransportOptions = {}): CustomTransport {
  const { timeoutMs = 10_000, maxBodyBytes = 10 * 1024 * 1024 } = options;
  const shown = redact(url); // errors name the endpoint without its credentials
  let id = 0;
  return custom(
    {
      async request({ method, params }: { method: string; params?: unknown }, o?: { signal?: AbortSignal }) {
        const body = { jsonrpc: "2.0", id: ++id, method, params };
        let data: { result?: unknown; error?: unknown } | undefined;
        try {
          const res = await request(url, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify(body),
            timeoutMs,
            maxBodyBytes,
            signal: o?.signal,
          });
          const text = res.text();
          try {
            data = JSON.parse(text || "{}");
          } catch (error) {
            if (res.ok) throw new HttpRequestError({ body, url: shown, cause: error as Error });
            data = { error: text };
          }
          if (!res.ok) {
            if (isRpcError(data?.error))
              throw new RpcRequestError({ body, error: data.error, status: res.status, url: shown });
            throw new HttpRequestError({
              body,
              details: JSON.stringify(data?.error) || `HTTP ${res.status}`,
              status: res.status,
              url: shown,
            });
          }
        } catch (error) {
          if (o?.signal?.aborted) throw error; // viem reports the abort itself
          if (error instanceof HttpRequestError || error instanceof RpcRequestError) throw error;
          if (error instanceof HttpTimeoutError) throw new TimeoutError({ body, url: shown });
          if (error instanceof HttpBodyTooLargeError)
            throw new ResponseBodyTooLargeError({ maxSize: error.maxBytes, size: error.bytes });
          throw new HttpRequestError({ body, url: shown, cause: error as Error });
        }
        if (data?.error !== undefined && data.error !== null)
          throw new RpcRequestError({ body, error: data.error as RpcError, url: shown });
        return data?.result;
      },
    },
    { retryCount: 0, name: "JSON-RPC over node:http" },
  );
}

function isRpcError(error: unknown): error is RpcError {
  const e = error as RpcError | undefined;
  return typeof e?.code === "number" && typeof e.message === "string";
}
