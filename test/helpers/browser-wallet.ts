// An injected EIP-1193 wallet for browser tests, backed by a Hardhat account: the page sees `window.ethereum`,
// and every request crosses to this process, which answers account and chain questions itself, can refuse like a
// user pressing "Reject" (error 4001), and forwards the rest (eth_sendTransaction included) to the Hardhat node,
// where the account is unlocked. The test switches account or chain as a user would in their wallet.
import type { Page } from "playwright-core";

export interface TestWallet {
  account: string;
  chainId: number;
  connected: boolean;
  /** The next signing or connection request is rejected as a user would. */
  rejectNext: boolean;
  /** Methods the page asked for, in order. */
  requests: string[];
  /** Chains added by the page through wallet_addEthereumChain, with the RPC URLs it offered. */
  added: { chainId: number; rpcUrls: string[] }[];
  /** Sets the account, as a user picking another one; the page hears accountsChanged. */
  useAccount(account: string): Promise<void>;
}

/**
 * The page side of one wallet: an EIP-1193 provider whose requests go to `bridge`, installed as window.ethereum
 * (`legacy`) and/or announced by EIP-6963 under `announce`.
 */
const pageSide = (bridge: string, legacy: boolean, announce?: { rdns: string; name: string }) => `(() => {
  const listeners = {};
  const provider = {
    isLockstepTestWallet: true,
    async request({ method, params }) {
      const answer = JSON.parse(await window[${JSON.stringify(bridge)}](method, JSON.stringify(params ?? [])));
      if (answer.error) {
        const e = new Error(answer.error.message);
        e.code = answer.error.code;
        if (answer.error.data !== undefined) e.data = answer.error.data;
        throw e;
      }
      return answer.result;
    },
    on(event, fn) { (listeners[event] ??= []).push(fn); },
    removeListener(event, fn) { listeners[event] = (listeners[event] ?? []).filter((f) => f !== fn); },
    __emit(event, value) { for (const fn of listeners[event] ?? []) fn(value); },
  };
  window.__lockstepWallets = { ...(window.__lockstepWallets ?? {}), [${JSON.stringify(bridge)}]: provider };
  if (${legacy}) window.ethereum = provider;
  const info = ${JSON.stringify(announce ?? null)};
  if (info) {
    const announceIt = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", {
      detail: Object.freeze({ info: { uuid: info.rdns, name: info.name, icon: "", rdns: info.rdns }, provider }),
    }));
    window.addEventListener("eip6963:requestProvider", announceIt);
    announceIt();
  }
})();`;

const SIGNING = new Set(["eth_sendTransaction", "eth_signTypedData_v4", "personal_sign", "eth_requestAccounts"]);

/**
 * `chainId` is where the wallet starts; `knownChains` the chains it can switch to without being asked to add one
 * (error 4902 otherwise, as real wallets answer); `nodeChain` is the chain the Hardhat node serves, the only one
 * the wallet can send on.
 */
export async function injectWallet(
  page: Page,
  o: {
    rpcUrl: string;
    account: string;
    chainId: number;
    knownChains: number[];
    nodeChain: number;
    /** Announce by EIP-6963 under this rdns and name; and be window.ethereum unless `legacy` is false. */
    announce?: { rdns: string; name: string };
    legacy?: boolean;
  },
): Promise<TestWallet> {
  const bridge = `__lockstepWallet_${(o.announce?.rdns ?? "injected").replace(/[^a-z0-9]/gi, "_")}`;
  const emit = (event: string, value: unknown) =>
    page.evaluate(
      `window.__lockstepWallets[${JSON.stringify(bridge)}].__emit(${JSON.stringify(event)}, ${JSON.stringify(value)})`,
    );
  const wallet: TestWallet = {
    account: o.account,
    chainId: o.chainId,
    connected: false,
    rejectNext: false,
    requests: [],
    added: [],
    async useAccount(account: string) {
      wallet.account = account;
      await emit("accountsChanged", wallet.connected ? [account] : []);
    },
  };
  const forward = async (method: string, params: unknown[]) => {
    const res = await fetch(o.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
    return body.error ? { error: body.error } : { result: body.result };
  };
  await page.exposeFunction(bridge, async (method: string, paramsJson: string) => {
    const params = JSON.parse(paramsJson) as unknown[];
    wallet.requests.push(method);
    if (SIGNING.has(method) && wallet.rejectNext) {
      wallet.rejectNext = false;
      return JSON.stringify({ error: { code: 4001, message: "User rejected the request." } });
    }
    switch (method) {
      case "eth_requestAccounts":
        wallet.connected = true;
        return JSON.stringify({ result: [wallet.account] });
      case "eth_accounts":
        return JSON.stringify({ result: wallet.connected ? [wallet.account] : [] });
      case "eth_chainId":
        return JSON.stringify({ result: `0x${wallet.chainId.toString(16)}` });
      case "wallet_switchEthereumChain":
      case "wallet_addEthereumChain": {
        const p = params[0] as { chainId: string; rpcUrls?: string[] };
        const id = Number(p.chainId);
        if (method === "wallet_addEthereumChain") {
          wallet.added.push({ chainId: id, rpcUrls: p.rpcUrls ?? [] });
          o.knownChains.push(id);
        } else if (!o.knownChains.includes(id)) {
          return JSON.stringify({ error: { code: 4902, message: `Unrecognized chain ID ${id}` } });
        }
        // Adding a chain also switches to it, as the common wallets ask to.
        wallet.chainId = id;
        setTimeout(() => void emit("chainChanged", `0x${id.toString(16)}`), 0);
        return JSON.stringify({ result: null });
      }
      case "eth_sendTransaction": {
        if (wallet.chainId !== o.nodeChain)
          return JSON.stringify({ error: { code: -32000, message: "the wallet is on another chain" } });
        // A wallet signs only for the account it has selected: a page asking for another is refused.
        const from = String((params[0] as { from?: string }).from ?? "").toLowerCase();
        if (from !== wallet.account.toLowerCase())
          return JSON.stringify({ error: { code: 4100, message: `the wallet has not authorised ${from}` } });
        return JSON.stringify(await forward(method, params));
      }
      default:
        return JSON.stringify(await forward(method, params));
    }
  });
  await page.addInitScript(pageSide(bridge, o.legacy ?? true, o.announce));
  return wallet;
}
