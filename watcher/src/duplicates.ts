// One key, one watcher: attestations made with this validator's key that are not in this watcher's outbox mean
// another watcher (or anyone holding the key) attests for the same validator. The runtime flags each one in an
// error log line, the lockstep_foreign_attestations_total metric and /healthz.
import { Status } from "../../lib/coordinator";
import type { CoordinatorEvent } from "../../lib/events";
import type { AttestStatus } from "./machine/types";
import type { Hex } from "./ports";
import type { Outbox } from "./ports/outbox";

export interface ForeignAttestation {
  upgradeId: number;
  stage: number;
  status: AttestStatus;
  transaction: Hex;
  block: bigint;
}

/** The Attested events for `operator` among `events` that this watcher did not sign. */
export function foreignAttestations(events: CoordinatorEvent[], operator: Hex, outbox: Outbox): ForeignAttestation[] {
  const found: ForeignAttestation[] = [];
  for (const e of events) {
    if (e.eventName !== "Attested") continue;
    const args = e.args as { upgradeId: bigint; operator: Hex; stage: number; status: number };
    if (args.operator.toLowerCase() !== operator.toLowerCase()) continue;
    const status = Status[args.status] as AttestStatus;
    const upgradeId = Number(args.upgradeId);
    if (outbox.isOurs(e.transactionHash as Hex, upgradeId, args.stage, status)) continue;
    found.push({ upgradeId, stage: args.stage, status, transaction: e.transactionHash as Hex, block: e.blockNumber });
  }
  return found;
}
