// What web/serve.ts hands the page at /config.json: the network's deployments file and where to read it. Apart
// from config.ts, which loads it in the browser, so that Node code (the ChainView tests) can use it too.
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
