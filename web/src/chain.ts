// The dashboard's view of the chain: the coordinator's whole history, rebuilt from logs with lib/history.ts, then
// followed block by block. Stake weights are the only contract reads (the logs carry weights only once attested).
import { createPublicClient, http, type PublicClient } from "viem";
import { buildHistory, decodeLogs, fetchBlockTimes, fetchCoordinatorLogs, type History } from "../../lib/history";
import type { CoordinatorEvent } from "../../lib/events";
import { stakeTokenAbi } from "../../lib/abi/generated";
import type { DashboardConfig } from "./config";

export interface Snapshot {
  history: History;
  /** Every decoded coordinator event, in chain order. */
  events: CoordinatorEvent[];
  times: Map<bigint, bigint>;
  head: { number: bigint; timestamp: bigint };
  /** Stake weight per operator (lower-case): votes at the latest upgrade's snapshot, or current votes before any. */
  weights: Map<string, bigint>;
  chainId: number;
}

export class ChainView {
  readonly client: PublicClient;
  private events: CoordinatorEvent[] = [];
  private seen = new Set<string>();
  private times = new Map<bigint, bigint>();
  private toBlock: bigint | undefined;
  private weights = new Map<string, bigint>();
  private chainId: number | undefined;

  constructor(private readonly config: DashboardConfig) {
    this.client = createPublicClient({ transport: http(config.rpcRelay, { retryCount: 0, timeout: 8_000 }) }) as PublicClient;
  }

  /** Fetches whatever is new since the last call (everything on the first) and returns the rebuilt state. */
  async refresh(): Promise<Snapshot> {
    const d = this.config.deployment;
    const address = d.contracts.UpgradeCoordinator as `0x${string}`;
    if (this.chainId === undefined) {
      this.chainId = await this.client.getChainId();
      if (this.chainId !== d.chainId) throw new Error(`the RPC serves chain ${this.chainId}, the deployments file is for chain ${d.chainId}`);
    }
    const headBlock = await this.client.getBlock();
    const from = this.toBlock === undefined ? BigInt(d.startBlock) : this.toBlock + 1n;
    let changed = this.toBlock === undefined;
    if (from <= headBlock.number) {
      const { logs } = await fetchCoordinatorLogs(this.client, { address, fromBlock: from, toBlock: headBlock.number });
      const fresh = decodeLogs(logs).filter((e) => {
        // A log can come back twice across page and poll boundaries: keep the first.
        const key = `${e.transactionHash}:${e.logIndex}`;
        if (this.seen.has(key)) return false;
        this.seen.add(key);
        return true;
      });
      const times = await fetchBlockTimes(this.client, fresh.map((e) => e.blockNumber).filter((n) => !this.times.has(n)));
      for (const [n, t] of times) this.times.set(n, t);
      this.events.push(...fresh);
      changed ||= fresh.length > 0;
      this.toBlock = headBlock.number;
    }
    const history = buildHistory(this.events, {
      times: this.times,
      governance: d.contracts.LockstepTimelock,
      registryComplete: true,
      coordinator: address,
      fromBlock: BigInt(d.startBlock),
      toBlock: this.toBlock,
    });
    if (changed) this.weights = await this.readWeights(history, headBlock.number);
    return {
      history,
      events: this.events,
      times: this.times,
      head: { number: headBlock.number, timestamp: headBlock.timestamp },
      weights: this.weights,
      chainId: this.chainId,
    };
  }

  private async readWeights(h: History, head: bigint): Promise<Map<string, bigint>> {
    const token = this.config.deployment.contracts.StakeToken as `0x${string}`;
    const latest = h.upgrades[h.upgrades.length - 1];
    const out = new Map<string, bigint>();
    await Promise.all(
      [...h.registry.values()].map(async (r) => {
        const account = r.operator as `0x${string}`;
        const weight =
          latest && latest.snapshot < head
            ? await this.client.readContract({ address: token, abi: stakeTokenAbi, functionName: "getPastVotes", args: [account, latest.snapshot] })
            : await this.client.readContract({ address: token, abi: stakeTokenAbi, functionName: "getVotes", args: [account] });
        out.set(r.operator.toLowerCase(), weight as bigint);
      }),
    );
    return out;
  }
}
