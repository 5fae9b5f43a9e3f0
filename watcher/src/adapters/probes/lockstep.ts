// The `lockstep` probe: GET url -> JSON {version, height, syncing?}, as our simulated node (sim/validator-node.ts)
// answers. Version rule: exact equality with the manifest version (the node reports the manifest's spelling).
import type { NodeStatus } from "../../ports";
import { getJson, isObject, toHeight } from "./http";

export async function probeLockstep(url: string, timeoutMs: number): Promise<NodeStatus | undefined> {
  try {
    const { status, body } = await getJson(url, timeoutMs);
    return status >= 200 && status < 300 ? readLockstep(body) : undefined;
  } catch {
    return undefined; // refused, timed out: the node does not answer
  }
}

/** {version, height, syncing?} (height a number or a decimal string), or undefined for anything else. */
export function readLockstep(body: unknown): NodeStatus | undefined {
  if (!isObject(body) || typeof body.version !== "string") return undefined;
  const height = typeof body.height === "string" && body.height.startsWith("0x") ? undefined : toHeight(body.height);
  if (height === undefined) return undefined;
  if (body.syncing !== undefined && typeof body.syncing !== "boolean") return undefined;
  return { version: body.version, height, syncing: body.syncing ?? false };
}
