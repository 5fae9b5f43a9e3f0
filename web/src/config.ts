// Loads what web/serve.ts hands the page at /config.json (shaped as in dashboardConfig.ts).
import type { DashboardConfig } from "./dashboardConfig";

export type { DashboardConfig };

export async function loadConfig(url = "./config.json"): Promise<DashboardConfig> {
  const res = await fetch(url, { cache: "no-store" });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  const c = (await res.json()) as DashboardConfig;
  if (!c.rpcUrl || !c.deployment?.contracts?.UpgradeCoordinator)
    throw new Error(`${url} has no rpcUrl or no coordinator address`);
  return {
    ...c,
    rpcRelay: new URL(c.rpcRelay || "./rpc", location.href).href,
    explorerUrl: (c.explorerUrl ?? "").replace(/\/+$/, ""),
    pollMs: c.pollMs || 1000,
  };
}
