// What the command does once its arguments are known to be good: load the configuration, then run the watcher or
// --dry-run. cli.ts loads this module only then, so --help and bad arguments never read it; the release ships it as
// a bundle of its own (packaging/build.ts), which the command's small bundle requires only here.
import { fail } from "./cli";
import { ConfigError, loadConfig } from "./config";
import { WatcherError } from "./errors";

export interface StartArgs {
  config: string;
  dryRun: boolean;
  once: boolean;
  logLevel?: string;
}

/** Runs the command; returns its exit code (1 a fault the watcher cannot fix by retrying, 2 bad configuration). */
export async function start(args: StartArgs): Promise<number> {
  let config;
  try {
    config = loadConfig(args.config);
    if (args.logLevel) config = { ...config, log: { level: args.logLevel as typeof config.log.level } };
  } catch (e) {
    if (e instanceof ConfigError) return fail(e.message, 2);
    throw e;
  }

  try {
    const { startWatcher, dryRun } = await import("./index");
    if (args.dryRun) {
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
