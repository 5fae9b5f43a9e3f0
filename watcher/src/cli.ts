// Only node:util is loaded up front: --help and bad arguments answer before the configuration schema (zod), viem
// and the journal are evaluated; the release bundle keeps every dynamically imported module lazy.
import { parseArgs } from "node:util";

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

export async function main(argv: string[]): Promise<number> {
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

  const { ConfigError, loadConfig } = await import("./config");
  const { WatcherError } = await import("./errors");
  let config;
  try {
    config = loadConfig(args.config);
    if (args["log-level"]) config = { ...config, log: { level: args["log-level"] as typeof config.log.level } };
  } catch (e) {
    if (e instanceof ConfigError) return fail(e.message, 2);
    throw e;
  }

  try {
    const { startWatcher, dryRun } = await import("./index");
    if (args["dry-run"]) {
      for (const line of await dryRun(config)) process.stdout.write(line + "\n");
      return 0;
    }
    return await startWatcher(config, { once: args.once });
  } catch (e) {
    if (e instanceof WatcherError) return fail(e.message, 1);
    if (e instanceof ConfigError) return fail(e.message, 2);
    return fail(`unexpected failure: ${(e as Error).message ?? e}`, 1);
  }
}

/** The command: runs `main` and exits with its code (the bin script and the release bundle both call this). */
export function run(argv: string[]): void {
  main(argv)
    .then((code) => process.exit(code))
    .catch((e) => {
      process.stderr.write(`lockstep-watcher: ${e && e.message ? e.message : e}\n`);
      process.exit(1);
    });
}

function fail(message: string, code: number): number {
  process.stderr.write(`lockstep-watcher: ${message}\n`);
  return code;
}
