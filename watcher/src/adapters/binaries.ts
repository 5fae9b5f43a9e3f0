// The versions of the node binary on disk, Cosmovisor-style: versions/<version>/bin/<name>, and a `current`
// symlink naming the active one. A binary is staged only after its digest matched, and only a staged one
// can be activated; the switch renames a new symlink over `current`, so it is atomic.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { access, chmod, constants, copyFile, mkdir, open, readlink, rename, rm, symlink } from "node:fs/promises";
import { basename, dirname, join, relative } from "node:path";
import type { Paths } from "../config";
import type { Binaries } from "../ports";
import { fatal, fsCall, fsError } from "../errors";
import { exists } from "./stateCopy";

export class BinaryStore implements Binaries {
  constructor(private readonly paths: Paths) {}

  /**
   * Verifies `downloadedFile` against `expectedSha256`, then moves it to versions/<version>/bin/ as an
   * executable. A no-op when that version is staged already with that digest.
   */
  async stage(version: string, downloadedFile: string, expectedSha256: string): Promise<void> {
    const dir = this.paths.version(version);
    const binary = this.paths.binary(version);
    const expected = expectedSha256.toLowerCase().replace(/^0x/, "");
    if ((await this.isStaged(version)) && (await sha256File(binary)) === expected) return;
    const actual = await sha256File(downloadedFile);
    if (actual !== expected) {
      throw fatal("digest-mismatch", `the artifact for ${version} does not have the manifest's sha256`, {
        version,
        file: downloadedFile,
        expected,
        actual,
      });
    }
    if (await exists(dir)) await this.discard(version); // half staged, or another build under this name
    // Built under a name no version can have, then renamed into place whole.
    const staging = join(this.paths.versions, `.staging-${version}`);
    const file = join(staging, relative(dir, binary));
    await fsCall("remove", staging, () => rm(staging, { recursive: true, force: true }));
    await fsCall("create directory", dirname(file), () => mkdir(dirname(file), { recursive: true }));
    await fsCall("copy to", file, () => copyFile(downloadedFile, file));
    await fsCall("make executable", file, () => chmod(file, 0o755));
    await fsync(file);
    await fsCall("rename to", dir, () => rename(staging, dir));
    await fsync(this.paths.versions);
    await fsCall("remove", downloadedFile, () => rm(downloadedFile, { force: true }));
  }

  /** Points `current` at versions/<version>; a no-op when it does already. */
  async activate(version: string): Promise<void> {
    const target = this.paths.version(version);
    if (!(await this.isStaged(version)))
      throw fatal("version-not-staged", `version ${version} is not staged`, { version });
    if ((await this.active()) === version) return;
    const link = `${this.paths.current}.tmp`;
    await fsCall("remove", link, () => rm(link, { force: true }));
    await fsCall("create symlink", link, () => symlink(relative(dirname(this.paths.current), target), link));
    await fsCall("rename to", this.paths.current, () => rename(link, this.paths.current));
    await fsync(dirname(this.paths.current));
  }

  /** The version `current` points at, or undefined when none is active. */
  async active(): Promise<string | undefined> {
    try {
      return basename(await readlink(this.paths.current));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw fsError("read symlink", this.paths.current, e);
    }
  }

  async isStaged(version: string): Promise<boolean> {
    return access(this.paths.binary(version), constants.X_OK).then(
      () => true,
      () => false,
    );
  }

  /** Removes a staged version; refuses the active one. */
  async discard(version: string): Promise<void> {
    const dir = this.paths.version(version);
    if ((await this.active()) === version) {
      throw fatal("version-active", `version ${version} is active and cannot be discarded`, { version });
    }
    await fsCall("remove", dir, () => rm(dir, { recursive: true, force: true }));
  }
}

/** The sha256 of a file, lowercase hex. */
export async function sha256File(path: string): Promise<string> {
  return fsCall("hash", path, async () => {
    const hash = createHash("sha256");
    for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
    return hash.digest("hex");
  });
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
