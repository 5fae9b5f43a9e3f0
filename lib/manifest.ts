// Upgrade manifests as files: the schema, the canonical form whose keccak256 is voted on chain, and the
// conversion to the coordinator's Manifest struct. The tasks, the watcher, the audit and the drill all use this.
// The manifest and stage-rules types are written here once: the file's (ManifestFile) and the contract's
// (OnChainManifest, StageRules), plain types viem's ABI types accept as they are.
import { keccak256, stringToBytes, type ContractFunctionArgs, type Hex } from "viem";
import { z } from "zod";
import type { upgradeCoordinatorAbi } from "./abi/generated";

/** IUpgradeCoordinator.StageRules: durations in seconds, thresholds in basis points. */
export interface StageRules {
  cohort: number;
  /** After scheduling (first stage) or after the previous stage was verified. */
  timelock: number;
  observationWindow: number;
  attestationDeadline: number;
  readinessBps: number;
  healthyBps: number;
  unhealthyBps: number;
  /** 0: automatic rollback off. */
  rollbackBps: number;
}

/** IUpgradeCoordinator.Artifact. */
export interface OnChainArtifact {
  platform: string;
  uri: string;
  sha256Digest: Hex;
}

/** IUpgradeCoordinator.Manifest: what `schedule(...)` takes and `getManifest` returns. */
export interface OnChainManifest {
  name: string;
  version: string;
  previousVersion: string;
  artifacts: OnChainArtifact[];
  featureFlags: string[];
  metadataURI: string;
  manifestHash: Hex;
  stateIncompatible: boolean;
  stages: StageRules[];
}

// The ABI takes these types as they are: a change to the struct fails the type-check here.
type AbiManifest = ContractFunctionArgs<typeof upgradeCoordinatorAbi, "nonpayable", "schedule">[0];
const _toAbi = (m: OnChainManifest): AbiManifest => m;
void _toAbi;

const bps = z.number().int().min(0).max(10_000);
const seconds = z
  .number()
  .int()
  .min(0)
  .max(2 ** 32 - 1);
const version = z
  .string()
  .min(1)
  .refine((v) => new TextEncoder().encode(v).length <= 32, "at most 32 bytes of UTF-8");

/** The path of a file inside an archive: relative, `/`-separated, no `.` or `..` segments. */
export const archivePath = z
  .string()
  .min(1)
  .max(256)
  .refine(
    (p) => !p.startsWith("/") && !p.includes("\\") && p.split("/").every((s) => s !== "" && s !== "." && s !== ".."),
    "a relative path inside the archive (a/b/c, no . or .. segments)",
  );

export const archiveSchema = z
  .object({
    format: z.enum(["tar.gz", "zip"]),
    binary: archivePath.describe("the node binary's path inside the archive, e.g. bin/gaiad"),
  })
  .strict();

export type ArchiveSpec = z.infer<typeof archiveSchema>;

export const stageSchema = z
  .object({
    cohort: z.number().int().min(1).max(255),
    label: z.string().optional().describe("a name for people (canary, early, main); not voted"),
    timelock: seconds.describe("seconds after scheduling (first stage) or after the previous stage was verified"),
    observationWindow: seconds,
    attestationDeadline: seconds.min(1),
    readinessBps: bps,
    healthyBps: bps.min(1),
    unhealthyBps: bps.min(1),
    rollbackBps: bps.describe("0 turns automatic rollback off"),
  })
  .strict();

export const manifestSchema = z
  .object({
    name: z.string().min(1),
    version,
    previousVersion: version,
    artifacts: z
      .array(
        z
          .object({
            platform: z.string().min(1),
            uri: z.string().min(1),
            sha256: z.string().regex(/^(0x)?[0-9a-fA-F]{64}$/, "a sha256 digest: 64 hex digits"),
            archive: archiveSchema
              .optional()
              .describe("the artifact is an archive: its format and the binary's path inside it; sha256 covers it"),
          })
          .strict()
          .superRefine((a, ctx) => {
            if (a.archive && a.uri.includes("#"))
              ctx.addIssue({ code: "custom", path: ["uri"], message: "an archive artifact's uri has no #fragment" });
          }),
      )
      .min(1)
      .max(16),
    featureFlags: z.array(z.string().min(1)).max(32).default([]),
    metadataURI: z.string().default(""),
    stateIncompatible: z.boolean().default(false),
    stages: z.array(stageSchema).min(1).max(16),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.version === m.previousVersion) {
      ctx.addIssue({ code: "custom", path: ["previousVersion"], message: "must differ from version" });
    }
    const seen = new Set<number>();
    m.stages.forEach((s, i) => {
      if (seen.has(s.cohort))
        ctx.addIssue({ code: "custom", path: ["stages", i, "cohort"], message: `cohort ${s.cohort} has two stages` });
      seen.add(s.cohort);
    });
  });

export type ManifestFile = z.infer<typeof manifestSchema>;
/** A stage as a manifest file writes it: the contract's rules and a label for people. */
export type StageFile = StageRules & { label?: string };
const _stageFile = (s: ManifestFile["stages"][number]): StageFile => s;
void _stageFile;

export class ManifestError extends Error {
  constructor(
    readonly problems: string[],
    source: string,
  ) {
    super(`${source}: ${problems.join("; ")}`);
  }
}

/** Parses a manifest file's text; every problem is reported, each naming its field. */
export function parseManifest(text: string, source = "manifest"): ManifestFile {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ManifestError([`not valid JSON (${(e as Error).message})`], source);
  }
  const result = manifestSchema.safeParse(raw);
  if (!result.success) {
    throw new ManifestError(
      result.error.issues.map((i) => `${i.path.length ? i.path.join(".") : "(manifest)"}: ${i.message}`),
      source,
    );
  }
  return result.data;
}

export function readManifest(path: string): { manifest: ManifestFile; text: string } {
  // Required here, not at the top: the dashboard bundles this file for the browser, where only parsing is used.
  const { readFileSync } = require("node:fs") as typeof import("node:fs");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch {
    throw new ManifestError(["cannot be read"], path);
  }
  return { manifest: parseManifest(text, path), text };
}

/**
 * The canonical form: the validated manifest (defaults filled, digests lower-case with 0x), as JSON with object
 * keys sorted and no insignificant white space. Any voter can rebuild it from the file and check its hash.
 */
export function canonicalManifest(m: ManifestFile): string {
  const normal: ManifestFile = {
    ...m,
    artifacts: m.artifacts.map((a) => ({ ...a, sha256: `0x${a.sha256.replace(/^0x/, "").toLowerCase()}` })),
  };
  return canonicalJson(normal);
}

/** keccak256 of the canonical form: what `manifestHash` on chain must equal. */
export function manifestHash(m: ManifestFile): Hex {
  return keccak256(stringToBytes(canonicalManifest(m)));
}

/** keccak256 of a manifest file's canonical form, straight from its text. */
export function manifestHashOfText(text: string, source = "manifest"): Hex {
  return manifestHash(parseManifest(text, source));
}

/** The coordinator's Manifest struct for `schedule(...)`. */
export function toOnChain(m: ManifestFile): OnChainManifest {
  return {
    name: m.name,
    version: m.version,
    previousVersion: m.previousVersion,
    artifacts: m.artifacts.map((a) => ({
      platform: a.platform,
      uri: artifactUri(a.uri, a.archive),
      sha256Digest: `0x${a.sha256.replace(/^0x/, "").toLowerCase()}`,
    })),
    featureFlags: m.featureFlags,
    metadataURI: m.metadataURI,
    manifestHash: manifestHash(m),
    stateIncompatible: m.stateIncompatible,
    stages: m.stages.map(({ label: _label, ...rules }) => rules),
  };
}

/**
 * The on-chain artifact has only a platform, a URI and a digest, so an archive's format and binary path ride in
 * the URI's fragment, which is never sent to the server: `https://host/gaiad.tar.gz#archive=tar.gz&binary=bin/gaiad`.
 */
export function artifactUri(uri: string, archive?: ArchiveSpec): string {
  return archive ? `${uri}#archive=${archive.format}&binary=${encodeURI(archive.binary)}` : uri;
}

/** An on-chain artifact URI taken apart: the URL to fetch, and the archive it declares (if any). */
export function parseArtifactUri(uri: string): { url: string; archive?: ArchiveSpec } {
  const hash = uri.indexOf("#");
  if (hash < 0) return { url: uri };
  const url = uri.slice(0, hash);
  const fragment = new URLSearchParams(uri.slice(hash + 1));
  if (!fragment.has("archive") && !fragment.has("binary")) return { url };
  const result = archiveSchema.safeParse({ format: fragment.get("archive"), binary: fragment.get("binary") ?? "" });
  if (!result.success) {
    throw new ManifestError(
      result.error.issues.map((i) => `#${i.path[0] === "format" ? "archive" : "binary"}: ${i.message}`),
      `artifact uri ${uri}`,
    );
  }
  return { url, archive: result.data };
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The rules a stage gets when a test, a drill or an example names only its cohort: seconds and basis points. */
export const DEFAULT_STAGE_RULES = {
  timelock: 0,
  observationWindow: 600,
  attestationDeadline: 3600,
  readinessBps: 0,
  healthyBps: 6700,
  unhealthyBps: 3400,
  rollbackBps: 0,
} as const;

/** Stage rules with every field named; durations in seconds, thresholds in basis points. */
export function stageRules(cohort: number, over: Partial<StageRules> = {}): StageRules {
  return { cohort, ...DEFAULT_STAGE_RULES, ...over };
}
