// Watching and steering a rollout: status, pause, resume, withdraw, rollback, advance.
import { task } from "hardhat/config";
import { encodeFunctionData, getAddress, parseEventLogs, zeroAddress, type Abi } from "viem";
import { Status, StageState, UpgradeState, PauseReason } from "../lib/coordinator";
import { versionFromTag } from "../lib/version";
import { isoTime, percent as pct, wholeTokens } from "../lib/format";
import {
  Connected,
  TaskError,
  abis,
  action,
  connectDeployment,
  parseIntArg,
  resolveUpgrade,
  sendToCoordinator,
  table,
} from "./cli";
import { connectFor, proposeCoordinatorCalls, writeBatch, type BatchArgs, type BatchTarget } from "./governance";

/** Whole tokens with thousands separators, "+" when a fraction is cut off (stakes are 18-decimal). */
const tokens = (wei: bigint) => wholeTokens(wei, true);
const when = (t: bigint | number) => (BigInt(t) === 0n ? "-" : isoTime(t));

/** The upgrade, each stage with its tallies, and each validator's last attestation: a readable report. */
export async function statusReport(c: Connected, id: bigint): Promise<string> {
  const coordinator = { address: c.coordinator, abi: abis().upgradeCoordinatorAbi } as const;
  const u = await c.client.readContract({ ...coordinator, functionName: "getUpgrade", args: [id] });
  const lines = [
    `upgrade #${id} ${versionFromTag(u.versionTag)}: ${UpgradeState[Number(u.state)]}` +
      (Number(u.pauseReason) ? ` (${PauseReason[Number(u.pauseReason)]} since ${when(u.pausedAt)})` : "") +
      `, stage ${u.currentStage} of ${u.stageCount}, scheduled ${when(u.scheduledAt)}, snapshot block ${u.snapshot}` +
      (u.endedAt ? `, ended ${when(u.endedAt)}` : "") +
      (u.restoredCount ? `, restored ${u.restoredCount} validators` : ""),
  ];
  const rows: (string | bigint | number)[][] = [
    [
      "stage",
      "cohort",
      "state",
      "not before",
      "activated",
      "observe until",
      "verified",
      "ready",
      "healthy",
      "unhealthy",
      "missing",
    ],
  ];
  for (let i = 0; i < Number(u.stageCount); i++) {
    const s = await c.client.readContract({ ...coordinator, functionName: "getStage", args: [id, BigInt(i)] });
    const missing = s.cohortStake - s.healthyStake - s.unhealthyStake;
    rows.push([
      i,
      s.rules.cohort,
      StageState[Number(s.state)],
      when(s.notBefore),
      when(s.activatedAt),
      when(s.observationEndsAt),
      when(s.verifiedAt),
      `${pct(s.readyStake, s.cohortStake)} (need ${pct(s.readyNeeded, s.cohortStake)})`,
      `${pct(s.healthyStake, s.cohortStake)} (need ${pct(s.healthyNeeded, s.cohortStake)})`,
      `${pct(s.unhealthyStake, s.cohortStake)} (pause at ${pct(s.unhealthyLimit, s.cohortStake)})`,
      s.activatedAt ? pct(missing, s.cohortStake) : "-",
    ]);
  }
  lines.push(table(rows));
  const registered = await c.client.getContractEvents({
    ...coordinator,
    eventName: "ValidatorRegistered",
    fromBlock: BigInt(c.deployment.startBlock),
  });
  const operators = [...new Set(registered.map((e) => e.args.operator!))];
  const symbol = await c.client.readContract({ address: c.token, abi: abis().stakeTokenAbi, functionName: "symbol" });
  const vrows: (string | bigint | number)[][] = [
    ["operator", "cohort", "stage", `weight (${symbol})`, "last status", "at"],
  ];
  for (const op of operators) {
    const a = await c.client.readContract({ ...coordinator, functionName: "getAssignment", args: [id, op] });
    if (!a.inRoster) continue;
    const last = BigInt(a.lastUpgradeId) === id ? Status[Number(a.lastStatus)] : "none";
    vrows.push([
      op,
      a.cohort,
      a.stage,
      tokens(a.weight),
      last,
      BigInt(a.lastUpgradeId) === id ? when(a.lastAttestedAt) : "-",
    ]);
  }
  if (vrows.length > 1) lines.push(table(vrows));
  return lines.join("\n");
}

task(
  "upgrade:status",
  "Prints an upgrade, its stages with stake-weighted tallies, and each validator's last attestation",
)
  .addOptionalPositionalParam("upgrade", "the upgrade's id or name (default: the open one, else the latest)")
  .setAction(
    action(async (args: { upgrade?: string }, hre) => {
      const c = await connectDeployment(hre);
      let id: bigint;
      if (args.upgrade) id = await resolveUpgrade(c, args.upgrade);
      else {
        const coordinator = { address: c.coordinator, abi: abis().upgradeCoordinatorAbi } as const;
        id =
          (await c.client.readContract({ ...coordinator, functionName: "openUpgrade" })) ||
          (await c.client.readContract({ ...coordinator, functionName: "upgradeCount" }));
        if (id === 0n) throw new TaskError("no upgrade has been scheduled yet");
      }
      console.log(await statusReport(c, id));
    }),
  );

type Mode = "guardian" | "anyone" | "governance";

/**
 * A task that steers one upgrade. With `--safe-batch out.json` it writes what it would send as a Safe Transaction
 * Builder batch instead: for guardian actions the Safe defaults to the coordinator's guardian.
 */
function steering(
  name: string,
  description: string,
  mode: Mode,
  run: (c: Connected, id: bigint, batch?: BatchTarget) => Promise<void>,
  guardianVerb?: string,
) {
  task(name, description)
    .addPositionalParam("upgrade", "the upgrade's id or name")
    .addOptionalParam("signer", "index of the sending account", "0")
    .addOptionalParam("safeBatch", "write a Safe Transaction Builder batch to this file instead of sending")
    .addOptionalParam("safe", "with --safe-batch: the Safe that signs (default for guardian actions: the guardian)")
    .setAction(
      action(async (args: { upgrade: string } & BatchArgs, hre) => {
        const { c, batch } = await connectFor(hre, args, mode !== "guardian");
        if (batch && !batch.safe) {
          batch.safe = await guardianOf(c);
          c.account = batch.safe;
          if (batch.safe === zeroAddress) throw new TaskError("the coordinator has no guardian: pass --safe");
        }
        if (guardianVerb) await asGuardian(c, guardianVerb);
        await run(c, await resolveUpgrade(c, args.upgrade), batch);
      }),
    );
}

const guardianOf = async (c: Connected) =>
  getAddress(
    await c.client.readContract({
      address: c.coordinator,
      abi: abis().upgradeCoordinatorAbi,
      functionName: "guardian",
    }),
  );

/** A coordinator call written as a Safe batch of one transaction. */
function coordinatorBatch(c: Connected, batch: BatchTarget, functionName: string, id: bigint, title: string) {
  writeBatch(c, batch, title, [
    { to: c.coordinator, abi: abis().upgradeCoordinatorAbi as Abi, functionName, args: [id] },
  ]);
}

async function asGuardian(c: Connected, verb: string) {
  const guardian = await guardianOf(c);
  if (guardian.toLowerCase() !== c.account.toLowerCase()) {
    throw new TaskError(
      `${c.account} is not the guardian (${guardian}): only the guardian may ${verb} at once; governance can through a proposal`,
    );
  }
}

steering(
  "upgrade:pause",
  "Pauses a rollout at once (the guardian)",
  "guardian",
  async (c, id, batch) => {
    if (batch) return coordinatorBatch(c, batch, "pause", id, `Lockstep: pause upgrade #${id}`);
    const { hash } = await sendToCoordinator(c, "pause", [id]);
    console.log(`paused upgrade #${id} (transaction ${hash}); only governance can resume it`);
  },
  "pause",
);

steering(
  "upgrade:rollback",
  "Orders every upgraded validator back to the previous version (the guardian)",
  "guardian",
  async (c, id, batch) => {
    if (batch) return coordinatorBatch(c, batch, "orderRollback", id, `Lockstep: roll back upgrade #${id}`);
    const { hash } = await sendToCoordinator(c, "orderRollback", [id]);
    console.log(`rollback ordered for upgrade #${id} (transaction ${hash}); watchers restore the previous version`);
  },
  "order a rollback",
);

steering(
  "upgrade:advance",
  "Verifies the current stage or activates the next one, when due (anyone)",
  "anyone",
  async (c, id, batch) => {
    if (batch) return coordinatorBatch(c, batch, "advance", id, `Lockstep: advance upgrade #${id}`);
    const { hash, receipt } = await sendToCoordinator(c, "advance", [id]);
    const names = parseEventLogs({ abi: abis().upgradeCoordinatorAbi, logs: receipt.logs }).map((e) => e.eventName);
    console.log(`advanced upgrade #${id}: ${names.join(", ")} (transaction ${hash})`);
  },
);

steering("upgrade:resume", "Proposes resuming a paused rollout (governance)", "governance", async (c, id, batch) => {
  await proposeCoordinatorCalls(
    c,
    [encodeFunctionData({ abi: abis().upgradeCoordinatorAbi, functionName: "resume", args: [id] })],
    `Resume upgrade #${id}`,
    batch,
  );
});

steering(
  "upgrade:withdraw",
  "Proposes withdrawing an upgrade that has not ended (governance)",
  "governance",
  async (c, id, batch) => {
    await proposeCoordinatorCalls(
      c,
      [encodeFunctionData({ abi: abis().upgradeCoordinatorAbi, functionName: "withdraw", args: [id] })],
      `Withdraw upgrade #${id}`,
      batch,
    );
  },
);

task("upgrade:restart-budget", "Proposes the restart budget: largest share of stake restarting at once (governance)")
  .addOptionalParam("bps", "basis points of total stake (default: the deployment's restartBudgetBps)")
  .addOptionalParam("leaseDuration", "seconds a lease lasts (default: the deployment's leaseDuration)")
  .addOptionalParam("signer", "index of the proposing account", "0")
  .addOptionalParam("safeBatch", "write a Safe Transaction Builder batch to this file instead of sending")
  .addOptionalParam("safe", "with --safe-batch: the Safe that proposes")
  .setAction(
    action(async (args: { bps?: string; leaseDuration?: string } & BatchArgs, hre) => {
      const { c, batch } = await connectFor(hre, args, true);
      const recorded = c.deployment.params;
      const bps = args.bps ?? String(recorded.restartBudgetBps ?? "");
      const lease = args.leaseDuration ?? String(recorded.leaseDuration ?? "");
      if (!bps || !lease)
        throw new TaskError("the deployment records no restart budget: pass --bps and --lease-duration");
      const b = parseIntArg(bps, "--bps", 0, 10_000);
      const d = parseIntArg(lease, "--lease-duration", 1, 2 ** 24 - 1);
      await proposeCoordinatorCalls(
        c,
        [encodeFunctionData({ abi: abis().upgradeCoordinatorAbi, functionName: "setRestartBudget", args: [b, d] })],
        `Set the restart budget to ${b} bps of total stake, leases of ${d} s`,
        batch,
      );
    }),
  );
