// The command's arguments. Only node:util is loaded up front: --help and bad arguments answer before anything else is
// read. The rest (./start: the configuration schema, viem, the journal) is loaded by the caller's `load`, only to
// run: the development entry requires ./start, and the release, whose command bundles this file alone, requires its
// second bundle (packaging/build.ts), so --help never reads or parses the watcher's code.
import { parseArgs } from "node:util";
import type { start } from "./start";

/** Loads the rest of the command. */
export type LoadStart = () => Promise<{ start: typeof start }>;

const HELP = `lockstep-watcher: follows a Lockstep upgrade coordinator and upgrades this validator's node when its
cohort's turn comes, attesting health back.

Usage:
  lockstep-watcher --config <watcher.json> [options]

Options:
  --config <file>      the watcher's JSON configuration (required; see docs/watcher.md)
  --dry-run            print every action the watcher would take for the current chain state, touch nothing
  --once               run one round (follow, act, observe) and exit
  --log-level <level>  override the configured level (fatal, error, warn, info, debug, trace)
  --help               this text

Secrets: the attester key comes from an encrypted keystore and a password file, or (development only) from
the environment variable named in the config. Keys never appear in logs.
Exit codes: 0 stopped cleanly, 1 a fault the watcher cannot fix by retrying, 2 bad arguments or configuration.`;

export async function main(argv: string[], load: LoadStart): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        config: { type: "string" },
        "dry-run": { type: "boolean", default: false },
        once: { type: "boolean", default: false },
        "log-level": { type: "string" },
        help: { type: "boolean", default: false },
      },
      strict: true,
    }).values;
  } catch (e) {
    return fail(`${(e as Error).message} (see --help)`, 2);
  }
  if (args.help) {
    process.stdout.write(HELP + "\n");
    return 0;
  }
  if (!args.config) return fail("--config <file> is required (see --help)", 2);

  return (await load()).start({
    config: args.config,
    dryRun: args["dry-run"],
    once: args.once,
    logLevel: args["log-level"],
  });
}

/** The command: runs `main` and exits with its code (the bin script and the release's command both call this). */
export function run(argv: string[], load: LoadStart): void {
  main(argv, load)
    .then((code) => process.exit(code))
    .catch((e) => {
      process.stderr.write(`lockstep-watcher: ${e && e.message ? e.message : e}\n`);
      process.exit(1);
    });
}

/** Says `message` on stderr as the command's one line; returns `code`. */
export function fail(message: string, code: number): number {
  process.stderr.write(`lockstep-watcher: ${message}\n`);
  return code;
}
