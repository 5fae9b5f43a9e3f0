// The drill's command line: read by the one option parser (lib/cliOptions.ts), every option validated here, a
// one-line error for anything wrong.
import { applyFlags } from "../../lib/cliOptions";

export const FAULTS = ["none", "crash", "stall", "wrong-version"] as const;
export type FaultKind = (typeof FAULTS)[number];
export const NODES = ["sim", "anvil"] as const;
export type NodeKind = (typeof NODES)[number];
/** The faults a real anvil release can show (its launcher breaks the node); anvil always reports its own version. */
export const ANVIL_FAULTS: readonly FaultKind[] = ["none", "crash", "stall"];

export interface DrillOptions {
  validators: number;
  /** Validators per cohort: canary, early, main. */
  cohorts: [number, number, number];
  fault: FaultKind;
  /** What each validator's node is: the simulated node, or Foundry's anvil (the real binaries). */
  node: NodeKind;
  seed: string;
  keep: boolean;
  inProcess: boolean;
  help: boolean;
}

export class UsageError extends Error {}

export const USAGE = `Usage: npm run drill -- [options]

Rehearses a whole validator upgrade on a local chain: a Hardhat JSON-RPC node, the Lockstep contracts, a
validator set in three cohorts (canary, early, main) with real watcher processes and simulated nodes; then a
governed upgrade from proposal to completion, and a second upgrade whose binary fails in the early cohort
(automatic pause, rollback ordered by the guardian, watchers restore); then the audit trail.

Options:
  --validators N         validators in the set (default 9; at least 3)
  --cohorts a,b,c        validators in the canary, early and main cohorts (default about 20% / 33% / rest: 2,3,4 for 9)
  --fault KIND           how the second upgrade's binary fails in the early cohort:
                         none | crash | stall | wrong-version (default stall)
  --node KIND            what each validator's node is: sim (the simulated node, default) or anvil (Foundry's
                         anvil, the real binaries of the devDependencies anvil-1.5.1 and anvil-1.7.1, probed over
                         JSON-RPC; upgrade 1 is anvil 1.5.1 -> 1.7.1, upgrade 2 a release archive of 1.5.1 whose
                         launcher breaks the node on the early cohort's machines; faults: none, crash, stall)
  --seed S               seed for the stakes and keys (default "lockstep"); the same seed, the same drill
  --in-process           run every validator's watcher state machine in this process with fake nodes
                         (the scaled rehearsal, e.g. --validators 300 --in-process)
  --keep                 leave the chain and the watchers running at the end, and serve the dashboard
                         for them (its address is printed); Ctrl-C stops everything
  --help                 this text
`;

/** The command line as given, before its values are checked. */
interface Given {
  validators?: string;
  cohorts?: string;
  fault?: string;
  node?: string;
  seed?: string;
  keep: boolean;
  inProcess: boolean;
  help: boolean;
}

export function parseOptions(argv: string[]): DrillOptions {
  const g: Given = { keep: false, inProcess: false, help: false };
  const problems = applyFlags(
    argv,
    g,
    {
      "--validators": (g, v) => (g.validators = v),
      "--cohorts": (g, v) => (g.cohorts = v),
      "--fault": (g, v) => (g.fault = v),
      "--node": (g, v) => (g.node = v),
      "--seed": (g, v) => (g.seed = v),
    },
    {
      switches: {
        "--keep": (g) => (g.keep = true),
        "--in-process": (g) => (g.inProcess = true),
        "--help": (g) => (g.help = true),
        "-h": (g) => (g.help = true),
      },
      unknown: (arg) => `unknown option "${arg}" (see --help)`,
    },
  );
  if (problems.length) throw new UsageError(problems.join("; "));
  const o: DrillOptions = {
    validators: 9,
    cohorts: [0, 0, 0],
    fault: "stall",
    node: "sim",
    seed: "lockstep",
    keep: g.keep,
    inProcess: g.inProcess,
    help: g.help,
  };
  if (g.validators !== undefined) {
    const v = g.validators;
    if (!/^\d+$/.test(v) || Number(v) < 3 || Number(v) > 2000)
      throw new UsageError(`--validators must be a whole number from 3 to 2000, not "${v}"`);
    o.validators = Number(v);
  }
  if (g.fault !== undefined) {
    if (!(FAULTS as readonly string[]).includes(g.fault))
      throw new UsageError(`--fault must be one of ${FAULTS.join(", ")}, not "${g.fault}"`);
    o.fault = g.fault as FaultKind;
  }
  if (g.node !== undefined) {
    if (!(NODES as readonly string[]).includes(g.node))
      throw new UsageError(`--node must be one of ${NODES.join(", ")}, not "${g.node}"`);
    o.node = g.node as NodeKind;
  }
  if (g.seed !== undefined) {
    if (!g.seed.length || g.seed.length > 64) throw new UsageError("--seed must be 1 to 64 characters");
    o.seed = g.seed;
  }
  const cohorts = g.cohorts;
  if (cohorts !== undefined) {
    const parts = cohorts.split(",");
    if (parts.length !== 3 || parts.some((p) => !/^\d+$/.test(p) || Number(p) < 1)) {
      throw new UsageError(`--cohorts takes three positive whole numbers (canary,early,main), not "${cohorts}"`);
    }
    const split = parts.map(Number) as [number, number, number];
    const sum = split[0] + split[1] + split[2];
    if (g.validators !== undefined && sum !== o.validators)
      throw new UsageError(`--cohorts ${cohorts} adds up to ${sum}, but --validators is ${o.validators}`);
    if (sum < 3 || sum > 2000) throw new UsageError(`--cohorts must add up to 3..2000 validators, not ${sum}`);
    o.validators = sum;
    o.cohorts = split;
  } else {
    o.cohorts = defaultCohorts(o.validators);
  }
  if (o.node === "anvil" && o.inProcess)
    throw new UsageError("--node anvil runs a real anvil process per validator: it cannot be used with --in-process");
  if (o.node === "anvil" && !ANVIL_FAULTS.includes(o.fault))
    throw new UsageError(`--fault ${o.fault} cannot be shown with --node anvil (${ANVIL_FAULTS.join(", ")})`);
  if (!o.inProcess && o.validators > 40)
    throw new UsageError(
      `--validators ${o.validators} runs ${2 * o.validators} processes: add --in-process for more than 40`,
    );
  return o;
}

/** About 20% canary, a third early, the rest main (9 -> 2,3,4); 5% / 20% / 75% for large sets. */
export function defaultCohorts(n: number): [number, number, number] {
  const small = n < 20;
  const canary = Math.max(1, Math.round(n * (small ? 0.2 : 0.05)));
  const early = Math.max(1, Math.round(n * (small ? 1 / 3 : 0.2)));
  return [canary, early, n - canary - early];
}
