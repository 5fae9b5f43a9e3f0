import { task } from "hardhat/config";
import { encodeFunctionData, isHex, verifyTypedData, type Abi, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
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
import { connectFor, proposeCoordinatorCalls, writeBatch, type BatchArgs, type BatchTarget } from "./governance";

/** The attester key from ATTESTER_KEY (a hex private key), or undefined when unset; refuses a malformed one. */
function attesterKeyFromEnv() {
  const key = process.env.ATTESTER_KEY;
  if (!key) return undefined;
  if (!isHex(key) || key.length !== 66) throw new TaskError("ATTESTER_KEY must be a 32-byte hex private key (0x…)");
  return privateKeyToAccount(key);
}

/**
 * The attester key's proof of possession for `operator`: `--proof` as given, or signed here with ATTESTER_KEY
 * (lib's signAttesterProof action). Either way it is checked before anything is sent, so a wrong proof is a
 * one-line refusal, not a reverted transaction.
 */
async function proofFor(c: Connected, operator: Address, attester: Address, given: string | undefined): Promise<Hex> {
  const { signAttesterProof } =
    require("../lib/actions/signAttesterProof") as typeof import("../lib/actions/signAttesterProof");
  const { attesterProofTypedData } = require("../lib/coordinator") as typeof import("../lib/coordinator");
  const chainId = await c.client.getChainId();
  const nonce = await c.client.readContract({
    address: c.coordinator,
    abi: abis().upgradeCoordinatorAbi,
    functionName: "nonces",
    args: [operator],
  });
  let proof: Hex;
  if (given) {
    if (!isHex(given)) throw new TaskError(`--proof "${given}" is not hex`);
    proof = given;
  } else {
    const key = attesterKeyFromEnv();
    if (!key) {
      throw new TaskError(
        "the attester key must prove possession: pass --proof (from validator:attester-proof) or set ATTESTER_KEY",
      );
    }
    if (key.address !== attester) throw new TaskError(`ATTESTER_KEY is ${key.address}, not the attester ${attester}`);
    proof = await signAttesterProof(c.client, { account: key, chainId, coordinator: c.coordinator, operator, nonce });
  }
  const valid = await verifyTypedData({
    address: attester,
    signature: proof,
    ...attesterProofTypedData(chainId, c.coordinator, operator, nonce),
  }).catch(() => false);
  if (!valid) {
    throw new TaskError(`the proof is not ${attester}'s signature for operator ${operator} at nonce ${nonce}`);
  }
  return proof;
}

const validator = (c: Connected, operator: `0x${string}`) =>
  c.client.readContract({
    address: c.coordinator,
    abi: abis().upgradeCoordinatorAbi,
    functionName: "getValidator",
    args: [operator],
  });

task("validator:attester-proof", "Signs, with the attester key in ATTESTER_KEY, the proof an operator registers with")
  .addParam("operator", "the operator that will register with, or rotate to, this key")
  .setAction(
    action(async (args: { operator: string }, hre) => {
      const c = await connectDeployment(hre);
      const operator = parseAddress(args.operator, "--operator");
      const key = attesterKeyFromEnv();
      if (!key) throw new TaskError("set ATTESTER_KEY to the attester's private key");
      const proof = await proofFor(c, operator, key.address, undefined);
      console.log(`attester ${key.address} for operator ${operator}: --proof ${proof}`);
    }),
  );

/** A coordinator call the operator makes, written as a Safe batch when the operator is a Safe (a contract operator). */
function operatorBatch(c: Connected, batch: BatchTarget, title: string, functionName: string, args: unknown[]) {
  writeBatch(c, batch, title, [{ to: c.coordinator, abi: abis().upgradeCoordinatorAbi as Abi, functionName, args }]);
  console.log("the proof serves once, at the operator's current nonce: sign the batch before any other proof is used");
}

task("validator:register", "Registers the signer (or, with --safe-batch, a Safe) as a validator operator")
  .addParam("attester", "the attester key's address (the watcher's hot key)")
  .addOptionalParam("proof", "the attester key's proof (validator:attester-proof); else signed with ATTESTER_KEY")
  .addOptionalParam("metadata", "moniker or metadata URI", "")
  .addOptionalParam("signer", "index of the operator account", "0")
  .addOptionalParam("safeBatch", "write a Safe Transaction Builder batch to this file instead of sending")
  .addOptionalParam("safe", "with --safe-batch: the Safe that is the operator")
  .setAction(
    action(async (args: { attester: string; proof?: string; metadata: string } & BatchArgs, hre) => {
      const attester = parseAddress(args.attester, "--attester");
      const { c, batch } = await connectFor(hre, args, true);
      if (batch) {
        if ((await validator(c, c.account)).registered)
          throw new TaskError(`${c.account} is already a registered validator`);
        const proof = await proofFor(c, c.account, attester, args.proof);
        const title = `Lockstep: register ${c.account} as a validator with attester ${attester}`;
        return operatorBatch(c, batch, title, "register", [attester, args.metadata, proof]);
      }
      const proof = await proofFor(c, c.account, attester, args.proof);
      const { hash } = await sendToCoordinator(c, "register", [attester, args.metadata, proof]);
      const v = await validator(c, c.account);
      console.log(`registered ${c.account} in cohort ${v.cohort} with attester ${attester} (transaction ${hash})`);
    }),
  );

task("validator:rotate-attester", "Replaces the signer's (or, with --safe-batch, a Safe's) attester key")
  .addPositionalParam("attester", "the new attester address")
  .addOptionalParam("proof", "the new key's proof (validator:attester-proof); else signed with ATTESTER_KEY")
  .addOptionalParam("signer", "index of the operator account", "0")
  .addOptionalParam("safeBatch", "write a Safe Transaction Builder batch to this file instead of sending")
  .addOptionalParam("safe", "with --safe-batch: the Safe that is the operator")
  .setAction(
    action(async (args: { attester: string; proof?: string } & BatchArgs, hre) => {
      const attester = parseAddress(args.attester, "attester");
      const { c, batch } = await connectFor(hre, args, true);
      if (batch) {
        if (!(await validator(c, c.account)).registered)
          throw new TaskError(`${c.account} is not a registered validator`);
        const proof = await proofFor(c, c.account, attester, args.proof);
        const title = `Lockstep: rotate the attester of ${c.account} to ${attester}`;
        return operatorBatch(c, batch, title, "rotateAttester", [attester, proof]);
      }
      const proof = await proofFor(c, c.account, attester, args.proof);
      const { hash } = await sendToCoordinator(c, "rotateAttester", [attester, proof]);
      console.log(`attester of ${c.account} is now ${attester}; the old key lost its power (transaction ${hash})`);
    }),
  );

task("validator:set-cohort", "Proposes moving validators to a cohort (governance); several operators make one proposal")
  .addPositionalParam("cohort", "the cohort number (1 = canary, 2 = early, 3 = main, ...)")
  .addVariadicPositionalParam("operators", "operator addresses")
  .addOptionalParam("signer", "index of the proposing account", "0")
  .addOptionalParam("safeBatch", "write a Safe Transaction Builder batch to this file instead of sending")
  .addOptionalParam("safe", "with --safe-batch: the Safe that proposes")
  .setAction(
    action(async (args: { cohort: string; operators: string[] } & BatchArgs, hre) => {
      const cohort = parseIntArg(args.cohort, "cohort", 1, 255);
      const operators = args.operators.map((o) => parseAddress(o, "operator"));
      const { c, batch } = await connectFor(hre, args, true);
      for (const op of operators) {
        if (!(await validator(c, op)).registered) throw new TaskError(`${op} is not a registered validator`);
      }
      await proposeCoordinatorCalls(
        c,
        operators.map((op) =>
          encodeFunctionData({ abi: abis().upgradeCoordinatorAbi, functionName: "setCohort", args: [op, cohort] }),
        ),
        `Move ${operators.length} validator(s) to cohort ${cohort}: ${operators.join(", ")}`,
        batch,
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
