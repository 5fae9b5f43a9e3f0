// With --keep, the drill serves the dashboard for the chain it leaves up, so the address it prints is live.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { ROOT, onFreePort, startDashboardServer } from "../../rehearsal/localnet";
import type { Net } from "./network";

const PREFERRED_PORT = 5173;

/**
 * Builds the page and starts web/serve.ts for `net`, giving it `timeoutMs` to listen; returns its address and how to
 * stop it.
 */
export async function serveDashboard(net: Net, timeoutMs?: number): Promise<{ url: string; stop(): Promise<void> }> {
  const build = spawnSync(
    join(ROOT, "node_modules", ".bin", "vite"),
    ["build", "web", "--config", "web/vite.config.ts", "--logLevel", "warn"],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  if (build.status !== 0)
    throw new Error(`the dashboard did not build: ${(build.stderr || build.stdout).trim().split("\n")[0]}`);
  const { url, stop } = await onFreePort(
    (port) =>
      startDashboardServer({
        network: net.network,
        rpc: net.chain.url,
        port,
        deployments: dirname(net.deploymentsFile),
        timeoutMs,
      }),
    PREFERRED_PORT,
  );
  return { url, stop };
}
