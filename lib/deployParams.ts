// Deploy parameters: a named preset (deploy/presets/<name>.json) or a file of the same shape, checked with one
// schema. Durations of the governor are in blocks (its clock is the block number), the timelock's and the lease's in
// seconds; token amounts are whole tokens (18 decimals). docs/operations.md gives where each preset value comes from.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { getAddress, parseEther, type Address } from "viem";
import { z } from "zod";
import type { SystemParams } from "./deploy";

export const PRESETS = ["local", "testnet", "mainnet"] as const;
export type PresetName = (typeof PRESETS)[number];

export const PRESETS_DIR = join(__dirname, "..", "deploy", "presets");

/** A parameters file that is missing, malformed or out of range, told in one line. */
export class DeployParamsError extends Error {}

const wholeTokens = z
  .string()
  .regex(/^\d+$/, "must be a whole number of tokens, as a string of digits")
  .refine((s) => !/^\d+$/.test(s) || parseEther(s) < 2n ** 96n, "must be below 2^96 wei (the token's supply cap)");
const blocks = (max: number) => z.number().int().min(0).max(max);

/** Every field of a parameters file; `extends` names a preset whose values the file's own override. */
const fields = {
  tokenName: z.string().min(1),
  tokenSymbol: z.string().min(1).max(11),
  supply: wholeTokens,
  /** Seconds between queueing and executing (TimelockController's minDelay). */
  timelockDelay: z
    .number()
    .int()
    .min(0)
    .max(30 * 86_400),
  /** Blocks between proposing and the vote's snapshot (uint48 on chain). */
  votingDelay: blocks(2 ** 48 - 1),
  /** Blocks a vote stays open (uint32 on chain; the Governor refuses 0). */
  votingPeriod: blocks(2 ** 32 - 1).min(1),
  /** Blocks a vote is extended by when quorum is reached late (GovernorPreventLateQuorum). */
  voteExtension: blocks(2 ** 48 - 1),
  proposalThreshold: wholeTokens,
  quorumPercent: z.number().int().min(1).max(100),
  /** Largest share of total stake restarting at once, in basis points (setRestartBudget). */
  restartBudgetBps: z.number().int().min(0).max(10_000),
  /** Seconds a restart lease lasts before it expires (setRestartBudget; uint24 on chain, never 0). */
  leaseDuration: z
    .number()
    .int()
    .min(1)
    .max(2 ** 24 - 1),
  defaultCohort: z.number().int().min(1).max(255),
};

const ParamsFile = z.object({ $comment: z.string().optional(), ...fields }).strict();
const PartialParamsFile = z
  .object({ $comment: z.string().optional(), extends: z.enum(PRESETS).optional(), ...fields })
  .partial()
  .strict();

export type DeployParamsFile = z.infer<typeof ParamsFile>;

function parseJson(path: string): unknown {
  if (!existsSync(path)) throw new DeployParamsError(`parameters file ${path} does not exist`);
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new DeployParamsError(`parameters file ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

function firstIssue(error: z.ZodError, source: string): DeployParamsError {
  const i = error.issues[0];
  return new DeployParamsError(`${source}: ${i.path.length ? i.path.join(".") : "(file)"}: ${i.message}`);
}

/** A preset's values (deploy/presets/<name>.json), checked. */
export function loadPreset(name: string): DeployParamsFile {
  if (!(PRESETS as readonly string[]).includes(name)) {
    throw new DeployParamsError(`unknown preset "${name}": choose ${PRESETS.join(", ")}`);
  }
  const path = join(PRESETS_DIR, `${name}.json`);
  const parsed = ParamsFile.safeParse(parseJson(path));
  if (!parsed.success) throw firstIssue(parsed.error, `preset ${name}`);
  return parsed.data;
}

/** A parameters file: every field, or `extends: <preset>` and the fields it changes. */
export function readParamsFile(path: string): DeployParamsFile {
  const parsed = PartialParamsFile.safeParse(parseJson(path));
  if (!parsed.success) throw firstIssue(parsed.error, path);
  const { extends: base, ...own } = parsed.data;
  const merged = { ...(base ? loadPreset(base) : {}), ...own };
  const full = ParamsFile.safeParse(merged);
  if (!full.success) throw firstIssue(full.error, path);
  return full.data;
}

/** The deploy's parameters from a checked file, with the accounts that receive the stake and guard the rollout. */
export function systemParams(file: DeployParamsFile, holder: Address, guardian: Address): SystemParams {
  return {
    tokenName: file.tokenName,
    tokenSymbol: file.tokenSymbol,
    holder: getAddress(holder),
    supply: parseEther(file.supply),
    timelockDelay: BigInt(file.timelockDelay),
    votingDelay: BigInt(file.votingDelay),
    votingPeriod: BigInt(file.votingPeriod),
    proposalThreshold: parseEther(file.proposalThreshold),
    quorumPercent: BigInt(file.quorumPercent),
    voteExtension: BigInt(file.voteExtension),
    guardian: getAddress(guardian),
    defaultCohort: file.defaultCohort,
    restartBudgetBps: file.restartBudgetBps,
    leaseDuration: file.leaseDuration,
  };
}
