// Downloads release artifacts: https only (http only when allowed for local testing), a size limit enforced
// while streaming, the sha256 computed on the way, and the file renamed into place only when complete.
import { createHash } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname } from "node:path";
import { fatal, fsCall, retryable, WatcherError } from "../errors";
import type { Downloader } from "../ports";

export interface DownloaderOptions {
  /** Also accept http:// (local testing only). */
  allowInsecureHttp?: boolean;
  /** The longest a whole download may take. */
  timeoutMs?: number;
}

export class HttpDownloader implements Downloader {
  constructor(private readonly options: DownloaderOptions = {}) {}

  async fetch(uri: string, destination: string, maxBytes: number): Promise<{ sha256: string; bytes: number }> {
    this.checkScheme(uri);
    const partial = `${destination}.tmp`;
    await fsCall("create directory", dirname(destination), () => mkdir(dirname(destination), { recursive: true }));
    try {
      const response = await fetch(uri, { signal: AbortSignal.timeout(this.options.timeoutMs ?? 15 * 60_000) });
      this.checkScheme(response.url || uri); // a redirect must not leave https either
      if (!response.ok) {
        await response.body?.cancel();
        const details = { uri, status: response.status };
        const transient = response.status >= 500 || response.status === 408 || response.status === 429;
        throw (transient ? retryable : fatal)("download-failed", `GET ${uri} answered ${response.status}`, details);
      }
      const declared = Number(response.headers.get("content-length") ?? NaN);
      if (declared > maxBytes) {
        await response.body?.cancel();
        throw tooLarge(uri, maxBytes, declared);
      }
      const result = await save(response.body ?? [], partial, uri, maxBytes);
      await fsCall("rename to", destination, () => rename(partial, destination));
      return result;
    } catch (e) {
      await fsCall("remove", partial, () => rm(partial, { force: true }));
      if (e instanceof WatcherError) throw e;
      throw retryable("download-failed", `GET ${uri} failed: ${(e as Error).message}`, { uri }, e);
    }
  }

  private checkScheme(uri: string): void {
    let protocol: string;
    try {
      protocol = new URL(uri).protocol;
    } catch {
      throw fatal("artifact-uri", `artifact URI ${JSON.stringify(uri)} is not a URL`, { uri });
    }
    if (protocol === "https:" || (protocol === "http:" && this.options.allowInsecureHttp)) return;
    const hint = protocol === "http:" ? " (http is allowed only with artifacts.allowInsecureHttp)" : "";
    throw fatal("artifact-uri", `artifact URI ${uri} must use https${hint}`, { uri });
  }
}

/** Streams `body` to `file`, counting and hashing, stopping as soon as it passes `maxBytes`; fsyncs at the end. */
async function save(
  body: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  file: string,
  uri: string,
  maxBytes: number,
) {
  const hash = createHash("sha256");
  let bytes = 0;
  const handle = await fsCall("open", file, () => open(file, "w"));
  try {
    for await (const chunk of body) {
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

const tooLarge = (uri: string, maxBytes: number, declared?: number) =>
  fatal("artifact-too-large", `artifact ${uri} is larger than the limit of ${maxBytes} bytes`, {
    uri,
    maxBytes,
    declared,
  });
