// The connected wallet: one of the EIP-1193 providers the browser offers (walletDiscovery.ts: EIP-6963
// announcements, or window.ethereum). It connects, checks the chain and offers
// to switch, and sends contract calls the careful way: simulate first (a call that would revert is refused before
// the wallet asks for a signature, with the contract's error in words), then sign, then wait for the receipt.
import {
  BaseError,
  ChainMismatchError,
  ContractFunctionRevertedError,
  UserRejectedRequestError,
  createWalletClient,
  custom,
  defineChain,
  type Account,
  type Chain,
  type EIP1193Provider,
  type PublicClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from "viem";
import {
  CallRevertedError,
  sendContractCall,
  type ContractCall,
  type SendContractCallReturnType,
  type SendOptions,
} from "../../lib/actions/sendContractCall";
import { errorInWords } from "../../lib/errors";
import { decodeRevert, revertDataOf } from "../../lib/revert";

type Hex = `0x${string}`;

/** A wallet the browser offers (found by walletDiscovery.ts). */
export interface InjectedWallet {
  /** EIP-6963 rdns (e.g. "io.metamask"), or "injected" for window.ethereum. */
  id: string;
  name: string;
  /** A data: URI image, as EIP-6963 requires; empty for window.ethereum. */
  icon: string;
  provider: EIP1193Provider;
}

export type WalletStatus =
  | { kind: "no-wallet" }
  | { kind: "disconnected" }
  | { kind: "wrong-chain"; account: Hex; chainId: number }
  | { kind: "ready"; account: Hex; chainId: number };

export type { ContractCall };

/** A lib action bound to its parameters, waiting for the wallet and the dashboard's options (wallet.send). */
export type SendAction = (
  wallet: WalletClient<Transport, Chain | undefined, Account>,
  options: SendOptions,
) => Promise<SendContractCallReturnType>;

/**
 * rejected: the user said no in the wallet. refused: the simulation reverted, nothing was sent. reverted: mined
 * and reverted. cancelled: the wallet replaced it with a cancellation. unknown: sent, outcome not known yet.
 */
export type FailureKind = "rejected" | "refused" | "reverted" | "cancelled" | "unknown" | "wrong-chain" | "failed";

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

const hexChain = (id: number) => `0x${id.toString(16)}`;

const REMEMBERED = "lockstep.wallet";
type Store = { getItem(k: string): string | null; setItem(k: string, v: string): void };
/** Where the choice of wallet is remembered: absent outside a browser (the Node tests), and when the browser
 *  blocks storage (reading it then throws), in which case the choice is asked again on the next visit. */
const store: Store | undefined = (() => {
  try {
    return (globalThis as unknown as { localStorage?: Store }).localStorage;
  } catch {
    return undefined;
  }
})();
const remember = (id: string) => {
  try {
    store?.setItem(REMEMBERED, id);
  } catch {
    // storage full or blocked: nothing to remember with
  }
};

export class Wallet {
  status: WalletStatus;
  /** Handed to viem when signing: it asks the wallet for its chain right before sending and refuses a mismatch,
   *  so a switch made while a dialog was open cannot send this chain's call to another chain. */
  private readonly chain: Chain;
  private current: InjectedWallet | undefined;
  private readonly follow = () => void this.reload();

  constructor(
    /** The wallets the browser offers (walletDiscovery.ts). */
    readonly wallets: InjectedWallet[],
    private readonly expected: { chainId: number; rpcUrl: string; name: string },
    private readonly onChange: () => void,
  ) {
    this.status = wallets.length ? { kind: "disconnected" } : { kind: "no-wallet" };
    this.chain = defineChain({
      id: expected.chainId,
      name: expected.name,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [expected.rpcUrl] } },
    });
  }

  private get provider(): EIP1193Provider | undefined {
    return this.current?.provider;
  }

  /** The wallet in use, by name. */
  get name(): string | undefined {
    return this.current?.name;
  }

  /**
   * Takes up the wallet chosen on a previous visit, or the only one there is, and picks up an account it already
   * exposes to this page (no prompt). With several and no choice yet, the user picks one when connecting.
   */
  async init() {
    let remembered: string | null | undefined;
    try {
      remembered = store?.getItem(REMEMBERED);
    } catch {
      remembered = undefined;
    }
    const pick =
      this.wallets.find((w) => w.id === remembered) ?? (this.wallets.length === 1 ? this.wallets[0] : undefined);
    if (pick) await this.use(pick.id);
  }

  /** Switches to the wallet `id` (one of `wallets`), following its account and chain from then on. */
  async use(id: string) {
    const next = this.wallets.find((w) => w.id === id);
    if (!next) throw new TxFailure("failed", `No wallet "${id}" is installed.`);
    if (this.current?.provider !== next.provider) {
      this.current?.provider.removeListener("accountsChanged", this.follow);
      this.current?.provider.removeListener("chainChanged", this.follow);
      next.provider.on("accountsChanged", this.follow);
      next.provider.on("chainChanged", this.follow);
    }
    this.current = next;
    await this.reload();
  }

  /** Whether connecting needs the user to pick a wallet first. */
  get needsChoice(): boolean {
    return !this.current && this.wallets.length > 1;
  }

  /** A wallet that announced itself after the page loaded. */
  add(w: InjectedWallet) {
    if (this.wallets.some((x) => x.id === w.id)) return;
    this.wallets.push(w);
    if (this.status.kind === "no-wallet") this.status = { kind: "disconnected" };
    this.onChange();
  }

  async connect(id?: string) {
    if (id) await this.use(id);
    else if (!this.current && this.wallets.length === 1) await this.use(this.wallets[0].id);
    if (!this.provider)
      throw new TxFailure(
        "failed",
        "No browser wallet found: install an EIP-1193 wallet to vote and act; reading needs none.",
      );
    try {
      await this.provider.request({ method: "eth_requestAccounts" });
    } catch (e) {
      throw explain(e);
    }
    // Remembered once it connected: a refused connection is not a choice.
    remember(this.current!.id);
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
          params: [
            {
              chainId,
              chainName: this.expected.name,
              rpcUrls: [this.expected.rpcUrl],
              nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
            },
          ],
        });
      } catch (e2) {
        throw explain(e2);
      }
    }
    await this.reload();
  }

  private reloads = 0;

  private async reload() {
    if (!this.provider) return;
    // Wallet events can come in quick succession: only the newest reload may set the status.
    const mine = ++this.reloads;
    const [accounts, chainHex] = await Promise.all([
      this.provider.request({ method: "eth_accounts" }) as Promise<Hex[]>,
      this.provider.request({ method: "eth_chainId" }) as Promise<string>,
    ]);
    if (mine !== this.reloads) return;
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
   * Sends `call` (a contract call, or a lib action such as castVote) from the connected account: the action
   * simulates it, has the wallet sign and send it, and waits for it to be mined. `progress` hears "signing" (the
   * wallet is asking) and "pending" (sent, not yet mined).
   */
  async send(
    client: PublicClient,
    call: ContractCall | SendAction,
    progress: (stage: "signing" | "pending", hash?: Hex) => void,
  ): Promise<TransactionReceipt> {
    const s = this.status;
    if (s.kind === "no-wallet" || s.kind === "disconnected") throw new TxFailure("failed", "Connect a wallet first.");
    if (s.kind === "wrong-chain") {
      throw new TxFailure(
        "wrong-chain",
        `Your wallet is on chain ${s.chainId}; this deployment is on chain ${this.expected.chainId}. Switch chains first.`,
      );
    }
    const account = s.account;
    const action: SendAction =
      typeof call === "function" ? call : (wallet, options) => sendContractCall(wallet, { ...call, ...options });
    const wallet = createWalletClient({ account, transport: custom(this.provider!) });
    let hash: Hex | undefined;
    let replacement: { reason: "cancelled" | "replaced" | "repriced"; hash: Hex } | undefined;
    // A replacement the wallet made speaks first: what was mined (or reverted) is then another transaction.
    const checkReplaced = () => {
      if (replacement?.reason === "cancelled") {
        throw new TxFailure(
          "cancelled",
          `The wallet cancelled it: ${hash} was replaced by ${replacement.hash}, which does nothing.`,
          replacement.hash,
        );
      }
      if (replacement?.reason === "replaced") {
        throw new TxFailure(
          "unknown",
          `The wallet replaced ${hash} with a different transaction, ${replacement.hash}; check what that one did.`,
          replacement.hash,
        );
      }
    };
    let receipt: TransactionReceipt;
    try {
      ({ receipt } = await action(wallet, {
        account,
        chain: this.chain,
        reader: client,
        pollingInterval: 500,
        onSigning: () => progress("signing"),
        onSent: (sent) => {
          hash = sent;
          progress("pending", sent);
        },
        onReplaced: (r) => (replacement = { reason: r.reason, hash: r.transaction.hash }),
      }));
    } catch (e) {
      if (e instanceof CallRevertedError) {
        checkReplaced();
        const r = e.receipt;
        throw new TxFailure(
          "reverted",
          `${r.transactionHash} was mined in block ${r.blockNumber} but reverted: ${await this.replay(client, e.request, r.blockNumber)}.`,
          r.transactionHash,
        );
      }
      if (hash === undefined) throw explain(e);
      const why = e instanceof BaseError ? e.shortMessage : String(e);
      throw new TxFailure(
        "unknown",
        `It was sent as ${hash}, but its outcome is not known yet (${why}). Look it up before sending it again.`,
        hash,
      );
    }
    checkReplaced();
    return receipt;
  }

  /**
   * Why a mined transaction reverted. The simulation passed, so something earlier in its block changed the state
   * (another transaction got there first): the same call replayed on the state at the end of that block says what.
   */
  private async replay(client: PublicClient, request: CallRevertedError["request"], block: bigint): Promise<string> {
    try {
      await client.call({ ...request, blockNumber: block });
      return "the contract gave no reason (it may have run out of gas)";
    } catch (e) {
      return reasonOf(e) ?? "the contract gave no reason";
    }
  }
}

/** Any error from the wallet, the node or a contract, as a TxFailure a person can act on. */
export function explain(e: unknown): TxFailure {
  if (e instanceof TxFailure) return e;
  const rejected =
    (e instanceof BaseError && e.walk((x) => x instanceof UserRejectedRequestError)) ||
    (e as { code?: number } | undefined)?.code === 4001;
  if (rejected)
    return new TxFailure("rejected", "You rejected the request in your wallet: nothing was signed or sent.");
  if (e instanceof BaseError && e.walk((x) => x instanceof ChainMismatchError)) {
    return new TxFailure(
      "wrong-chain",
      "Your wallet switched to another chain before signing: nothing was sent. Switch back and try again.",
    );
  }
  const reason = reasonOf(e);
  if (reason) return new TxFailure("refused", `The contract refused: ${reason}. Nothing was sent.`);
  const message = e instanceof BaseError ? e.shortMessage : e instanceof Error ? e.message : String(e);
  return new TxFailure("failed", message.split("\n")[0]);
}

/** The contract's reason for a revert, in words, or undefined when the error is not a revert. */
function reasonOf(e: unknown): string | undefined {
  const reverted =
    e instanceof BaseError
      ? (e.walk((x) => x instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null)
      : null;
  const data = revertDataOf(e);
  if (data) return decodeRevert(data)?.words ?? `an error this dashboard does not know (${data.slice(0, 10)})`;
  if (reverted?.data)
    return reverted.data.errorName === "Error"
      ? String(reverted.data.args?.[0])
      : errorInWords(reverted.data.errorName, reverted.data.args ?? []);
  if (reverted) return reverted.reason ?? "the contract gave no reason";
  return undefined;
}
