// An in-memory chain for lib/sync's tests: blocks linked by parent hash, logs of several addresses, reorgs on
// demand, and the ways real nodes misbehave (a head from behind, logs from a lagging node, refused large ranges).
import type { Log } from "viem";
import type { ChainBlock, ChainSource, Hex, LogRange } from "../../lib/sync";

export const A = "0x000000000000000000000000000000000000000a" as Hex;
export const B = "0x000000000000000000000000000000000000000b" as Hex;
export const OTHER = "0x00000000000000000000000000000000000000ff" as Hex;

interface FakeBlock extends ChainBlock {
  logs: Log[];
}

export class FakeSource implements ChainSource {
  blocks: FakeBlock[] = [];
  /** Every request, as "head", "block N" or "logs F-T". */
  calls: string[] = [];
  /** head() answers this many blocks below the real head (a node behind). */
  headBehind = 0;
  /** logs() leaves out the logs of the newest this many blocks (a node behind answering eth_getLogs). */
  logsBehind = 0;
  /** logs() refuses ranges of more blocks than this. */
  maxRange = Infinity;
  /** Runs once, after the next logs() call has read its answer (to race a reorg against a page). */
  afterLogs: (() => void) | undefined;
  private fork = 0;

  constructor(blocks = 1) {
    for (let i = 0; i < blocks; i++) this.mine();
  }

  /** Mines one block with logs whose `data` are the given markers, from address A unless "B:"/"X:" prefixed. */
  mine(...markers: string[]): bigint {
    const number = BigInt(this.blocks.length);
    const hash = `0x${this.fork.toString(16).padStart(2, "0")}${number.toString(16).padStart(62, "0")}` as Hex;
    const parentHash = this.blocks.at(-1)?.hash ?? (`0x${"0".repeat(64)}` as Hex);
    const logs = markers.map((m, logIndex) => {
      const [address, data] = m.startsWith("B:") ? [B, m.slice(2)] : m.startsWith("X:") ? [OTHER, m.slice(2)] : [A, m];
      return {
        blockNumber: number,
        blockHash: hash,
        logIndex,
        data: data as Hex,
        topics: [],
        address,
        transactionHash: hash,
        transactionIndex: 0,
        removed: false,
      } as unknown as Log;
    });
    this.blocks.push({ number, hash, parentHash, timestamp: 1_000n + 12n * number, logs });
    return number;
  }

  /** Drops the newest `depth` blocks; the next blocks mined get new hashes (a reorg). */
  reorg(depth: number) {
    this.blocks.splice(this.blocks.length - depth, depth);
    this.fork += 1;
  }

  /** Every marker the chain holds now, of addresses A and B, in chain order. */
  markers(): string[] {
    return this.blocks.flatMap((b) => b.logs.filter((l) => l.address !== OTHER).map((l) => l.data));
  }

  async head() {
    this.calls.push("head");
    return header(this.blocks[this.blocks.length - 1 - this.headBehind]);
  }
  async block(n: bigint): Promise<ChainBlock | undefined> {
    this.calls.push(`block ${n}`);
    const b = this.blocks[Number(n)];
    return b && header(b);
  }
  async logs({ fromBlock, toBlock, addresses }: LogRange) {
    this.calls.push(`logs ${fromBlock}-${toBlock}`);
    if (toBlock - fromBlock + 1n > this.maxRange) throw new Error("query returned more than 10000 results");
    const newest = this.blocks.length - 1 - this.logsBehind;
    const out = this.blocks
      .slice(Number(fromBlock), Math.min(Number(toBlock), newest) + 1)
      .flatMap((b) => b.logs.filter((l) => addresses.includes(l.address)));
    const after = this.afterLogs;
    this.afterLogs = undefined;
    after?.();
    return out;
  }
}

function header(b: FakeBlock): ChainBlock {
  return { number: b.number, hash: b.hash, parentHash: b.parentHash, timestamp: b.timestamp };
}
