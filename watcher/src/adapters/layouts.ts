// Where each version of the node binary lives on disk, and which one `current` names. The binary store asks
// the layout; it never builds a version's path itself.
import { readdir, readlink, rename, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import type { CosmovisorConfig, Paths } from "../config";
import { fatal, fsCall, fsError } from "../errors";
import { readStageRecord } from "./binaries";
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
  /** What `current` should hold to name `dir` (Lockstep: a relative path; Cosmovisor: an absolute one). */
  linkTo(dir: string): string;
  /** Records that the node now runs `plan`'s upgrade (Cosmovisor: upgrade-info.json); nothing elsewhere. */
  recordUpgrade(plan: UpgradePlan): Promise<void>;
}

/** An x/upgrade plan as the node's upgrade-info.json holds it. */
export interface UpgradePlan {
  name: string;
  /** The block height the upgrade took effect at (x/upgrade: the height the old binary halted at). */
  height: bigint;
  info: string;
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
    linkTo: (dir) => relative(dirname(paths.current), dir),
    recordUpgrade: async () => undefined,
  };
}

/**
 * Cosmovisor's layout, exactly as its README gives it, so its runbooks, backups and exporters keep working:
 *   $DAEMON_HOME/cosmovisor/genesis/bin/$DAEMON_NAME
 *   $DAEMON_HOME/cosmovisor/upgrades/<name>/bin/$DAEMON_NAME   (<name>: the plan's name, lower-cased, escaped)
 *   $DAEMON_HOME/cosmovisor/upgrades/<name>/upgrade-info.json   (the plan, copied when it became current)
 *   $DAEMON_HOME/cosmovisor/current -> the active one of those (an absolute link, as Cosmovisor makes it)
 *   $DAEMON_HOME/data/upgrade-info.json                         (the plan, as x/upgrade writes it at the halt)
 * Which version a directory holds: its stage record when Lockstep staged it, else `cosmovisor.versions`.
 */
export function cosmovisorLayout(config: CosmovisorConfig): Layout {
  const root = join(config.home, "cosmovisor");
  const upgrades = join(root, "upgrades");
  const dirName = (upgradeName: string) => {
    const name = encodeURIComponent(upgradeName.toLowerCase());
    if (name === "" || name === "." || name === "..")
      throw fatal("bad-upgrade-name", `upgrade name "${upgradeName}" cannot name a directory`, { upgradeName });
    return name;
  };
  const versionOf = async (dir: string) => {
    const record = await readStageRecord(dir);
    if (record) return record.version;
    const key = dir === join(root, "genesis") ? "genesis" : basename(dir);
    return config.versions[key];
  };
  const candidates = async () => {
    const names = await readdir(upgrades).catch((e: NodeJS.ErrnoException) => {
      if (e.code === "ENOENT") return [] as string[];
      throw fsError("list", upgrades, e);
    });
    return [join(root, "genesis"), ...names.filter((n) => !n.startsWith(".")).map((n) => join(upgrades, n))];
  };
  return {
    current: join(root, "current"),
    binaryPath: join("bin", config.daemonName),
    dirFor: (version, upgradeName) => {
      if (!upgradeName) throw fatal("bad-upgrade-name", `version ${version} has no upgrade name`, { version });
      return join(upgrades, dirName(upgradeName));
    },
    find: async (version) => {
      for (const dir of await candidates()) {
        if ((await exists(dir)) && (await versionOf(dir)) === version) return dir;
      }
      return undefined;
    },
    versionOf,
    activeDir: () => linkTarget(join(root, "current")),
    linkTo: (dir) => dir,
    recordUpgrade: async (plan) => {
      // encoding/json of x/upgrade's Plan: name, the zero time (deprecated, never omitted), height, info.
      const text = JSON.stringify({
        name: plan.name,
        time: "0001-01-01T00:00:00Z",
        height: Number(plan.height),
        ...(plan.info ? { info: plan.info } : {}),
      });
      const current = await linkTarget(join(root, "current"));
      for (const file of [
        join(config.home, "data", "upgrade-info.json"),
        current && join(current, "upgrade-info.json"),
      ]) {
        if (!file) continue;
        const tmp = `${file}.tmp`;
        await fsCall("write", tmp, () => writeFile(tmp, text, { mode: 0o600 }));
        await fsCall("rename to", file, () => rename(tmp, file));
      }
    },
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
