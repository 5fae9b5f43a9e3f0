// Where each version of the node binary lives on disk, and which one `current` names. The binary store asks
// the layout; it never builds a version's path itself.
import { readlink } from "node:fs/promises";
import { basename, dirname, relative, resolve } from "node:path";
import type { Paths } from "../config";
import { fsError } from "../errors";
import { exists } from "./stateCopy";

export interface Layout {
  /** The `current` symlink. */
  readonly current: string;
  /** The binary's path inside a version directory (bin/<name>). */
  readonly binaryPath: string;
  /** The directory a new build of `version` is staged in (Cosmovisor names it after the upgrade). */
  dirFor(version: string, upgradeName?: string): string;
  /** The directory holding `version` now, or undefined when none does. */
  find(version: string): Promise<string | undefined>;
  /** The version a directory holds, or undefined when it cannot tell. */
  versionOf(dir: string): Promise<string | undefined>;
  /** The directory `current` points at (absolute), or undefined when there is no `current`. */
  activeDir(): Promise<string | undefined>;
}

/** Lockstep's own layout: versions/<version>/bin/<name>, and `current` -> versions/<version>. */
export function lockstepLayout(paths: Paths): Layout {
  return {
    current: paths.current,
    binaryPath: relative(paths.current, paths.currentBinary),
    dirFor: (version) => paths.version(version),
    find: async (version) => {
      const dir = paths.version(version);
      return (await exists(dir)) ? dir : undefined;
    },
    versionOf: async (dir) => basename(dir),
    activeDir: () => linkTarget(paths.current),
  };
}

/** Where the symlink `link` points, as an absolute path; undefined when there is no such link. */
export async function linkTarget(link: string): Promise<string | undefined> {
  try {
    return resolve(dirname(link), await readlink(link));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fsError("read symlink", link, e);
  }
}
