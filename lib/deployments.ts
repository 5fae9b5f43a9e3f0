// The deployments file: where a network's Lockstep contracts live. Written by the deploy task, read by every
// other task, the drill, the audit and the dashboard.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface Deployment {
  network: string;
  chainId: number;
  /** The block the first contract was deployed in: where event scans start. */
  startBlock: number;
  deployedAt: string;
  contracts: {
    StakeToken: string;
    LockstepTimelock: string;
    LockstepGovernor: string;
    UpgradeCoordinator: string;
    ManifestPlanner: string;
    RolloutViews: string;
    /** Absent in records written before the coordinator's cold paths moved to these libraries. */
    RegistryLogic?: string;
    GovernanceLogic?: string;
  };
  guardian: string;
  params: Record<string, string | number>;
}

/** A deployments file that is missing, malformed or cannot be named: the user's to fix, told in one line. */
export class DeploymentError extends Error {}

export const DEPLOYMENTS_DIR = join(__dirname, "..", "deployments");

export function deploymentPath(network: string, dir = DEPLOYMENTS_DIR): string {
  if (!/^[A-Za-z0-9_-]+$/.test(network)) throw new DeploymentError(`network name "${network}" cannot name a file`);
  return join(dir, `${network}.json`);
}

export function readDeployment(network: string, dir = DEPLOYMENTS_DIR): Deployment {
  const path = deploymentPath(network, dir);
  if (!existsSync(path)) {
    throw new DeploymentError(
      `no Lockstep deployment for network "${network}" (${path}): run \`npx hardhat deploy --network ${network}\` first`,
    );
  }
  try {
    return JSON.parse(readFileSync(path, "utf8")) as Deployment;
  } catch (e) {
    throw new DeploymentError(`the deployments file ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

export function findDeployment(network: string, dir = DEPLOYMENTS_DIR): Deployment | undefined {
  return existsSync(deploymentPath(network, dir)) ? readDeployment(network, dir) : undefined;
}

/** Writes atomically (temp file, then rename). */
export function writeDeployment(d: Deployment, dir = DEPLOYMENTS_DIR): string {
  const path = deploymentPath(d.network, dir);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, JSON.stringify(d, null, 2) + "\n");
  renameSync(`${path}.tmp`, path);
  return path;
}
