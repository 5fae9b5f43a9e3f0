// What web/serve.ts hands the page at /config.json: the network's deployments file and where to read it.
import type { Deployment } from "../../lib/deployments";

export interface DashboardConfig {
  /** The node's RPC URL, for display: the page reads through the server's same-origin relay, `rpcRelay`. */
  rpcUrl: string;
  rpcRelay: string;
  deployment: Deployment;
  /** Block explorer base URL; transaction links are `${explorerUrl}/tx/${hash}`. Empty: no links. */
  explorerUrl: string;
  /** How often the page asks for a new block (ms). */
  pollMs: number;
}

export async function loadConfig(url = "./config.json"): Promise<DashboardConfig> {
  const res = await fetch(url, { cache: "no-store" });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status} ${await res.text()}`);
  const c = (await res.json()) as DashboardConfig;
  if (!c.rpcUrl || !c.deployment?.contracts?.UpgradeCoordinator) throw new Error(`${url} has no rpcUrl or no coordinator address`);
  return { ...c, rpcRelay: new URL(c.rpcRelay || "./rpc", location.href).href, explorerUrl: (c.explorerUrl ?? "").replace(/\/+$/, ""), pollMs: c.pollMs || 1000 };
}
