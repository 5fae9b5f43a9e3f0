// `npx hardhat audit --network <name> [--from-block N] [--format md|json|csv] [--manifests a.json,b.json]
//  [--explorer URL] [--out file]`: rebuilds every upgrade's history from the coordinator's logs alone, checks it,
// and prints (or writes) a report whose every line names a transaction and its block. Exits 1 when a check fails.
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { createPublicClient, custom, getAddress, http, isAddress, type PublicClient } from "viem";
import {
  audit,
  auditSummary,
  renderReport,
  REPORT_FORMATS,
  type AuditResult,
  type ManifestFileInput,
  type ReportFormat,
} from "../lib/audit";
import { readDeployment, type Deployment } from "../lib/deployments";
import { loadHistory } from "../lib/history";
import { ManifestError, readManifest } from "../lib/manifest";

/** A mistake in the audit's input: printed as one line, exit code 1. */
export class AuditInputError extends Error {}

export interface AuditOptions {
  /** The network whose deployments file names the contracts. */
  network: string;
  /** Reads the chain; see `clientFor`. */
  client: PublicClient;
  /** Where deployments files live (default: deployments/, or LOCKSTEP_DEPLOYMENTS_DIR). */
  deploymentsDir?: string;
  fromBlock?: string | number | bigint;
  format?: string;
  /** Manifest files, as a list or comma-separated. */
  manifests?: string | string[];
  explorer?: string;
  /** Write the report here instead of returning it for stdout. */
  out?: string;
}

export interface AuditRun {
  ok: boolean;
  exitCode: 0 | 1;
  report: string;
  result: AuditResult;
  deployment: Deployment;
  /** One line for the terminal: how many checks passed, or which failed first. */
  summary: string;
}

/** A viem client for the selected network: its RPC URL, or Hardhat's own provider for the in-process network. */
export function clientFor(hre: HardhatRuntimeEnvironment): PublicClient {
  const url = (hre.network.config as { url?: string }).url;
  const transport = url ? http(url) : custom({ request: (args) => hre.network.provider.request(args) });
  return createPublicClient({ transport }) as PublicClient;
}

function parseFromBlock(value: AuditOptions["fromBlock"]): bigint | undefined {
  if (value === undefined || value === "") return undefined;
  const text = String(value);
  if (!/^\d+$/.test(text)) throw new AuditInputError(`--from-block must be a block number, not "${text}"`);
  return BigInt(text);
}

function parseFormat(value: string | undefined): ReportFormat {
  const format = (value ?? "md").toLowerCase();
  if (!REPORT_FORMATS.includes(format as ReportFormat)) {
    throw new AuditInputError(`--format must be one of ${REPORT_FORMATS.join(", ")}, not "${value}"`);
  }
  return format as ReportFormat;
}

function parseExplorer(value: string | undefined): string | undefined {
  if (!value) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AuditInputError(`--explorer must be a URL such as https://etherscan.io, not "${value}"`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new AuditInputError(`--explorer must be an http(s) URL, not "${value}"`);
  return value.replace(/\/+$/, "");
}

function readManifests(value: AuditOptions["manifests"]): ManifestFileInput[] {
  const paths = (Array.isArray(value) ? value : (value ?? "").split(",")).map((p) => p.trim()).filter(Boolean);
  return paths.map((path) => {
    try {
      return { path, manifest: readManifest(path).manifest };
    } catch (e) {
      if (e instanceof ManifestError) throw new AuditInputError(`malformed manifest file ${e.message}`);
      throw e;
    }
  });
}

/** Runs the audit: reads the deployment, fetches and folds the logs, checks, renders. Throws AuditInputError for bad input. */
export async function runAudit(o: AuditOptions): Promise<AuditRun> {
  const format = parseFormat(o.format);
  const fromBlockArg = parseFromBlock(o.fromBlock);
  const explorer = parseExplorer(o.explorer);
  const files = readManifests(o.manifests);

  let deployment: Deployment;
  try {
    deployment = readDeployment(o.network, o.deploymentsDir ?? (process.env.LOCKSTEP_DEPLOYMENTS_DIR || undefined));
  } catch (e) {
    throw new AuditInputError((e as Error).message);
  }
  const coordinator = deployment.contracts?.UpgradeCoordinator;
  if (!coordinator || !isAddress(coordinator))
    throw new AuditInputError(`the deployment of "${o.network}" names no coordinator address`);

  let chainId: number;
  try {
    chainId = await o.client.getChainId();
  } catch (e) {
    throw new AuditInputError(
      `cannot reach the RPC endpoint of network "${o.network}": ${(e as Error).message.split("\n")[0]}`,
    );
  }
  if (chainId !== deployment.chainId) {
    throw new AuditInputError(
      `network "${o.network}" serves chain ${chainId}, but its deployment is on chain ${deployment.chainId}: wrong network?`,
    );
  }
  const code = await o.client.getCode({ address: getAddress(coordinator) });
  if (!code || code === "0x") {
    throw new AuditInputError(
      `no contract at the coordinator address ${coordinator} on network "${o.network}": redeploy or pick the right network`,
    );
  }
  const head = await o.client.getBlockNumber();
  const fromBlock = fromBlockArg ?? BigInt(deployment.startBlock ?? 0);
  if (fromBlock > head) throw new AuditInputError(`--from-block ${fromBlock} is past the chain head ${head}`);

  const history = await loadHistory(o.client, {
    address: getAddress(coordinator),
    fromBlock,
    toBlock: head,
    governance: deployment.contracts.LockstepTimelock,
    fromDeployment: fromBlock <= BigInt(deployment.startBlock ?? 0),
  });
  const result = audit(history, files);
  const report = renderReport(result, format, { explorer, network: o.network, chainId });
  if (o.out) {
    const path = resolve(o.out);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(`${path}.tmp`, report);
    renameSync(`${path}.tmp`, path);
  }
  const summary = auditSummary(result);
  return { ok: result.ok, exitCode: result.ok ? 0 : 1, report, result, deployment, summary };
}
