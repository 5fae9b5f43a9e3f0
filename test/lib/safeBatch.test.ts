import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { getAddress, type Abi } from "viem";
import { upgradeCoordinatorAbi } from "../../lib/abi/generated";
import {
  SafeBatchError,
  batchChecksum,
  batchInWords,
  readSafeBatch,
  safeBatch,
  writeSafeBatch,
  type SafeBatchFile,
} from "../../lib/safeBatch";

// The Transaction Builder's own checksum fixture (safe-react-apps, apps/tx-builder/src/lib/checksum.test.js):
// a file, and the checksum the builder computes for it.
const BUILDER_FIXTURE = {
  version: "1.0",
  chainId: "4",
  createdAt: 1646321521061,
  meta: {
    name: "test batch file",
    txBuilderVersion: "1.4.0",
    checksum: "",
    createdFromSafeAddress: "0xDF8a1Ce35c9a6ACE153B4e0767942f1E2291a1Aa",
    createdFromOwnerAddress: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
  },
  transactions: [
    {
      to: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
      value: "0",
      contractMethod: {
        inputs: [{ internalType: "address", name: "paramAddress", type: "address" }],
        name: "testAddress",
        payable: false,
      },
      contractInputsValues: { paramAddress: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6" },
    },
    {
      to: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
      value: "0",
      contractMethod: {
        inputs: [{ internalType: "bool", name: "paramBool", type: "bool" }],
        name: "testBool",
        payable: false,
      },
      contractInputsValues: { paramAddress: "", paramBool: "false" },
    },
    {
      to: "0x49d4450977E2c95362C13D3a31a09311E0Ea26A6",
      value: "2000000000000000000",
      data: "0x42f4579000000000000000000000000049d4450977e2c95362c13d3a31a09311e0ea26a6",
    },
  ],
};
const BUILDER_CHECKSUM = "0x4ecbfd364aa6759983915644e73f8bd411e85a2dc306f252a387c2728c4db64c";

const coordinator = getAddress("0x5FbDB2315678afecb367f032d93F642f64180aa3");
const safe = getAddress("0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
const known = { UpgradeCoordinator: { address: coordinator, abi: upgradeCoordinatorAbi as Abi } };

describe("Safe Transaction Builder batches", function () {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "lockstep-safe-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("computes the checksum exactly as the Transaction Builder does, whatever the key order", function () {
    expect(batchChecksum(BUILDER_FIXTURE as unknown as SafeBatchFile)).to.equal(BUILDER_CHECKSUM);
    const reversed = Object.fromEntries(Object.entries(BUILDER_FIXTURE).reverse());
    expect(batchChecksum(reversed as unknown as SafeBatchFile)).to.equal(BUILDER_CHECKSUM);
    // The name is not covered (the builder lets a user rename a batch); the transactions' order is.
    const renamed = { ...BUILDER_FIXTURE, meta: { ...BUILDER_FIXTURE.meta, name: "other" } };
    expect(batchChecksum(renamed as unknown as SafeBatchFile)).to.equal(BUILDER_CHECKSUM);
    const reordered = { ...BUILDER_FIXTURE, transactions: [...BUILDER_FIXTURE.transactions].reverse() };
    expect(batchChecksum(reordered as unknown as SafeBatchFile)).to.not.equal(BUILDER_CHECKSUM);
  });

  it("writes the builder's format, reads it back and decodes its calls into words", function () {
    const file = safeBatch({
      chainId: 31337,
      safe,
      name: "pause",
      createdAt: 1_700_000_000_000,
      calls: [
        { to: coordinator, abi: upgradeCoordinatorAbi as Abi, functionName: "pause", args: [7n] },
        { to: coordinator, abi: upgradeCoordinatorAbi as Abi, functionName: "setRestartBudget", args: [500, 3600] },
      ],
    });
    const path = join(dir, "pause.json");
    writeSafeBatch(path, file);
    const raw = JSON.parse(readFileSync(path, "utf8"));
    expect(Object.keys(raw)).to.deep.equal(["version", "chainId", "createdAt", "meta", "transactions"]);
    expect(raw.version).to.equal("1.0");
    expect(raw.chainId).to.equal("31337");
    expect(raw.meta.createdFromSafeAddress).to.equal(safe);
    expect(raw.meta.checksum).to.match(/^0x[0-9a-f]{64}$/);
    expect(raw.transactions[0]).to.deep.include({ to: coordinator, value: "0" });
    expect(raw.transactions[0].contractMethod).to.deep.equal({
      inputs: [{ internalType: "uint256", name: "upgradeId", type: "uint256" }],
      name: "pause",
      payable: false,
    });
    expect(raw.transactions[0].contractInputsValues).to.deep.equal({ upgradeId: "7" });
    expect(raw.transactions[1].contractInputsValues).to.deep.equal({ bps: "500", leaseDuration: "3600" });

    const back = readSafeBatch(path);
    expect(batchInWords(back, known)).to.deep.equal([
      `UpgradeCoordinator.pause(upgradeId=7)`,
      `UpgradeCoordinator.setRestartBudget(bps=500, leaseDuration=3600)`,
    ]);
    expect(() => writeSafeBatch(path, file)).to.throw(SafeBatchError, /exists/);
  });

  describe("refuses", function () {
    const base = () =>
      safeBatch({
        chainId: 1,
        safe,
        name: "x",
        calls: [{ to: coordinator, abi: upgradeCoordinatorAbi as Abi, functionName: "pause", args: [1n] }],
      });
    const refused = (name: string, file: unknown, pattern: RegExp) => {
      const path = join(dir, name);
      writeFileSync(path, typeof file === "string" ? file : JSON.stringify(file));
      expect(() => batchInWords(readSafeBatch(path), known)).to.throw(SafeBatchError, pattern);
    };
    it("a file whose calls were changed after the checksum", function () {
      const f = base();
      f.transactions[0].data = f.transactions[0].data!.replace(/01$/, "02") as `0x${string}`;
      refused("tampered.json", f, /checksum does not match/);
    });
    it("a file whose shown method is not its calldata's", function () {
      const f = base();
      f.transactions[0].contractInputsValues = { upgradeId: "2" };
      const { checksum: _drop, ...meta } = f.meta;
      void _drop;
      refused(
        "mismatch.json",
        { ...f, meta: { ...meta, checksum: batchChecksum({ ...f, meta }) } },
        /shown to the signers/,
      );
    });
    it("a file that is not a batch", function () {
      refused("notbatch.json", { version: "1.0" }, /chainId/);
      refused("notjson.json", "{", /not a readable JSON/);
    });
  });
});
