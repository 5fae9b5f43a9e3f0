// Command-line options of the long-running fronts that serve a network's deployment read over an RPC node (the
// coordinator exporter, the dashboard server): one parser, one set of checks, every problem in one line.
import { readDeployment, type Deployment } from "./deployments";

/** The options every such front takes. */
export interface ServiceOptions {
  /** The deployments file's name (deployments/<network>.json). */
  network: string;
  rpc: string;
  host: string;
  port: number;
  pollMs: number;
  /** The deployments folder; default: $LOCKSTEP_DEPLOYMENTS_DIR, else the repository's. */
  deployments?: string;
}

export const SERVICE_DEFAULTS = { network: "localhost", rpc: "http://127.0.0.1:8545", host: "127.0.0.1" } as const;

/** Sets one option from a flag's text; a value it cannot take is left for the checks to name. */
export type FlagSetter<T> = (o: T, value: string) => void;

/** A whole number written in decimal digits, else NaN (so "0x10", "1e3" and "" are refused, not read). */
export const wholeNumber = (text: string): number => (/^\d+$/.test(text) ? Number(text) : NaN);

const isHttpUrl = (text: string) => /^https?:\/\/\S+$/.test(text);

/**
 * Applies `argv` (`--flag value` or `--flag=value`; the value may itself hold "=") to `o` through `flags`; returns
 * the problems found: unknown flags and flags without a value.
 */
export function applyFlags<T>(argv: string[], o: T, flags: Record<string, FlagSetter<T>>): string[] {
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const set = Object.prototype.hasOwnProperty.call(flags, flag) ? flags[flag] : undefined;
    if (!set) {
      problems.push(`unknown option ${arg}`);
      continue;
    }
    const value = eq === -1 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined) problems.push(`${flag} needs a value`);
    else set(o, value);
  }
  return problems;
}

/** The flags of ServiceOptions. */
export function serviceFlags<T extends ServiceOptions>(): Record<string, FlagSetter<T>> {
  return {
    "--network": (o, v) => (o.network = v),
    "--rpc": (o, v) => (o.rpc = v),
    "--host": (o, v) => (o.host = v),
    "--port": (o, v) => (o.port = wholeNumber(v)),
    "--poll-ms": (o, v) => (o.pollMs = wholeNumber(v)),
    "--deployments": (o, v) => (o.deployments = v),
  };
}

/** What is wrong with `o`'s ServiceOptions, one phrase each. */
export function checkServiceOptions(o: ServiceOptions): string[] {
  const problems: string[] = [];
  if (!o.network) problems.push("--network must name a network");
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) problems.push("--port must be a port number");
  if (!(Number.isInteger(o.pollMs) && o.pollMs >= 100)) problems.push("--poll-ms must be a whole number, at least 100");
  if (!isHttpUrl(o.rpc)) problems.push("--rpc must be an http(s) URL");
  return problems;
}

/**
 * Parses a service's command line: ServiceOptions and the service's own `extra` flags over `defaults`, checked.
 * Throws one Error naming every problem, separated by "; ".
 */
export function parseServiceOptions<T extends ServiceOptions>(
  argv: string[],
  defaults: T,
  extra: { flags?: Record<string, FlagSetter<T>>; check?: (o: T) => string[] } = {},
): T {
  const o: T = { ...defaults };
  const problems = applyFlags(argv, o, { ...serviceFlags<T>(), ...extra.flags });
  problems.push(...checkServiceOptions(o), ...(extra.check?.(o) ?? []));
  if (problems.length) throw new Error(problems.join("; "));
  return o;
}

/** The deployment `o` names: its network's file in --deployments, else in $LOCKSTEP_DEPLOYMENTS_DIR, else the repo's. */
export function serviceDeployment(o: ServiceOptions): Deployment {
  return readDeployment(o.network, o.deployments ?? (process.env.LOCKSTEP_DEPLOYMENTS_DIR || undefined));
}

/** An http(s) URL check for a service's own URL options: the phrase naming `flag`, or nothing. */
export function checkHttpUrl(flag: string, value: string): string[] {
  return isHttpUrl(value) ? [] : [`${flag} must be an http(s) URL`];
}
