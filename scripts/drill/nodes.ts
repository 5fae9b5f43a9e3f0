// What runs as each validator's node in the drill (--node), and the releases its two upgrades ship:
// - sim: the simulated node (sim/validator-node.ts behind a shell script), three versions of it, the second upgrade's
//   binary faulty where the early cohort's environment variable is set;
// - anvil: Foundry's anvil, the real binaries of the devDependencies anvil-1.5.1 and anvil-1.7.1, run by the watcher's
//   process adapter and probed with `ethereum-execution` (web3_clientVersion, eth_syncing, eth_blockNumber). Upgrade 1
//   is anvil 1.5.1 -> 1.7.1, the artifact the real 1.7.1 binary (the manifest holds its sha256). Upgrade 2 goes back
//   to anvil 1.5.1 as a release archive (.tar.gz: a launcher, bin/node, and the real binary beside it); only two
//   anvil versions are installed, so the second release is a downgrade, which a network may vote for after a
//   regression. Its launcher breaks the node on the early cohort's machines, which set QUIRK_ENV: it passes an option
//   anvil does not have (crash: anvil exits at start) or swaps interval mining for none (stall: anvil answers but
//   makes no blocks).
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT, clientVersion, makeBinary, nodeStatusAt } from "../../rehearsal/localnet";
import type { FaultKind, NodeKind } from "./options";

/** Set in the environment of the early cohort's nodes: the trigger of the second upgrade's bug. */
export const QUIRK_ENV = "LOCKSTEP_DRILL_EARLY_COHORT";

export interface DrillVersions {
  initial: string;
  first: string;
  second: string;
}

/** A release the artifact server serves: its file name there, the URI suffix naming an archive, and its sha256. */
export interface Artifact {
  file: string;
  /** Appended to the served URL: `#archive=tar.gz&binary=...` for an archive, empty for a bare binary. */
  fragment: string;
  sha256: string;
}

export interface Releases {
  /** The binary every node runs at first. */
  initial: { version: string; binary: string };
  first: Artifact;
  second: Artifact;
}

export interface DrillNode {
  kind: NodeKind;
  /** For the fleet's heading. */
  what: string;
  versions: DrillVersions;
  /** What a node running `version` answers (the simulated node's status version; anvil's web3_clientVersion). */
  reportOf(version: string): string;
  /** What the node listening on `port` answers within `timeoutMs` (default 1 s); undefined when it does not. */
  report(port: number, timeoutMs?: number): Promise<string | undefined>;
  /** Writes the initial binary (under `work`/bin) and the two upgrades' artifacts (into `artifacts`). */
  releases(work: string, artifacts: string, fault: FaultKind): Releases;
}

export const simNode: DrillNode = {
  kind: "sim",
  what: "a simulated node process",
  versions: { initial: "v1.0.0", first: "v1.1.0", second: "v1.2.0" },
  reportOf: (version) => version,
  report: async (port, timeoutMs) => (await nodeStatusAt(port, timeoutMs))?.version,
  releases(work, artifacts, fault) {
    const v = simNode.versions;
    const initial = makeBinary(join(work, "bin"), v.initial);
    const first = makeBinary(artifacts, v.first);
    const second =
      fault === "none"
        ? makeBinary(artifacts, v.second)
        : makeBinary(artifacts, v.second, { faultWhenEnv: { env: QUIRK_ENV, fault: `${fault}@${v.second}` } });
    return {
      initial: { version: v.initial, binary: initial.path },
      first: { file: `node-${v.first}`, fragment: "", sha256: first.sha256 },
      second: { file: `node-${v.second}`, fragment: "", sha256: second.sha256 },
    };
  },
};

/** The real anvil binary of the devDependency `anvil-<version without v>`. */
export function anvilBinary(version: string): string {
  return join(ROOT, "node_modules", `anvil-${version.replace(/^v/, "")}`, "bin", "anvil");
}

/** Seconds between anvil's blocks: a new block well inside the drill's 2 s unhealthy limit. */
export const ANVIL_BLOCK_TIME = "0.5";

/** The arguments every anvil node gets (the watcher's node.args), on its own port. */
export function anvilArgs(port: number): string[] {
  return ["--host", "127.0.0.1", "--port", String(port), "--block-time", ANVIL_BLOCK_TIME, "--silent"];
}

/** What the second release's launcher does on the early cohort's machines. */
function launcher(fault: FaultKind): string {
  const quirk = {
    none: "",
    // Written for a newer anvil: an option 1.5.1 does not have. anvil refuses it and exits at start.
    crash: `  set -- "$@" --mempool-profile early\n`,
    // Reads the cohort's setting as "no interval mining": anvil answers, but its chain never moves.
    stall:
      `  skip=\n  for a do\n    shift\n    if [ -n "$skip" ]; then skip=; continue; fi\n` +
      `    if [ "$a" = --block-time ]; then skip=1; set -- "$@" --no-mining; continue; fi\n` +
      `    set -- "$@" "$a"\n  done\n`,
  }[fault as "none" | "crash" | "stall"];
  return (
    `#!/bin/sh\n# anvil, as this release ships it: this launcher and the binary beside it.\n` +
    (quirk ? `if [ -n "$${QUIRK_ENV}" ]; then\n${quirk}fi\n` : "") +
    `exec "$(dirname "$0")/anvil" "$@"\n`
  );
}

const sha256Of = (file: string) => createHash("sha256").update(readFileSync(file)).digest("hex");

export const anvilNode: DrillNode = {
  kind: "anvil",
  what: "an anvil node process (Foundry's real binary)",
  // The second release reuses the name v1.5.1 with a new digest: the watchers stage it anew (content-addressed).
  versions: { initial: "v1.5.1", first: "v1.7.1", second: "v1.5.1" },
  reportOf: (version) => `anvil/${version}`,
  report: (port, timeoutMs) => clientVersion(`http://127.0.0.1:${port}`, timeoutMs),
  releases(work, artifacts, fault) {
    const v = anvilNode.versions;
    for (const version of [v.initial, v.first]) {
      if (!existsSync(anvilBinary(version)))
        throw new Error(`${anvilBinary(version)} is missing: install the devDependencies (npm ci)`);
    }
    mkdirSync(artifacts, { recursive: true });
    const first = `anvil-${v.first}`;
    copyFileSync(anvilBinary(v.first), join(artifacts, first));
    // The second release: bin/node (the launcher the watcher runs) and bin/anvil, packed as a .tar.gz.
    const tree = join(work, "release-2", "bin");
    mkdirSync(tree, { recursive: true });
    copyFileSync(anvilBinary(v.initial), join(tree, "anvil"));
    writeFileSync(join(tree, "node"), launcher(fault));
    chmodSync(join(tree, "node"), 0o755);
    const second = `anvil-${v.second}-release.tar.gz`;
    execFileSync("tar", ["-czf", join(artifacts, second), "-C", join(work, "release-2"), "bin"]);
    return {
      initial: { version: v.initial, binary: anvilBinary(v.initial) },
      first: { file: first, fragment: "", sha256: sha256Of(join(artifacts, first)) },
      second: { file: second, fragment: "#archive=tar.gz&binary=bin/node", sha256: sha256Of(join(artifacts, second)) },
    };
  },
};

export function drillNode(kind: NodeKind): DrillNode {
  return kind === "anvil" ? anvilNode : simNode;
}
