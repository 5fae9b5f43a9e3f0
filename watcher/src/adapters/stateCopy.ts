// Copies of the node's state directory, shared by both node adapters. Each copy is made under a temporary
// name beside its target and renamed into place, so a crash never leaves a half copy under the real name.
// The temporary names end in "~...", which no snapshot tag or directory built by paths() can.
import { cp, lstat, mkdir, readFile, readdir, rename, rm, stat, statfs } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fatal, fsCall, fsError, retryable } from "../errors";

/** Copies directory `from` to `to`; a no-op when `to` exists already. */
export async function copyDirOnce(from: string, to: string): Promise<void> {
  if (await exists(to)) return;
  if (!(await exists(from))) throw fatal("state-missing", `state directory ${from} does not exist`, { from });
  const partial = `${to}~partial`;
  await fsCall("remove", partial, () => rm(partial, { recursive: true, force: true }));
  await fsCall("create directory", dirname(to), () => mkdir(dirname(to), { recursive: true }));
  try {
    await copy(from, partial);
  } catch (e) {
    // A disk that filled up mid-copy: give the space back at once, the node needs it.
    await rm(partial, { recursive: true, force: true }).catch(() => undefined);
    throw e;
  }
  await fsCall("rename to", to, () => rename(partial, to));
}

/** Replaces directory `dir` with a copy of `source`: the copy is made beside `dir`, then swapped in by renames. */
export async function replaceDir(dir: string, source: string): Promise<void> {
  if (!(await exists(source))) throw fatal("snapshot-missing", `snapshot ${source} does not exist`, { source });
  const incoming = `${dir}~incoming`;
  const outgoing = `${dir}~outgoing`;
  // Leftovers of an interrupted run: both are superseded by the copy made now.
  await fsCall("remove", incoming, () => rm(incoming, { recursive: true, force: true }));
  await fsCall("remove", outgoing, () => rm(outgoing, { recursive: true, force: true }));
  await copy(source, incoming);
  await rename(dir, outgoing).catch((e: NodeJS.ErrnoException) => {
    if (e.code !== "ENOENT") throw fsError("rename to", outgoing, e);
  });
  await fsCall("rename to", dir, () => rename(incoming, dir));
  await fsCall("remove", outgoing, () => rm(outgoing, { recursive: true, force: true }));
}

async function copy(from: string, to: string): Promise<void> {
  try {
    await cp(from, to, { recursive: true, verbatimSymlinks: true });
  } catch (e) {
    // Most likely a file that vanished while a running node rewrote it: another try may succeed.
    const errno = (e as NodeJS.ErrnoException).code;
    throw retryable(
      "state-copy-failed",
      `copying ${from} to ${to} failed${errno ? `: ${errno}` : ""}`,
      {
        operation: "copy",
        path: from,
        from,
        to,
        errno,
      },
      e,
    );
  }
}

export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * The JSON a small record file holds (a stage record, an upgrade plan), with its text: undefined when the file is
 * not there or is not JSON; any other failure to read it names the file.
 */
export async function readJsonRecord(file: string): Promise<{ value: unknown; text: string } | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fsError("read", file, e);
  }
  try {
    return { value: JSON.parse(text) as unknown, text };
  } catch {
    return undefined;
  }
}

/** Free space and sizes on disk: what an upgrade checks before it stops the node. Tests put in their own. */
export interface DiskSpace {
  /** Bytes available to the watcher on the file system holding `path` (its nearest existing ancestor). */
  free(path: string): Promise<number>;
  /** Bytes a copy of `path` takes (a directory's files, recursively; 0 when it does not exist). */
  size(path: string): Promise<number>;
}

export const localDisk: DiskSpace = {
  async free(path) {
    let at = path;
    while (!(await exists(at)) && dirname(at) !== at) at = dirname(at);
    const s = await fsCall("measure free space on", at, () => statfs(at));
    return s.bavail * s.bsize;
  },
  size: treeBytes,
};

async function treeBytes(path: string): Promise<number> {
  const s = await lstat(path).catch(() => undefined);
  if (!s) return 0;
  if (!s.isDirectory()) return s.size;
  const entries = await fsCall("list", path, () => readdir(path));
  let total = 0;
  for (const entry of entries) total += await treeBytes(join(path, entry));
  return total;
}
