// The coordinator's state as Prometheus metrics, named as the watcher's are: lockstep_<thing>_<unit>, stake in
// wei (`_wei`), times as `_timestamp_seconds` (chain time), enums as one series per value (1 for the current one).
// Built anew from each snapshot into a fresh registry, so a scrape never sees half of one refresh.
import { Counter, Gauge, Registry } from "prom-client";
import { UpgradeState } from "../../lib/coordinator";
import { inFlight } from "../../lib/history/reducer";
import { stageDeadlineAt, stageNotBefore, stageObservationEndsAt } from "../../lib/history/rules";
import type { CoordinatorSnapshot } from "./coordinator";

const UPGRADE_STATES = Object.keys(UpgradeState).filter((k) => Number.isNaN(Number(k)));
const STAGE_STATES = ["Pending", "Active", "Verified"] as const;
const STAGE_LABELS = ["upgrade", "stage", "cohort"] as const;

const n = (x: bigint) => Number(x);

/** The exporter's own health, kept across refreshes. */
export interface ExporterStatus {
  /** Unix ms of the last refresh that succeeded (0: none yet). */
  lastRefreshMs: number;
  refreshErrors: number;
}

export function coordinatorRegistry(s: CoordinatorSnapshot | undefined, status: ExporterStatus): Registry {
  const registry = new Registry();
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) =>
    new Gauge<L>({ name, help, labelNames, registers: [registry] });

  gauge(
    "lockstep_exporter_last_refresh_timestamp_seconds",
    "When the exporter last read the coordinator successfully (0: not yet)",
  ).set(status.lastRefreshMs / 1000);
  new Counter({
    name: "lockstep_exporter_refresh_errors_total",
    help: "Refreshes that failed since the exporter started",
    registers: [registry],
  }).inc(status.refreshErrors);
  if (!s) return registry;

  gauge("lockstep_coordinator_block", "The last block the exporter followed").set(n(s.block.number));
  gauge("lockstep_coordinator_block_timestamp_seconds", "Chain time of that block").set(n(s.block.timestamp));
  const registered = [...s.history.registry.values()].filter((r) => (r.cohorts.at(-1)?.cohort ?? 0) !== 0);
  gauge("lockstep_registered_validators", "Validators registered with the coordinator").set(registered.length);

  // ------------------------------------------------------------------ upgrades
  const info = gauge("lockstep_upgrade_info", "Each upgrade's name and versions (1)", [
    "upgrade",
    "name",
    "version",
    "previous_version",
  ]);
  const state = gauge("lockstep_upgrade_state", "Each upgrade's state: 1 for its current state, 0 for the others", [
    "upgrade",
    "state",
  ]);
  const paused = gauge("lockstep_upgrade_paused", "1 while the upgrade is paused, with why", ["upgrade", "reason"]);
  const inFlightG = gauge("lockstep_upgrade_in_flight", "1 while the upgrade is scheduled, rolling or paused", [
    "upgrade",
  ]);
  const current = gauge("lockstep_upgrade_current_stage", "The stage the upgrade is at", ["upgrade"]);
  const attestations = gauge("lockstep_upgrade_attestations", "Attestations counted for the upgrade", ["upgrade"]);

  // ------------------------------------------------------------------ stages
  const stageState = gauge("lockstep_stage_state", "Each stage's state: 1 for the current one, 0 for the others", [
    ...STAGE_LABELS,
    "state",
  ]);
  const stake = (what: string, help: string) => gauge(`lockstep_stage_${what}_wei`, help, STAGE_LABELS);
  const cohortStake = stake("cohort_stake", "The cohort's stake at the upgrade's snapshot");
  const ready = stake("ready_stake", "Stake that attested Ready");
  const readyNeeded = stake("ready_needed", "Ready stake the stage needs to activate");
  const healthy = stake("healthy_stake", "Stake reporting Healthy");
  const healthyNeeded = stake("healthy_needed", "Healthy stake the stage needs to be verified (and by its deadline)");
  const unhealthy = stake("unhealthy_stake", "Stake reporting Unhealthy, FailedToUpgrade or RolledBack");
  const unhealthyLimit = stake("unhealthy_limit", "Not-healthy stake that pauses the upgrade");
  const missing = stake(
    "missing_stake",
    "Cohort stake not heard from: no Ready before activation, no health report once active",
  );
  const time = (what: string, help: string) => gauge(`lockstep_stage_${what}_timestamp_seconds`, help, STAGE_LABELS);
  const notBefore = time(
    "not_before",
    "When the stage's time lock ends or ended (known once the stage before it is verified)",
  );
  const activated = time("activated", "When the stage activated");
  const observationEnds = time("observation_end", "When the active stage's observation window ends");
  const deadline = time(
    "attestation_deadline",
    "The active stage's participation deadline: short of healthy stake after it, anyone may pause the upgrade",
  );

  for (const u of s.history.upgrades) {
    const upgrade = String(u.id);
    info.set({ upgrade, name: u.name, version: u.manifest.version, previous_version: u.manifest.previousVersion }, 1);
    for (const st of UPGRADE_STATES) state.set({ upgrade, state: st }, u.state === st ? 1 : 0);
    paused.set({ upgrade, reason: u.state === "Paused" ? u.pauseReason : "None" }, u.state === "Paused" ? 1 : 0);
    inFlightG.set({ upgrade }, inFlight(u.state) ? 1 : 0);
    current.set({ upgrade }, u.currentStage);
    attestations.set({ upgrade }, u.attestationCount);
    for (const st of u.stages) {
      const l = { upgrade, stage: String(st.index), cohort: String(st.cohort) };
      for (const x of STAGE_STATES) stageState.set({ ...l, state: x }, st.state === x ? 1 : 0);
      cohortStake.set(l, n(st.cohortStake));
      ready.set(l, n(st.readyStake));
      readyNeeded.set(l, n(st.readyNeeded));
      healthy.set(l, n(st.healthyStake));
      healthyNeeded.set(l, n(st.healthyNeeded));
      unhealthy.set(l, n(st.unhealthyStake));
      unhealthyLimit.set(l, n(st.unhealthyLimit));
      const heard = st.activated ? st.healthyStake + st.unhealthyStake : st.readyStake;
      missing.set(l, n(st.cohortStake > heard ? st.cohortStake - heard : 0n));
      const nb = stageNotBefore(u, st);
      if (nb !== undefined) notBefore.set(l, n(nb));
      if (st.activated?.time !== undefined) activated.set(l, n(st.activated.time));
      if (st.state === "Active" && inFlight(u.state)) {
        const ends = stageObservationEndsAt(st);
        const due = stageDeadlineAt(u, st);
        if (ends !== undefined) observationEnds.set(l, n(ends));
        if (due !== undefined) deadline.set(l, n(due));
      }
    }
  }

  // ------------------------------------------------------------------ restart budget and leases
  gauge(
    "lockstep_restart_budget_bps",
    "Restart budget governance set for the next upgrades, in basis points of the registered stake",
  ).set(s.budgetSetting.bps);
  gauge("lockstep_restart_lease_duration_seconds", "Lease duration governance set for the next upgrades").set(
    s.budgetSetting.leaseDurationSeconds,
  );
  const b = s.leases;
  if (b) {
    const l = { upgrade: String(b.upgradeId) };
    const leased = [...b.held.values()].reduce((sum, x) => sum + x.weight, 0n);
    gauge("lockstep_lease_budget_wei", "The live restart budget (the latest upgrade's), in stake", ["upgrade"]).set(
      l,
      n(b.budget),
    );
    gauge("lockstep_leased_stake_wei", "Stake under a restart lease now (granted, not released, not expired)", [
      "upgrade",
    ]).set(l, n(leased));
    gauge("lockstep_leases_held", "Restart leases held now", ["upgrade"]).set(l, b.held.size);
    gauge("lockstep_lease_grants", "Restart leases granted under the live budget", ["upgrade"]).set(l, b.granted);
    gauge("lockstep_lease_budget_duration_seconds", "The live budget's lease duration", ["upgrade"]).set(
      l,
      b.durationSeconds,
    );
  }
  return registry;
}
