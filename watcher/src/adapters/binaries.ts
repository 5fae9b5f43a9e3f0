// The versions of the node binary on disk, and a `current` symlink naming the active one. Where each version
// lives is the layout's business (layouts.ts: Lockstep's versions/<version>/, or Cosmovisor's tree). Staging is
// content-addressed: a version directory is staged for one artifact digest, recorded beside it with a digest of
// the whole tree, and a build is reused, and switched to, only when both still match. A version name alone
// never selects a build. The switch renames a new symlink over `current`, so it is atomic.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import {
  access,
  chmod,
  constants,
  copyFile,
  lstat,
  mkdir,
  open,
  readdir,
  readlink,
  rename,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import type { Paths } from "../config";
import type { Binaries, StageOptions } from "../ports";
import { fatal, fsCall } from "../errors";
import { extractArchive, type ExtractLimits } from "./archive";
import { lockstepLayout, type Layout, type UpgradePlan } from "./layouts";
import { exists, readJsonRecord } from "./stateCopy";

/** The file beside each staged version recording what was staged there. */
export const STAGE_RECORD = ".lockstep-staged.json";
/** Files in a version directory that are not part of the build (Cosmovisor copies upgrade-info.json there). */
const NOT_BUILD = new Set([STAGE_RECORD, "upgrade-info.json"]);

export interface StageRecord {
  version: string;
  /** The artifact's sha256 as voted (of the archive, for an archive artifact). */
  artifactSha256: string;
  /** sha256 over every path, kind, executable bit and content (or link target) in the directory. */
  tree: string;
  /** For an archive artifact: its format and the binary's path inside it. */
  archive?: { format: "tar.gz" | "zip"; binary: string };
}

/** Limits on what an archive may expand to (artifacts.maxExtractedBytes, artifacts.maxArchiveEntries). */
export const ARCHIVE_DEFAULTS: ExtractLimits = { maxBytes: 4 * 1024 ** 3, maxEntries: 100_000 };

export class BinaryStore implements Binaries {
  private readonly layout: Layout;

  constructor(
    paths: Paths,
    layout?: Layout,
    private readonly limits: ExtractLimits = ARCHIVE_DEFAULTS,
  ) {
    this.layout = layout ?? lockstepLayout(paths);
  }

  /**
   * Verifies `downloadedFile` against `expectedSha256`, then puts the build in place as `version`: the file
   * itself as the executable, or, for an archive, its contents with the declared binary executable. A no-op
   * when that version is staged already from that digest and unchanged since; another build staged under the
   * same name is replaced (refused when it is the active one).
   */
  async stage(version: string, downloadedFile: string, expectedSha256: string, options: StageOptions = {}) {
    const expected = normalDigest(expectedSha256);
    if (await this.isStaged(version, expected)) return;
    const dir = this.layout.dirFor(version, options.upgradeName);
    const actual = await sha256File(downloadedFile);
    if (actual !== expected) {
      throw fatal("digest-mismatch", `the artifact for ${version} does not have the manifest's sha256`, {
        version,
        file: downloadedFile,
        expected,
        actual,
      });
    }
    if (await exists(dir)) {
      if ((await this.layout.activeDir()) === dir) {
        throw fatal(
          "version-active",
          `${dir} is active and holds another build than ${version} with sha256 ${expected}: it is not replaced`,
          { version, dir },
        );
      }
      await fsCall("remove", dir, () => rm(dir, { recursive: true, force: true })); // half staged, or another build
    }
    // Built under a name no version can have, then renamed into place whole.
    const staging = join(dirname(dir), `.staging-${version}`);
    await fsCall("remove", staging, () => rm(staging, { recursive: true, force: true }));
    await fsCall("create directory", staging, () => mkdir(staging, { recursive: true }));
    try {
      const binary = join(staging, this.layout.binaryPath);
      if (options.archive) {
        await extractArchive(downloadedFile, options.archive.format, staging, this.limits);
        await placeArchiveBinary(staging, options.archive.binary, binary);
      } else {
        await fsCall("create directory", dirname(binary), () => mkdir(dirname(binary), { recursive: true }));
        await fsCall("copy to", binary, () => copyFile(downloadedFile, binary));
      }
      await fsCall("make executable", binary, () => chmod(binary, 0o755));
      const record: StageRecord = { version, artifactSha256: expected, tree: await treeDigest(staging) };
      if (options.archive) record.archive = options.archive;
      const recordFile = join(staging, STAGE_RECORD);
      await fsCall("write", recordFile, () => writeFile(recordFile, JSON.stringify(record)));
      await fsync(binary);
      await fsync(recordFile);
      await fsCall("rename to", dir, () => rename(staging, dir));
    } catch (e) {
      await fsCall("remove", staging, () => rm(staging, { recursive: true, force: true }));
      throw e;
    }
    await fsync(dirname(dir));
    await fsCall("remove", downloadedFile, () => rm(downloadedFile, { force: true }));
  }

  /**
   * Points `current` at `version`'s directory; a no-op when it does already. With `sha256`, the staged build is
   * checked against it (record and tree) right before the switch, and a mismatch refuses the switch.
   */
  async activate(version: string, sha256?: string): Promise<void> {
    const dir = await this.layout.find(version);
    if (!dir || !(await executable(join(dir, this.layout.binaryPath))))
      throw fatal("version-not-staged", `version ${version} is not staged`, { version });
    if (sha256 !== undefined) await this.verify(version, sha256);
    await this.layout.beforeSwitch(dir);
    if ((await this.layout.activeDir()) === dir) return;
    const current = this.layout.current;
    const link = `${current}.tmp`;
    await fsCall("remove", link, () => rm(link, { force: true }));
    await fsCall("create symlink", link, () => symlink(this.layout.linkTo(dir), link));
    await fsCall("rename to", current, () => rename(link, current));
    await fsync(dirname(current));
  }

  /** The version `current` points at, or undefined when none is active. */
  async active(): Promise<string | undefined> {
    const dir = await this.layout.activeDir();
    return dir === undefined ? undefined : this.layout.versionOf(dir);
  }

  /**
   * Without `sha256`: whether some build of `version` is on disk. With it: whether the build staged as `version`
   * came from that artifact digest and is unchanged since (the name alone never answers yes).
   */
  async isStaged(version: string, sha256?: string): Promise<boolean> {
    const dir = await this.layout.find(version);
    if (!dir || !(await executable(join(dir, this.layout.binaryPath)))) return false;
    if (sha256 === undefined) return true;
    return (await this.mismatch(dir, version, normalDigest(sha256))) === undefined;
  }

  /** Throws (not retryable) unless the build staged as `version` is the one from `sha256`, unchanged. */
  async verify(version: string, sha256: string): Promise<void> {
    const dir = await this.layout.find(version);
    if (!dir) throw fatal("version-not-staged", `version ${version} is not staged`, { version });
    const why = await this.mismatch(dir, version, normalDigest(sha256));
    if (why) {
      throw fatal(
        "staged-digest-mismatch",
        `the build staged at ${dir} is not ${version} with sha256 ${sha256}: ${why}`,
        {
          version,
          dir,
          expected: normalDigest(sha256),
        },
      );
    }
  }

  /** Records the upgrade plan the stopped node halted for, where the layout keeps it (Cosmovisor: upgrade-info.json). */
  recordUpgrade(plan: UpgradePlan): Promise<void> {
    return this.layout.recordUpgrade(plan);
  }

  /** Removes a staged version; refuses the active one. */
  async discard(version: string): Promise<void> {
    const dir = await this.layout.find(version);
    if (!dir) return;
    if ((await this.layout.activeDir()) === dir) {
      throw fatal("version-active", `version ${version} is active and cannot be discarded`, { version });
    }
    await fsCall("remove", dir, () => rm(dir, { recursive: true, force: true }));
  }

  /** Why `dir` does not hold `version` staged from `sha256`, or undefined when it does. */
  private async mismatch(dir: string, version: string, sha256: string): Promise<string | undefined> {
    const record = await readStageRecord(dir);
    if (!record) return "no stage record (staged by hand, or by an older watcher)";
    if (record.version !== version) return `it was staged as ${record.version}`;
    if (record.artifactSha256 !== sha256) return `it was staged from sha256 ${record.artifactSha256}`;
    const tree = await treeDigest(dir);
    if (tree !== record.tree) return "its files changed since they were staged";
    return undefined;
  }
}

/** The stage record in `dir`, or undefined when there is none (or it is not one). */
export async function readStageRecord(dir: string): Promise<StageRecord | undefined> {
  const record = (await readJsonRecord(join(dir, STAGE_RECORD)))?.value as Partial<StageRecord> | null | undefined;
  if (typeof record?.version !== "string" || typeof record.artifactSha256 !== "string") return undefined;
  return record as StageRecord;
}

/** Moves the archive's declared binary to the layout's binary path (unless it is there already). */
async function placeArchiveBinary(root: string, declared: string, binary: string): Promise<void> {
  const source = join(root, declared);
  const kind = await lstat(source).catch(() => undefined);
  if (!kind) {
    throw fatal("archive-binary-missing", `the archive has no ${declared} (the manifest's archive.binary)`, {
      binary: declared,
    });
  }
  if (!kind.isFile()) {
    throw fatal("archive-binary-missing", `${declared} in the archive is not a regular file`, { binary: declared });
  }
  if (source === binary) return;
  if (await exists(binary)) {
    throw fatal("archive-binary-clash", `the archive holds both ${declared} and another file at the binary's path`, {
      binary: declared,
    });
  }
  await fsCall("create directory", dirname(binary), () => mkdir(dirname(binary), { recursive: true }));
  await fsCall("rename to", binary, () => rename(source, binary));
}

/**
 * A digest of a directory's whole tree: each entry's relative path, its kind, whether it is executable, and
 * the sha256 of its content (or a link's target), in sorted order. Files that are not part of the build (the
 * stage record, upgrade-info.json) at the top are left out.
 */
export async function treeDigest(root: string): Promise<string> {
  const lines: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const names = (await fsCall("list", dir, () => readdir(dir))).sort();
    for (const name of names) {
      const path = join(dir, name);
      const rel = relative(root, path);
      if (dir === root && NOT_BUILD.has(name)) continue;
      if (dir === root && name.startsWith(".staging-")) continue;
      const info = await fsCall("stat", path, () => lstat(path));
      if (info.isSymbolicLink())
        lines.push(`${rel}\0link\0${await fsCall("read symlink", path, () => readlink(path))}`);
      else if (info.isDirectory()) {
        lines.push(`${rel}\0dir`);
        await walk(path);
      } else if (info.isFile()) lines.push(`${rel}\0file\0${info.mode & 0o111 ? "x" : "-"}\0${await sha256File(path)}`);
      else lines.push(`${rel}\0other`);
    }
  };
  await walk(root);
  return createHash("sha256").update(lines.join("\n")).digest("hex");
}

/** The sha256 of a file, lowercase hex. */
export async function sha256File(path: string): Promise<string> {
  return fsCall("hash", path, async () => {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return hash.digest("hex");
  });
}

const normalDigest = (sha256: string) => sha256.toLowerCase().replace(/^0x/, "");

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** Makes a file's contents, or a directory's entries, durable. */
async function fsync(path: string): Promise<void> {
  await fsCall("fsync", path, async () => {
    const handle = await open(path, "r");
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  });
}
