import type { Log } from "viem";
import type { Assignment, ChainBlock, ChainReader, Hex } from "../../watcher/src/ports";

interface FakeBlock {
  hash: Hex;
  parentHash: Hex;
  logs: Log[];
}

/** An in-memory chain: blocks with hashes and logs, reorgs on demand, and a record of every call. */
export class FakeChain implements ChainReader {
  blocks: FakeBlock[] = [];
  calls: string[] = [];
  assignments = new Map<number, Assignment>();
  /** The attester the coordinator reports for this validator. */
  attester: Hex = "0x0000000000000000000000000000000000000001";
  private fork = 0;

  constructor(blocks = 1) {
    for (let i = 0; i < blocks; i++) this.mine();
  }

  /** Mines one block holding logs with the given `data` markers; returns its number. */
  mine(...markers: string[]): bigint {
    const number = BigInt(this.blocks.length);
    const hash = `0x${this.fork.toString(16).padStart(2, "0")}${number.toString(16).padStart(62, "0")}` as Hex;
    const logs = markers.map(
      (data, logIndex) =>
        ({
          blockNumber: number,
          blockHash: hash,
          logIndex,
          data: data as Hex,
          topics: [],
          address: "0x",
          transactionHash: hash,
          transactionIndex: 0,
          removed: false,
        }) as unknown as Log,
    );
    const parentHash = this.blocks.at(-1)?.hash ?? (`0x${"0".repeat(64)}` as Hex);
    this.blocks.push({ hash, parentHash, logs });
    return number;
  }

  /** Drops the newest `depth` blocks; the next blocks mined get new hashes (a reorg). */
  reorg(depth: number) {
    this.blocks.splice(this.blocks.length - depth, depth);
    this.fork += 1;
  }

  async chainId() {
    return 31337;
  }
  async code() {
    return "0x60" as Hex;
  }
  async block(n?: bigint): Promise<ChainBlock | undefined> {
    const number = n ?? BigInt(this.blocks.length - 1);
    if (n === undefined) this.calls.push("head");
    const b = this.blocks[Number(number)];
    return b && { number, hash: b.hash, parentHash: b.parentHash, timestamp: number };
  }
  async coordinatorLogs(from: bigint, to: bigint) {
    this.calls.push(`logs ${from}-${to}`);
    return this.blocks.slice(Number(from), Number(to) + 1).flatMap((b) => b.logs);
  }
  async registration() {
    return { registered: true, attester: this.attester, cohort: 1 };
  }
  async assignment(upgradeId: number): Promise<Assignment> {
    return this.assignments.get(upgradeId) ?? { inRoster: false, stage: 0, lastUpgradeId: 0, lastStatus: null };
  }
}
