import { task, types } from "hardhat/config";
import { findDeployment, writeDeployment } from "../lib/deployments";
import { createWalletClient, getAddress } from "viem";
import { TaskError, action, clientsFor, parseAddress } from "./cli";

task("deploy", "Deploys the whole Lockstep system and writes deployments/<network>.json (idempotent)")
  .addOptionalParam("guardian", "the incident commander's address (default: the second account)")
  .addOptionalParam("holder", "receives the initial stake supply (default: the deployer)")
  .addOptionalParam("timelockDelay", "seconds between queueing and executing a proposal", 3600, types.int)
  .addOptionalParam("votingDelay", "blocks between proposal and vote", 1, types.int)
  .addOptionalParam("votingPeriod", "blocks a vote stays open", 50, types.int)
  .addOptionalParam("quorum", "quorum, percent of the supply", 4, types.int)
  .addFlag("force", "deploy again even if the deployments file names live contracts")
  .setAction(
    action(
      async (
        args: {
          guardian?: string;
          holder?: string;
          timelockDelay: number;
          votingDelay: number;
          votingPeriod: number;
          quorum: number;
          force: boolean;
        },
        hre,
      ) => {
        const dir = process.env.LOCKSTEP_DEPLOYMENTS_DIR || undefined;
        const network = hre.network.name;
        const { client, transport } = clientsFor(hre);
        const chainId = await client.getChainId();
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
        if (args.quorum < 1 || args.quorum > 100) throw new TaskError("--quorum must be a percentage from 1 to 100");
        const holder = args.holder ? parseAddress(args.holder, "--holder") : deployer;
        const { deploySystem, defaultParams, deploymentRecord } = await import("../lib/deploy");
        const startBlock = Number(await client.getBlockNumber()) + 1;
        const params = {
          ...defaultParams(holder, guardian),
          timelockDelay: BigInt(args.timelockDelay),
          votingDelay: BigInt(args.votingDelay),
          votingPeriod: BigInt(args.votingPeriod),
          quorumPercent: BigInt(args.quorum),
        };
        const s = await deploySystem(createWalletClient({ account: deployer, transport }), client, params);
        const path = writeDeployment(deploymentRecord(s, { network, chainId, startBlock, guardian, params }), dir);
        console.log(
          `deployed on ${network} (chain ${chainId}); the deployer's admin right on the timelock is renounced`,
        );
        console.log(`coordinator ${s.coordinator}  governor ${s.governor}  timelock ${s.timelock}  token ${s.token}`);
        console.log(`wrote ${path}`);
      },
    ),
  );
