// What the dashboard's browser tests set up before a page opens: the built bundle, validators registered on a chain
// process, the deployment record web/serve.ts reads, the server itself and Debian's chromium.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { Wallet, keccak256, parseEther, toUtf8Bytes, type JsonRpcProvider } from "ethers";
import { chromium, type Browser } from "playwright-core";
import { deploymentRecord } from "../../lib/deploy";
import { writeDeployment } from "../../lib/deployments";
import { ROOT, freePort, stopProcess, waitFor, type Deployment } from "./e2e";
import { attesterProof } from "./system";

export const CHROMIUM = "/usr/bin/chromium";
/** Where the browser tests leave their screenshots. */
export const ARTIFACTS = join(ROOT, "test-artifacts");

/** Builds the dashboard (vite) once chromium is known to be there; throws naming what is missing or failed. */
export function buildDashboard(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no browser at ${CHROMIUM}: the dashboard's browser tests drive Debian's chromium; install it with \`apt-get install -y chromium\``,
    );
  }
  const build = spawnSync(
    join(ROOT, "node_modules", ".bin", "vite"),
    ["build", "web", "--config", "web/vite.config.ts"],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  if (build.status !== 0) throw new Error(`vite build failed:\n${build.stdout}\n${build.stderr}`);
}

export interface NamedValidator {
  name: string;
  operator: Wallet;
  attester: Wallet;
}

/**
 * Registers one validator per [name, stake in tokens, cohort] on a chain process: funded keys derived from
 * `${label}:${name}`, the stake self-delegated, the attester's proof, and governance (the impersonated timelock)
 * moving it out of the default cohort 3 where asked.
 */
export async function registerNamedValidators(
  d: Deployment,
  provider: JsonRpcProvider,
  label: string,
  specs: readonly (readonly [name: string, stake: number, cohort: number])[],
): Promise<Record<string, NamedValidator>> {
  const out: Record<string, NamedValidator> = {};
  for (const [name, amount, cohort] of specs) {
    const operator = new Wallet(keccak256(toUtf8Bytes(`${label}:${name}:operator`)), provider);
    const attester = new Wallet(keccak256(toUtf8Bytes(`${label}:${name}:attester`)), provider);
    for (const w of [operator, attester]) await provider.send("hardhat_setBalance", [w.address, "0x56BC75E2D63100000"]);
    await (await d.token.connect(d.deployer).transfer(operator.address, parseEther(String(amount)))).wait();
    await (await d.token.connect(operator).delegate(operator.address)).wait();
    const proof = await attesterProof(d.coordinator, operator, attester);
    await (await d.coordinator.connect(operator).register(attester.address, `ipfs://${label}/${name}`, proof)).wait();
    if (cohort !== 3) await (await d.coordinator.connect(d.timelockSigner).setCohort(operator.address, cohort)).wait();
    out[name] = { name, operator, attester };
  }
  return out;
}

/** Writes `d`'s deployment record as network `network` into `dir`, where web/serve.ts is told to look. */
export function writeTestDeployment(d: Deployment, network: string, dir: string): void {
  writeDeployment(
    deploymentRecord(d.addresses, {
      network,
      chainId: 31337,
      startBlock: d.startBlock,
      guardian: d.guardian.address,
    }),
    dir,
  );
}

/**
 * Starts web/serve.ts for `network` (its record in `deploymentsDir`) over `rpcUrl` on a free port, with `args` added,
 * and waits until it says where it serves; throws with its output if it exits first.
 */
export async function serveDashboard(o: {
  network: string;
  rpcUrl: string;
  deploymentsDir: string;
  args?: string[];
}): Promise<{ server: ChildProcess; port: number; url: string }> {
  const port = await freePort();
  const server = spawn(
    process.execPath,
    [
      "-r",
      "ts-node/register/transpile-only",
      "web/serve.ts",
      "--network",
      o.network,
      "--rpc",
      o.rpcUrl,
      "--port",
      String(port),
      ...(o.args ?? []),
    ],
    {
      cwd: ROOT,
      env: { ...process.env, LOCKSTEP_DEPLOYMENTS_DIR: o.deploymentsDir },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  server.stdout!.on("data", (c) => (output += c));
  server.stderr!.on("data", (c) => (output += c));
  try {
    await waitFor("the dashboard server", async () => {
      if (server.exitCode !== null) throw new Error(`the dashboard server exited: ${output}`);
      return output.includes("dashboard http://");
    });
  } catch (e) {
    await stopProcess(server);
    throw e;
  }
  return { server, port, url: `http://127.0.0.1:${port}/` };
}

/** Launches headless chromium with `args`; makes the screenshots' folder ready. */
export async function launchChromium(args: string[]): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}
