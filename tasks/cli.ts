// What every task shares: one-line errors for user mistakes, the deployment and contracts of the selected network,
// the signer, and contract refusals put into words.
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { DeploymentError, readDeployment, type Deployment } from "../lib/deployments";
// TypeChain's output exists only after a compile, and hardhat.config.ts loads this file before any compile:
// the factories are loaded when a task runs, never when the config is read.
function typechain(): typeof import("../typechain-types") {
  return require("../typechain-types");
}

/** A mistake or refusal the user should read as one line (no stack trace). */
export class TaskError extends Error {}

/** Wraps a task action: a TaskError (or a contract refusal) becomes `lockstep: <message>` and exit code 1. */
export function action<A>(run: (args: A, hre: HardhatRuntimeEnvironment) => Promise<void>) {
  return async (args: A, hre: HardhatRuntimeEnvironment) => {
    try {
      await run(args, hre);
    } catch (e) {
      const message =
        e instanceof TaskError
          ? e.message
          : (refusal(e) ?? (e instanceof Error && isUserError(e) ? e.message : undefined));
      if (message === undefined) throw e;
      process.stderr.write(`lockstep: ${message}\n`);
      process.exit(1);
    }
  };
}

function isUserError(e: Error) {
  return e instanceof DeploymentError;
}

/** "refused by the contract: upgrade #3 is Paused, … (CoordinatorUnexpectedState(3, 3))" for a reverted call, or undefined. */
export function refusal(e: unknown): string | undefined {
  // Loaded here, not at the top: it needs the ABIs a compile generates, and the config imports this file first.
  const { decodeRevert, revertDataOf } = require("../lib/revert") as typeof import("../lib/revert");
  const data = revertDataOf(e);
  if (!data) return undefined;
  const d = decodeRevert(data);
  if (!d) return `refused by the contract (revert data ${data.slice(0, 10)})`;
  return `refused by the contract: ${d.words} (${d.name}(${d.args.map(String).join(", ")}))`;
}

/** The selected network's deployment and connected contracts; refuses when the node is another chain. */
export async function connectDeployment(hre: HardhatRuntimeEnvironment, signerIndex = 0) {
  let deployment: Deployment;
  try {
    deployment = readDeployment(hre.network.name, process.env.LOCKSTEP_DEPLOYMENTS_DIR || undefined);
  } catch (e) {
    throw new TaskError((e as Error).message);
  }
  const chainId = Number((await hre.ethers.provider.getNetwork()).chainId);
  if (chainId !== deployment.chainId) {
    throw new TaskError(
      `network "${hre.network.name}" serves chain ${chainId}, but its deployment is on chain ${deployment.chainId}`,
    );
  }
  if ((await hre.ethers.provider.getCode(deployment.contracts.UpgradeCoordinator)) === "0x") {
    throw new TaskError(
      `no coordinator at ${deployment.contracts.UpgradeCoordinator} on network "${hre.network.name}": the deployments file is from another chain or run`,
    );
  }
  const signers = await hre.ethers.getSigners();
  const signer = signers[signerIndex];
  if (!signer)
    throw new TaskError(
      `no signer #${signerIndex} on network "${hre.network.name}" (set DEPLOYER_KEY or pick another --signer)`,
    );
  const c = deployment.contracts;
  const { StakeToken__factory, LockstepTimelock__factory, LockstepGovernor__factory, UpgradeCoordinator__factory } =
    typechain();
  return {
    deployment,
    signer,
    token: StakeToken__factory.connect(c.StakeToken, signer),
    timelock: LockstepTimelock__factory.connect(c.LockstepTimelock, signer),
    governor: LockstepGovernor__factory.connect(c.LockstepGovernor, signer),
    coordinator: UpgradeCoordinator__factory.connect(c.UpgradeCoordinator, signer),
  };
}

export type Connected = Awaited<ReturnType<typeof connectDeployment>>;

/** Resolves an upgrade given by id or name; refuses an unknown one. */
export async function resolveUpgrade(c: Connected, ref: string): Promise<bigint> {
  if (/^\d+$/.test(ref)) {
    const id = BigInt(ref);
    if (id === 0n || id > (await c.coordinator.upgradeCount())) throw new TaskError(`no upgrade #${ref}`);
    return id;
  }
  const id = await c.coordinator.upgradeIdOf(ref);
  if (id === 0n) throw new TaskError(`no upgrade named "${ref}"`);
  return id;
}

/** Prints rows as an aligned table. */
export function table(rows: (string | number | bigint)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

export function parseAddress(hre: HardhatRuntimeEnvironment, value: string, what: string): string {
  if (!hre.ethers.isAddress(value)) throw new TaskError(`${what} "${value}" is not an address`);
  return hre.ethers.getAddress(value);
}

export function parseIntArg(value: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new TaskError(`${what} must be a whole number from ${min} to ${max}, not "${value}"`);
  }
  return Number(value);
}
