// The audit trail at the end of the drill: the coordinator's event history decoded with lib/events.ts (one line
// per event with its transaction hash), and the full audit (the `audit` task over lib/history) that rebuilds
// every upgrade from logs alone and checks it.
import { dirname } from "node:path";
import type { Log } from "viem";
import { byChainOrder, decodeCoordinatorLog, type CoordinatorEvent } from "../../lib/events";
import { Status, PauseReason, RollbackReason } from "../../lib/coordinator";
import { versionFromTag } from "../../lib/version";
import { wholeTokens } from "../../lib/format";
import type { Net } from "./network";

/** The coordinator's events since deployment, decoded, in chain order. */
export async function coordinatorHistory(net: Net): Promise<CoordinatorEvent[]> {
  const logs = await net.chain.client.getLogs({
    address: net.addresses.coordinator,
    fromBlock: BigInt(net.startBlock),
    toBlock: "latest",
  });
  const events = logs.map((l) => decodeCoordinatorLog(l as Log)).filter((e): e is CoordinatorEvent => !!e);
  return events.sort(byChainOrder);
}

const names = (operators: Map<string, string>, a: unknown) => operators.get(String(a).toLowerCase()) ?? String(a);

/** One line per event: block, what happened, transaction hash. Attestations are folded per upgrade when many. */
export function renderHistory(
  events: CoordinatorEvent[],
  operators: Map<string, string>,
  roles: Map<string, string>,
  foldOver = 40,
): string[] {
  const out: string[] = [];
  // Kinds of event that come by the hundred on a large set are folded into one line (first and last tx).
  const bulk = (e: CoordinatorEvent) =>
    e.eventName === "Attested"
      ? `Attested:${String((e.args as { upgradeId: bigint }).upgradeId)}`
      : e.eventName === "LeaseGranted" || e.eventName === "LeaseReleased"
        ? `Lease:${String((e.args as { upgradeId: bigint }).upgradeId)}`
        : e.eventName === "ValidatorRegistered" || e.eventName === "CohortAssigned"
          ? e.eventName
          : undefined;
  const perKind = new Map<string, number>();
  for (const e of events) {
    const k = bulk(e);
    if (k) perKind.set(k, (perKind.get(k) ?? 0) + 1);
  }
  const folded = new Map<
    string,
    { count: number; byStatus: Record<string, number>; first: string; last: string; line: number }
  >();
  const who = (a: unknown) => roles.get(String(a).toLowerCase()) ?? names(operators, a);
  for (const e of events) {
    const at = `#${e.blockNumber.toString().padStart(5)}`;
    const tx = e.transactionHash;
    const a = e.args as Record<string, unknown>;
    const kind = bulk(e);
    if (kind && (perKind.get(kind) ?? 0) > foldOver) {
      const label =
        e.eventName === "Attested"
          ? Status[Number(a.status)]
          : e.eventName === "LeaseGranted" || e.eventName === "LeaseReleased"
            ? e.eventName.slice(5).toLowerCase()
            : e.eventName === "CohortAssigned"
              ? `cohort ${a.newCohort}`
              : `cohort ${a.cohort}`;
      const f = folded.get(kind);
      if (!f) {
        folded.set(kind, { count: 1, byStatus: { [label]: 1 }, first: tx, last: tx, line: out.length });
        out.push(`${at}  `);
      } else {
        f.count += 1;
        f.byStatus[label] = (f.byStatus[label] ?? 0) + 1;
        f.last = tx;
      }
      continue;
    }
    let text: string | undefined;
    switch (e.eventName) {
      case "ValidatorRegistered":
        text = `validator ${names(operators, a.operator)} registered (attester ${String(a.attester).slice(0, 10)}…, cohort ${a.cohort})`;
        break;
      case "CohortAssigned":
        text = `${names(operators, a.operator)} moved to cohort ${a.newCohort} (was ${a.previousCohort}) by governance`;
        break;
      case "UpgradeScheduled": {
        const m = a.manifest as { name: string; version: string; previousVersion: string; manifestHash: string };
        text = `upgrade ${a.upgradeId} scheduled: ${m.name} ${m.previousVersion} → ${m.version}, manifest ${m.manifestHash}, snapshot block ${a.snapshot}`;
        break;
      }
      case "StageActivated":
        text = `upgrade ${a.upgradeId} stage ${a.stage} (cohort ${a.cohort}) activated`;
        break;
      case "StageVerified":
        text = `upgrade ${a.upgradeId} stage ${a.stage} verified (healthy stake ${fmt(a.healthyStake)} ≥ ${fmt(a.healthyNeeded)}, unhealthy ${fmt(a.unhealthyStake)})`;
        break;
      case "UpgradePaused":
        text = `upgrade ${a.upgradeId} PAUSED at stage ${a.stage}: ${PauseReason[Number(a.reason)]} (unhealthy stake ${fmt(a.unhealthyStake)}) by ${who(a.by)}`;
        break;
      case "UpgradeResumed":
        text = `upgrade ${a.upgradeId} resumed by ${who(a.by)}`;
        break;
      case "UpgradeWithdrawn":
        text = `upgrade ${a.upgradeId} withdrawn by ${who(a.by)}`;
        break;
      case "RollbackOrdered":
        text = `upgrade ${a.upgradeId} ROLLBACK ordered at stage ${a.stage} (${RollbackReason[Number(a.reason)]}) by ${who(a.by)}`;
        break;
      case "UpgradeCompleted":
        text = `upgrade ${a.upgradeId} completed (${a.stageCount} stages)`;
        break;
      case "Attested": {
        const status = Status[Number(a.status)];
        text = `  ${names(operators, a.operator)} attested ${status} for upgrade ${a.upgradeId} stage ${a.stage} (${versionFromTag(String(a.version))}, weight ${fmt(a.weight)})`;
        break;
      }
      case "GuardianSet":
        text = `guardian set to ${String(a.newGuardian)} (was ${String(a.previousGuardian)})`;
        break;
      case "RestartBudgetSet":
        text = `restart budget set to ${Number(a.newBps) / 100}% of the registered stake, leases of ${a.newLeaseDuration} s, by governance`;
        break;
      case "LeaseBudgetOpened":
        text = `upgrade ${a.upgradeId} restart budget opened: ${fmt(a.budget)} LSTK`;
        break;
      case "LeaseGranted":
        text = `  restart lease granted to ${names(operators, a.attester)}: ${fmt(a.weight)} (leased now ${fmt(a.inUse)})`;
        break;
      case "LeaseReleased":
        text = `  restart lease of ${names(operators, a.attester)} released: ${fmt(a.weight)} (leased now ${fmt(a.inUse)})`;
        break;
      case "LeasesExpired":
        text = `  restart leases expired: ${fmt(a.stake)} (leased now ${fmt(a.inUse)})`;
        break;
      case "DefaultCohortSet":
        text = `new registrations land in cohort ${a.newCohort}`;
        break;
      default:
        text = `${e.eventName}`;
    }
    out.push(`${at}  ${text.padEnd(100)}  tx ${tx}`);
  }
  for (const [kind, f] of folded) {
    const counts = Object.entries(f.byStatus)
      .map(([s, n]) => `${s} ×${n}`)
      .join(", ");
    const what = kind.startsWith("Attested:")
      ? `attestations for upgrade ${kind.slice(9)}`
      : kind.startsWith("Lease:")
        ? `restart lease events for upgrade ${kind.slice(6)}`
        : kind === "CohortAssigned"
          ? "cohort assignments by governance"
          : "validators registered";
    out[f.line] += `${f.count} ${what}: ${counts} (first tx ${f.first}, last tx ${f.last})`;
  }
  return out;
}

const fmt = (v: unknown) => (typeof v === "bigint" ? wholeTokens(v) : String(v));

/**
 * The full audit (`npx hardhat audit`): the history of every upgrade rebuilt from the coordinator's logs alone and
 * checked. Returns whether every check passed, a one-line summary and the report (markdown, each line naming its
 * transaction).
 */
export async function runAudit(net: Net): Promise<{ ok: boolean; summary: string; report: string }> {
  const { createPublicClient } = await import("viem");
  const { runAudit: audit } = await import("../../tasks/audit");
  const client = createPublicClient({ transport: net.chain.transport });
  const run = await audit({ network: net.network, client, deploymentsDir: dirname(net.deploymentsFile), format: "md" });
  return { ok: run.ok, summary: run.summary, report: run.report };
}
