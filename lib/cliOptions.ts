// Command-line options: one parser for every front that takes flags (the coordinator exporter and the dashboard server,
// the drill, the benchmarks), and the checks of the options the long-running fronts share, every problem in one line.
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

/** Sets one option from a switch: a flag that takes no value (`--keep`). */
export type SwitchSetter<T> = (o: T) => void;

/** A whole number written in decimal digits, else NaN (so "0x10", "1e3" and "" are refused, not read). */
export const wholeNumber = (text: string): number => (/^\d+$/.test(text) ? Number(text) : NaN);

const isHttpUrl = (text: string) => /^https?:\/\/\S+$/.test(text);

const own = <V>(table: Record<string, V>, key: string): V | undefined =>
  Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;

/**
 * Applies `argv` (`--flag value` or `--flag=value`; the value may itself hold "=") to `o` through `flags`, and
 * `switches` (flags without a value); returns the problems found: unknown flags (worded by `unknown`, if given, and
 * followed once by `options: <usage>` when a usage line is given), flags without a value (the next argument is another
 * flag) and switches given one.
 */
export function applyFlags<T>(
  argv: string[],
  o: T,
  flags: Record<string, FlagSetter<T>>,
  extra: { switches?: Record<string, SwitchSetter<T>>; unknown?: (arg: string) => string; usage?: string } = {},
): string[] {
  const problems: string[] = [];
  const switches = extra.switches ?? {};
  let unknown = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = eq === -1 ? arg : arg.slice(0, eq);
    const toggle = own(switches, flag);
    if (toggle) {
      if (eq === -1) toggle(o);
      else problems.push(`${flag} takes no value`);
      continue;
    }
    const set = own(flags, flag);
    if (!set) {
      problems.push(extra.unknown?.(arg) ?? `unknown option ${arg}`);
      unknown = true;
      continue;
    }
    const next = argv[i + 1];
    const value = eq !== -1 ? arg.slice(eq + 1) : next === undefined || next.startsWith("--") ? undefined : argv[++i];
    if (value === undefined) problems.push(`${flag} needs a value`);
    else set(o, value);
  }
  if (unknown && extra.usage) problems.push(`options: ${extra.usage}`);
  return problems;
}

/**
 * Parses a command line into a copy of `defaults` through `flags` and `switches`, then `check`s the result. Throws
 * one Error naming every problem, separated by "; ".
 */
export function parseFlags<T extends object>(
  argv: string[],
  defaults: T,
  spec: {
    flags: Record<string, FlagSetter<T>>;
    switches?: Record<string, SwitchSetter<T>>;
    unknown?: (arg: string) => string;
    /** The options, listed once after the unknown ones: `--runs N, --only a,b`. */
    usage?: string;
    check?: (o: T) => string[];
  },
): T {
  const o: T = { ...defaults };
  const problems = [...applyFlags(argv, o, spec.flags, spec), ...(spec.check?.(o) ?? [])];
  if (problems.length) throw new Error(problems.join("; "));
  return o;
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
  return parseFlags(argv, defaults, {
    flags: { ...serviceFlags<T>(), ...extra.flags },
    check: (o) => [...checkServiceOptions(o), ...(extra.check?.(o) ?? [])],
  });
}

/** The deployment `o` names: its network's file in --deployments, else in $LOCKSTEP_DEPLOYMENTS_DIR, else the repo's. */
export function serviceDeployment(o: ServiceOptions): Deployment {
  return readDeployment(o.network, o.deployments ?? (process.env.LOCKSTEP_DEPLOYMENTS_DIR || undefined));
}

/** An http(s) URL check for a service's own URL options: the phrase naming `flag`, or nothing. */
export function checkHttpUrl(flag: string, value: string): string[] {
  return isHttpUrl(value) ? [] : [`${flag} must be an http(s) URL`];
}
