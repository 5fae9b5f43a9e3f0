// Downloads release artifacts over the watcher's HTTP client (./httpClient.ts, not fetch): https only (http only when
// allowed for local testing), redirects followed by hand
// and held to the same rule, an idle and a total timeout, a size limit enforced while streaming, the sha256
// computed on the way, and the file renamed into place only when complete. An order from the network (the caller's
// signal) stops a download at once, however slowly the server sends.
import { createHash } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { DOWNLOAD_DEFAULTS } from "../config";
import { fatal, fsCall, retryable, WatcherError } from "../errors";
import type { Downloader } from "../ports";
import { abortReason, throwIfAborted } from "../preempt";
import { HttpConnectionError, open as openUrl, type OpenResponse } from "./httpClient";

export interface DownloaderOptions {
  /** Also accept http:// (local testing only). */
  allowInsecureHttp?: boolean;
  /** The longest the server may send nothing (headers or body bytes) before the download is abandoned. */
  idleTimeoutMs?: number;
  /** The longest a whole download may take, redirects included. */
  totalTimeoutMs?: number;
  /** The most redirects followed for one download. */
  maxRedirects?: number;
}

export class HttpDownloader implements Downloader {
  private readonly settings: Required<DownloaderOptions>;

  constructor(options: DownloaderOptions = {}) {
    this.settings = { allowInsecureHttp: false, ...DOWNLOAD_DEFAULTS, ...options };
  }

  async fetch(
    uri: string,
    destination: string,
    maxBytes: number,
    signal?: AbortSignal,
  ): Promise<{ sha256: string; bytes: number }> {
    this.checkScheme(uri);
    throwIfAborted(signal);
    const partial = `${destination}.tmp`;
    await fsCall("create directory", dirname(destination), () => mkdir(dirname(destination), { recursive: true }));
    const watchdog = new Watchdog(uri, this.settings, signal);
    try {
      const response = await this.follow(uri, watchdog);
      const declared = Number(response.headers["content-length"] ?? NaN);
      if (declared > maxBytes) {
        response.body.destroy();
        throw tooLarge(uri, maxBytes, declared);
      }
      const result = await save(response.body, partial, uri, maxBytes, () => watchdog.touch());
      await fsCall("rename to", destination, () => rename(partial, destination));
      return result;
    } catch (e) {
      await fsCall("remove", partial, () => rm(partial, { force: true }));
      throw watchdog.fired() ?? asDownloadError(uri, e);
    } finally {
      watchdog.stop();
    }
  }

  /** GETs `uri`, following at most `maxRedirects` redirects, each checked like the URI itself; returns the 200. */
  private async follow(uri: string, watchdog: Watchdog): Promise<OpenResponse> {
    let url = uri;
    for (let hop = 0; ; hop++) {
      const response = await openUrl(url, { signal: watchdog.signal });
      watchdog.touch();
      if (response.status >= 300 && response.status < 400) {
        response.body.destroy();
        const location = response.headers.location;
        if (!location) throw refused(uri, `${url} answered ${response.status} without a Location`);
        if (hop >= this.settings.maxRedirects) {
          throw refused(uri, `more than ${this.settings.maxRedirects} redirects (artifacts.maxRedirects)`);
        }
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw refused(uri, `redirect to ${JSON.stringify(location)}, which is not a URL`);
        }
        if (!this.allowed(next.protocol)) {
          throw refused(uri, `redirect to ${next.href}: only ${this.schemes()} is followed`);
        }
        url = next.href;
        continue;
      }
      if (response.status < 200 || response.status >= 300) {
        response.body.destroy();
        const details = { uri, url, status: response.status };
        const transient = response.status >= 500 || response.status === 408 || response.status === 429;
        throw (transient ? retryable : fatal)("download-failed", `GET ${url} answered ${response.status}`, details);
      }
      return response;
    }
  }

  private allowed(protocol: string): boolean {
    return protocol === "https:" || (protocol === "http:" && this.settings.allowInsecureHttp);
  }

  private schemes(): string {
    return this.settings.allowInsecureHttp ? "https or http" : "https";
  }

  private checkScheme(uri: string): void {
    let protocol: string;
    try {
      protocol = new URL(uri).protocol;
    } catch {
      throw fatal("artifact-uri", `artifact URI ${JSON.stringify(uri)} is not a URL`, { uri });
    }
    if (this.allowed(protocol)) return;
    const hint = protocol === "http:" ? " (http is allowed only with artifacts.allowInsecureHttp)" : "";
    throw fatal("artifact-uri", `artifact URI ${uri} must use https${hint}`, { uri });
  }
}

/**
 * Aborts a download when the server sends nothing for `idleTimeoutMs`, the whole takes longer than
 * `totalTimeoutMs`, or the caller's `signal` is aborted; `fired()` is the WatcherError naming which, once it has.
 */
class Watchdog {
  private readonly controller = new AbortController();
  private idle?: NodeJS.Timeout;
  private readonly total: NodeJS.Timeout;
  private reason?: WatcherError;
  private readonly onAbort = () => this.fire(abortReason(this.signalOfCaller!));

  constructor(
    private readonly uri: string,
    private readonly settings: Required<DownloaderOptions>,
    private readonly signalOfCaller?: AbortSignal,
  ) {
    signalOfCaller?.addEventListener("abort", this.onAbort, { once: true });
    this.total = setTimeout(
      () =>
        this.abort(
          `took longer than ${settings.totalTimeoutMs} ms (artifacts.totalTimeoutMs)`,
          settings.totalTimeoutMs,
        ),
      settings.totalTimeoutMs,
    );
    this.touch();
    if (signalOfCaller?.aborted) this.onAbort();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  touch(): void {
    clearTimeout(this.idle);
    const ms = this.settings.idleTimeoutMs;
    this.idle = setTimeout(() => this.abort(`stalled: no bytes for ${ms} ms (artifacts.idleTimeoutMs)`, ms), ms);
  }

  fired(): WatcherError | undefined {
    return this.reason;
  }

  stop(): void {
    clearTimeout(this.idle);
    clearTimeout(this.total);
    this.signalOfCaller?.removeEventListener("abort", this.onAbort);
  }

  private abort(why: string, timeoutMs: number): void {
    // Retryable: a slow or stalled server may recover, and the bound keeps one download from holding the watcher.
    this.fire(retryable("download-timeout", `GET ${this.uri} ${why}`, { uri: this.uri, timeoutMs }));
  }

  private fire(reason: WatcherError): void {
    if (this.reason) return;
    this.reason = reason;
    this.stop();
    this.controller.abort(reason);
  }
}

/** Streams `body` to `file`, counting and hashing, stopping as soon as it passes `maxBytes`; fsyncs at the end. */
async function save(
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  file: string,
  uri: string,
  maxBytes: number,
  progress: () => void,
) {
  const hash = createHash("sha256");
  let bytes = 0;
  const handle = await fsCall("open", file, () => open(file, "w"));
  try {
    for await (const chunk of body) {
      progress();
      bytes += chunk.length;
      if (bytes > maxBytes) throw tooLarge(uri, maxBytes);
      hash.update(chunk);
      for (let written = 0; written < chunk.length;) {
        written += (await fsCall("write", file, () => handle.write(chunk, written))).bytesWritten;
      }
    }
    await fsCall("fsync", file, () => handle.sync());
  } finally {
    await handle.close();
  }
  return { sha256: hash.digest("hex"), bytes };
}

/** A connection failure (refused, reset, DNS, TLS, cut mid-body): retryable, with the system's reason. */
function asDownloadError(uri: string, e: unknown): WatcherError {
  if (e instanceof WatcherError) return e;
  const error = e as Error & { cause?: { message?: string } };
  const why = error instanceof HttpConnectionError ? (error.cause?.message ?? error.message) : error.message;
  return retryable("download-failed", `GET ${uri} failed: ${why}`, { uri }, e);
}

/** A redirect the watcher will not follow: named, and never retried (the same server will answer the same). */
const refused = (uri: string, why: string) =>
  fatal("download-refused", `GET ${uri} refused: ${why}`, { uri, reason: why });

const tooLarge = (uri: string, maxBytes: number, declared?: number) =>
  fatal("artifact-too-large", `artifact ${uri} is larger than the limit of ${maxBytes} bytes`, {
    uri,
    maxBytes,
    declared,
  });
