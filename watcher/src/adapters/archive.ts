// Unpacks a release archive (.tar.gz or .zip) into an empty directory, refusing anything that could write
// outside it or surprise the node: `..` or absolute entry names, links that point outside (or nowhere), device
// files and fifos, and archives that expand past the size cap. Every refusal is one line naming the archive and
// the entry; the caller extracts into a staging directory it removes on failure, so the node is never touched.
import { createReadStream } from "node:fs";
import { copyFile, lstat, mkdir, open, readdir, realpath, symlink } from "node:fs/promises";
import { dirname, isAbsolute, join, posix, relative, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { Writable, type Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import * as tar from "tar-stream";
import * as yauzl from "yauzl";
import { fatal, fsCall, WatcherError } from "../errors";

export interface ExtractLimits {
  /** The most bytes all entries may expand to, counted as they are written. */
  maxBytes: number;
  /** The most entries an archive may hold. */
  maxEntries: number;
}

export type ArchiveFormat = "tar.gz" | "zip";

type EntryKind = "file" | "directory" | "symlink" | "link" | "refused";

interface Entry {
  name: string;
  kind: EntryKind;
  /** What a refused entry is (a character device, a fifo ...). */
  what?: string;
  mode: number;
  /** A link's target. */
  target?: string;
}

/** Extracts `archive` into `root` (created empty if missing). Throws a not-retryable WatcherError on refusal. */
export async function extractArchive(
  archive: string,
  format: ArchiveFormat,
  root: string,
  limits: ExtractLimits,
): Promise<void> {
  await fsCall("create directory", root, () => mkdir(root, { recursive: true }));
  const realRoot = await fsCall("resolve", root, () => realpath(root));
  const extractor = new Extractor(archive, realRoot, limits);
  try {
    if (format === "tar.gz") await extractTar(archive, extractor);
    else await extractZip(archive, extractor);
    await extractor.checkLinks();
  } catch (e) {
    if (e instanceof WatcherError) throw e;
    throw refused(archive, `it cannot be read as ${format}: ${(e as Error).message.split("\n")[0]}`);
  }
}

class Extractor {
  private entries = 0;
  private bytes = 0;
  private readonly links: string[] = [];

  constructor(
    private readonly archive: string,
    private readonly root: string,
    private readonly limits: ExtractLimits,
  ) {}

  /** Writes one entry; `content` is read only for files. */
  async add(entry: Entry, content?: Readable): Promise<void> {
    if (++this.entries > this.limits.maxEntries) {
      throw refused(this.archive, `it holds more than ${this.limits.maxEntries} entries`);
    }
    const rel = this.safeName(entry.name);
    if (entry.kind === "refused") throw refused(this.archive, `entry ${entry.name} is a ${entry.what}`);
    if (rel === "") return; // the archive's root directory itself
    const path = join(this.root, rel);
    await this.checkParent(entry.name, path);
    switch (entry.kind) {
      case "directory":
        await fsCall("create directory", path, () => mkdir(path, { recursive: true, mode: 0o755 }));
        return;
      case "symlink": {
        const target = entry.target ?? "";
        if (target === "" || isAbsolute(target) || posix.isAbsolute(target)) {
          throw refused(this.archive, `entry ${entry.name} links to ${JSON.stringify(target)}, an absolute path`);
        }
        const lexical = posix.normalize(posix.join(posix.dirname(rel.split(sep).join("/")), target));
        if (lexical === ".." || lexical.startsWith("../")) {
          throw refused(this.archive, `entry ${entry.name} links to ${target}, outside the archive`);
        }
        await fsCall("create symlink", path, () => symlink(target, path));
        this.links.push(entry.name);
        return;
      }
      case "link": {
        // A hard link: a copy of an entry already extracted, named like any entry.
        const source = join(this.root, this.safeName(entry.target ?? ""));
        await this.checkParent(entry.name, source);
        const info = await lstat(source).catch(() => undefined);
        if (!info?.isFile()) {
          throw refused(this.archive, `entry ${entry.name} is a hard link to ${entry.target}, not a file before it`);
        }
        this.bytes += info.size;
        this.checkSize();
        await fsCall("copy to", path, () => copyFile(source, path));
        return;
      }
      case "file": {
        const handle = await fsCall("create", path, () => open(path, "wx", entry.mode & 0o111 ? 0o755 : 0o644));
        try {
          const sink = new Writable({
            write: (chunk: Buffer, _encoding, done) => {
              this.bytes += chunk.length;
              try {
                this.checkSize();
              } catch (e) {
                done(e as Error);
                return;
              }
              handle.write(chunk).then(
                () => done(),
                (e: Error) => done(e),
              );
            },
          });
          await pipeline(content!, sink);
        } finally {
          await handle.close();
        }
        return;
      }
    }
  }

  /** After extraction: every link must resolve, and to a place inside the root. */
  async checkLinks(): Promise<void> {
    for (const name of this.links) {
      const path = join(this.root, this.safeName(name));
      const real = await realpath(path).catch(() => undefined);
      if (real === undefined) throw refused(this.archive, `entry ${name} is a link that points nowhere`);
      if (!inside(this.root, real)) throw refused(this.archive, `entry ${name} links outside the archive`);
    }
  }

  /** The entry's name as a relative path inside the root, refusing absolute names and `..`. */
  private safeName(name: string): string {
    if (name.includes("\0")) throw refused(this.archive, `entry ${JSON.stringify(name)} has a NUL in its name`);
    const slashes = name.replace(/\\/g, "/");
    if (slashes.startsWith("/") || /^[A-Za-z]:/.test(slashes)) {
      throw refused(this.archive, `entry ${name} has an absolute path`);
    }
    const parts = slashes.split("/").filter((part) => part !== "" && part !== ".");
    if (parts.includes("..")) throw refused(this.archive, `entry ${name} climbs out with ..`);
    return parts.join(sep);
  }

  /** The entry's directory exists (made if not) and, links resolved, is still inside the root. */
  private async checkParent(name: string, path: string): Promise<void> {
    const parent = dirname(path);
    await fsCall("create directory", parent, () => mkdir(parent, { recursive: true }));
    const real = await fsCall("resolve", parent, () => realpath(parent));
    if (!inside(this.root, real)) throw refused(this.archive, `entry ${name} would be written through a link outside`);
    const existing = await lstat(path).catch(() => undefined);
    if (existing && !existing.isDirectory()) throw refused(this.archive, `entry ${name} appears twice`);
  }

  private checkSize(): void {
    if (this.bytes > this.limits.maxBytes) {
      throw refused(this.archive, `it expands past the limit of ${this.limits.maxBytes} bytes`);
    }
  }
}

async function extractTar(archive: string, extractor: Extractor): Promise<void> {
  const extract = tar.extract();
  const done = pipeline(createReadStream(archive), createGunzip(), extract);
  for await (const item of extract) {
    const header = item.header;
    const kind: Record<string, EntryKind> = {
      file: "file",
      "contiguous-file": "file",
      directory: "directory",
      symlink: "symlink",
      link: "link",
    };
    const entry: Entry = {
      name: header.name,
      kind: kind[header.type ?? "file"] ?? "refused",
      what: (header.type ?? "").replace(/-/g, " "),
      mode: header.mode ?? 0o644,
      target: header.linkname ?? undefined,
    };
    try {
      await extractor.add(entry, item as unknown as Readable);
    } finally {
      item.resume(); // drain what was not read, so the next entry arrives
    }
  }
  await done;
}

/** The Unix file type in a zip entry's external attributes (made on Unix: the high 16 bits are st_mode). */
function zipKind(entry: yauzl.Entry, name: string): { kind: EntryKind; what?: string; mode: number } {
  const madeOnUnix = entry.versionMadeBy >> 8 === 3;
  const mode = madeOnUnix ? (entry.externalFileAttributes >>> 16) & 0xffff : 0;
  const type = mode & 0o170000;
  if (type === 0o120000) return { kind: "symlink", mode };
  if (type === 0o020000) return { kind: "refused", what: "character device", mode };
  if (type === 0o060000) return { kind: "refused", what: "block device", mode };
  if (type === 0o010000) return { kind: "refused", what: "fifo", mode };
  if (type === 0o140000) return { kind: "refused", what: "socket", mode };
  if (type === 0o040000 || name.endsWith("/")) return { kind: "directory", mode };
  return { kind: "file", mode };
}

async function extractZip(archive: string, extractor: Extractor): Promise<void> {
  // Names are decoded and checked here (decodeStrings off), so each refusal is ours and names the entry.
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) =>
    yauzl.open(archive, { lazyEntries: true, decodeStrings: false, validateEntrySizes: true }, (e, z) =>
      e ? reject(e) : resolve(z),
    ),
  );
  try {
    for (;;) {
      const entry = await new Promise<yauzl.Entry | undefined>((resolve, reject) => {
        const onEntry = (e: yauzl.Entry) => {
          zip.off("end", onEnd);
          zip.off("error", reject);
          resolve(e);
        };
        const onEnd = () => {
          zip.off("entry", onEntry);
          zip.off("error", reject);
          resolve(undefined);
        };
        zip.once("entry", onEntry);
        zip.once("end", onEnd);
        zip.once("error", reject);
        zip.readEntry();
      });
      if (!entry) return;
      const raw = entry.fileName as unknown as Buffer;
      const utf8 = (entry.generalPurposeBitFlag & 0x800) !== 0;
      const name = raw.toString(utf8 ? "utf8" : "latin1");
      const { kind, what, mode } = zipKind(entry, name);
      const content = kind === "file" || kind === "symlink" ? await openZipEntry(zip, entry) : undefined;
      if (kind === "symlink") {
        const target = await readAll(content!, 4096, () =>
          refused(archive, `entry ${name} has a link target too long`),
        );
        await extractor.add({ name, kind, mode, target });
      } else {
        await extractor.add({ name, kind, what, mode }, content);
      }
    }
  } finally {
    zip.close();
  }
}

function openZipEntry(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Readable> {
  return new Promise((resolve, reject) => zip.openReadStream(entry, (e, stream) => (e ? reject(e) : resolve(stream))));
}

async function readAll(stream: Readable, max: number, tooLong: () => Error): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    length += (chunk as Buffer).length;
    if (length > max) throw tooLong();
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function inside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
}

const refused = (archive: string, why: string) =>
  fatal("archive-refused", `archive ${archive} refused: ${why}`, { archive, reason: why });

/** Every entry name under `root`, sorted (for tests and logs). */
export async function listTree(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const path = join(dir, name);
      out.push(relative(root, path));
      if ((await lstat(path)).isDirectory()) await walk(path);
    }
  };
  await walk(root);
  return out;
}
