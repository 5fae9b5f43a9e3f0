import { task } from "hardhat/config";
import { createWalletClient, getAddress } from "viem";
import { findDeployment, writeDeployment } from "../lib/deployments";
import { DeployParamsError, PRESETS, loadPreset, readParamsFile, systemParams } from "../lib/deployParams";
import { DeployProgressError, clearProgress, progressPath, readProgress, saveProgress } from "../lib/deployProgress";
import { TaskError, action, clientsFor, parseAddress } from "./cli";

/** Chains where the `local` preset is the default: Hardhat's and a dev node's. Anywhere else a preset is required. */
const LOCAL_CHAIN_IDS = [31337, 1337];

task("deploy", "Deploys the whole Lockstep system and writes deployments/<network>.json (idempotent)")
  .addOptionalParam("preset", `named parameters: ${PRESETS.join(", ")} (default on a local chain: local)`)
  .addOptionalParam("params", "a parameters file (JSON; see deploy/presets/ and docs/operations.md)")
  .addOptionalParam("guardian", "the incident commander's address (default: the second account)")
  .addOptionalParam("holder", "receives the initial stake supply (default: the deployer)")
  .addFlag("force", "deploy again even if the deployments file names live contracts")
  .setAction(
    action(
      async (args: { preset?: string; params?: string; guardian?: string; holder?: string; force: boolean }, hre) => {
        const dir = process.env.LOCKSTEP_DEPLOYMENTS_DIR || undefined;
        const network = hre.network.name;
        const { client, transport } = clientsFor(hre);
        const chainId = await client.getChainId();
        if (args.preset && args.params) throw new TaskError("pass --preset or --params, not both");
        if (!args.preset && !args.params && !LOCAL_CHAIN_IDS.includes(chainId)) {
          throw new TaskError(
            `chain ${chainId} is not a local chain: pass --preset testnet|mainnet or --params <file.json>`,
          );
        }
        let file;
        try {
          file = args.params ? readParamsFile(args.params) : loadPreset(args.preset ?? "local");
        } catch (e) {
          if (e instanceof DeployParamsError) throw new TaskError(e.message);
          throw e;
        }
        const existing = findDeployment(network, dir);
        if (existing && !args.force) {
          const code = await client.getCode({ address: getAddress(existing.contracts.UpgradeCoordinator) });
          if (existing.chainId === chainId && code !== undefined && code !== "0x") {
            console.log(
              `already deployed on ${network} (chain ${chainId}): coordinator ${existing.contracts.UpgradeCoordinator}; nothing to do`,
            );
            return;
          }
        }
        const [deployer, second] = (await createWalletClient({ transport }).getAddresses()).map((a) => getAddress(a));
        if (!deployer) throw new TaskError(`no account to deploy from on network "${network}" (set DEPLOYER_KEY)`);
        const guardian = args.guardian ? parseAddress(args.guardian, "--guardian") : second;
        if (!guardian) throw new TaskError("pass --guardian: the network has only one account");
        if (guardian === deployer) throw new TaskError("the guardian must not be the deploying account");
        const holder = args.holder ? parseAddress(args.holder, "--holder") : deployer;
        const params = systemParams(file, holder, guardian);

        const { DeployError, deploySystem, deploymentRecord } = await import("../lib/deploy");
        const saved = progressPath(network, dir);
        let resume;
        try {
          resume = readProgress(saved, chainId, deployer);
        } catch (e) {
          if (e instanceof DeployProgressError) throw new TaskError(e.message);
          throw e;
        }
        if (resume) console.log(`resuming the deploy interrupted earlier (${saved}): its libraries are reused`);
        const startBlock = Number(await client.getBlockNumber()) + 1;
        let s;
        try {
          s = await deploySystem(createWalletClient({ account: deployer, transport }), client, params, {
            resume,
            onStep: (_step, progress) => saveProgress(saved, progress),
          });
        } catch (e) {
          if (e instanceof DeployError) throw new TaskError(`${e.message}; the deployer holds no power, run again`);
          throw e;
        }
        const path = writeDeployment(deploymentRecord(s, { network, chainId, startBlock, guardian, params }), dir);
        clearProgress(saved);
        console.log(
          `deployed on ${network} (chain ${chainId}); the deployer holds no role: the timelock answers to the governor only`,
        );
        console.log(`coordinator ${s.coordinator}  governor ${s.governor}  timelock ${s.timelock}  token ${s.token}`);
        console.log(`wrote ${path}`);
        if (params.restartBudgetBps > 0) {
          console.log(
            `next: propose the restart budget (${params.restartBudgetBps} bps, leases of ${params.leaseDuration} s): ` +
              `npx hardhat upgrade:restart-budget --network ${network}`,
          );
        }
      },
    ),
  );
