// Watching and steering a rollout: status, pause, resume, withdraw, rollback, advance.
import { task } from "hardhat/config";
import { encodeFunctionData, parseEventLogs } from "viem";
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
import { proposeCoordinatorCalls } from "./governance";

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

function steering(
  name: string,
  description: string,
  run: (c: Connected, id: bigint) => Promise<void>,
  guardianVerb?: string,
) {
  task(name, description)
    .addPositionalParam("upgrade", "the upgrade's id or name")
    .addOptionalParam("signer", "index of the sending account", "0")
    .setAction(
      action(async (args: { upgrade: string; signer: string }, hre) => {
        const c = await connectDeployment(hre, parseIntArg(args.signer, "--signer"));
        if (guardianVerb) await asGuardian(c, guardianVerb);
        await run(c, await resolveUpgrade(c, args.upgrade));
      }),
    );
}

async function asGuardian(c: Connected, verb: string) {
  const guardian = await c.client.readContract({
    address: c.coordinator,
    abi: abis().upgradeCoordinatorAbi,
    functionName: "guardian",
  });
  if (guardian.toLowerCase() !== c.account.toLowerCase()) {
    throw new TaskError(
      `${c.account} is not the guardian (${guardian}): only the guardian may ${verb} at once; governance can through a proposal`,
    );
  }
}

steering(
  "upgrade:pause",
  "Pauses a rollout at once (the guardian)",
  async (c, id) => {
    const { hash } = await sendToCoordinator(c, "pause", [id]);
    console.log(`paused upgrade #${id} (transaction ${hash}); only governance can resume it`);
  },
  "pause",
);

steering(
  "upgrade:rollback",
  "Orders every upgraded validator back to the previous version (the guardian)",
  async (c, id) => {
    const { hash } = await sendToCoordinator(c, "orderRollback", [id]);
    console.log(`rollback ordered for upgrade #${id} (transaction ${hash}); watchers restore the previous version`);
  },
  "order a rollback",
);

steering(
  "upgrade:advance",
  "Verifies the current stage or activates the next one, when due (anyone)",
  async (c, id) => {
    const { hash, receipt } = await sendToCoordinator(c, "advance", [id]);
    const names = parseEventLogs({ abi: abis().upgradeCoordinatorAbi, logs: receipt.logs }).map((e) => e.eventName);
    console.log(`advanced upgrade #${id}: ${names.join(", ")} (transaction ${hash})`);
  },
);

steering("upgrade:resume", "Proposes resuming a paused rollout (governance)", async (c, id) => {
  await proposeCoordinatorCalls(
    c,
    [encodeFunctionData({ abi: abis().upgradeCoordinatorAbi, functionName: "resume", args: [id] })],
    `Resume upgrade #${id}`,
  );
});

steering("upgrade:withdraw", "Proposes withdrawing an upgrade that has not ended (governance)", async (c, id) => {
  await proposeCoordinatorCalls(
    c,
    [encodeFunctionData({ abi: abis().upgradeCoordinatorAbi, functionName: "withdraw", args: [id] })],
    `Withdraw upgrade #${id}`,
  );
});
