// Decoded coordinator events into the machine's facts. Pure: what a fact needs from the chain beyond the event
// itself (this validator's stage in a newly scheduled upgrade) is read before the fold and passed in.
import type { CoordinatorEvent } from "../../lib/events";
import { fatal } from "./errors";
import { reduceAll } from "./machine/reduce";
import type { JobManifest, MachineEvent, Transition, WatcherState } from "./machine/types";

/** What folding a page needs beyond its events, gathered from the chain first. */
export interface PageContext {
  /** This watcher's artifact platform. */
  platform: string;
  /** For each upgrade scheduled in the page: this validator's stage, or null when its cohort has none. */
  stages: ReadonlyMap<number, number | null>;
}

/** The upgrades scheduled in `events`, whose stage for this validator the fold needs. */
export function scheduledIn(events: readonly CoordinatorEvent[]): number[] {
  return events.filter((e) => e.eventName === "UpgradeScheduled").map((e) => Number(e.args.upgradeId));
}

/** Folds a page's events into the state together, so facts from one block are weighed together. */
export function foldPage(
  state: WatcherState,
  events: readonly CoordinatorEvent[],
  context: PageContext,
): { facts: MachineEvent[]; transition: Transition } {
  const facts = events.flatMap((e) => toFact(e, context) ?? []);
  return { facts, transition: facts.length ? reduceAll(state, facts) : { state, effects: [] } };
}

export function toFact(event: CoordinatorEvent, context: PageContext): MachineEvent | undefined {
  switch (event.eventName) {
    case "UpgradeScheduled": {
      const upgradeId = Number(event.args.upgradeId);
      const stage = context.stages.get(upgradeId);
      if (stage === undefined) {
        throw fatal("missing-assignment", `folding upgrade ${upgradeId} without its assignment`, { upgradeId });
      }
      return { type: "Scheduled", upgradeId, stage, manifest: jobManifest(event.args.manifest, context.platform) };
    }
    case "StageActivated":
      return { type: "StageActivated", upgradeId: Number(event.args.upgradeId), stage: Number(event.args.stage) };
    case "UpgradePaused":
      return { type: "Paused", upgradeId: Number(event.args.upgradeId) };
    case "UpgradeResumed":
      return { type: "Resumed", upgradeId: Number(event.args.upgradeId) };
    case "UpgradeWithdrawn":
      return { type: "Withdrawn", upgradeId: Number(event.args.upgradeId) };
    case "RollbackOrdered":
      return { type: "RollbackOrdered", upgradeId: Number(event.args.upgradeId) };
    case "UpgradeCompleted":
      return { type: "Completed", upgradeId: Number(event.args.upgradeId) };
    default:
      return undefined;
  }
}

function jobManifest(
  m: {
    name: string;
    version: string;
    previousVersion: string;
    artifacts: readonly { platform: string; uri: string; sha256Digest: `0x${string}` }[];
    manifestHash: `0x${string}`;
    stateIncompatible: boolean;
  },
  platform: string,
): JobManifest {
  const artifact = m.artifacts.find((a) => a.platform === platform);
  return {
    name: m.name,
    version: m.version,
    previousVersion: m.previousVersion,
    artifact: artifact ? { platform: artifact.platform, uri: artifact.uri, sha256: artifact.sha256Digest } : null,
    manifestHash: m.manifestHash,
    stateIncompatible: m.stateIncompatible,
  };
}
