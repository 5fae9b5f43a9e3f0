// The RestartLeases port over viem: reads the key's lease (`getLease`) and takes one (`takeLease()`, sent by the
// attester key). A refusal is learnt by simulation, so waiting on a full budget costs no gas. Taking a lease is
// idempotent on chain: a key holds one lease at a time, and a second `takeLease` while it holds one is refused
// (`CoordinatorLeaseRefused` with its expiry). Before sending, a transaction of the key still pending (a lease sent
// just before a crash, say) makes the answer "pending": the watcher asks again once it has landed, and then finds
// the lease held instead of sending a second one.
import {
  ContractFunctionRevertedError,
  parseEventLogs,
  type Account,
  type Chain,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { upgradeCoordinatorAbi } from "../../../lib/abi/generated";
import { fatal, retryable } from "../errors";
import type { Hex, LeaseAnswer, LeaseView, RestartLeases } from "../ports";
import { causes, rpcError } from "./viemChain";

export interface LeasesOptions {
  /** Sends as the attester key (`wallet.account`): the coordinator leases for the key's own validator. */
  wallet: WalletClient<Transport, Chain | undefined, Account>;
  client: PublicClient;
  coordinator: Hex;
  /** How long a sent lease may take to be mined before the round gives up (default 60 s); the next round asks again. */
  receiptTimeoutMs?: number;
  /** Crash-drill points (watcher/src/faults.ts): `lease:sent` after the transaction is broadcast. */
  kill?: { hit(point: string): void };
}

export class ViemLeases implements RestartLeases {
  constructor(private readonly o: LeasesOptions) {}

  async view(upgradeId: number): Promise<LeaseView> {
    try {
      const v = await this.o.client.readContract({
        address: this.o.coordinator,
        abi: upgradeCoordinatorAbi,
        functionName: "getLease",
        args: [BigInt(upgradeId), this.o.wallet.account.address],
      });
      return {
        budget: v.budget,
        inUse: v.inUse,
        duration: v.duration,
        live: v.live,
        weight: v.weight,
        expiresAt: v.expiresAt,
      };
    } catch (error) {
      throw rpcError(error, "lease view", { upgradeId });
    }
  }

  async take(): Promise<LeaseAnswer> {
    const { client, wallet, coordinator } = this.o;
    const account = wallet.account;
    let request;
    try {
      const [pending, mined] = await Promise.all([
        client.getTransactionCount({ address: account.address, blockTag: "pending" }),
        client.getTransactionCount({ address: account.address, blockTag: "latest" }),
      ]);
      if (pending > mined) return { kind: "pending" };
      ({ request } = await client.simulateContract({
        address: coordinator,
        abi: upgradeCoordinatorAbi,
        functionName: "takeLease",
        account,
      }));
    } catch (error) {
      return leaseRefusal(error) ?? failed(error, "lease simulation");
    }
    let hash: Hex;
    try {
      hash = await wallet.writeContract({ ...request, chain: null });
    } catch (error) {
      // Another lease may have filled the budget since the simulation (its gas estimate then reverts).
      return leaseRefusal(error) ?? failed(error, "lease transaction");
    }
    this.o.kill?.hit("lease:sent");
    let receipt;
    try {
      receipt = await client.waitForTransactionReceipt({
        hash,
        timeout: this.o.receiptTimeoutMs ?? 60_000,
        pollingInterval: 250,
      });
    } catch (error) {
      // Not mined in time: the next round finds it pending, then held (or refused, and tries again).
      throw retryable("lease-pending", `the lease transaction ${hash} is not mined yet`, { transaction: hash }, error);
    }
    if (receipt.status !== "success") {
      // Another lease filled the budget between the simulation and the block: the next round asks again.
      return { kind: "pending" };
    }
    const [granted] = parseEventLogs({ abi: upgradeCoordinatorAbi, logs: receipt.logs, eventName: "LeaseGranted" });
    if (!granted) throw fatal("lease", `the lease transaction ${hash} was mined without a LeaseGranted event`);
    return { kind: "granted", expiresAt: granted.args.expiresAt, transaction: hash };
  }
}

/** The coordinator's refusal of a lease as an answer; undefined for any other error. */
export function leaseRefusal(error: unknown): LeaseAnswer | undefined {
  for (const e of causes(error)) {
    if (!(e instanceof ContractFunctionRevertedError) || !e.data) continue;
    const args = (e.data.args ?? []) as readonly unknown[];
    if (e.data.errorName === "CoordinatorLeaseBudgetFull") {
      const [, inUse, budget, weight] = args as bigint[];
      return { kind: "full", inUse, budget, weight };
    }
    if (e.data.errorName === "CoordinatorLeaseRefused") {
      const expiresAt = args[2] as bigint;
      return expiresAt > 0n ? { kind: "held", expiresAt } : { kind: "unleasable" };
    }
    const shown = args.map(String).join(", ");
    throw retryable("lease-refused", `coordinator refused the lease: ${e.data.errorName}(${shown})`, {
      error: e.data.errorName,
    });
  }
  return undefined;
}

/**
 * Any other failure to take a lease: retryable, whatever the RPC said. Nothing was stopped yet, so the step must
 * not turn into a failed upgrade on the first odd answer; a lasting failure spends the step's retry budget.
 */
function failed(error: unknown, what: string): never {
  const e = rpcError(error, what);
  throw e.retryable ? e : retryable("lease", e.message, e.details, error);
}
