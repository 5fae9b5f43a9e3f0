// The `solana` probe: JSON-RPC getVersion -> {"solana-core": "2.1.16", "feature-set": ...}, getHealth -> "ok",
// or the error -32005 ("Node is behind by 42 slots", data {numSlotsBehind: 42}; "Node is unhealthy" when the
// distance is unknown) while the node catches up: it answers but is still starting. getSlot gives the height.
// Version rule (./version.ts): solana-core is the bare token ("2.1.16"); the manifest's "v2.1.16" or "2.1.16"
// match it, "v2.1.1" does not.
import type { NodeStatus } from "../../ports";
import { JsonRpcReply, isObject, rpcCall, toHeight } from "./http";
import { releaseSpellings } from "./version";

/** Solana's "node unhealthy" JSON-RPC error (agave rpc-client-api: JSON_RPC_SERVER_ERROR_NODE_UNHEALTHY). */
export const NODE_UNHEALTHY = -32005;

export async function probeSolana(url: string, timeoutMs: number): Promise<NodeStatus | undefined> {
  try {
    const [version, health, slot] = await Promise.all(
      ["getVersion", "getHealth", "getSlot"].map((m) => rpcCall(url, m, timeoutMs)),
    );
    return readSolana(version, health, slot);
  } catch {
    return undefined;
  }
}

export function readSolana(version: JsonRpcReply, health: JsonRpcReply, slot: JsonRpcReply): NodeStatus | undefined {
  const core = isObject(version.result) ? version.result["solana-core"] : undefined;
  const height = toHeight(slot.result);
  if (typeof core !== "string" || height === undefined) return undefined;
  let syncing: boolean;
  if (health.result === "ok") syncing = false;
  else if (health.error?.code === NODE_UNHEALTHY) syncing = true;
  else return undefined;
  return { version: core, height, syncing, matches: releaseSpellings(core) };
}
