// The connected wallet: an injected EIP-1193 provider (window.ethereum). It connects, checks the chain and offers
// to switch, and sends contract calls the careful way: simulate first (a call that would revert is refused before
// the wallet asks for a signature, with the contract's error in words), then sign, then wait for the receipt.
import {
  BaseError,
  ContractFunctionRevertedError,
  UserRejectedRequestError,
  createWalletClient,
  custom,
  decodeErrorResult,
  encodeFunctionData,
  type Abi,
  type EIP1193Provider,
  type PublicClient,
  type TransactionReceipt,
} from "viem";
import { lockstepGovernorAbi, lockstepTimelockAbi, stakeTokenAbi, upgradeCoordinatorAbi } from "../../lib/abi/generated";
import { errorInWords } from "../../lib/errors";

type Hex = `0x${string}`;

export type WalletStatus =
  | { kind: "no-wallet" }
  | { kind: "disconnected" }
  | { kind: "wrong-chain"; account: Hex; chainId: number }
  | { kind: "ready"; account: Hex; chainId: number };

export interface ContractCall {
  address: Hex;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
}

export type FailureKind = "rejected" | "refused" | "reverted" | "wrong-chain" | "failed";

/** Why a transaction did not happen, in words, and whether anything reached the chain (`hash`). */
export class TxFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly hash?: Hex,
  ) {
    super(message);
  }
}

/** Every custom error the system's contracts can raise, so a revert bubbled up through the Governor and the
 *  timelock (e.g. a coordinator refusal inside `execute`) is still decoded. */
const ALL_ERRORS: Abi = (() => {
  const seen = new Set<string>();
  return [...upgradeCoordinatorAbi, ...lockstepGovernorAbi, ...lockstepTimelockAbi, ...stakeTokenAbi].filter((x) => {
    if (x.type !== "error" || seen.has(x.name)) return false;
    seen.add(x.name);
    return true;
  });
})();

const hexChain = (id: number) => `0x${id.toString(16)}`;

export class Wallet {
  status: WalletStatus;

  constructor(
    private readonly provider: EIP1193Provider | undefined,
    private readonly expected: { chainId: number; rpcUrl: string; name: string },
    private readonly onChange: () => void,
  ) {
    this.status = provider ? { kind: "disconnected" } : { kind: "no-wallet" };
  }

  /** Picks up an account the wallet already exposes to this page (no prompt), and follows the wallet's changes. */
  async init() {
    if (!this.provider) return;
    this.provider.on("accountsChanged", () => void this.reload());
    this.provider.on("chainChanged", () => void this.reload());
    await this.reload();
  }

  async connect() {
    if (!this.provider) throw new TxFailure("failed", "No browser wallet found: install an EIP-1193 wallet to vote and act; reading needs none.");
    try {
      await this.provider.request({ method: "eth_requestAccounts" });
    } catch (e) {
      throw explain(e);
    }
    await this.reload();
  }

  /** Asks the wallet to switch to the deployment's chain, adding it (with the dashboard's RPC URL) if unknown. */
  async switchChain() {
    if (!this.provider) return;
    const chainId = hexChain(this.expected.chainId);
    try {
      await this.provider.request({ method: "wallet_switchEthereumChain", params: [{ chainId }] });
    } catch (e) {
      if ((e as { code?: number }).code !== 4902) throw explain(e);
      try {
        await this.provider.request({
          method: "wallet_addEthereumChain",
          params: [{ chainId, chainName: this.expected.name, rpcUrls: [this.expected.rpcUrl], nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 } }],
        });
      } catch (e2) {
        throw explain(e2);
      }
    }
    await this.reload();
  }

  private async reload() {
    if (!this.provider) return;
    const [accounts, chainHex] = await Promise.all([
      this.provider.request({ method: "eth_accounts" }) as Promise<Hex[]>,
      this.provider.request({ method: "eth_chainId" }) as Promise<string>,
    ]);
    const chainId = Number(chainHex);
    const account = accounts[0];
    this.status = !account
      ? { kind: "disconnected" }
      : chainId === this.expected.chainId
        ? { kind: "ready", account, chainId }
        : { kind: "wrong-chain", account, chainId };
    this.onChange();
  }

  /**
   * Simulates `call` from the connected account, then has the wallet sign and send it, then waits for it to be
   * mined. `progress` hears "signing" (the wallet is asking) and "pending" (sent, not yet mined).
   */
  async send(client: PublicClient, call: ContractCall, progress: (stage: "signing" | "pending", hash?: Hex) => void): Promise<TransactionReceipt> {
    const s = this.status;
    if (s.kind === "no-wallet" || s.kind === "disconnected") throw new TxFailure("failed", "Connect a wallet first.");
    if (s.kind === "wrong-chain") {
      throw new TxFailure("wrong-chain", `Your wallet is on chain ${s.chainId}; this deployment is on chain ${this.expected.chainId}. Switch chains first.`);
    }
    const account = s.account;
    let gas: bigint;
    try {
      await client.simulateContract({ ...call, account } as never);
      // Headroom over the estimate: a vote that reaches quorum late costs more (the deadline is extended) than one
      // estimated a moment before, when another vote lands first.
      gas = ((await client.estimateContractGas({ ...call, account } as never)) * 5n) / 4n;
    } catch (e) {
      throw explain(e, "refused");
    }
    const wallet = createWalletClient({ account, transport: custom(this.provider!) });
    let hash: Hex;
    progress("signing");
    try {
      hash = await wallet.writeContract({ ...call, account, chain: null, gas } as never);
    } catch (e) {
      throw explain(e);
    }
    progress("pending", hash);
    const receipt = await client.waitForTransactionReceipt({ hash, pollingInterval: 500 });
    if (receipt.status === "reverted") {
      throw new TxFailure("reverted", `The transaction ${hash} reverted in block ${receipt.blockNumber}: ${await this.replay(client, call, account, receipt.blockNumber)}.`, hash);
    }
    return receipt;
  }

  /**
   * Why a mined transaction reverted. The simulation passed, so something earlier in its block changed the state
   * (another transaction got there first): the same call replayed on the state at the end of that block says what.
   */
  private async replay(client: PublicClient, call: ContractCall, account: Hex, block: bigint): Promise<string> {
    try {
      await client.call({ account, to: call.address, data: encodeFunctionData(call as never), blockNumber: block });
      return "the contract gave no reason (it may have run out of gas)";
    } catch (e) {
      return explain(e, "reverted").message;
    }
  }
}

/** Any error from the wallet, the node or a contract, as a TxFailure a person can act on. */
export function explain(e: unknown, revertKind: "refused" | "reverted" = "refused"): TxFailure {
  if (e instanceof TxFailure) return e;
  if (e instanceof BaseError) {
    if (e.walk((x) => x instanceof UserRejectedRequestError)) {
      return new TxFailure("rejected", "You rejected the request in your wallet: nothing was signed or sent.");
    }
    const reverted = e.walk((x) => x instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    if (reverted) return new TxFailure(revertKind, `The contract refused: ${reasonOf(reverted)}.`);
    const raw = rawRevertData(e);
    if (raw) return new TxFailure(revertKind, `The contract refused: ${decodeRaw(raw)}.`);
  }
  if ((e as { code?: number })?.code === 4001) {
    return new TxFailure("rejected", "You rejected the request in your wallet: nothing was signed or sent.");
  }
  const message = e instanceof BaseError ? e.shortMessage : e instanceof Error ? e.message : String(e);
  return new TxFailure("failed", message.split("\n")[0]);
}

function reasonOf(r: ContractFunctionRevertedError): string {
  if (r.data?.errorName === "Error") return String(r.data.args?.[0] ?? r.reason);
  if (r.data) return errorInWords(r.data.errorName, r.data.args ?? []);
  if (r.raw) return decodeRaw(r.raw);
  return r.reason ?? "no reason given";
}

function decodeRaw(raw: Hex): string {
  try {
    const d = decodeErrorResult({ abi: ALL_ERRORS, data: raw });
    return errorInWords(d.errorName, d.args ?? []);
  } catch {
    return `an error this dashboard does not know (${raw.slice(0, 10)})`;
  }
}

/** Revert data carried by a node error (eth_call / eth_estimateGas), wherever viem put it. */
function rawRevertData(e: BaseError): Hex | undefined {
  let found: Hex | undefined;
  e.walk((x) => {
    const d = (x as { data?: unknown }).data;
    if (typeof d === "string" && /^0x[0-9a-fA-F]{8,}$/.test(d)) found = d as Hex;
    else if (d && typeof (d as { data?: unknown }).data === "string") found = (d as { data: Hex }).data;
    return found !== undefined;
  });
  return found;
}
