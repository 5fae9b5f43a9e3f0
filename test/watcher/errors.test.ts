import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { sha256File, BinaryStore } from "../../watcher/src/adapters/binaries";
import { paths } from "../../watcher/src/config";
import { WatcherError, asWatcherError } from "../../watcher/src/errors";
import { ReorgTooDeepError } from "../../lib/sync";
import { syncError } from "../../watcher/src/follow";
import { rejection } from "../helpers/watcherHarness";

describe("watcher errors", function () {
  it("name the operation and the path of a failed file-system call, and say a retry may fix it", async function () {
    const missing = join(tmpdir(), "lockstep-no-such-file");
    const error = await rejection(sha256File(missing));
    expect([error.code, error.retryable]).to.deep.equal(["fs", true]);
    expect(error.details).to.deep.equal({ operation: "hash", path: missing, errno: "ENOENT" });
    expect(error.message).to.equal(`hash ${missing} failed: ENOENT`);
  });

  it("name the path when switching the active version fails", async function () {
    const dir = mkdtempSync(join(tmpdir(), "lockstep-errors-"));
    try {
      const p = paths({ dataDir: dir });
      mkdirSync(dirname(p.binary("v1.0.0")), { recursive: true });
      writeFileSync(p.binary("v1.0.0"), "#!/bin/sh\n", { mode: 0o755 });
      // A directory where the new symlink is built: it cannot be removed as a file.
      mkdirSync(join(`${p.current}.tmp`, "in-the-way"), { recursive: true });
      const error = await rejection(new BinaryStore(p).activate("v1.0.0"));
      expect([error.code, error.retryable]).to.deep.equal(["fs", true]);
      expect(error.details).to.include({ operation: "remove", path: `${p.current}.tmp` });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("wrap what the watcher did not recognise, keeping it retryable", function () {
    const wrapped = asWatcherError(new Error("boom"));
    expect([wrapped.code, wrapped.retryable, wrapped.message]).to.deep.equal(["unexpected", true, "boom"]);
    const own = new WatcherError("x", { retryable: false, code: "digest-mismatch" });
    expect(asWatcherError(own)).to.equal(own);
  });

  it("make a reorg deeper than the checkpoint history a WatcherError that no retry fixes", function () {
    const error = syncError(new ReorgTooDeepError(7n, 9n));
    expect(error).to.be.instanceOf(WatcherError);
    expect([error.code, error.retryable, error.details]).to.deep.equal(["reorg-too-deep", false, { block: "7" }]);
  });
});
