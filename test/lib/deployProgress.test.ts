// The progress file of an interrupted deploy (lib/deployProgress.ts): what a resumed deploy reads back.
import { expect } from "chai";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getAddress } from "viem";
import type { DeployProgress } from "../../lib/deploy";
import { DeployProgressError, clearProgress, progressPath, readProgress, saveProgress } from "../../lib/deployProgress";

const DEPLOYER = getAddress("0x" + "d1".repeat(20));
const PROGRESS: DeployProgress = {
  chainId: 11155111,
  deployer: DEPLOYER,
  libraries: { manifestPlanner: getAddress("0x" + "a1".repeat(20)), rolloutViews: getAddress("0x" + "a2".repeat(20)) },
};

describe("deploy progress file", function () {
  let dir: string;
  let path: string;

  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "lockstep-progress-"));
    path = progressPath("sepolia", dir);
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it("lies beside the network's deployments file", function () {
    expect(path).to.equal(join(dir, "sepolia.progress.json"));
  });

  it("reads back what was saved, for the same account on the same chain, until cleared", function () {
    expect(readProgress(path, PROGRESS.chainId, DEPLOYER)).to.equal(undefined);
    saveProgress(path, PROGRESS);
    expect(existsSync(`${path}.tmp`)).to.equal(false);
    expect(readProgress(path, PROGRESS.chainId, DEPLOYER)).to.deep.equal(PROGRESS);
    expect(readProgress(path, PROGRESS.chainId, DEPLOYER.toLowerCase() as `0x${string}`)).to.deep.equal(PROGRESS);
    clearProgress(path);
    expect(readProgress(path, PROGRESS.chainId, DEPLOYER)).to.equal(undefined);
  });

  it("ignores another account's or another chain's progress", function () {
    saveProgress(path, PROGRESS);
    expect(readProgress(path, 1, DEPLOYER)).to.equal(undefined);
    expect(readProgress(path, PROGRESS.chainId, getAddress("0x" + "e2".repeat(20)))).to.equal(undefined);
  });

  describe("refuses in one line, naming the file", function () {
    for (const [what, text, pattern] of [
      ["a file that is not JSON", "{", /is not JSON .*: remove it to deploy from scratch$/],
      [
        "a library that is not an address",
        JSON.stringify({ ...PROGRESS, libraries: { rolloutViews: "0x12" } }),
        /libraries\.rolloutViews: an address\): remove it/,
      ],
      ["a missing deployer", JSON.stringify({ chainId: 1, libraries: {} }), /\(deployer: /],
    ] as const) {
      it(`on ${what}`, function () {
        writeFileSync(path, text);
        let error: unknown;
        try {
          readProgress(path, PROGRESS.chainId, DEPLOYER);
        } catch (e) {
          error = e;
        }
        expect(error).to.be.instanceOf(DeployProgressError);
        const message = (error as Error).message;
        expect(message.startsWith(path)).to.equal(true);
        expect(message).to.match(pattern);
        expect(message).to.not.include("\n");
      });
    }
  });
});
