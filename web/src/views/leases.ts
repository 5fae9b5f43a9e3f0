// Restart leases (docs/design.md, "Restart leases"): the budget fixed when the upgrade was scheduled, the stake
// leased now, and who holds a lease, replayed from LeaseBudgetOpened, LeaseGranted, LeaseReleased and LeasesExpired.
import type { UpgradeHistory } from "../../../lib/history";
import type { Snapshot } from "../chain";
import { esc, isoTime, ratio, shortHex, spokenDuration, tokens } from "../format";
import { addressLink } from "./html";

export interface LeaseHolder {
  attester: string;
  weight: bigint;
  expiresAt: bigint;
}

export interface LeasesState {
  budget: bigint;
  /** Seconds a lease lasts at least (it counts until the end of the epoch after the grant). */
  duration: number;
  /** The stake leased after the last lease event, as the contract reported it. */
  inUse: bigint;
  /** Leases granted and not released, newest first; those past their expiry are left out. */
  holders: LeaseHolder[];
  granted: number;
  released: number;
}

/** The upgrade's restart budget and its leases, as of the last block shown; undefined when it opened none. */
export function leasesOf(u: UpgradeHistory, snap: Snapshot): LeasesState | undefined {
  let state: LeasesState | undefined;
  const held = new Map<string, LeaseHolder>();
  for (const e of snap.events) {
    const args = e.args as { upgradeId?: bigint };
    if (args.upgradeId !== u.id) continue;
    switch (e.eventName) {
      case "LeaseBudgetOpened":
        state = {
          budget: e.args.budget,
          duration: Number(e.args.duration),
          inUse: 0n,
          holders: [],
          granted: 0,
          released: 0,
        };
        break;
      case "LeaseGranted":
        if (!state) break;
        held.set(e.args.attester.toLowerCase(), {
          attester: e.args.attester,
          weight: e.args.weight,
          expiresAt: e.args.expiresAt,
        });
        state.inUse = e.args.inUse;
        state.granted++;
        break;
      case "LeaseReleased":
        if (!state) break;
        held.delete(e.args.attester.toLowerCase());
        state.inUse = e.args.inUse;
        state.released++;
        break;
      case "LeasesExpired":
        if (state) state.inUse = e.args.inUse;
        break;
    }
  }
  if (!state) return undefined;
  const now = snap.head.timestamp;
  state.holders = [...held.values()].filter((h) => h.expiresAt > now).reverse();
  return state;
}

/** The panel on the upgrade's card. */
export function leasesPanel(u: UpgradeHistory, snap: Snapshot, explorerUrl = ""): string {
  const l = leasesOf(u, snap);
  if (!l) return "";
  const holders = l.holders.length
    ? `<ul>${l.holders
        .map(
          (h) =>
            `<li data-testid="lease-holder" data-attester="${esc(h.attester)}">${addressLink(h.attester, explorerUrl, shortHex(h.attester))} · ${tokens(h.weight)} stake · until ${isoTime(h.expiresAt)} at the latest</li>`,
        )
        .join("")}</ul>`
    : `<p class="muted">No validator is restarting under a lease now.</p>`;
  return `<div class="leases" data-testid="leases-${u.id}" data-budget="${l.budget}" data-in-use="${l.inUse}">
    <p><b>Restart leases:</b> ${l.budget === 0n ? "none granted (no restart budget)" : `${tokens(l.inUse)} of ${tokens(l.budget)} stake in use (${ratio(l.inUse, l.budget)}%)`};
      each lease lasts ${spokenDuration(l.duration)} to twice that; ${l.granted} granted, ${l.released} ended by the validator's report.</p>
    ${l.budget === 0n ? "" : holders}
  </div>`;
}
