import { readFileSync } from "node:fs";
import { task } from "hardhat/config";
import { TaskError, action, connectDeployment, parseAddress, parseIntArg } from "./cli";
import { proposeCoordinatorCalls } from "./governance";

task("validator:register", "Registers the signer as a validator operator")
  .addParam("attester", "the attester key's address (the watcher's hot key)")
  .addOptionalParam("metadata", "moniker or metadata URI", "")
  .addOptionalParam("signer", "index of the operator account", "0")
  .setAction(
    action(async (args: { attester: string; metadata: string; signer: string }, hre) => {
      const c = await connectDeployment(hre, parseIntArg(args.signer, "--signer"));
      const attester = parseAddress(hre, args.attester, "--attester");
      const tx = await c.coordinator.register(attester, args.metadata);
      await tx.wait();
      const v = await c.coordinator.getValidator(c.signer.address);
      console.log(
        `registered ${c.signer.address} in cohort ${v.cohort} with attester ${attester} (transaction ${tx.hash})`,
      );
    }),
  );

task("validator:rotate-attester", "Replaces the signer's attester key")
  .addPositionalParam("attester", "the new attester address")
  .addOptionalParam("signer", "index of the operator account", "0")
  .setAction(
    action(async (args: { attester: string; signer: string }, hre) => {
      const c = await connectDeployment(hre, parseIntArg(args.signer, "--signer"));
      const attester = parseAddress(hre, args.attester, "attester");
      const tx = await c.coordinator.rotateAttester(attester);
      await tx.wait();
      console.log(
        `attester of ${c.signer.address} is now ${attester}; the old key lost its power (transaction ${tx.hash})`,
      );
    }),
  );

task("validator:set-cohort", "Proposes moving validators to a cohort (governance); several operators make one proposal")
  .addPositionalParam("cohort", "the cohort number (1 = canary, 2 = early, 3 = main, ...)")
  .addVariadicPositionalParam("operators", "operator addresses")
  .addOptionalParam("signer", "index of the proposing account", "0")
  .setAction(
    action(async (args: { cohort: string; operators: string[]; signer: string }, hre) => {
      const cohort = parseIntArg(args.cohort, "cohort", 1, 255);
      const operators = args.operators.map((o) => parseAddress(hre, o, "operator"));
      const c = await connectDeployment(hre, parseIntArg(args.signer, "--signer"));
      for (const op of operators) {
        if (!(await c.coordinator.getValidator(op)).registered)
          throw new TaskError(`${op} is not a registered validator`);
      }
      await proposeCoordinatorCalls(
        c,
        operators.map((op) => c.coordinator.interface.encodeFunctionData("setCohort", [op, cohort])),
        `Move ${operators.length} validator(s) to cohort ${cohort}: ${operators.join(", ")}`,
      );
    }),
  );

task("attest:relay", "Relays signed attestations (a watcher's relay file: JSON lines, or a JSON array) in one batch")
  .addPositionalParam("file", "the file of signed attestations")
  .addOptionalParam("signer", "index of the relaying account", "0")
  .setAction(
    action(async (args: { file: string; signer: string }, hre) => {
      let text: string;
      try {
        text = readFileSync(args.file, "utf8");
      } catch {
        throw new TaskError(`${args.file} cannot be read`);
      }
      const items: string[] = [];
      const entries: unknown[] = text.trim().startsWith("[")
        ? JSON.parse(text)
        : text
            .split("\n")
            .filter((l) => l.trim())
            .map((line, i) => {
              try {
                return JSON.parse(line);
              } catch {
                throw new TaskError(`${args.file} line ${i + 1} is not JSON`);
              }
            });
      for (const [i, entry] of entries.entries()) {
        const packed = (entry as { attestations?: unknown }).attestations;
        if (
          !Array.isArray(packed) ||
          !packed.every((p) => typeof p === "string" && /^0x([0-9a-fA-F]{344})+$/.test(p))
        ) {
          throw new TaskError(
            `${args.file} entry ${i + 1} has no packed attestations (172 bytes each, as the watcher writes)`,
          );
        }
        items.push(...packed.map((p: string) => p.slice(2)));
      }
      if (!items.length) throw new TaskError(`${args.file} holds no attestation`);
      const c = await connectDeployment(hre, parseIntArg(args.signer, "--signer"));
      const tx = await c.coordinator.relayAttestations(`0x${items.join("")}`);
      const receipt = await tx.wait();
      console.log(
        `relayed ${items.length} attestation(s) in one batch (transaction ${tx.hash}, ${receipt!.gasUsed} gas)`,
      );
    }),
  );
