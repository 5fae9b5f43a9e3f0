// With --keep, the drill serves the dashboard for the chain it leaves up, so the address it prints is live.
import { spawn, spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { ROOT, freePort, portIsFree, stopProcess, waitFor } from "../../rehearsal/localnet";
import type { Net } from "./network";

const PREFERRED_PORT = 5173;

/** Builds the page and starts web/serve.ts for `net`; returns its address and how to stop it. */
export async function serveDashboard(net: Net): Promise<{ url: string; stop(): Promise<void> }> {
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
  const port = (await portIsFree(PREFERRED_PORT)) ? PREFERRED_PORT : await freePort();
  const child = spawn(
    process.execPath,
    [
      "-r",
      "ts-node/register/transpile-only",
      "web/serve.ts",
      "--network",
      net.network,
      "--rpc",
      net.chain.url,
      "--port",
      String(port),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, LOCKSTEP_DEPLOYMENTS_DIR: dirname(net.deploymentsFile) },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout!.on("data", (c) => (output += c));
  child.stderr!.on("data", (c) => (output += c));
  const url = await waitFor("the dashboard", async () => {
    if (child.exitCode !== null) throw new Error(`the dashboard server stopped: ${output.trim()}`);
    return /dashboard (http:\/\/\S+)/.exec(output)?.[1];
  });
  return { url, stop: () => stopProcess(child) };
}
