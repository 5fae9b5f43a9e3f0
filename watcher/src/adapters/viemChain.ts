// The ChainReader port over a viem PublicClient, and the one place RPC failures are sorted into retryable or not.
import {
  BlockNotFoundError,
  HttpRequestError,
  LimitExceededRpcError,
  ResourceUnavailableRpcError,
  TimeoutError,
  createPublicClient,
  type Log,
  type PublicClient,
} from "viem";
import { upgradeCoordinatorAbi } from "../../../lib/abi/generated";
import { Status } from "../../../lib/coordinator";
import { WatcherError, fatal, retryable } from "../errors";
import type { AttestStatus } from "../machine/types";
import type { Assignment, ChainBlock, ChainReader, Hex } from "../ports";
import { HttpConnectionError } from "./httpClient";
import { rpcTransport } from "./rpcTransport";

/** How long one JSON-RPC call may take. */
export const RPC_TIMEOUT_MS = 15_000;

/**
 * A client for the node at `rpcUrl`, over the watcher's own HTTP client (rpcTransport.ts), not fetch. viem does not
 * retry: the runtime retries what `rpcError` calls retryable.
 */
export function connect(rpcUrl: string): PublicClient {
  return createPublicClient({ transport: rpcTransport(rpcUrl, { timeoutMs: RPC_TIMEOUT_MS }), pollingInterval: 1_000 });
}

export class ViemChainReader implements ChainReader {
  constructor(
    private readonly client: PublicClient,
    private readonly coordinator: Hex,
    private readonly operator: Hex,
  ) {}

  chainId() {
    return this.call("chain id", () => this.client.getChainId());
  }

  code(address: Hex) {
    return this.call("code", async () => (await this.client.getCode({ address })) ?? "0x", { address });
  }

  /** The latest block number. */
  head() {
    return this.call("head", () => this.client.getBlockNumber());
  }

  /** The hash of block `number`, or undefined when the chain has no such block (yet). */
  blockHash(number: bigint) {
    return this.call(
      "block hash",
      async () => {
        try {
          return (await this.client.getBlock({ blockNumber: number })).hash;
        } catch (error) {
          if (error instanceof BlockNotFoundError) return undefined;
          throw error;
        }
      },
      { block: number.toString() },
    );
  }

  block(number?: bigint): Promise<ChainBlock | undefined> {
    return this.call(
      "block",
      async () => {
        try {
          const b = await this.client.getBlock(number === undefined ? {} : { blockNumber: number });
          if (b.number === null || b.hash === null) return undefined; // a pending block: not one to follow
          return { number: b.number, hash: b.hash, parentHash: b.parentHash, timestamp: b.timestamp };
        } catch (error) {
          if (error instanceof BlockNotFoundError) return undefined;
          throw error;
        }
      },
      { block: number?.toString() ?? "latest" },
    );
  }

  coordinatorLogs(from: bigint, to: bigint): Promise<Log[]> {
    return this.call(
      "coordinator logs",
      async () => {
        const logs = await this.client.getLogs({ address: this.coordinator, fromBlock: from, toBlock: to });
        return logs.sort((a, b) => Number(a.blockNumber - b.blockNumber) || a.logIndex - b.logIndex);
      },
      { from: from.toString(), to: to.toString() },
    );
  }

  assignment(upgradeId: number): Promise<Assignment> {
    return this.call(
      "assignment",
      async () => {
        const a = await this.client.readContract({
          address: this.coordinator,
          abi: upgradeCoordinatorAbi,
          functionName: "getAssignment",
          args: [BigInt(upgradeId), this.operator],
        });
        return {
          inRoster: a.inRoster,
          stage: a.stage,
          lastUpgradeId: a.lastUpgradeId,
          lastStatus: statusName(a.lastStatus),
        };
      },
      { upgradeId },
    );
  }

  registration() {
    return this.call("registration", async () => {
      const v = await this.client.readContract({
        address: this.coordinator,
        abi: upgradeCoordinatorAbi,
        functionName: "getValidator",
        args: [this.operator],
      });
      return { registered: v.registered, attester: v.attester as Hex, cohort: v.cohort };
    });
  }

  private async call<T>(what: string, run: () => Promise<T>, details?: Record<string, unknown>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw rpcError(error, what, details);
    }
  }
}

/** The AttestStatus name of a numeric Status; null for None. */
function statusName(status: number): AttestStatus | null {
  if (status === Status.None) return null;
  const name = Status[status] as AttestStatus | undefined;
  if (!name) throw fatal("rpc", `the coordinator reported an unknown status ${status}`);
  return name;
}

const TRANSIENT = /timed? ?out|ECONNREFUSED|ECONNRESET|EPIPE|socket hang up|fetch failed|rate limit|too many requests/i;

/** Every error in `error`'s cause chain, outermost first. */
export function* causes(error: unknown): Generator<unknown> {
  for (
    let e = error, depth = 0;
    e !== undefined && e !== null && depth < 16;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    yield e;
  }
}

/** Whether trying again may help: timeouts, refused or reset connections, 5xx answers, rate limits. */
export function isTransient(error: unknown): boolean {
  for (const e of causes(error)) {
    // Any failed connection (DNS and TLS included), as fetch's "fetch failed" was for all of them.
    if (e instanceof HttpConnectionError) return true;
    if (e instanceof TimeoutError || e instanceof LimitExceededRpcError || e instanceof ResourceUnavailableRpcError)
      return true;
    if (e instanceof HttpRequestError && e.status !== undefined) return e.status === 429 || e.status >= 500;
    if (e instanceof Error && TRANSIENT.test(`${(e as { code?: unknown }).code ?? ""} ${e.message}`)) return true;
  }
  return false;
}

/** One line describing an error: viem's short message and details, or the message. */
export function oneLine(error: unknown): string {
  const { shortMessage, details } = error as { shortMessage?: string; details?: string };
  const text = shortMessage
    ? details
      ? `${shortMessage} (${details})`
      : shortMessage
    : error instanceof Error
      ? error.message
      : String(error);
  return text.split("\n")[0].slice(0, 300);
}

/** A WatcherError (code "rpc") for a failed RPC call: retryable when transient, fatal otherwise. */
export function rpcError(error: unknown, what: string, details?: Record<string, unknown>): WatcherError {
  if (error instanceof WatcherError) return error;
  const make = isTransient(error) ? retryable : fatal;
  return make("rpc", `${what}: ${oneLine(error)}`, details, error);
}
