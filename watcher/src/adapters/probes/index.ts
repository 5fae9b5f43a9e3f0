// The node's health probe, chosen by node.probe (config.ts): one module per kind of client, each with its version
// rule, each answering the NodeStatus port type, or undefined when the node does not answer (or answers nonsense).
import type { ProbeConfig } from "../../config";
import type { NodeStatus } from "../../ports";
import { probeCometBft } from "./cometbft";
import { probeCommand } from "./command";
import { probeEthereumBeacon } from "./ethereumBeacon";
import { probeEthereumExecution } from "./ethereumExecution";
import { probeLockstep } from "./lockstep";
import { probeSolana } from "./solana";

export type Probe = () => Promise<NodeStatus | undefined>;

export function createProbe(probe: ProbeConfig): Probe {
  switch (probe.type) {
    case "lockstep":
      return () => probeLockstep(probe.url, probe.timeoutMs);
    case "cometbft":
      return () => probeCometBft(probe.url, probe.timeoutMs);
    case "ethereum-execution":
      return () => probeEthereumExecution(probe.url, probe.timeoutMs);
    case "ethereum-beacon":
      return () => probeEthereumBeacon(probe.url, probe.timeoutMs);
    case "solana":
      return () => probeSolana(probe.url, probe.timeoutMs);
    case "command":
      return () => probeCommand(probe.command, probe.timeoutMs);
  }
}
