// A checkpoint store in memory: the dashboard's, and tests'.
import type { Checkpoint, CheckpointStore, PageResult } from "./types";

/** Keeps the newest `keep` checkpoints (and none below a finalized block but that block's own). */
export class MemoryCheckpointStore<S, R extends PageResult<S> = PageResult<S>> implements CheckpointStore<S, R> {
  private checkpoints: Checkpoint<S>[] = [];
  /** Every result committed, oldest first (tests look at them; nothing else reads them). */
  readonly results: R[] = [];

  constructor(private readonly keep = 256) {}

  latest() {
    return this.checkpoints.at(-1);
  }
  recent() {
    return [...this.checkpoints].reverse();
  }
  commit(checkpoint: Checkpoint<S>, result?: R) {
    this.checkpoints.push(checkpoint);
    if (result) this.results.push(result);
    if (this.checkpoints.length > this.keep) this.checkpoints.shift();
  }
  rewindTo(block: bigint) {
    this.checkpoints = this.checkpoints.filter((c) => c.block <= block);
  }
  finalize(block: bigint) {
    let i = this.checkpoints.length - 1;
    while (i >= 0 && this.checkpoints[i].block > block) i--;
    if (i > 0) this.checkpoints = this.checkpoints.slice(i);
  }
}
