// The node's health probe, shared by both node adapters: node.probe when set, else the `lockstep` probe of
// node.statusUrl (the form configs had before node.probe existed).
import type { NodeConfig } from "../config";
import { probeConfigOf } from "../config";
import type { NodeStatus } from "../ports";
import { createProbe, type Probe } from "./probes";
import { probeLockstep } from "./probes/lockstep";

export function nodeProbe(node: Pick<NodeConfig, "statusUrl" | "probe">): Probe {
  return createProbe(probeConfigOf(node));
}

/** The simulated node's version and height at `statusUrl`, or undefined when it does not answer in time. */
export function probeStatus(statusUrl: string, timeoutMs = 2_000): Promise<NodeStatus | undefined> {
  return probeLockstep(statusUrl, timeoutMs);
}
