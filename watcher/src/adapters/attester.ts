// The ChainWriter port: an attestation is a transaction from the attester key; when that path fails (no gas, RPC
// trouble) and a relay is configured, it becomes an EIP-712 signed statement handed to the relay instead. The
// coordinator's own refusals are never relayed: a relayer would be refused for the same reason.
import {
  ContractFunctionRevertedError,
  InsufficientFundsError,
  NonceTooLowError,
  hashTypedData,
  type Account,
  type Chain,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import { upgradeCoordinatorAbi } from "../../../lib/abi/generated";
import { packAttestations } from "../../../lib/actions/packAttestations";
import { appendRelayEntry, formatRelayEntry, type WatcherRelayEntry } from "../../../lib/actions/relayFile";
import { signAttestation } from "../../../lib/actions/signAttestation";
import { Status, attestationTypedData, type Attestation } from "../../../lib/coordinator";
import { versionTag } from "../../../lib/version";
import { WatcherError, fatal, retryable } from "../errors";
import type { AttestationRequest, ChainWriter, Clock, Hex } from "../ports";
import { causes, rpcError } from "./viemChain";

/** Where signed attestations go when the transaction path fails (config `relay`). */
export type RelayTarget = { url: string } | { file: string };

export interface AttesterOptions {
  /** Sends and signs as the attester key (`wallet.account`). */
  wallet: WalletClient<Transport, Chain | undefined, Account>;
  client: PublicClient;
  coordinator: Hex;
  operator: Hex;
  chainId: number;
  relay?: RelayTarget;
  clock?: Clock;
  logger?: { warn(details: object, message: string): void };
}

/** Attempts of the transaction path before it gives up (for errors worth trying again at once). */
const QUICK_ATTEMPTS = 3;
/** How long a relayed signature stays valid. */
const RELAY_VALIDITY_SECONDS = 3600;
const RELAY_TIMEOUT_MS = 10_000;

const systemClock: Clock = { now: () => Date.now(), sleep: (ms) => new Promise((done) => setTimeout(done, ms)) };

export class Attester implements ChainWriter {
  private readonly clock: Clock;

  constructor(private readonly o: AttesterOptions) {
    this.clock = o.clock ?? systemClock;
  }

  async attest(request: AttestationRequest): Promise<{ via: "transaction" | "relay"; reference: string }> {
    try {
      return { via: "transaction", reference: await this.transactWithRetries(request) };
    } catch (e) {
      const error = this.classify(e);
      if (error.code === "refused" || !this.o.relay) throw error;
      this.o.logger?.warn(
        { upgradeId: request.upgradeId, code: error.code, reason: error.message },
        "attestation transaction failed; handing it to the relay",
      );
      return { via: "relay", reference: await this.relay(request, this.o.relay) };
    }
  }

  private async transactWithRetries(request: AttestationRequest): Promise<Hex> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.transact(request);
      } catch (e) {
        const error = this.classify(e);
        if (!error.retryable || error.code === "funds" || attempt >= QUICK_ATTEMPTS) throw error;
        await this.clock.sleep(250 * attempt);
      }
    }
  }

  /** Simulates first, so a refusal comes back decoded and costs no gas; then sends and waits for the receipt. */
  private async transact(r: AttestationRequest): Promise<Hex> {
    const { client, wallet, coordinator, operator } = this.o;
    const { request } = await client.simulateContract({
      account: wallet.account,
      address: coordinator,
      abi: upgradeCoordinatorAbi,
      functionName: "attest",
      args: [operator, r.upgradeId, r.stage, Status[r.status], versionTag(r.version), r.height, r.metricsDigest],
    });
    const hash = await wallet.writeContract({ ...request, chain: null });
    const receipt = await client.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success")
      throw retryable("reverted", "attestation transaction reverted", { transaction: hash });
    return hash;
  }

  /** Signs the attestation (EIP-712), packs it as `relayAttestations` takes it, and hands it to the relay. */
  private async relay(r: AttestationRequest, target: RelayTarget): Promise<string> {
    const { wallet, coordinator, operator, chainId } = this.o;
    const issuedAt = Math.floor(this.clock.now() / 1000);
    const attestation: Attestation = {
      operator,
      upgradeId: r.upgradeId,
      stage: r.stage,
      status: Status[r.status],
      version: versionTag(r.version),
      height: r.height,
      metricsDigest: r.metricsDigest,
      issuedAt,
      deadline: issuedAt + RELAY_VALIDITY_SECONDS,
    };
    const signed = await signAttestation(wallet, { chainId, coordinator, attestation });
    const entry: WatcherRelayEntry = {
      attestations: [packAttestations([signed])],
      chainId,
      coordinator,
      operator,
      upgradeId: r.upgradeId,
      stage: r.stage,
      status: r.status,
      issuedAt,
      deadline: issuedAt + RELAY_VALIDITY_SECONDS,
      digest: hashTypedData(attestationTypedData(chainId, coordinator, attestation)),
    };
    await ("url" in target ? post(target.url, formatRelayEntry(entry)) : append(target.file, entry));
    return entry.digest;
  }

  /** Sorts a transaction-path failure: the coordinator's refusal, no funds, a nonce race, or an RPC error. */
  private classify(error: unknown): WatcherError {
    if (error instanceof WatcherError) return error;
    for (const e of causes(error)) {
      if (e instanceof ContractFunctionRevertedError && e.data && isCoordinatorError(e.data.errorName)) {
        const args = (e.data.args ?? []).map(String);
        return fatal("refused", `coordinator refused the attestation: ${e.data.errorName}(${args.join(", ")})`, {
          error: e.data.errorName,
          args,
        });
      }
      if (
        e instanceof InsufficientFundsError ||
        (e instanceof Error && /insufficient funds|enough funds/i.test(e.message))
      ) {
        return retryable(
          "funds",
          "the attester account cannot pay for the transaction",
          { attester: this.o.wallet.account.address },
          error,
        );
      }
      if (
        e instanceof NonceTooLowError ||
        (e instanceof Error && /nonce too low|replacement transaction underpriced/i.test(e.message))
      ) {
        return retryable(
          "nonce",
          "the attester's nonce was taken by another transaction",
          { attester: this.o.wallet.account.address },
          error,
        );
      }
    }
    return rpcError(error, "attestation transaction");
  }
}

const coordinatorErrors = new Set<string>(
  upgradeCoordinatorAbi.filter((item) => item.type === "error").map((item) => item.name),
);
const isCoordinatorError = (name: string) => coordinatorErrors.has(name);

async function post(url: string, body: string): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      signal: AbortSignal.timeout(RELAY_TIMEOUT_MS),
    });
  } catch (error) {
    throw retryable("relay", `relay ${url} cannot be reached`, { url }, error);
  }
  if (!response.ok) {
    const make = response.status === 429 || response.status >= 500 ? retryable : fatal;
    throw make("relay", `relay ${url} answered ${response.status}`, { url, status: response.status });
  }
}

/** Appends the entry to the relay file, synced to disk before returning. */
async function append(file: string, entry: WatcherRelayEntry): Promise<void> {
  try {
    await appendRelayEntry({ file, entry });
  } catch (error) {
    throw fatal(
      "relay",
      `relay file ${file} cannot be written (${(error as NodeJS.ErrnoException).code ?? "error"})`,
      { file },
      error,
    );
  }
}
