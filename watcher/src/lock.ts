// One watcher per data directory. Two watchers on one directory would run the same step twice (a restore 63 ms
// apart was seen), so the watcher holds `<dataDir>/watcher.lock` for its whole life. The file is created with
// O_EXCL and names its holder by pid and the process's start time (from /proc, so a reused pid is not mistaken
// for the holder). A lock whose holder is gone (a SIGKILLed watcher) is stale and is taken over.
import {
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
  fsyncSync,
} from "node:fs";
import { join } from "node:path";
import { fatal, fsError } from "./errors";

export interface LockHolder {
  pid: number;
  /** The holder's start time in clock ticks since boot (/proc/<pid>/stat field 22); null where /proc is absent. */
  started: string | null;
}

export interface DataDirLock {
  path: string;
  release(): void;
}

export const lockFile = (dataDir: string) => join(dataDir, "watcher.lock");

/** Takes the data directory's lock, or throws (not retryable) naming the directory and the pid holding it. */
export function lockDataDir(dataDir: string): DataDirLock {
  const path = lockFile(dataDir);
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (e) {
    throw fsError("create directory", dataDir, e);
  }
  const me: LockHolder = { pid: process.pid, started: startTime(process.pid) };
  const text = JSON.stringify(me) + "\n";
  for (let attempt = 0; attempt < 5; attempt++) {
    if (create(path, text)) return { path, release: () => release(path, text) };
    const seen = read(path);
    if (seen === undefined) continue; // released between our create and our read
    const holder = parse(seen);
    if (holder && alive(holder)) {
      throw fatal(
        "data-dir-locked",
        `data directory ${dataDir} is in use by another watcher (pid ${holder.pid}, lock ${path})`,
        { dataDir, path, pid: holder.pid },
      );
    }
    takeOverStale(path, seen);
  }
  throw fatal(
    "data-dir-locked",
    `data directory ${dataDir}: cannot take the lock ${path}; another watcher is starting`,
    {
      dataDir,
      path,
    },
  );
}

/** Creates the lock file holding `text`; false when it exists. */
function create(path: string, text: string): boolean {
  let fd: number;
  try {
    fd = openSync(path, "wx", 0o644);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw fsError("create lock", path, e);
  }
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (e) {
    closeSync(fd);
    unlinkSync(path);
    throw fsError("write lock", path, e);
  }
  closeSync(fd);
  return true;
}

/**
 * Removes a stale lock without ever removing a live one: the file is renamed aside (only one of two racing
 * watchers can rename it) and, if what was renamed is not the stale lock that was judged, it is put back.
 */
function takeOverStale(path: string, stale: string): void {
  const aside = `${path}.stale-${process.pid}`;
  try {
    renameSync(path, aside);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return; // another watcher took it over first
    throw fsError("remove stale lock", path, e);
  }
  if (read(aside) !== stale) {
    try {
      linkSync(aside, path); // a live lock taken by another watcher meanwhile: give it back
    } catch {
      // a third watcher holds the name now; the loop finds it
    }
  }
  unlinkSync(aside);
}

function release(path: string, text: string): void {
  if (read(path) === text) unlinkSync(path);
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw fsError("read lock", path, e);
  }
}

function parse(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as LockHolder;
    return Number.isSafeInteger(value.pid) && value.pid > 0 ? value : undefined;
  } catch {
    return undefined; // a lock file cut short by a crash while it was written: nobody holds it
  }
}

/** Whether the lock's holder still runs: its pid is alive, is not us, and started when the lock says. */
function alive(holder: LockHolder): boolean {
  if (holder.pid === process.pid) return false; // a restart that reused our pid (a container's pid 1)
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  const now = procStat(holder.pid);
  if (now?.state === "Z") return false; // killed, not yet reaped by its parent
  return holder.started === null || now === null || now.started === holder.started;
}

/** A process's start time (clock ticks since boot), which tells it from a later process given the same pid. */
export const startTime = (pid: number) => procStat(pid)?.started ?? null;

/** A process's state and start time (clock ticks since boot) from /proc/<pid>/stat; null where /proc is absent. */
export function procStat(pid: number): { state: string; started: string } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces: state is field 3, start time 22.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return fields.length > 19 ? { state: fields[0], started: fields[19] } : null;
  } catch {
    return null;
  }
}
