// Which browser wallets the page can use: those announcing themselves by EIP-6963 (several can be installed side by
// side), and the legacy injected `window.ethereum` when no announced wallet is that same provider.
import type { EIP1193Provider } from "viem";
import type { InjectedWallet } from "./wallet";

interface Announcement {
  info: { uuid: string; name: string; icon: string; rdns: string };
  provider: EIP1193Provider;
}

/** Asks wallets to announce themselves and collects the answers for `waitMs` (they usually answer at once). */
export async function discoverWallets(waitMs = 150): Promise<InjectedWallet[]> {
  const found = new Map<string, InjectedWallet>();
  const listen = (e: Event) => {
    const a = (e as CustomEvent<Announcement>).detail;
    if (!a?.provider || typeof a.provider.request !== "function" || !a.info?.rdns) return;
    const icon = /^data:image\//.test(a.info.icon ?? "") ? a.info.icon : "";
    found.set(a.info.rdns, { id: a.info.rdns, name: String(a.info.name || a.info.rdns), icon, provider: a.provider });
  };
  window.addEventListener("eip6963:announceProvider", listen);
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  await new Promise((r) => setTimeout(r, waitMs));
  window.removeEventListener("eip6963:announceProvider", listen);
  const wallets = [...found.values()];
  const legacy = (window as unknown as { ethereum?: EIP1193Provider }).ethereum;
  if (legacy && !wallets.some((w) => w.provider === legacy)) wallets.push({ id: "injected", name: "Browser wallet", icon: "", provider: legacy });
  return wallets;
}
