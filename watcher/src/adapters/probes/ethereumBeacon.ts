// The `ethereum-beacon` probe (the standard beacon node API): GET <url>/eth/v1/node/version -> {data: {version}},
// /eth/v1/node/syncing -> {data: {head_slot, sync_distance, is_syncing, ...}} and /eth/v1/node/health, whose
// status says 200 ready, 206 syncing (the node answers but is still starting) and 503 not initialised or in
// trouble (counted as not answering). Height is the head slot.
// Version rule (./version.ts): the token after the client name (`v4.5.0-441fc16` in
// `Lighthouse/v4.5.0-441fc16/x86_64-linux`); the manifest's "v4.5.0" or "4.5.0" match, "v4.5" does not.
import type { NodeStatus } from "../../ports";
import { getJson, isObject, toHeight } from "./http";
import { clientToken, releaseSpellings } from "./version";

export async function probeEthereumBeacon(url: string, timeoutMs: number): Promise<NodeStatus | undefined> {
  const base = url.replace(/\/+$/, "");
  try {
    const [version, syncing, health] = await Promise.all(
      ["version", "syncing", "health"].map((p) => getJson(`${base}/eth/v1/node/${p}`, timeoutMs)),
    );
    if (version.status !== 200 || syncing.status !== 200) return undefined;
    return readEthereumBeacon(version.body, syncing.body, health.status);
  } catch {
    return undefined;
  }
}

export function readEthereumBeacon(version: unknown, syncing: unknown, healthStatus: number): NodeStatus | undefined {
  if (healthStatus !== 200 && healthStatus !== 206) return undefined;
  if (!isObject(version) || !isObject(version.data) || typeof version.data.version !== "string") return undefined;
  if (!isObject(syncing) || !isObject(syncing.data) || typeof syncing.data.is_syncing !== "boolean") return undefined;
  const height = toHeight(syncing.data.head_slot);
  if (height === undefined) return undefined;
  const client = version.data.version;
  const token = clientToken(client);
  return {
    version: client,
    height,
    syncing: syncing.data.is_syncing || healthStatus === 206,
    matches: token ? releaseSpellings(token) : [],
  };
}
