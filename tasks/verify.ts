// verify:all: every contract of the deployments file verified on the network's explorers (Etherscan, or the
// Etherscan-compatible explorer configured for the chain) and on Sourcify where Sourcify supports the chain, through
// @nomicfoundation/hardhat-verify's own subtasks. Named verify:all because hardhat-verify owns `verify`.
import { task } from "hardhat/config";
import { DeploymentError, readDeployment } from "../lib/deployments";
import { VerifyTargetsError, verificationTargets } from "../lib/verify";
import { TaskError, action, clientsFor } from "./cli";

/** Whether the Sourcify server at `apiUrl` verifies contracts of `chainId` (its /chains list), or why not. */
async function sourcifySupports(apiUrl: string, chainId: number): Promise<true | string> {
  try {
    const res = await fetch(`${apiUrl.replace(/\/$/, "")}/chains`, { signal: AbortSignal.timeout(15_000) });
    if (!res.ok) return `Sourcify answered ${res.status} for its chain list`;
    const chains = (await res.json()) as { chainId: number; supported?: boolean }[];
    return chains.some((c) => Number(c.chainId) === chainId && c.supported !== false)
      ? true
      : `Sourcify does not support chain ${chainId}`;
  } catch (e) {
    return `Sourcify could not be reached (${(e as Error).message})`;
  }
}

task("verify:all", "Verifies every Lockstep contract in deployments/<network>.json on the explorers and Sourcify")
  .addFlag("force", "submit even contracts the explorer reports as verified")
  .setAction(
    action(async (args: { force: boolean }, hre) => {
      let d;
      let targets;
      try {
        d = readDeployment(hre.network.name, process.env.LOCKSTEP_DEPLOYMENTS_DIR || undefined);
        targets = verificationTargets(d);
      } catch (e) {
        if (e instanceof VerifyTargetsError || e instanceof DeploymentError) throw new TaskError((e as Error).message);
        throw e;
      }
      const chainId = await clientsFor(hre).client.getChainId();
      if (chainId !== d.chainId) {
        throw new TaskError(
          `network "${hre.network.name}" serves chain ${chainId}, but its deployment is on chain ${d.chainId}`,
        );
      }
      const { etherscan, sourcify } = hre.config;
      let onSourcify = false;
      if (sourcify.enabled && sourcify.apiUrl) {
        const supported = await sourcifySupports(sourcify.apiUrl, chainId);
        if (supported === true) onSourcify = true;
        else console.log(`${supported}: Sourcify skipped`);
      }
      if (!etherscan.enabled && !onSourcify)
        throw new TaskError("no explorer to verify on: enable etherscan or sourcify");

      const failed: string[] = [];
      for (const t of targets) {
        const common = { address: t.address, libraries: t.libraries, contract: t.contract };
        for (const [where, run] of [
          [
            "explorer",
            etherscan.enabled &&
              (() =>
                hre.run("verify:etherscan", {
                  ...common,
                  constructorArgsParams: t.constructorArguments,
                  force: args.force,
                })),
          ],
          ["Sourcify", onSourcify && (() => hre.run("verify:sourcify", common))],
        ] as const) {
          if (!run) continue;
          try {
            await run();
            console.log(`${t.name} ${t.address}: verified on ${where === "explorer" ? "the explorer" : where}`);
          } catch (e) {
            const line = ((e as Error).message ?? String(e)).split("\n")[0];
            failed.push(`${t.name} on ${where}: ${line}`);
            console.log(`${t.name} ${t.address}: NOT verified on ${where}: ${line}`);
          }
        }
      }
      if (failed.length) throw new TaskError(`${failed.length} verification(s) failed; first: ${failed[0]}`);
      console.log(`all ${targets.length} contracts verified`);
    }),
  );
