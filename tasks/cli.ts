// What every task shares: one-line errors for user mistakes, the deployment of the selected network and viem
// clients for it (through Hardhat's own provider, so its accounts sign), and contract refusals put into words.
import type { HardhatRuntimeEnvironment } from "hardhat/types";
import {
  createPublicClient,
  createWalletClient,
  custom,
  getAddress,
  isAddress,
  type Account,
  type Address,
  type Chain,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { DeploymentError, readDeployment, type Deployment } from "../lib/deployments";

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

/** viem clients on the selected network, through Hardhat's provider: reads, and writes as its accounts. */
export function clientsFor(hre: HardhatRuntimeEnvironment) {
  const transport = custom(hre.network.provider);
  return { transport, client: createPublicClient({ transport }) as PublicClient };
}

/** The account at `index` of the selected network (Hardhat's provider signs for it), or a one-line refusal. */
export async function accountAt(hre: HardhatRuntimeEnvironment, index: number): Promise<Address> {
  const accounts = await createWalletClient({ transport: clientsFor(hre).transport }).getAddresses();
  const account = accounts[index];
  if (!account)
    throw new TaskError(
      `no signer #${index} on network "${hre.network.name}" (set DEPLOYER_KEY or pick another --signer)`,
    );
  return getAddress(account);
}

export interface Connected {
  deployment: Deployment;
  /** The sending account (--signer). */
  account: Address;
  client: PublicClient;
  /** Sends as `account`. */
  wallet: WalletClient<Transport, Chain | undefined, Account>;
  coordinator: Address;
  governor: Address;
  token: Address;
  timelock: Address;
}

/**
 * The selected network's deployment and clients; refuses when the node is another chain. With `actingAs` (a Safe
 * that will sign elsewhere), the account is that address and no local signer is needed: nothing is sent.
 */
export async function connectDeployment(
  hre: HardhatRuntimeEnvironment,
  signerIndex = 0,
  actingAs?: Address,
): Promise<Connected> {
  let deployment: Deployment;
  try {
    deployment = readDeployment(hre.network.name, process.env.LOCKSTEP_DEPLOYMENTS_DIR || undefined);
  } catch (e) {
    throw new TaskError((e as Error).message);
  }
  const { client, transport } = clientsFor(hre);
  const chainId = await client.getChainId();
  if (chainId !== deployment.chainId) {
    throw new TaskError(
      `network "${hre.network.name}" serves chain ${chainId}, but its deployment is on chain ${deployment.chainId}`,
    );
  }
  const c = deployment.contracts;
  if (!(await client.getCode({ address: getAddress(c.UpgradeCoordinator) }))) {
    throw new TaskError(
      `no coordinator at ${c.UpgradeCoordinator} on network "${hre.network.name}": the deployments file is from another chain or run`,
    );
  }
  const account = actingAs ?? (await accountAt(hre, signerIndex));
  return {
    deployment,
    account,
    client,
    wallet: createWalletClient({ account, transport }),
    coordinator: getAddress(c.UpgradeCoordinator),
    governor: getAddress(c.LockstepGovernor),
    token: getAddress(c.StakeToken),
    timelock: getAddress(c.LockstepTimelock),
  };
}

/** Resolves an upgrade given by id or name; refuses an unknown one. */
export async function resolveUpgrade(c: Connected, ref: string): Promise<bigint> {
  const read = { address: c.coordinator, abi: upgradeCoordinatorAbi() } as const;
  if (/^\d+$/.test(ref)) {
    const id = BigInt(ref);
    if (id === 0n || id > (await c.client.readContract({ ...read, functionName: "upgradeCount" })))
      throw new TaskError(`no upgrade #${ref}`);
    return id;
  }
  const id = await c.client.readContract({ ...read, functionName: "upgradeIdOf", args: [ref] });
  if (id === 0n) throw new TaskError(`no upgrade named "${ref}"`);
  return id;
}

/** Sends one coordinator call as the task's account (lib/actions/sendContractCall.ts: simulate, send, wait). */
export async function sendToCoordinator(c: Connected, functionName: string, args: readonly unknown[]) {
  const { sendContractCall } =
    require("../lib/actions/sendContractCall") as typeof import("../lib/actions/sendContractCall");
  return sendContractCall(c.wallet, { address: c.coordinator, abi: abis().upgradeCoordinatorAbi, functionName, args });
}

/** The generated ABIs (lib/abi/generated.ts exists only after a compile; the config loads this file first). */
export function abis(): typeof import("../lib/abi/generated") {
  return require("../lib/abi/generated");
}
const upgradeCoordinatorAbi = () => abis().upgradeCoordinatorAbi;

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

export function parseAddress(value: string, what: string): Address {
  if (!isAddress(value, { strict: false })) throw new TaskError(`${what} "${value}" is not an address`);
  return getAddress(value);
}

export function parseIntArg(value: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new TaskError(`${what} must be a whole number from ${min} to ${max}, not "${value}"`);
  }
  return Number(value);
}
