// Which browser wallets the page can use: those announcing themselves by EIP-6963 (several can be installed side by
// side), and the legacy injected `window.ethereum` when no announced wallet is that same provider.
import type { EIP1193Provider } from "viem";
import type { InjectedWallet } from "./wallet";

interface Announcement {
  info: { uuid: string; name: string; icon: string; rdns: string };
  provider: EIP1193Provider;
}

/**
 * Asks wallets to announce themselves and collects the answers for `waitMs` (they usually answer at once); one
 * that announces later is handed to `late`. window.ethereum is offered only when no wallet announced itself: most
 * wallets that announce also inject it, often wrapped, and would otherwise be listed twice.
 */
export async function discoverWallets(late: (w: InjectedWallet) => void, waitMs = 150): Promise<InjectedWallet[]> {
  const found = new Map<string, InjectedWallet>();
  let settled = false;
  window.addEventListener("eip6963:announceProvider", (e: Event) => {
    const a = (e as CustomEvent<Announcement>).detail;
    if (!a?.provider || typeof a.provider.request !== "function" || !a.info?.rdns || found.has(a.info.rdns)) return;
    const icon = /^data:image\//.test(a.info.icon ?? "") ? a.info.icon : "";
    const w = { id: a.info.rdns, name: String(a.info.name || a.info.rdns), icon, provider: a.provider };
    found.set(w.id, w);
    if (settled) late(w);
  });
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  await new Promise((r) => setTimeout(r, waitMs));
  settled = true;
  const wallets = [...found.values()];
  const legacy = (window as unknown as { ethereum?: EIP1193Provider }).ethereum;
  if (legacy && wallets.length === 0)
    wallets.push({ id: "injected", name: "Browser wallet", icon: "", provider: legacy });
  return wallets;
}
