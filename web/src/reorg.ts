// What the dashboard remembers to notice a reorganisation and find where its view of the chain still holds.

export type Hex = `0x${string}`;

export interface BlockRef {
  number: bigint;
  hash: Hex;
}

/** The hashes of the last `size` heads followed. Older ones are forgotten: a reorg deeper than that is rare
 * enough that reloading is fine (the event blocks, remembered with the events, still reach further back). */
export class RecentHeads {
  private readonly hashes = new Map<bigint, Hex>();

  constructor(private readonly size = 128) {}

  remember(b: BlockRef) {
    this.hashes.delete(b.number); // re-inserted last, so insertion order stays block order
    this.hashes.set(b.number, b.hash);
    for (const n of this.hashes.keys()) {
      if (this.hashes.size <= this.size) break;
      this.hashes.delete(n);
    }
  }

  hashAt(block: bigint): Hex | undefined {
    return this.hashes.get(block);
  }

  dropAbove(block: bigint) {
    for (const n of [...this.hashes.keys()]) if (n > block) this.hashes.delete(n);
  }

  clear() {
    this.hashes.clear();
  }

  refs(): BlockRef[] {
    return [...this.hashes].map(([number, hash]) => ({ number, hash }));
  }
}

/**
 * The index of the newest of `blocks` (in block order) that `onChain` confirms, or -1 when none is. A block on the
 * chain has all its ancestors on it, so the confirmed ones form a prefix: gallop down from the newest (a shallow
 * reorg, the usual kind, costs one or two lookups), then bisect.
 */
export async function newestOnChain(blocks: BlockRef[], onChain: (b: BlockRef) => Promise<boolean>): Promise<number> {
  let off = blocks.length; // known not on the chain (or past the end)
  let on = -1; // known on the chain (or before the start)
  for (let step = 1; off - step >= 0; step *= 2) {
    if (await onChain(blocks[off - step])) {
      on = off - step;
      break;
    }
    off -= step;
  }
  while (off - on > 1) {
    const mid = (on + off) >> 1;
    if (await onChain(blocks[mid])) on = mid;
    else off = mid;
  }
  return on;
}
