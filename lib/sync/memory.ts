// A checkpoint store in memory: the dashboard's, and tests'.
import type { Checkpoint, CheckpointStore, PageResult } from "./types";

/** Keeps the newest `keep` checkpoints, each with the result committed with it (and, once a block is final, none
 * below it but its own). */
export class MemoryCheckpointStore<S, R extends PageResult<S> = PageResult<S>> implements CheckpointStore<S, R> {
  private entries: { checkpoint: Checkpoint<S>; result?: R }[] = [];

  constructor(private readonly keep = 256) {}

  latest() {
    return this.entries.at(-1)?.checkpoint;
  }
  recent() {
    return this.entries.map((e) => e.checkpoint).reverse();
  }
  /** The results committed with the checkpoints kept, oldest first (the anchor has none). */
  results(): R[] {
    return this.entries.flatMap((e) => (e.result ? [e.result] : []));
  }
  commit(checkpoint: Checkpoint<S>, result?: R) {
    this.entries.push({ checkpoint, result });
    if (this.entries.length > this.keep) this.entries.shift();
  }
  rewindTo(block: bigint) {
    this.entries = this.entries.filter((e) => e.checkpoint.block <= block);
  }
  finalize(block: bigint) {
    let i = this.entries.length - 1;
    while (i >= 0 && this.entries[i].checkpoint.block > block) i--;
    if (i > 0) this.entries = this.entries.slice(i);
  }
}
