// The ChainWriter port: an attestation is a transaction from the attester key; when that path fails (no gas, RPC
// trouble) and a relay is configured, it becomes an EIP-712 signed statement handed to the relay instead. The
// coordinator's own refusals are never relayed: a relayer would be refused for the same reason.
//
// Exactly once: the signed transaction is journaled (outbox) before it is broadcast. After a crash or a lost reply
// the same transaction is sent again; one the mempool holds too long is replaced at the same nonce with higher
// fees. Only a statement that cannot land any more (reverted, or its nonce taken by another transaction) is
// signed anew, and the executor checks the chain before asking for that.
import {
  ContractFunctionRevertedError,
  InsufficientFundsError,
  NonceTooLowError,
  TransactionReceiptNotFoundError,
  encodeFunctionData,
  hashTypedData,
  keccak256,
  parseTransaction,
  type Account,
  type Chain,
  type PublicClient,
  type TransactionReceipt,
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
import type { Outbox, SignedAttestation } from "../ports/outbox";
import { request, type HttpResponse } from "./httpClient";
import { causes, isTransient, oneLine, rpcError } from "./viemChain";

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
  logger?: { warn(details: object, message: string): void; info?(details: object, message: string): void };
  /** Where signed transactions are journaled before they are broadcast (without one, a retry signs anew). */
  outbox?: Outbox;
  /** How long a broadcast transaction may wait for a block before it is sent again or replaced (default 60 s). */
  receiptTimeoutMs?: number;
  /** How often the receipt is looked for (default 500 ms). */
  receiptPollMs?: number;
  /** Crash-drill points (watcher/src/faults.ts). */
  kill?: { hit(point: string): void };
}

/** Replacements of one transaction (same nonce, higher fees) in one attempt, before it gives up for the round. */
const MAX_REPLACEMENTS = 3;
/** A replacement pays this much more (per mille) than the one it replaces: nodes want at least +10%. */
const FEE_BUMP_PER_MILLE = 1250n;

/** Attempts of the transaction path before it gives up (for errors worth trying again at once). */
const QUICK_ATTEMPTS = 3;
/** How long a relayed signature stays valid. */
const RELAY_VALIDITY_SECONDS = 3600;
const RELAY_TIMEOUT_MS = 10_000;
/** Redirects of the relay URL followed, as many as fetch followed. */
const RELAY_REDIRECTS = 20;

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
      // A signed transaction may still land: relaying the statement as well could count it twice.
      if (this.pending(request).length) throw error;
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

  /** The journaled, live transactions of the request's statement (none without a key or an outbox). */
  private pending(r: AttestationRequest): SignedAttestation[] {
    if (!r.key || !this.o.outbox) return [];
    return this.o.outbox.signed(r.key).filter((t) => t.via === "transaction");
  }

  /**
   * Lands the statement: the transaction already journaled for it, or (none yet) a new one, simulated first so a
   * refusal comes back decoded and costs no gas, then signed and journaled before it is broadcast.
   */
  private async transact(r: AttestationRequest): Promise<Hex> {
    let sent = this.pending(r);
    if (sent.length) {
      this.o.logger?.warn(
        { upgradeId: r.upgradeId, status: r.status, transaction: sent[sent.length - 1].hash },
        "attestation transaction already signed: sending that same transaction again",
      );
    } else {
      sent = [await this.signNew(r)];
    }
    return this.land(r, sent);
  }

  private async signNew(r: AttestationRequest): Promise<SignedAttestation> {
    const { client, wallet, coordinator, operator, chainId } = this.o;
    const call = {
      abi: upgradeCoordinatorAbi,
      functionName: "attest",
      args: [operator, r.upgradeId, r.stage, Status[r.status], versionTag(r.version), r.height, r.metricsDigest],
    } as const;
    await client.simulateContract({ ...call, account: wallet.account, address: coordinator });
    const nonce = await client.getTransactionCount({ address: wallet.account.address, blockTag: "pending" });
    const prepared = await wallet.prepareTransactionRequest({
      account: wallet.account,
      to: coordinator,
      data: encodeFunctionData(call),
      chain: null,
      chainId,
      nonce,
    });
    const raw = await wallet.signTransaction({ ...prepared, chain: null } as Parameters<
      typeof wallet.signTransaction
    >[0]);
    return this.journal(r, raw, nonce);
  }

  /** Journals a signed transaction (before it is broadcast). */
  private journal(r: AttestationRequest, raw: Hex, nonce: number): SignedAttestation {
    const entry: SignedAttestation = {
      key: r.key ?? `${r.upgradeId}:${r.stage}:${r.status}`,
      upgradeId: r.upgradeId,
      stage: r.stage,
      status: r.status,
      hash: keccak256(raw),
      via: "transaction",
      raw,
      nonce,
      signedAt: this.clock.now(),
    };
    if (r.key) this.o.outbox?.record(entry);
    return entry;
  }

  /**
   * Broadcasts the latest of `sent` and waits for any of them to be mined. One not mined in time is replaced at
   * its nonce with higher fees, unless another transaction took the nonce: then the statement is retired, and the
   * next attempt signs anew (after the executor checked it is not on chain).
   */
  private async land(r: AttestationRequest, sent: SignedAttestation[]): Promise<Hex> {
    const { client, wallet } = this.o;
    for (let replacements = 0; ; replacements++) {
      const latest = sent[sent.length - 1];
      const refusal = await this.broadcast(latest);
      this.o.kill?.hit("attest:broadcast");
      if (refusal && refusal.code !== "nonce") {
        // Never in the mempool (no funds, say): it cannot land, so another path (the relay) may carry the statement.
        this.retire(r, `refused: ${refusal.message}`);
        throw refusal;
      }
      const receipt = await this.mined(sent, refusal ? 0 : (this.o.receiptTimeoutMs ?? 60_000));
      if (receipt) {
        if (receipt.status !== "success") {
          this.retire(r, "reverted");
          throw retryable("reverted", "attestation transaction reverted", { transaction: receipt.transactionHash });
        }
        return receipt.transactionHash;
      }
      const confirmed = await client.getTransactionCount({ address: wallet.account.address, blockTag: "latest" });
      if (confirmed > latest.nonce) {
        const late = await this.mined(sent, 0); // mined between the two looks
        if (late?.status === "success") return late.transactionHash;
        this.retire(r, "nonce taken");
        throw retryable("nonce", "the attester's nonce was taken by another transaction", {
          attester: wallet.account.address,
          nonce: latest.nonce,
        });
      }
      if (replacements >= MAX_REPLACEMENTS) {
        throw retryable("stuck", "the attestation transaction is not being mined", { transaction: latest.hash });
      }
      sent = [...sent, await this.replace(r, latest)];
    }
  }

  /**
   * Sends a signed transaction. A lost reply or a second send of the same one (the node answers "already known"
   * or "nonce too low") is fine as long as the node holds or mined it. Returns the node's refusal, if it refused.
   */
  private async broadcast(tx: SignedAttestation): Promise<WatcherError | undefined> {
    try {
      await this.o.wallet.sendRawTransaction({ serializedTransaction: tx.raw });
      return undefined;
    } catch (error) {
      if (await this.known(tx.hash)) return undefined;
      if (isTransient(error)) throw rpcError(error, "attestation broadcast", { transaction: tx.hash });
      this.o.logger?.warn({ transaction: tx.hash, reason: oneLine(error) }, "the node refused the attestation");
      return this.classify(error);
    }
  }

  /** Whether the node holds `hash`, pending or mined (false when it cannot say). */
  private async known(hash: Hex): Promise<boolean> {
    try {
      await this.o.client.getTransaction({ hash });
      return true;
    } catch {
      return false;
    }
  }

  /** The receipt of whichever of `sent` was mined, looked for until `timeoutMs` has passed. */
  private async mined(sent: SignedAttestation[], timeoutMs: number): Promise<TransactionReceipt | undefined> {
    const every = this.o.receiptPollMs ?? 500;
    for (let waited = 0; ; waited += every) {
      for (const tx of sent) {
        try {
          return await this.o.client.getTransactionReceipt({ hash: tx.hash });
        } catch (error) {
          if (!causesInclude(error, TransactionReceiptNotFoundError)) throw rpcError(error, "attestation receipt");
        }
      }
      if (waited >= timeoutMs) return undefined;
      await this.clock.sleep(every);
    }
  }

  /** Signs `latest` again at its nonce with higher fees, journaled before it is broadcast. */
  private async replace(r: AttestationRequest, latest: SignedAttestation): Promise<SignedAttestation> {
    const { wallet, client } = this.o;
    // Without the old signature: a serializer given r, s and v keeps them, and the result would not be ours.
    const { r: _r, s: _s, v: _v, yParity: _y, ...old } = parseTransaction(latest.raw);
    const bump = (fee: bigint | undefined) => (fee === undefined ? undefined : (fee * FEE_BUMP_PER_MILLE) / 1000n + 1n);
    const fees = await client.estimateFeesPerGas().catch(() => undefined);
    const higher = (a: bigint | undefined, b: bigint | undefined) => (a === undefined || (b ?? 0n) > a ? b : a);
    const raw = await wallet.signTransaction({
      ...old,
      maxFeePerGas: higher(bump(old.maxFeePerGas), fees?.maxFeePerGas),
      maxPriorityFeePerGas: higher(bump(old.maxPriorityFeePerGas), fees?.maxPriorityFeePerGas),
      gasPrice: bump(old.gasPrice),
      chain: null,
    } as Parameters<typeof wallet.signTransaction>[0]);
    const entry = this.journal(r, raw, latest.nonce);
    this.o.logger?.warn(
      { upgradeId: r.upgradeId, status: r.status, nonce: latest.nonce, replaces: latest.hash, transaction: entry.hash },
      "attestation transaction not mined in time: replacing it at the same nonce with higher fees",
    );
    return entry;
  }

  private retire(r: AttestationRequest, reason: string) {
    if (r.key) this.o.outbox?.retire(r.key, reason);
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
    if (r.key) {
      const { upgradeId, stage, status } = r;
      this.o.outbox?.record({
        key: r.key,
        upgradeId,
        stage,
        status,
        hash: entry.digest,
        via: "relay",
        raw: "0x",
        nonce: -1,
        signedAt: this.clock.now(),
      });
    }
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

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function causesInclude(error: unknown, type: new (...args: any[]) => Error): boolean {
  for (const e of causes(error)) if (e instanceof type) return true;
  return false;
}

async function post(url: string, body: string): Promise<void> {
  let response: HttpResponse;
  try {
    response = await request(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      timeoutMs: RELAY_TIMEOUT_MS,
      discardBody: true,
      maxRedirects: RELAY_REDIRECTS,
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
