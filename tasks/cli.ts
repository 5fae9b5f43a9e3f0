// What every task shares: one-line errors for user mistakes, the deployment and contracts of the selected network,
// the signer, and contract refusals put into words.
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import { Interface } from "ethers";
import { readDeployment, type Deployment } from "../lib/deployments";
import { errorInWords } from "../lib/errors";
// TypeChain's output exists only after a compile, and hardhat.config.ts loads this file before any compile:
// the factories are loaded when a task runs, never when the config is read.
function typechain(): typeof import("../typechain-types") {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
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
      const message = e instanceof TaskError ? e.message : refusal(e) ?? (e instanceof Error && isUserError(e) ? e.message : undefined);
      if (message === undefined) throw e;
      process.stderr.write(`lockstep: ${message}\n`);
      process.exit(1);
    }
  };
}

function isUserError(e: Error) {
  return /no Lockstep deployment|network name|not valid JSON|cannot name a file/.test(e.message);
}

function refusalInterfaces(): Interface[] {
  const t = typechain();
  return [
    t.UpgradeCoordinator__factory.createInterface(),
    t.LockstepGovernor__factory.createInterface(),
    t.LockstepTimelock__factory.createInterface(),
    t.StakeToken__factory.createInterface(),
  ];
}

/** "refused by the contract: upgrade #3 is Paused, … (CoordinatorUnexpectedState(3, 3))" for a reverted call, or undefined. */
export function refusal(e: unknown): string | undefined {
  const data = findRevertData(e);
  if (!data) return undefined;
  for (const iface of refusalInterfaces()) {
    try {
      const parsed = iface.parseError(data);
      if (parsed) return `refused by the contract: ${errorInWords(parsed.name, [...parsed.args])} (${parsed.name}(${parsed.args.map(String).join(", ")}))`;
    } catch {
      // not this contract's error
    }
  }
  return `refused by the contract (revert data ${data.slice(0, 10)})`;
}

function findRevertData(e: unknown): string | undefined {
  for (let x: any = e, depth = 0; x && depth < 6; x = x.error ?? x.info?.error ?? x.cause, depth++) {
    if (typeof x.data === "string" && x.data.startsWith("0x") && x.data.length >= 10) return x.data;
    if (typeof x.data?.data === "string" && x.data.data.startsWith("0x") && x.data.data.length >= 10) return x.data.data;
  }
  return undefined;
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
    throw new TaskError(`network "${hre.network.name}" serves chain ${chainId}, but its deployment is on chain ${deployment.chainId}`);
  }
  if ((await hre.ethers.provider.getCode(deployment.contracts.UpgradeCoordinator)) === "0x") {
    throw new TaskError(
      `no coordinator at ${deployment.contracts.UpgradeCoordinator} on network "${hre.network.name}": the deployments file is from another chain or run`,
    );
  }
  const signers = await hre.ethers.getSigners();
  const signer = signers[signerIndex];
  if (!signer) throw new TaskError(`no signer #${signerIndex} on network "${hre.network.name}" (set DEPLOYER_KEY or pick another --signer)`);
  const c = deployment.contracts;
  const { StakeToken__factory, LockstepTimelock__factory, LockstepGovernor__factory, UpgradeCoordinator__factory } = typechain();
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
  return cells.map((r) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd()).join("\n");
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
