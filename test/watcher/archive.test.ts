// Archive artifacts: .tar.gz and .zip staged with the binary at its declared path, the digest over the archive;
// hostile archives refused in one line with nothing written outside and the node untouched.
import { expect } from "chai";
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { artifactUri, parseArtifactUri, parseManifest, toOnChain } from "../../lib/manifest";
import { BinaryStore, readStageRecord } from "../../watcher/src/adapters/binaries";
import { paths as pathsOf } from "../../watcher/src/config";
import { WatcherError } from "../../watcher/src/errors";
import { archiveOf, type ArchiveEntry } from "../fixtures/archives";

const temps: string[] = [];
after(async () => Promise.all(temps.map((d) => rm(d, { recursive: true, force: true }))));

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");
const gaiad = "#!/bin/sh\necho gaiad v2\n";

async function setup() {
  // The data directory sits one level down, so an escape would land in `outer`, where the test looks for it.
  const outer = await mkdtemp(join(tmpdir(), "lockstep-archive-"));
  temps.push(outer);
  const p = pathsOf({ dataDir: join(outer, "data") }, "gaiad");
  await mkdir(p.downloads, { recursive: true });
  const store = new BinaryStore(p, undefined, { maxBytes: 1024 * 1024, maxEntries: 50 });
  return { outer, p, store };
}

async function stageArchive(format: "tar.gz" | "zip", entries: ArchiveEntry[], binary = "bin/gaiad") {
  const ctx = await setup();
  const bytes = await archiveOf(format, entries);
  const file = join(ctx.p.downloads, "upgrade-1.part");
  await writeFile(file, bytes);
  const outcome = await ctx.store.stage("v2.0.0", file, sha256(bytes), { archive: { format, binary } }).then(
    () => undefined,
    (e: unknown) => e,
  );
  return { ...ctx, bytes, outcome };
}

for (const format of ["tar.gz", "zip"] as const) {
  describe(`${format} artifacts`, function () {
    it("stages the archive's contents, the declared binary executable at bin/<name>", async function () {
      const { p, store, bytes, outcome } = await stageArchive(
        format,
        [
          { name: "gaiad-v2/", type: "directory" },
          { name: "gaiad-v2/gaiad", content: gaiad, mode: 0o644 },
          { name: "gaiad-v2/lib/", type: "directory" },
          { name: "gaiad-v2/lib/libwasmvm.so", content: "library" },
          { name: "gaiad-v2/libwasm.so", type: "symlink", target: "lib/libwasmvm.so" },
        ],
        "gaiad-v2/gaiad",
      );
      expect(outcome).to.equal(undefined);
      expect(await readFile(p.binary("v2.0.0"), "utf8")).to.equal(gaiad);
      expect((await stat(p.binary("v2.0.0"))).mode & 0o111).to.not.equal(0);
      const dir = p.version("v2.0.0");
      expect(await readFile(join(dir, "gaiad-v2/lib/libwasmvm.so"), "utf8")).to.equal("library");
      expect(await readlink(join(dir, "gaiad-v2/libwasm.so"))).to.equal("lib/libwasmvm.so");
      expect(await store.isStaged("v2.0.0", sha256(bytes))).to.equal(true); // the digest covers the archive
      expect((await readStageRecord(dir))?.archive).to.deep.equal({ format, binary: "gaiad-v2/gaiad" });
      await store.activate("v2.0.0", sha256(bytes));
      expect(await readFile(p.currentBinary, "utf8")).to.equal(gaiad);
    });

    const hostile: [string, ArchiveEntry[], RegExp][] = [
      ["a .. entry", [{ name: "bin/../../evil", content: "x" }], /entry bin\/\.\.\/\.\.\/evil climbs out with \.\./],
      ["an absolute entry", [{ name: "/tmp/evil", content: "x" }], /entry \/tmp\/evil has an absolute path/],
      [
        "a link to an absolute path",
        [{ name: "bin/gaiad", type: "symlink", target: "/etc/passwd" }],
        /an absolute path/,
      ],
      [
        "a link climbing outside",
        [
          { name: "bin/", type: "directory" },
          { name: "bin/out", type: "symlink", target: "../../evil-dir" },
        ],
        /entry bin\/out links to \.\.\/\.\.\/evil-dir, outside the archive/,
      ],
      [
        "links that escape together",
        [
          { name: "here", type: "symlink", target: "." },
          { name: "up", type: "symlink", target: "here/.." },
          { name: "up/evil", content: "x" },
        ],
        /outside/,
      ],
      [
        "a hard link to a file outside",
        [{ name: "bin/gaiad", type: "link", target: "../../etc/passwd" }],
        /climbs out with \.\./,
      ],
      [
        "a character device",
        [{ name: "bin/gaiad", type: "character-device" }],
        /entry bin\/gaiad is a character device/,
      ],
      ["a fifo", [{ name: "bin/gaiad", type: "fifo" }], /entry bin\/gaiad is a fifo/],
      [
        "an archive that expands past the cap",
        [{ name: "bin/gaiad", content: Buffer.alloc(2 * 1024 * 1024) }],
        /expands past the limit of 1048576 bytes/,
      ],
      ["an archive without the declared binary", [{ name: "bin/other", content: gaiad }], /has no bin\/gaiad/],
    ];
    describe("refuses", function () {
      for (const [what, entries, message] of hostile) {
        if (format === "zip" && (what.startsWith("a hard link") || what === "a fifo")) continue; // tar-only kinds
        it(what, async function () {
          const { outer, p, outcome } = await stageArchive(format, entries);
          expect(outcome).to.be.instanceOf(WatcherError);
          const error = outcome as WatcherError;
          expect(error.retryable).to.equal(false);
          expect(error.message).to.match(message);
          expect(error.message).to.not.include("\n");
          expect(existsSync(p.version("v2.0.0"))).to.equal(false);
          expect((await readdir(p.versions).catch(() => [])).filter((n) => n.startsWith(".staging"))).to.deep.equal([]);
          expect((await readdir(outer)).sort()).to.deep.equal(["data"]); // nothing landed beside the data directory
          expect(existsSync(p.current)).to.equal(false);
        });
      }
    });
  });
}

describe("archive artifacts in the manifest", function () {
  const manifest = {
    name: "v2",
    version: "v2.0.0",
    previousVersion: "v1.0.0",
    artifacts: [
      {
        platform: "linux-amd64",
        uri: "https://example.com/gaiad-v2.0.0-linux-amd64.tar.gz",
        sha256: "ab".repeat(32),
        archive: { format: "tar.gz", binary: "bin/gaiad" },
      },
    ],
    stages: [
      {
        cohort: 1,
        timelock: 0,
        observationWindow: 60,
        attestationDeadline: 600,
        readinessBps: 0,
        healthyBps: 6700,
        unhealthyBps: 3400,
        rollbackBps: 0,
      },
    ],
  };

  it("carries the format and the binary's path on chain in the URI's fragment, and back", function () {
    const onChain = toOnChain(parseManifest(JSON.stringify(manifest)));
    expect(onChain.artifacts[0].uri).to.equal(
      "https://example.com/gaiad-v2.0.0-linux-amd64.tar.gz#archive=tar.gz&binary=bin/gaiad",
    );
    expect(parseArtifactUri(onChain.artifacts[0].uri)).to.deep.equal({
      url: "https://example.com/gaiad-v2.0.0-linux-amd64.tar.gz",
      archive: { format: "tar.gz", binary: "bin/gaiad" },
    });
    expect(parseArtifactUri("https://example.com/gaiad")).to.deep.equal({ url: "https://example.com/gaiad" });
    expect(artifactUri("https://x/a.zip", { format: "zip", binary: "a b/c" })).to.equal(
      "https://x/a.zip#archive=zip&binary=a%20b/c",
    );
  });

  it("refuses a binary path that leaves the archive, in the file and on chain", function () {
    const bad = structuredClone(manifest);
    bad.artifacts[0].archive.binary = "../gaiad";
    expect(() => parseManifest(JSON.stringify(bad))).to.throw(/artifacts\.0\.archive\.binary: a relative path/);
    expect(() => parseArtifactUri("https://x/a.zip#archive=zip&binary=/etc/passwd")).to.throw(/a relative path/);
    expect(() => parseArtifactUri("https://x/a.7z#archive=7z&binary=gaiad")).to.throw(/archive/);
  });
});
