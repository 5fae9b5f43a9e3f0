// The `ethereum-execution` probe: JSON-RPC web3_clientVersion, eth_syncing (false, or an object with
// startingBlock/currentBlock/highestBlock while syncing) and eth_blockNumber (hex quantity).
// Version rule (./version.ts): the token after the client name (`v1.14.12-stable-293a300d` in
// `Geth/v1.14.12-stable-293a300d/linux-amd64/go1.23`, `v1.5.1` in `anvil/v1.5.1`); the manifest's "v1.14.12",
// "1.14.12" or the whole token match, "v1.1" and "v1.14.1" do not.
import type { NodeStatus } from "../../ports";
import { rpcCall, toHeight } from "./http";
import { clientToken, releaseSpellings } from "./version";

export async function probeEthereumExecution(url: string, timeoutMs: number): Promise<NodeStatus | undefined> {
  try {
    const [client, syncing, block] = await Promise.all(
      ["web3_clientVersion", "eth_syncing", "eth_blockNumber"].map((m) => rpcCall(url, m, timeoutMs)),
    );
    return readEthereumExecution(client.result, syncing.result, block.result);
  } catch {
    return undefined;
  }
}

/** The three results (undefined where a call answered with an error) as a status. */
export function readEthereumExecution(client: unknown, syncing: unknown, block: unknown): NodeStatus | undefined {
  const height = typeof block === "string" && block.startsWith("0x") ? toHeight(block) : undefined;
  if (typeof client !== "string" || height === undefined) return undefined;
  if (syncing !== false && (typeof syncing !== "object" || syncing === null)) return undefined;
  const token = clientToken(client);
  return { version: client, height, syncing: syncing !== false, matches: token ? releaseSpellings(token) : [] };
}
