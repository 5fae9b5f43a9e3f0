// The checks an auditor runs over a folded history: each event the fold kept a step for is compared with what the
// logs said just before it (ordering, thresholds, automatic stops, authority, terminal states), then one pass line
// per upgrade for the checks that only report failures event by event.
import { byChainOrder } from "../events";
import { PauseReason, RollbackReason, Status } from "../coordinator";
import type { Check, CheckKind, TxRef, UpgradeHistory } from "./model";
import { inFlight, type FoldStep, type HistoryState } from "./reducer";
import {
  attestationDeadlineAt,
  deadlinePassed,
  notBefore,
  observationEndsAt,
  observationOver,
  participationMet,
  readinessMet,
  timelockOver,
  unhealthyReached,
} from "./rules";

const lower = (a: string) => a.toLowerCase();

/** The checks of a folded history, in the order of the events they are about. */
export function auditChecks(state: HistoryState): Check[] {
  const h = state.history;
  const checks: Check[] = [];
  const check = (kind: CheckKind, ok: boolean, detail: string, ref?: TxRef, u?: UpgradeHistory) =>
    checks.push({
      kind,
      ok,
      detail,
      block: ref?.block,
      time: ref?.time,
      tx: ref?.tx,
      logIndex: ref?.logIndex,
      upgradeId: u?.id,
      name: u?.name,
    });

  for (const step of state.steps) auditStep(step, check, h.registryComplete);

  // One pass line per upgrade for the checks that only report failures event by event.
  for (const u of h.upgrades) {
    const last = u.transitions[u.transitions.length - 1];
    const failed = (k: CheckKind) => checks.some((c) => c.kind === k && c.upgradeId === u.id && !c.ok);
    if (!failed("attestations")) {
      const lastAttestation = [...u.validators.values()].sort((a, b) =>
        byChainOrder(
          { blockNumber: b.last.block, logIndex: b.last.logIndex },
          { blockNumber: a.last.block, logIndex: a.last.logIndex },
        ),
      )[0];
      check(
        "attestations",
        true,
        `${u.attestationCount} attestation(s) from ${u.validators.size} validator(s), each from the stage of its cohort${h.registryComplete ? " at the snapshot" : ""}, one weight per validator${lastAttestation ? " (last attestation in this transaction)" : ""}`,
        lastAttestation?.last ?? u.scheduled,
        u,
      );
    }
    const l = u.leases;
    if (l && !failed("restart-budget")) {
      check(
        "restart-budget",
        true,
        `leased stake peaked at ${l.peak} of the budget ${l.budget} wei; ${l.granted} lease(s) granted, ${l.released} released by attestation, ${l.expiredStake} wei expired`,
        l.peakAt ?? l.opened,
        u,
      );
    }
    if (!inFlight(u.state) && !failed("terminal")) {
      check(
        "terminal",
        true,
        `ended ${u.state}; nothing moved it afterwards${u.state === "RolledBack" ? ` except ${u.restoredCount} restoration(s)` : ""}`,
        last,
        u,
      );
    }
  }
  return checks;
}

type CheckFn = (kind: CheckKind, ok: boolean, detail: string, ref?: TxRef, u?: UpgradeHistory) => void;

function auditStep(step: FoldStep, check: CheckFn, registryComplete: boolean) {
  const { event: e, ref } = step;
  if (e.eventName === "GuardianSet") {
    const { previousGuardian } = e.args;
    const known = step.guardianBefore;
    if (known !== undefined && lower(previousGuardian) !== known) {
      check(
        "guardian",
        false,
        `GuardianSet names ${previousGuardian} as the previous guardian, the logs say ${known}`,
        ref,
      );
    }
    return;
  }
  const u = step.upgrade;
  if (e.eventName === "UpgradeScheduled") {
    const { upgradeId, snapshot, cohortStakes } = e.args;
    const manifest = u!.manifest;
    const problems: string[] = [];
    const open = step.openBefore;
    if (open) problems.push(`upgrade #${open.id} (${open.name}) was still open`);
    if (step.sameName) problems.push(`the name was already used by upgrade #${step.sameName.id}`);
    if (cohortStakes.length !== manifest.stages.length)
      problems.push(`${cohortStakes.length} cohort stakes for ${manifest.stages.length} stages`);
    if (u!.stages.some((s) => s.cohortStake === 0n)) problems.push("a stage has an empty cohort");
    if (BigInt(snapshot) !== e.blockNumber - 1n)
      problems.push(`snapshot ${snapshot} is not the block before scheduling`);
    if (step.idTaken) problems.push(`upgrade id ${upgradeId} was scheduled twice`);
    check(
      "scheduled",
      problems.length === 0,
      problems.length
        ? problems.join("; ")
        : `"${u!.name}" ${manifest.previousVersion} -> ${manifest.version}, ${u!.stages.length} stage(s), snapshot block ${snapshot}, manifest hash ${manifest.manifestHash}`,
      ref,
      u,
    );
    return;
  }
  if (!u) {
    const upgradeId = (e.args as { upgradeId?: bigint }).upgradeId;
    check("scheduled", false, `${e.eventName} for upgrade #${upgradeId}, which the scanned logs never scheduled`, ref);
    return;
  }
  if (step.lease || e.eventName === "LeaseBudgetOpened") {
    auditLease(step, check);
    return;
  }
  const b = step.before!;
  const ended = !inFlight(b.state);
  /** A terminal upgrade must not move; returns false (after a failing line) when `u` had ended. */
  const stillOpen = (what: string) => {
    if (!ended) return true;
    check("terminal", false, `${what} after the upgrade ended ${b.state}`, ref, u);
    return false;
  };
  const anyActivated = b.stages.some((s) => s.activated);

  switch (e.eventName) {
    case "Attested": {
      const { operator, stage, status: st, weight } = e.args;
      const status = Number(st) as Status;
      const s = u.stages[Number(stage)];
      const where = `${operator} stage ${stage} ${Status[status]}`;
      if (!s) {
        check("attestations", false, `${where}: the upgrade has no such stage`, ref, u);
        break;
      }
      const sb = b.stages[s.index];
      const prev = step.previous;
      if (prev && prev.weight !== weight)
        check("attestations", false, `${where}: weight ${weight}, earlier ${prev.weight}`, ref, u);
      if (prev && prev.stage !== s.index)
        check("attestations", false, `${where}: the validator attested stage ${prev.stage} before`, ref, u);
      if (registryComplete && step.cohortAtSnapshot !== s.cohort) {
        check(
          "attestations",
          false,
          `${where}: the validator was in cohort ${step.cohortAtSnapshot} at the snapshot, the stage is cohort ${s.cohort}`,
          ref,
          u,
        );
      }
      if (status === Status.Ready) {
        if (ended) check("terminal", false, `${where} after the upgrade ended ${b.state}`, ref, u);
        else if (sb.activated) check("attestations", false, `${where}: Ready after the stage activated`, ref, u);
      } else if (!sb.activated) {
        check("attestations", false, `${where}: a health attestation before the stage activated`, ref, u);
      } else if (!ended) {
        // counted in the tallies
      } else if (!(b.state === "RolledBack" && status === Status.RolledBack && b.latest)) {
        check("terminal", false, `${where} after the upgrade ended ${b.state}`, ref, u);
      }
      const due = step.calls;
      if (due && !due.answered) {
        check(
          "automatic-stop",
          false,
          `stage ${due.stage}: not-healthy stake ${due.unhealthy} reached the ${due.kind} limit ${due.limit}, but no automatic ${due.kind} followed in that transaction`,
          ref,
          u,
        );
      }
      break;
    }
    case "StageActivated": {
      const { stage, cohort, readyStake, readyNeeded } = e.args;
      const i = Number(stage);
      const s = u.stages[i];
      if (!stillOpen(`stage ${i} activated`) || !s) {
        if (!s)
          check("stage-order", false, `stage ${i} activated, but the manifest has ${u.stages.length} stage(s)`, ref, u);
        break;
      }
      const sb = b.stages[i];
      const previousVerified = i > 0 ? b.stages[i - 1].verified : undefined;
      const order: string[] = [];
      if (i !== b.currentStage) order.push(`the current stage was ${b.currentStage}`);
      if (i > 0 && !previousVerified) order.push(`stage ${i - 1} was not verified`);
      if (sb.activated) order.push("it was already active");
      if (b.state === "Paused") order.push(`the upgrade was paused (${b.pauseReason})`);
      check(
        "stage-order",
        order.length === 0,
        order.length
          ? `stage ${i} activated although ${order.join(", ")}`
          : i === 0
            ? "stage 0 activated first"
            : `stage ${i} activated after stage ${i - 1} was verified (block ${previousVerified!.block})`,
        ref,
        u,
      );
      const ready: string[] = [];
      if (!readinessMet(sb.readyStake, s.readyNeeded))
        ready.push(`ready stake ${sb.readyStake} below the ${s.readyNeeded} needed`);
      if (readyStake !== sb.readyStake)
        ready.push(`the event says ready ${readyStake}, the logs add up to ${sb.readyStake}`);
      if (readyNeeded !== s.readyNeeded)
        ready.push(
          `the event says ${readyNeeded} needed, ceil(${s.cohortStake} x ${s.rules.readinessBps} / 10000) = ${s.readyNeeded}`,
        );
      if (Number(cohort) !== s.cohort) ready.push(`cohort ${cohort}, the manifest says ${s.cohort}`);
      const lockEnds = notBefore(i === 0 ? u.scheduled.time : previousVerified?.time, s.rules.timelock);
      if (lockEnds !== undefined && ref.time !== undefined && !timelockOver(ref.time, lockEnds)) {
        ready.push(`activated at ${ref.time}, before its time lock ended at ${lockEnds}`);
      }
      check(
        "activation-readiness",
        ready.length === 0,
        ready.length
          ? `stage ${i}: ${ready.join("; ")}`
          : `stage ${i}: ready stake ${sb.readyStake} >= ${s.readyNeeded} needed (${s.rules.readinessBps} bps of ${s.cohortStake}), time lock ${s.rules.timelock}s respected`,
        ref,
        u,
      );
      break;
    }
    case "StageVerified": {
      const { stage, healthyStake, healthyNeeded, unhealthyStake } = e.args;
      const i = Number(stage);
      const s = u.stages[i];
      if (!stillOpen(`stage ${i} verified`) || !s) {
        if (!s)
          check("stage-order", false, `stage ${i} verified, but the manifest has ${u.stages.length} stage(s)`, ref, u);
        break;
      }
      const sb = b.stages[i];
      const order: string[] = [];
      if (!sb.activated) order.push("it never activated");
      if (sb.verified) order.push("it was already verified");
      if (i !== b.currentStage) order.push(`the current stage was ${b.currentStage}`);
      if (b.state === "Paused") order.push(`the upgrade was paused (${b.pauseReason})`);
      check(
        "stage-order",
        order.length === 0,
        order.length ? `stage ${i} verified although ${order.join(", ")}` : `stage ${i} verified while active`,
        ref,
        u,
      );
      const health: string[] = [];
      if (!participationMet(sb.healthyStake, s.healthyNeeded))
        health.push(`healthy stake ${sb.healthyStake} below the ${s.healthyNeeded} needed`);
      if (unhealthyReached(sb.unhealthyStake, s.unhealthyLimit))
        health.push(`not-healthy stake ${sb.unhealthyStake} at or over its limit ${s.unhealthyLimit}`);
      if (healthyStake !== sb.healthyStake)
        health.push(`the event says healthy ${healthyStake}, the logs add up to ${sb.healthyStake}`);
      if (healthyNeeded !== s.healthyNeeded)
        health.push(
          `the event says ${healthyNeeded} needed, ceil(${s.cohortStake} x ${s.rules.healthyBps} / 10000) = ${s.healthyNeeded}`,
        );
      if (unhealthyStake !== sb.unhealthyStake)
        health.push(`the event says not-healthy ${unhealthyStake}, the logs add up to ${sb.unhealthyStake}`);
      if (sb.activated?.time !== undefined && ref.time !== undefined) {
        const endsAt = observationEndsAt(sb.activated.time, s.rules.observationWindow);
        if (!observationOver(ref.time, endsAt))
          health.push(`verified at ${ref.time}, before its observation window ended at ${endsAt}`);
      }
      check(
        "verification-health",
        health.length === 0,
        health.length
          ? `stage ${i}: ${health.join("; ")}`
          : `stage ${i}: healthy ${sb.healthyStake} >= ${s.healthyNeeded} needed, not-healthy ${sb.unhealthyStake} < limit ${s.unhealthyLimit}, observed ${s.rules.observationWindow}s`,
        ref,
        u,
      );
      break;
    }
    case "UpgradePaused": {
      const { by, reason: r, stage, healthyStake, unhealthyStake } = e.args;
      const reason = PauseReason[Number(r)] as keyof typeof PauseReason;
      const i = Number(stage);
      const s = u.stages[i];
      const sb = s ? b.stages[i] : undefined;
      const actor = step.actor;
      if (!stillOpen(`a pause (${reason})`)) break;
      const problems: string[] = [];
      if (b.state === "Paused") problems.push(`already paused (${b.pauseReason})`);
      if (sb && healthyStake !== sb.healthyStake)
        problems.push(`the event says healthy ${healthyStake}, the logs add up to ${sb.healthyStake}`);
      if (sb && unhealthyStake !== sb.unhealthyStake)
        problems.push(`the event says not-healthy ${unhealthyStake}, the logs add up to ${sb.unhealthyStake}`);
      if (Number(r) === PauseReason.UnhealthyThreshold) {
        if (!step.justified)
          problems.push(
            `no attestation in this transaction took stage ${i}'s not-healthy stake to its limit ${s?.unhealthyLimit}`,
          );
      } else if (Number(r) === PauseReason.ParticipationDeadline) {
        if (!sb?.activated) problems.push(`stage ${i} was not active`);
        else {
          const deadlineAt = attestationDeadlineAt(sb.activated.time ?? 0n, b.resumedAt, s.rules.attestationDeadline);
          if (ref.time !== undefined && !deadlinePassed(ref.time, deadlineAt))
            problems.push(`the attestation deadline ${deadlineAt} had not passed`);
          if (participationMet(sb.healthyStake, s.healthyNeeded))
            problems.push(`healthy stake ${sb.healthyStake} had met the ${s.healthyNeeded} needed`);
        }
      }
      check(
        "automatic-stop",
        problems.length === 0,
        problems.length
          ? `pause (${reason}) at stage ${i}: ${problems.join("; ")}`
          : reason === "UnhealthyThreshold"
            ? `stage ${i}: paused automatically when not-healthy stake ${sb!.unhealthyStake} reached its limit ${s.unhealthyLimit}`
            : reason === "ParticipationDeadline"
              ? `stage ${i}: paused for missing participation (healthy ${sb!.healthyStake} < ${s.healthyNeeded} past the deadline), triggered by ${by}`
              : `stage ${i}: paused by hand`,
        ref,
        u,
      );
      if (actor !== "automatic") {
        const ok = actor === "guardian" || actor === "governance" || actor === "unknown";
        check(
          "authority",
          ok,
          ok
            ? `paused by the ${actor === "unknown" ? "guardian or governance (roles not given)" : actor} ${by}`
            : `paused by ${by}, neither the guardian nor governance`,
          ref,
          u,
        );
      }
      break;
    }
    case "UpgradeResumed": {
      const { by } = e.args;
      const actor = step.actor;
      if (!stillOpen("a resume")) break;
      const problems: string[] = [];
      if (b.state !== "Paused") problems.push("it was not paused");
      if (actor === "guardian") problems.push(`by the guardian ${by}: only governance resumes`);
      else if (actor === "anyone") problems.push(`by ${by}, not governance`);
      check(
        "authority",
        problems.length === 0,
        problems.length
          ? `resume: ${problems.join("; ")}`
          : `resumed by ${actor === "governance" ? "governance" : "an account that is not the guardian (governance not given)"} ${by} after a ${b.pauseReason} pause`,
        ref,
        u,
      );
      break;
    }
    case "UpgradeWithdrawn": {
      const { by, anyStageActivated } = e.args;
      const actor = step.actor;
      if (!stillOpen("a withdrawal")) break;
      const problems: string[] = [];
      if (actor === "guardian") problems.push(`by the guardian ${by}: only governance withdraws`);
      else if (actor === "anyone") problems.push(`by ${by}, not governance`);
      if (anyStageActivated !== anyActivated)
        problems.push(`the event says anyStageActivated=${anyStageActivated}, the logs say ${anyActivated}`);
      check(
        "authority",
        problems.length === 0,
        problems.length
          ? `withdrawal: ${problems.join("; ")}`
          : `withdrawn by ${actor === "governance" ? "governance" : "an account that is not the guardian (governance not given)"} ${by}`,
        ref,
        u,
      );
      break;
    }
    case "RollbackOrdered": {
      const { by, reason: r, stage, unhealthyStake } = e.args;
      const reason = RollbackReason[Number(r)] as keyof typeof RollbackReason;
      const i = Number(stage);
      const s = u.stages[i];
      const sb = s ? b.stages[i] : undefined;
      const automatic = Number(r) === RollbackReason.AutomaticThreshold;
      const actor = step.actor;
      if (!stillOpen(`a rollback order (${reason})`)) break;
      const problems: string[] = [];
      if (!anyActivated) problems.push("no stage had activated");
      if (sb && unhealthyStake !== sb.unhealthyStake)
        problems.push(`the event says not-healthy ${unhealthyStake}, the logs add up to ${sb.unhealthyStake}`);
      if (automatic && !step.justified)
        problems.push(
          `no attestation in this transaction took stage ${i}'s not-healthy stake to its rollback limit ${s?.rollbackLimit}`,
        );
      check(
        "automatic-stop",
        problems.length === 0,
        problems.length
          ? `rollback (${reason}) at stage ${i}: ${problems.join("; ")}`
          : automatic
            ? `stage ${i}: rollback ordered automatically when not-healthy stake ${sb!.unhealthyStake} reached its limit ${s.rollbackLimit}`
            : `stage ${i}: rollback ordered by hand`,
        ref,
        u,
      );
      if (!automatic) {
        const ok = actor === "guardian" || actor === "governance" || actor === "unknown";
        check(
          "authority",
          ok,
          ok
            ? `rollback ordered by the ${actor === "unknown" ? "guardian or governance (roles not given)" : actor} ${by}`
            : `rollback ordered by ${by}, neither the guardian nor governance`,
          ref,
          u,
        );
      }
      break;
    }
    case "UpgradeCompleted": {
      const { stageCount } = e.args;
      if (!stillOpen("completion")) break;
      const problems: string[] = [];
      const unverified = b.stages.flatMap((s, index) => (s.verified ? [] : [index]));
      if (unverified.length) problems.push(`stage(s) ${unverified.join(", ")} never verified`);
      if (Number(stageCount) !== u.stages.length)
        problems.push(`the event says ${stageCount} stages, the manifest has ${u.stages.length}`);
      check(
        "completion",
        problems.length === 0,
        problems.length
          ? `completed although ${problems.join("; ")}`
          : `completed: all ${u.stages.length} stage(s) verified`,
        ref,
        u,
      );
      break;
    }
  }
}

/**
 * A lease event: the stake it reports leased must be what grants minus releases minus expiries give, and neither may
 * ever exceed the budget LeaseBudgetOpened fixed. Expiry is reported lazily, so the replayed figure errs high:
 * a budget this check passes was never exceeded.
 */
function auditLease(step: FoldStep, check: CheckFn) {
  const { event: e, ref, upgrade: u, lease } = step;
  if (!lease) return; // LeaseBudgetOpened: the budget the later events are held to
  const attester = (e.args as { attester?: string }).attester;
  const where = `${e.eventName}${attester ? ` ${attester}` : ""}`;
  if (lease.budget === undefined) {
    check("restart-budget", false, `${where}: the upgrade opened no restart budget (no LeaseBudgetOpened)`, ref, u);
    return;
  }
  const problems: string[] = [];
  if (lease.replayed !== lease.reported) {
    problems.push(
      `the event reports ${lease.reported} wei leased, grants minus releases minus expiries give ${lease.replayed}`,
    );
  }
  if (lease.replayed < 0n) problems.push("more stake released or expired than was granted");
  const high = lease.replayed > lease.reported ? lease.replayed : lease.reported;
  if (high > lease.budget) problems.push(`${high} wei leased exceeds the restart budget of ${lease.budget}`);
  if (problems.length) check("restart-budget", false, `${where}: ${problems.join("; ")}`, ref, u);
}
