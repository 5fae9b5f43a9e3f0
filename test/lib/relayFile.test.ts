import { expect } from "chai";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zeroHash, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createWalletClient, http } from "viem";
import { packAttestations } from "../../lib/actions/packAttestations";
import {
  RelayFileError,
  appendRelayEntry,
  parseRelayFile,
  readRelayFile,
  relayBatch,
  type WatcherRelayEntry,
} from "../../lib/actions/relayFile";
import { signAttestation } from "../../lib/actions/signAttestation";
import { PACKED_ATTESTATION_SIZE, Status } from "../../lib/coordinator";
import { versionTag } from "../../lib/version";

const COORDINATOR = "0x5FC8d32690cc91D4c39d9d3abcBD16989F875707";

async function entry(issuedAt: number): Promise<WatcherRelayEntry> {
  const account = privateKeyToAccount(`0x${"11".repeat(32)}` as Hex);
  // Signing with a local key sends nothing: the transport is never used.
  const client = createWalletClient({ account, transport: http("http://127.0.0.1:1") });
  const attestation = {
    operator: account.address,
    upgradeId: 1,
    stage: 0,
    status: Status.Ready,
    version: versionTag("v2.0.0"),
    height: 10n,
    metricsDigest: zeroHash,
    issuedAt,
    deadline: issuedAt + 3600,
  };
  const signed = await signAttestation(client, { chainId: 31337, coordinator: COORDINATOR, attestation });
  return {
    attestations: [packAttestations([signed])],
    chainId: 31337,
    coordinator: COORDINATOR,
    operator: account.address,
    upgradeId: 1,
    stage: 0,
    status: "Ready",
    issuedAt,
    deadline: issuedAt + 3600,
    digest: zeroHash,
  };
}

describe("lib/actions/relayFile", function () {
  let dir: string;
  before(function () {
    dir = mkdtempSync(join(tmpdir(), "lockstep-relay-"));
  });
  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads back what the watcher appends, one entry a line, and batches every attestation", async function () {
    const file = join(dir, "nested", "relay.jsonl");
    const written = [await entry(1_000), await entry(2_000)];
    for (const e of written) await appendRelayEntry({ file, entry: e });
    expect(readFileSync(file, "utf8").trim().split("\n")).to.have.length(2);
    const read = await readRelayFile(file);
    expect(read).to.deep.equal(written);
    const { batch, count } = relayBatch(read);
    expect(count).to.equal(2);
    expect(batch.length).to.equal(2 + 2 * 2 * PACKED_ATTESTATION_SIZE);
  });

  it("takes a JSON array, and an entry with only its attestations", async function () {
    const e = await entry(3_000);
    expect(parseRelayFile(JSON.stringify([{ attestations: e.attestations }]))).to.deep.equal([
      { attestations: e.attestations },
    ]);
  });

  it("refuses in one line what is not a relay file", async function () {
    const e = await entry(4_000);
    const refuse = (text: string) => expect(() => parseRelayFile(text, "f.jsonl")).to.throw(RelayFileError);
    refuse("");
    expect(() => parseRelayFile("{}\nnot json\n", "f.jsonl")).to.throw("f.jsonl line 2 is not JSON");
    expect(() =>
      parseRelayFile(JSON.stringify({ attestations: [e.attestations[0].slice(0, -2)] }), "f.jsonl"),
    ).to.throw("f.jsonl entry 1 has no packed attestations (172 bytes each, as the watcher writes)");
    expect(() => parseRelayFile(JSON.stringify({ ...e, status: "Sleepy" }), "f.jsonl")).to.throw(/entry 1: status/);
  });
});
