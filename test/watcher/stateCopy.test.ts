// Snapshots of the node's state give back the space of a copy that failed half way.
import { expect } from "chai";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { copyDirOnce } from "../../watcher/src/adapters/stateCopy";
import { WatcherError } from "../../watcher/src/errors";

describe("state copies", function () {
  it("remove the partial copy when a snapshot fails half way", async function () {
    const root = await mkdtemp(join(tmpdir(), "lockstep-statecopy-"));
    const state = join(root, "state");
    await mkdir(state);
    await writeFile(join(state, "a-db"), "x".repeat(1 << 16));
    // A file a copy cannot take (a socket) stands in for the write that found the disk full.
    const server = createServer().listen(join(state, "z-socket"));
    await new Promise((r) => server.once("listening", r));
    const to = join(root, "snapshots", "before-upgrade-1");
    try {
      const error = await copyDirOnce(state, to).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).to.be.instanceOf(WatcherError);
      expect((error as WatcherError).code).to.equal("state-copy-failed");
      expect(existsSync(`${to}~partial`)).to.equal(false);
      expect(existsSync(to)).to.equal(false);
    } finally {
      server.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
