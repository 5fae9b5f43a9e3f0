// The node's health probe, shared by both node adapters: GET statusUrl -> JSON {version, height}.
import type { NodeStatus } from "../ports";

/** The node's reported version and height, or undefined when it does not answer in time or answers nonsense. */
export async function probeStatus(statusUrl: string, timeoutMs = 2_000): Promise<NodeStatus | undefined> {
  try {
    const response = await fetch(statusUrl, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) {
      await response.body?.cancel();
      return undefined;
    }
    const body = (await response.json()) as { version?: unknown; height?: unknown };
    const { version, height } = body;
    if (typeof version !== "string") return undefined;
    if (typeof height === "number" && Number.isSafeInteger(height) && height >= 0)
      return { version, height: BigInt(height) };
    if (typeof height === "string" && /^\d+$/.test(height)) return { version, height: BigInt(height) };
    return undefined;
  } catch {
    return undefined; // refused, timed out, or not JSON: the node does not answer
  }
}
