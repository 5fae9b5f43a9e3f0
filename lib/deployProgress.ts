// The progress file of an interrupted deploy (deploySystem's DeployProgress), kept beside the network's deployments
// file until a run completes: which libraries already stand on chain, so the next run by the same account on the
// same chain reuses them. Written to a temporary file, then renamed, so a crash never leaves half a file.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { getAddress, isAddress, type Address } from "viem";
import { z } from "zod";
import type { DeployProgress } from "./deploy";
import { deploymentPath } from "./deployments";

/** A progress file that cannot be read: it names the file and what to do. */
export class DeployProgressError extends Error {}

const address = z.string().refine((a) => isAddress(a, { strict: false }), "an address");
const progressSchema = z.object({
  chainId: z.number().int().positive(),
  deployer: address,
  libraries: z.object({
    manifestPlanner: address.optional(),
    rolloutViews: address.optional(),
    registryLogic: address.optional(),
    governanceLogic: address.optional(),
  }),
});

/** Where the progress of `network`'s deploy is kept: beside its deployments file. */
export function progressPath(network: string, dir?: string): string {
  return deploymentPath(network, dir).replace(/\.json$/, ".progress.json");
}

/**
 * The progress saved at `path` by `deployer` on chain `chainId`; undefined when there is none, or when another
 * account or chain left it (a deploy of its own is not this one's to resume). Throws DeployProgressError when the
 * file is not a progress file.
 */
export function readProgress(path: string, chainId: number, deployer: Address): DeployProgress | undefined {
  if (!existsSync(path)) return undefined;
  let parsed;
  try {
    parsed = progressSchema.safeParse(JSON.parse(readFileSync(path, "utf8")));
  } catch (e) {
    throw new DeployProgressError(`${path} is not JSON (${(e as Error).message}): remove it to deploy from scratch`);
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DeployProgressError(
      `${path} is not a deploy's progress (${issue.path.join(".") || "file"}: ${issue.message}): remove it to deploy from scratch`,
    );
  }
  const p = parsed.data;
  if (p.chainId !== chainId || getAddress(p.deployer) !== getAddress(deployer)) return undefined;
  const libraries = Object.fromEntries(
    Object.entries(p.libraries).flatMap(([k, a]) => (a ? [[k, getAddress(a)]] : [])),
  ) as DeployProgress["libraries"];
  return { chainId: p.chainId, deployer: getAddress(p.deployer), libraries };
}

/** Saves `progress` at `path`: a temporary file, then a rename. */
export function saveProgress(path: string, progress: DeployProgress): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, JSON.stringify(progress, null, 2) + "\n");
  renameSync(`${path}.tmp`, path);
}

/** Drops the progress file once the deploy it describes is complete. */
export function clearProgress(path: string): void {
  rmSync(path, { force: true });
}
