// Every setting of the watcher, and every path it writes, validated and built here and nowhere else.
import { readFileSync } from "node:fs";
import { isAbsolute, join, resolve, dirname } from "node:path";
import { z } from "zod";
import { fatal } from "./errors";
import { NOTIFY_DEFAULTS } from "./notify";

/** Artifact download limits (see docs/watcher.md, "Downloads"). */
export const DOWNLOAD_DEFAULTS = { idleTimeoutMs: 30_000, totalTimeoutMs: 10 * 60_000, maxRedirects: 5 };

/** How a step that fails with a retryable error is tried again (see docs/watcher.md, "A step keeps failing"). */
export const RETRY_DEFAULTS = { backoffCapMs: 5 * 60_000, budgetMs: 6 * 60 * 60_000, maxAttempts: 200 };

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "a 0x-prefixed 20-byte hex address");
const positiveInt = z.number().int().positive();

function isHttpUrl(u: string): boolean {
  try {
    return ["http:", "https:"].includes(new URL(u).protocol);
  } catch {
    return false;
  }
}

const attesterKey = z.union([
  z
    .object({
      keystore: z.string().min(1).describe("path to an encrypted JSON keystore (Web3 Secret Storage)"),
      passwordFile: z.string().min(1).describe("path to a file holding the keystore's password"),
    })
    .strict(),
  z
    .object({
      env: z
        .string()
        .min(1)
        .describe("name of an environment variable holding the 0x-prefixed private key (development only)"),
    })
    .strict(),
]);

const probeTimeoutMs = positiveInt.default(2_000).describe("how long one probe may take");
const httpProbe = <T extends string>(type: T, url: string) =>
  z.object({ type: z.literal(type), url: z.string().url().describe(url), timeoutMs: probeTimeoutMs }).strict();

/** How the watcher asks the node for its version, height and sync state (watcher/src/adapters/probes/). */
export const probeSchema = z.discriminatedUnion("type", [
  httpProbe("lockstep", "the status endpoint answering JSON {version, height, syncing?}"),
  httpProbe("cometbft", "the CometBFT RPC (e.g. http://127.0.0.1:26657); /status is read"),
  httpProbe("ethereum-execution", "the execution client's JSON-RPC endpoint (e.g. http://127.0.0.1:8545)"),
  httpProbe("ethereum-beacon", "the beacon node API (e.g. http://127.0.0.1:5052); /eth/v1/node/* are read"),
  httpProbe("solana", "the validator's JSON-RPC endpoint (e.g. http://127.0.0.1:8899)"),
  z
    .object({
      type: z.literal("command"),
      command: z.string().min(1).describe("a shell command printing JSON {version, height, syncing}"),
      timeoutMs: probeTimeoutMs,
    })
    .strict(),
]);

export type ProbeConfig = z.infer<typeof probeSchema>;

const statusProbe = {
  statusUrl: z
    .string()
    .url()
    .optional()
    .describe("the node's status endpoint: JSON {version, height}; short for probe {type: lockstep, url}"),
  probe: probeSchema.optional(),
  stateDir: z.string().min(1).describe("the node's state directory, snapshotted before a swap"),
};

const node = z
  .discriminatedUnion("adapter", [
    z
      .object({
        adapter: z.literal("command"),
        ...statusProbe,
        commands: z
          .object({
            stop: z.string().min(1),
            start: z.string().min(1),
            snapshot: z.string().min(1).optional(),
            restore: z.string().min(1).optional(),
          })
          .strict()
          .describe(
            "shell commands (systemd, docker, anything); $LOCKSTEP_BINARY, $LOCKSTEP_VERSION, $LOCKSTEP_SNAPSHOT are set",
          ),
      })
      .strict(),
    z
      .object({
        adapter: z.literal("process"),
        ...statusProbe,
        binaryName: z
          .string()
          .regex(/^[A-Za-z0-9._-]+$/, "a plain file name")
          .default("node"),
        args: z.array(z.string()).default([]),
        env: z.record(z.string(), z.string()).default({}),
      })
      .strict(),
  ])
  .superRefine((n, ctx) => {
    if ((n.statusUrl === undefined) === (n.probe === undefined))
      ctx.addIssue({ code: "custom", path: ["probe"], message: "set exactly one of node.probe and node.statusUrl" });
  });

/** The node's probe: node.probe, or the `lockstep` probe of node.statusUrl. */
export function probeConfigOf(n: { statusUrl?: string; probe?: ProbeConfig }): ProbeConfig {
  if (n.probe) return n.probe;
  if (n.statusUrl === undefined)
    throw new ConfigError(["config node.probe: set exactly one of node.probe and node.statusUrl"]);
  return { type: "lockstep", url: n.statusUrl, timeoutMs: 2_000 };
}

export const configSchema = z
  .object({
    chain: z
      .object({
        rpcUrl: z.string().url(),
        chainId: positiveInt,
        coordinator: address,
        startBlock: positiveInt.describe("the block the coordinator was deployed in"),
        confirmations: z.number().int().min(0).default(2),
        pollIntervalMs: positiveInt.default(2000),
        pageSize: positiveInt.default(2000),
      })
      .strict(),
    validator: z
      .object({
        operator: address,
        attesterKey,
      })
      .strict(),
    relay: z
      .union([z.object({ url: z.string().url() }).strict(), z.object({ file: z.string().min(1) }).strict()])
      .optional()
      .describe("where signed attestations go when the transaction path fails"),
    platform: z.string().min(1).default("linux-amd64"),
    dataDir: z.string().min(1),
    node,
    layout: z
      .enum(["lockstep", "cosmovisor"])
      .default("lockstep")
      .describe("where versions live: Lockstep's versions/ under dataDir, or Cosmovisor's tree under cosmovisor.home"),
    cosmovisor: z
      .object({
        home: z.string().min(1).describe("$DAEMON_HOME: the folder holding cosmovisor/ (and data/)"),
        daemonName: z
          .string()
          .regex(/^[A-Za-z0-9._-]+$/, "a plain file name")
          .describe("$DAEMON_NAME: the binary's name (gaiad, simd ...)"),
        versions: z
          .record(z.string(), z.string().min(1))
          .default({})
          .describe("the version held by each directory Lockstep did not stage: {genesis: v17.0.0, v18: v18.1.0}"),
      })
      .strict()
      .optional(),
    hooks: z
      .object({
        preUpgrade: z
          .object({
            command: z
              .string()
              .min(1)
              .describe("run before the node is stopped; Cosmovisor's exit codes (0, 1, 30, 31)"),
            timeoutMs: positiveInt.default(300_000),
            maxRetries: z
              .number()
              .int()
              .min(0)
              .default(0)
              .describe("retries after exit 31 (DAEMON_PREUPGRADE_MAX_RETRIES)"),
          })
          .strict()
          .optional(),
        restartWindow: z
          .object({
            command: z.string().min(1).describe("must exit 0 before the node may stop (wait-for-restart-window)"),
            timeoutMs: positiveInt.default(60_000).describe("the longest one attempt may run"),
            retryIntervalMs: positiveInt.default(10_000),
            deadlineMs: positiveInt.default(3_600_000).describe("give up (FailedToUpgrade) after this long"),
          })
          .strict()
          .optional(),
      })
      .strict()
      .optional(),
    health: z
      .object({
        deadlineMs: positiveInt.default(120_000),
        probeIntervalMs: positiveInt.default(1_000),
        minHeightGain: positiveInt.default(2),
        observeIntervalMs: positiveInt.default(5_000),
        unhealthyAfterMs: positiveInt
          .default(30_000)
          .describe("a node is unhealthy only after making no progress (new blocks on the version) this long"),
        reattestIntervalMs: positiveInt
          .default(120_000)
          .describe("at most one change of health attested per this interval"),
      })
      .strict()
      .default({
        deadlineMs: 120_000,
        probeIntervalMs: 1_000,
        minHeightGain: 2,
        observeIntervalMs: 5_000,
        unhealthyAfterMs: 30_000,
        reattestIntervalMs: 120_000,
      }),
    artifacts: z
      .object({
        maxBytes: positiveInt.default(512 * 1024 * 1024),
        allowInsecureHttp: z.boolean().default(false).describe("allow http:// artifact URIs (local testing only)"),
        idleTimeoutMs: positiveInt
          .default(DOWNLOAD_DEFAULTS.idleTimeoutMs)
          .describe("abandon a download (retryable) when the server sends nothing for this long"),
        totalTimeoutMs: positiveInt
          .default(DOWNLOAD_DEFAULTS.totalTimeoutMs)
          .describe("abandon a download (retryable) that takes longer than this in all"),
        maxRedirects: z
          .number()
          .int()
          .min(0)
          .default(DOWNLOAD_DEFAULTS.maxRedirects)
          .describe("the most redirects followed for one artifact; each must stay on https"),
        maxExtractedBytes: positiveInt
          .default(4 * 1024 ** 3)
          .describe("the most bytes an archive artifact may expand to; past it the archive is refused"),
        maxArchiveEntries: positiveInt.default(100_000).describe("the most entries an archive artifact may hold"),
        manifestFile: z
          .string()
          .min(1)
          .optional()
          .describe("the canonical manifest file, checked against the on-chain hash"),
      })
      .strict()
      .default({
        maxBytes: 512 * 1024 * 1024,
        allowInsecureHttp: false,
        ...DOWNLOAD_DEFAULTS,
        maxExtractedBytes: 4 * 1024 ** 3,
        maxArchiveEntries: 100_000,
      }),
    retry: z
      .object({
        backoffCapMs: positiveInt
          .default(RETRY_DEFAULTS.backoffCapMs)
          .describe(
            "the longest wait before a failing step is tried again (the wait doubles from chain.pollIntervalMs)",
          ),
        budgetMs: positiveInt
          .default(RETRY_DEFAULTS.budgetMs)
          .describe("a step failing for this long counts as failed for good"),
        maxAttempts: positiveInt
          .default(RETRY_DEFAULTS.maxAttempts)
          .describe("a step tried this many times counts as failed for good"),
      })
      .strict()
      .refine((r) => r.backoffCapMs <= r.budgetMs, {
        path: ["backoffCapMs"],
        message: "must not be longer than retry.budgetMs",
      })
      .default(RETRY_DEFAULTS)
      .describe("retries of a step that failed with an error trying again may fix"),
    metrics: z
      .object({
        host: z.string().default("127.0.0.1"),
        port: z.number().int().min(0).max(65535).default(9464),
      })
      .strict()
      .default({ host: "127.0.0.1", port: 9464 }),
    notify: z
      .object({
        webhooks: z
          .array(
            z
              .string()
              .refine(isHttpUrl, "an http(s) URL")
              .describe("a webhook taking a JSON POST with a `text` field (Slack, Discord's /slack, …)"),
          )
          .min(1, "at least one webhook URL"),
        timeoutMs: positiveInt.default(NOTIFY_DEFAULTS.timeoutMs).describe("how long one delivery attempt may take"),
        maxAttempts: positiveInt.default(NOTIFY_DEFAULTS.maxAttempts).describe("attempts per notice and webhook"),
        backoffMs: positiveInt
          .default(NOTIFY_DEFAULTS.backoffMs)
          .describe("wait before the second attempt; doubled for each next one, at most 60 s"),
        queueSize: positiveInt
          .default(NOTIFY_DEFAULTS.queueSize)
          .describe("notices kept per webhook while it does not answer; the oldest are dropped beyond it"),
      })
      .strict()
      .optional()
      .describe("webhook notifications (see docs/watcher.md, Notifications)"),
    log: z
      .object({
        level: z.enum(["fatal", "error", "warn", "info", "debug", "trace"]).default("info"),
      })
      .strict()
      .default({ level: "info" }),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.layout === "cosmovisor" && !c.cosmovisor)
      ctx.addIssue({
        code: "custom",
        path: ["cosmovisor"],
        message: 'layout "cosmovisor" needs cosmovisor.home and .daemonName',
      });
  });

export type WatcherConfig = z.infer<typeof configSchema>;
export type NodeConfig = WatcherConfig["node"];
export type CosmovisorConfig = NonNullable<WatcherConfig["cosmovisor"]>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.length === 1 ? problems[0] : `${problems.length} problems:\n  ${problems.join("\n  ")}`);
  }
}

/**
 * Parses a config object; reports every problem at once, each naming its field and what is expected (and the
 * LOCKSTEP_ variable that set it, when `sources` says one did).
 */
export function parseConfig(raw: unknown, baseDir = process.cwd(), sources: EnvSources = new Map()): WatcherConfig {
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((issue) => {
        const field = issue.path.length ? issue.path.join(".") : "(config)";
        const variable = sources.get(field);
        return `config ${field}${variable ? ` (${variable})` : ""}: ${issue.message}`;
      }),
    );
  }
  const config = result.data;
  // Relative paths are relative to the config file.
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  config.dataDir = abs(config.dataDir);
  config.node.stateDir = abs(config.node.stateDir);
  if ("keystore" in config.validator.attesterKey) {
    config.validator.attesterKey.keystore = abs(config.validator.attesterKey.keystore);
    config.validator.attesterKey.passwordFile = abs(config.validator.attesterKey.passwordFile);
  }
  if (config.relay && "file" in config.relay) config.relay.file = abs(config.relay.file);
  if (config.artifacts.manifestFile) config.artifacts.manifestFile = abs(config.artifacts.manifestFile);
  if (config.cosmovisor) config.cosmovisor.home = abs(config.cosmovisor.home);
  return config;
}

/**
 * Reads and parses a JSON config file, then lets LOCKSTEP_ variables of `env` override its fields (see
 * `envFields`): the variable wins, as Cosmovisor's DAEMON_* do.
 */
export function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): WatcherConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ConfigError([`config file ${path} cannot be read`]);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError([`config file ${path} is not valid JSON: ${(e as Error).message}`]);
  }
  const { merged, sources } = applyEnv(raw, env);
  return parseConfig(merged, dirname(resolve(path)), sources);
}

/** Which LOCKSTEP_ variable set each field ("chain.rpcUrl" -> "LOCKSTEP_CHAIN_RPC_URL"). */
export type EnvSources = Map<string, string>;

/** A config field a LOCKSTEP_ variable can set, and how the variable's text becomes its value. */
export interface EnvField {
  variable: string;
  /** The field's path in the config ("chain.rpcUrl"). */
  field: string;
  /** number and boolean: parsed; json: arrays, records and other structured values, written as JSON. */
  kind: "string" | "number" | "boolean" | "json";
}

/** A union of objects (validator.attesterKey, relay, node, node.probe): the keys each option allows. */
interface UnionOfObjects {
  path: string[];
  options: { keys: Set<string>; tags: Map<string, unknown[]> }[];
}

/** A field name as a variable name: "rpcUrl" -> "RPC_URL". */
const upperSnake = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();

/** The schema under defaults, optionals and the like. */
function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  const def = schema._zod.def as { type: string; innerType?: z.core.$ZodType; in?: z.core.$ZodType };
  if (def.innerType) return unwrap(def.innerType);
  if (def.type === "pipe" && def.in) return unwrap(def.in);
  return schema;
}

const objectShape = (schema: z.core.$ZodType) => {
  const def = schema._zod.def as { type: string; shape?: Record<string, z.core.$ZodType> };
  return def.type === "object" ? def.shape : undefined;
};

/**
 * Every field of the config schema that a variable sets, derived from the schema itself so that new fields are
 * covered too: LOCKSTEP_ and the field's path, each name in upper snake case, joined with `_`
 * (chain.rpcUrl -> LOCKSTEP_CHAIN_RPC_URL). The fields of each option of a union are all listed
 * (validator.attesterKey.keystore and validator.attesterKey.env).
 */
function envModel(schema: z.core.$ZodType = configSchema): { fields: EnvField[]; unions: UnionOfObjects[] } {
  const fields = new Map<string, EnvField>();
  const unions: UnionOfObjects[] = [];
  const walk = (node: z.core.$ZodType, path: string[]) => {
    const inner = unwrap(node);
    const def = inner._zod.def as { type: string; options?: z.core.$ZodType[] };
    const shape = objectShape(inner);
    if (shape) {
      for (const [key, child] of Object.entries(shape)) walk(child, [...path, key]);
      return;
    }
    const shapes = def.type === "union" ? def.options!.map((o) => objectShape(unwrap(o))) : [];
    if (shapes.length && shapes.every(Boolean)) {
      unions.push({
        path,
        options: shapes.map((shape) => ({
          keys: new Set(Object.keys(shape!)),
          tags: new Map(
            Object.entries(shape!).flatMap(([key, child]) => {
              const d = unwrap(child)._zod.def as { type: string; values?: unknown[] };
              return d.type === "literal" ? [[key, d.values!] as const] : [];
            }),
          ),
        })),
      });
      def.options!.forEach((option) => walk(option, path));
      return;
    }
    const kind: EnvField["kind"] =
      def.type === "number"
        ? "number"
        : def.type === "boolean"
          ? "boolean"
          : ["string", "enum", "literal"].includes(def.type)
            ? "string"
            : "json";
    const field = path.join(".");
    const variable = `LOCKSTEP_${path.map(upperSnake).join("_")}`;
    const clash = [...fields.values()].find((f) => f.variable === variable && f.field !== field);
    if (clash) throw new Error(`config fields ${clash.field} and ${field} would both be set by ${variable}`);
    if (!fields.has(field)) fields.set(field, { variable, field, kind });
  };
  walk(schema, []);
  return { fields: [...fields.values()], unions };
}

const ENV = envModel();

/** The LOCKSTEP_ variables, one per config field (docs/watcher.md lists them; a test keeps the list current). */
export function envFields(): EnvField[] {
  return ENV.fields.map((f) => ({ ...f }));
}

/**
 * The raw config with every LOCKSTEP_ variable of `env` applied over it (an empty variable counts as unset), and
 * which variable set which field. Numbers and booleans are parsed; a value that does not parse is passed on as text
 * for the schema to refuse with its usual message. When variables set fields of one option of a union (an `env`
 * attester key over a keystore in the file), the file's fields that option does not have are dropped.
 */
export function applyEnv(raw: unknown, env: NodeJS.ProcessEnv): { merged: unknown; sources: EnvSources } {
  const sources: EnvSources = new Map();
  const problems: string[] = [];
  const merged: unknown = isRecord(raw) ? structuredClone(raw) : raw;
  if (!isRecord(merged)) return { merged, sources };
  for (const f of ENV.fields) {
    const text = env[f.variable];
    if (text === undefined || text === "") continue;
    let value: unknown = text;
    if (f.kind === "number" && /^\s*-?\d+(\.\d+)?\s*$/.test(text)) value = Number(text);
    else if (f.kind === "boolean" && /^(true|false)$/i.test(text.trim())) value = text.trim().toLowerCase() === "true";
    else if (f.kind === "json") {
      try {
        value = JSON.parse(text);
      } catch (e) {
        problems.push(`config ${f.field} (${f.variable}): not valid JSON: ${(e as Error).message}`);
        continue;
      }
    }
    const path = f.field.split(".");
    let at = merged;
    for (const key of path.slice(0, -1)) {
      if (!isRecord(at[key])) at[key] = {};
      at = at[key] as Record<string, unknown>;
    }
    at[path[path.length - 1]] = value;
    sources.set(f.field, f.variable);
  }
  if (problems.length) throw new ConfigError(problems);
  for (const union of ENV.unions) dropForeignKeys(merged, union, sources);
  return { merged, sources };
}

function dropForeignKeys(merged: Record<string, unknown>, union: UnionOfObjects, sources: EnvSources) {
  const prefix = union.path.length ? `${union.path.join(".")}.` : "";
  const set = [...sources.keys()]
    .filter((field) => field.startsWith(prefix) && !field.slice(prefix.length).includes("."))
    .map((field) => field.slice(prefix.length));
  if (!set.length) return;
  let at: unknown = merged;
  for (const key of union.path) at = isRecord(at) ? at[key] : undefined;
  if (!isRecord(at)) return;
  const object = at;
  const candidates = union.options.filter(
    (o) =>
      set.every((key) => o.keys.has(key)) &&
      [...o.tags].every(([key, values]) => !set.includes(key) || values.includes(object[key])),
  );
  if (!candidates.length) return;
  const allowed = new Set(candidates.flatMap((o) => [...o.keys]));
  for (const key of Object.keys(object)) if (!allowed.has(key)) delete object[key];
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Where the watcher keeps things on disk, all under the data directory:
 *   journal.sqlite                 the durable journal
 *   versions/<version>/bin/<name>  each version's binary, staged only after its digest matched
 *   current -> versions/<version>  the active version (switched atomically by renaming a new symlink over it)
 *                                  (layout "cosmovisor": versions live in Cosmovisor's tree; see adapters/layouts.ts)
 *   downloads/                     partial downloads (never executed)
 *   snapshots/<tag>/               copies of the node's state directory
 *   node.pid                       the process adapter's node process
 *   node.log                       the process adapter's node output
 */
export function paths(
  config: Pick<WatcherConfig, "dataDir"> & Partial<Pick<WatcherConfig, "layout" | "cosmovisor">>,
  binaryName = "node",
) {
  const root = config.dataDir;
  // In Cosmovisor's layout the active binary is Cosmovisor's: $DAEMON_HOME/cosmovisor/current/bin/$DAEMON_NAME.
  const cosmovisor = config.layout === "cosmovisor" ? config.cosmovisor : undefined;
  const current = cosmovisor ? join(cosmovisor.home, "cosmovisor", "current") : join(root, "current");
  const version = (v: string) => {
    if (!/^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$/.test(v))
      throw fatal("bad-version", `version "${v}" cannot name a directory`, { version: v });
    return join(root, "versions", v);
  };
  return {
    root,
    journal: join(root, "journal.sqlite"),
    versions: join(root, "versions"),
    version,
    binary: (v: string) => join(version(v), "bin", binaryName),
    current,
    currentBinary: join(current, "bin", cosmovisor ? cosmovisor.daemonName : binaryName),
    downloads: join(root, "downloads"),
    download: (upgradeId: number) => join(root, "downloads", `upgrade-${upgradeId}.part`),
    snapshots: join(root, "snapshots"),
    snapshot: (tag: string) => {
      if (!/^[A-Za-z0-9._-]{1,64}$/.test(tag))
        throw fatal("bad-snapshot-tag", `snapshot tag "${tag}" cannot name a directory`, { tag });
      return join(root, "snapshots", tag);
    },
    pidFile: join(root, "node.pid"),
    nodeLog: join(root, "node.log"),
  };
}

export type Paths = ReturnType<typeof paths>;
