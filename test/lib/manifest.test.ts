import { expect } from "chai";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { keccak256 as ethersKeccak256, toUtf8Bytes } from "ethers";
import { canonicalManifest, manifestHashOfText, parseManifest, toOnChain } from "../../lib/manifest";
import { versionFromTag, versionTag } from "../../lib/version";

const MANIFESTS = join(__dirname, "..", "..", "manifests");

describe("lib/manifest", function () {
  // Hashes of the example manifests as they were voted before lib/ moved from ethers to viem: the canonical form
  // and its hash must never change, or every manifest already on chain would stop matching its file.
  const VOTED: Record<string, string> = {
    "v2.0.0-canary-first.json": "0xe447e6f1aa63e42ec6a4ff4c3a28f5dcf9c712a961ef8174ad10003a19998541",
    "v2.1.0-state-migration.json": "0x64a25ff9a8d6dbd2d66b5be1d1d305c379e4833f2c72798db394c5b63199dfe8",
  };

  for (const [file, hash] of Object.entries(VOTED)) {
    it(`keeps the canonical hash of manifests/${file}`, function () {
      const text = readFileSync(join(MANIFESTS, file), "utf8");
      expect(manifestHashOfText(text, file)).to.equal(hash);
      // and it is the keccak256 of the canonical form's UTF-8, as any other library computes it
      expect(ethersKeccak256(toUtf8Bytes(canonicalManifest(parseManifest(text))))).to.equal(hash);
    });
  }

  it("puts the hash and lower-case 0x digests into the on-chain struct", function () {
    const text = readFileSync(join(MANIFESTS, "v2.0.0-canary-first.json"), "utf8");
    const m = toOnChain(parseManifest(text));
    expect(m.manifestHash).to.equal(VOTED["v2.0.0-canary-first.json"]);
    for (const a of m.artifacts) expect(a.sha256Digest).to.match(/^0x[0-9a-f]{64}$/);
    for (const s of m.stages) expect(s).to.not.have.property("label");
  });
});

describe("lib/version", function () {
  it("left-aligns a version in 32 bytes and reads it back", function () {
    const tag = versionTag("v2.0.0");
    expect(tag).to.equal(`0x76322e302e30${"0".repeat(52)}`);
    expect(versionFromTag(tag)).to.equal("v2.0.0");
  });

  it("refuses an empty version and one over 32 bytes", function () {
    expect(() => versionTag("")).to.throw(/1 to 32 bytes/);
    expect(() => versionTag("v".repeat(33))).to.throw(/1 to 32 bytes/);
    expect(versionFromTag(versionTag("é".repeat(16)))).to.equal("é".repeat(16));
  });

  it("reads bytes that are not UTF-8 as U+FFFD instead of failing", function () {
    expect(versionFromTag(`0xff61${"0".repeat(60)}`)).to.equal("\uFFFDa");
  });
});
