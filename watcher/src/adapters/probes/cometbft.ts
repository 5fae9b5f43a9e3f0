// The `cometbft` probe: GET <url>/status. CometBFT answers in a JSON-RPC envelope ({jsonrpc, id, result});
// the bare result is accepted too. Reads result.node_info.version, result.sync_info.latest_block_height (a
// decimal string) and result.sync_info.catching_up (true while syncing: the node is still starting).
// Version rule (./version.ts): node_info.version is the bare token ("0.38.12"); the manifest's "v0.38.12" or
// "0.38.12" match it, "v0.38.1" does not.
import type { NodeStatus } from "../../ports";
import { getJson, isObject, toHeight } from "./http";
import { releaseSpellings } from "./version";

export async function probeCometBft(url: string, timeoutMs: number): Promise<NodeStatus | undefined> {
  try {
    const { status, body } = await getJson(`${url.replace(/\/+$/, "")}/status`, timeoutMs);
    return status === 200 ? readCometBftStatus(body) : undefined;
  } catch {
    return undefined;
  }
}

export function readCometBftStatus(body: unknown): NodeStatus | undefined {
  if (!isObject(body) || "error" in body) return undefined;
  const result = "result" in body ? body.result : body;
  if (!isObject(result) || !isObject(result.node_info) || !isObject(result.sync_info)) return undefined;
  const version = result.node_info.version;
  const height = toHeight(result.sync_info.latest_block_height);
  const catchingUp = result.sync_info.catching_up;
  if (typeof version !== "string" || height === undefined || typeof catchingUp !== "boolean") return undefined;
  return { version, height, syncing: catchingUp, matches: releaseSpellings(version) };
}
