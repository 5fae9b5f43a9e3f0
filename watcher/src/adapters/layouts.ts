// Where each version of the node binary lives on disk, and which one `current` names. The binary store asks
// the layout; it never builds a version's path itself.
import { mkdir, readdir, readlink, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, relative, resolve } from "node:path";
import type { CosmovisorConfig, Paths } from "../config";
import { fatal, fsCall, fsError } from "../errors";
import { readStageRecord } from "./binaries";
import { exists, readJsonRecord } from "./stateCopy";

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
  /**
   * Records the upgrade plan the stopped node halts for (Cosmovisor: data/upgrade-info.json, as x/upgrade writes it
   * at the upgrade height, before the binary switch); nothing elsewhere. Kept as it is when it names the plan already.
   */
  recordUpgrade(plan: UpgradePlan): Promise<void>;
  /**
   * Run before `current` is pointed at `dir` (and when it points there already), so a crash at any point leaves the
   * records agreeing once the switch is done again (Cosmovisor: the new upgrade's copy of upgrade-info.json, or on a
   * switch back, data/upgrade-info.json naming what `dir` runs); nothing elsewhere.
   */
  beforeSwitch(dir: string): Promise<void>;
}

/** An x/upgrade plan as the node's upgrade-info.json holds it. */
export interface UpgradePlan {
  name: string;
  /**
   * The first height the new version runs (x/upgrade: the height whose block the old binary halted in, one above
   * its last committed block). 0: unknown (the node did not answer before its stop); the record then takes the
   * height above the last one recorded, as x/upgrade's plans only grow and Cosmovisor requires a height above 0.
   */
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
    beforeSwitch: async () => undefined,
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
 * The records follow Cosmovisor's sequence: data/upgrade-info.json once the old version has halted (x/upgrade's
 * DumpUpgradeInfoToDisk), the upgrade's own copy at the switch (Cosmovisor's SetCurrentUpgrade). A switch back puts
 * data/upgrade-info.json back to the plan the restored directory runs (none for genesis), so the two agree, as
 * Cosmovisor expects them to at start; the copies in upgrades/<name>/ are history, never rewritten.
 */
export function cosmovisorLayout(config: CosmovisorConfig): Layout {
  const root = join(config.home, "cosmovisor");
  const upgrades = join(root, "upgrades");
  const dataPlan = join(config.home, "data", "upgrade-info.json");
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
      const recorded = await readPlan(dataPlan);
      if (recorded?.name === plan.name) return; // written before a crash: the halt's record stands
      const height = plan.height > 0n ? plan.height : (recorded ? BigInt(recorded.height) : 0n) + 1n;
      await fsCall("create directory", dirname(dataPlan), () => mkdir(dirname(dataPlan), { recursive: true }));
      await writePlan(dataPlan, planText({ ...plan, height }));
    },
    beforeSwitch: async (dir) => {
      const halted = await readPlan(dataPlan);
      const own = join(dir, "upgrade-info.json");
      if (halted && join(upgrades, dirName(halted.name)) === dir) {
        // Forward: the upgrade's own copy of the plan, unless it holds that plan already (history stays as it is).
        const kept = await readPlan(own);
        if (kept?.name !== halted.name || kept.height !== halted.height) await writePlan(own, halted.text);
        return;
      }
      // Back (or first use): data/upgrade-info.json names what `dir` runs, so a Cosmovisor started on this tree
      // finds nothing to upgrade to.
      const mine = await readPlan(own);
      if (mine) {
        if (halted?.text !== mine.text) await writePlan(dataPlan, mine.text);
      } else if (halted) {
        await fsCall("remove", dataPlan, () => rm(dataPlan, { force: true }));
      }
    },
  };
}

/** x/upgrade's Plan as Go's encoding/json writes it: name, the zero time (deprecated, never omitted), height, info. */
export function planText(plan: UpgradePlan): string {
  return JSON.stringify({
    name: plan.name,
    time: "0001-01-01T00:00:00Z",
    height: Number(plan.height),
    ...(plan.info ? { info: plan.info } : {}),
  });
}

/** An upgrade-info.json's name and height (and its text), or undefined when there is none or it is not a plan. */
async function readPlan(file: string): Promise<{ name: string; height: number; text: string } | undefined> {
  const read = await readJsonRecord(file);
  const plan = read?.value as { name?: unknown; height?: unknown } | null | undefined;
  if (!read || typeof plan?.name !== "string" || plan.name === "") return undefined;
  const height = Number(plan.height ?? 0);
  return { name: plan.name, height: Number.isSafeInteger(height) && height > 0 ? height : 0, text: read.text };
}

async function writePlan(file: string, text: string) {
  const tmp = `${file}.tmp`;
  await fsCall("write", tmp, () => writeFile(tmp, text, { mode: 0o600 }));
  await fsCall("rename to", file, () => rename(tmp, file));
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
