import { task } from "hardhat/config";
import { encodeFunctionData } from "viem";
import {
  TaskError,
  abis,
  action,
  connectDeployment,
  parseAddress,
  parseIntArg,
  sendToCoordinator,
  type Connected,
} from "./cli";
import { proposeCoordinatorCalls } from "./governance";

const validator = (c: Connected, operator: `0x${string}`) =>
  c.client.readContract({
    address: c.coordinator,
    abi: abis().upgradeCoordinatorAbi,
    functionName: "getValidator",
    args: [operator],
  });

task("validator:register", "Registers the signer as a validator operator")
  .addParam("attester", "the attester key's address (the watcher's hot key)")
  .addOptionalParam("metadata", "moniker or metadata URI", "")
  .addOptionalParam("signer", "index of the operator account", "0")
  .setAction(
    action(async (args: { attester: string; metadata: string; signer: string }, hre) => {
      const c = await connectDeployment(hre, parseIntArg(args.signer, "--signer"));
      const attester = parseAddress(args.attester, "--attester");
      const { hash } = await sendToCoordinator(c, "register", [attester, args.metadata]);
      const v = await validator(c, c.account);
      console.log(`registered ${c.account} in cohort ${v.cohort} with attester ${attester} (transaction ${hash})`);
    }),
  );

task("validator:rotate-attester", "Replaces the signer's attester key")
  .addPositionalParam("attester", "the new attester address")
  .addOptionalParam("signer", "index of the operator account", "0")
  .setAction(
    action(async (args: { attester: string; signer: string }, hre) => {
      const c = await connectDeployment(hre, parseIntArg(args.signer, "--signer"));
      const attester = parseAddress(args.attester, "attester");
      const { hash } = await sendToCoordinator(c, "rotateAttester", [attester]);
      console.log(`attester of ${c.account} is now ${attester}; the old key lost its power (transaction ${hash})`);
    }),
  );

task("validator:set-cohort", "Proposes moving validators to a cohort (governance); several operators make one proposal")
  .addPositionalParam("cohort", "the cohort number (1 = canary, 2 = early, 3 = main, ...)")
  .addVariadicPositionalParam("operators", "operator addresses")
  .addOptionalParam("signer", "index of the proposing account", "0")
  .setAction(
    action(async (args: { cohort: string; operators: string[]; signer: string }, hre) => {
      const cohort = parseIntArg(args.cohort, "cohort", 1, 255);
      const operators = args.operators.map((o) => parseAddress(o, "operator"));
      const c = await connectDeployment(hre, parseIntArg(args.signer, "--signer"));
      for (const op of operators) {
        if (!(await validator(c, op)).registered) throw new TaskError(`${op} is not a registered validator`);
      }
      await proposeCoordinatorCalls(
        c,
        operators.map((op) =>
          encodeFunctionData({ abi: abis().upgradeCoordinatorAbi, functionName: "setCohort", args: [op, cohort] }),
        ),
        `Move ${operators.length} validator(s) to cohort ${cohort}: ${operators.join(", ")}`,
      );
    }),
  );

task("attest:relay", "Relays signed attestations (a watcher's relay file: JSON lines, or a JSON array) in one batch")
  .addPositionalParam("file", "the file of signed attestations")
  .addOptionalParam("signer", "index of the relaying account", "0")
  .setAction(
    action(async (args: { file: string; signer: string }, hre) => {
      const { RelayFileError, readRelayFile, relayBatch } =
        require("../lib/actions/relayFile") as typeof import("../lib/actions/relayFile");
      const { relayAttestations } =
        require("../lib/actions/relayAttestations") as typeof import("../lib/actions/relayAttestations");
      let batch;
      try {
        batch = relayBatch(await readRelayFile(args.file));
      } catch (e) {
        if (e instanceof RelayFileError) throw new TaskError(e.message);
        throw e;
      }
      const c = await connectDeployment(hre, parseIntArg(args.signer, "--signer"));
      const { hash, receipt, accepted, skipped } = await relayAttestations(c.wallet, {
        coordinator: c.coordinator,
        batch: batch.batch,
      });
      const { SKIP_REASON_WORDS, SkipReason } = require("../lib/coordinator") as typeof import("../lib/coordinator");
      console.log(
        `relayed ${batch.count} attestation(s) in one batch: ${accepted} counted, ${skipped.length} skipped ` +
          `(transaction ${hash}, ${receipt.gasUsed} gas)`,
      );
      for (const s of skipped) {
        const reason = SkipReason[s.reason] as keyof typeof SkipReason;
        console.log(
          `  skipped ${s.operator} (upgrade #${s.upgradeId}): ${SKIP_REASON_WORDS[reason] ?? `reason ${s.reason}`}`,
        );
      }
    }),
  );
