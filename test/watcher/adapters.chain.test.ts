// The chain adapters against the Hardhat network, served over HTTP on 127.0.0.1 by Hardhat's in-process JSON-RPC
// server (so viem goes through the same transport as in production), with the real system deployed: the reader sees what the chain holds, the attester's transactions and relayed signatures are accepted
// by the coordinator, its refusals come back decoded, and the attester key loads without ever showing itself.
import { expect } from "chai";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inspect } from "node:util";
import { loadFixture } from "@nomicfoundation/hardhat-network-helpers";
import { HDNodeWallet, Wallet, encryptKeystoreJson, keccak256, toUtf8Bytes } from "ethers";
import hre, { ethers, network } from "hardhat";
import { TASK_NODE_CREATE_SERVER } from "hardhat/builtin-tasks/task-names";
import { createWalletClient, parseEventLogs } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { upgradeCoordinatorAbi } from "../../lib/abi/generated";
import { Status } from "../../lib/coordinator";
import { versionTag } from "../../lib/version";
import { Attester, type RelayTarget } from "../../watcher/src/adapters/attester";
import { loadAttesterKey } from "../../watcher/src/adapters/keys";
import { rpcTransport } from "../../watcher/src/adapters/rpcTransport";
import { ViemChainReader, connect } from "../../watcher/src/adapters/viemChain";
import type { AttestationRequest, Clock, Hex } from "../../watcher/src/ports";
import { closedUrl } from "../helpers/e2e";
import { STAKE, Validator, deployLockstep, manifest, registerValidators } from "../helpers/system";
import { rejection } from "../helpers/watcherHarness";

const HEIGHT = 1_000_000n;
const DIGEST = keccak256(toUtf8Bytes("metrics-snapshot")) as Hex;

let rpcUrl: string;
/** Serves the Hardhat network on 127.0.0.1 for the tests of the calling `describe`. */
function useRpcServer() {
  let server: { listen(): Promise<{ port: number }>; close(): Promise<void> };
  before(async function () {
    server = await hre.run(TASK_NODE_CREATE_SERVER, { hostname: "127.0.0.1", port: 0, provider: network.provider });
    rpcUrl = `http://127.0.0.1:${(await server.listen()).port}`;
  });
  after(async function () {
    await server.close();
  });
}

async function systemFixture() {
  const d = await deployLockstep();
  const [funded, unfunded, outsider] = await registerValidators(
    d,
    [
      { cohort: 1, stake: STAKE(100) },
      { cohort: 1, stake: STAKE(200) },
      { cohort: 2, stake: STAKE(300) },
    ],
    "chain",
  );
  await (await d.coordinator.connect(d.timelockSigner).schedule(manifest("chain-adapters", [1, 2]))).wait();
  const upgradeId = Number(await d.coordinator.upgradeCount());
  await network.provider.request({ method: "hardhat_setBalance", params: [unfunded.attester.address, "0x0"] });
  const coordinator = (await d.coordinator.getAddress()) as Hex;
  const client = connect(rpcUrl);
  return { d, funded, unfunded, outsider, upgradeId, coordinator, client };
}

type Ctx = Awaited<ReturnType<typeof systemFixture>>;

const reader = (ctx: Ctx, v: Validator) => new ViemChainReader(ctx.client, ctx.coordinator, v.operator.address as Hex);

/** A clock on the chain's time (other test files may have moved the chain ahead of the wall clock). */
async function chainClock(): Promise<Clock> {
  const { timestamp } = (await ethers.provider.getBlock("latest"))!;
  return { now: () => timestamp * 1000, sleep: async () => {} };
}

async function attester(ctx: Ctx, v: Validator, relay?: RelayTarget, over: { url?: string; clock?: Clock } = {}) {
  const url = over.url ?? rpcUrl;
  return new Attester({
    wallet: createWalletClient({
      account: privateKeyToAccount(v.attester.privateKey as Hex),
      transport: rpcTransport(url), // as the watcher wires it (build.ts)
    }),
    client: over.url ? connect(url) : ctx.client,
    coordinator: ctx.coordinator,
    operator: v.operator.address as Hex,
    chainId: 31337,
    relay,
    clock: over.clock ?? (await chainClock()),
  });
}

const ready = (ctx: Ctx, over: Partial<AttestationRequest> = {}): AttestationRequest => ({
  upgradeId: ctx.upgradeId,
  stage: 0,
  status: "Ready",
  version: "v2.0.0",
  height: HEIGHT,
  metricsDigest: DIGEST,
  ...over,
});

let tmp: string;
/** A fresh temporary directory for each test of the calling `describe`. */
function useTmp() {
  beforeEach(async function () {
    tmp = await mkdtemp(join(tmpdir(), "lockstep-chain-"));
  });
  afterEach(async function () {
    await rm(tmp, { recursive: true, force: true });
  });
}

describe("chain adapters on the Hardhat network", function () {
  useRpcServer();

  describe("chain reader (viem)", function () {
    it("reports the chain id, the head, block hashes and code", async function () {
      const ctx = await loadFixture(systemFixture);
      const r = reader(ctx, ctx.funded);
      expect(await r.chainId()).to.equal(31337);
      const head = await r.head();
      expect(head).to.equal(BigInt(await ethers.provider.getBlockNumber()));
      expect(await r.blockHash(head)).to.equal((await ethers.provider.getBlock(Number(head)))!.hash);
      expect(await r.blockHash(head - 3n)).to.equal((await ethers.provider.getBlock(Number(head) - 3))!.hash);
      expect(await r.blockHash(head + 100n)).to.equal(undefined);
      expect(await r.code(ctx.coordinator))
        .to.equal(await ethers.provider.getCode(ctx.coordinator))
        .and.not.equal("0x");
      expect(await r.code(ctx.funded.operator.address as Hex)).to.equal("0x");
    });

    it("returns the coordinator's logs for a range, in chain order", async function () {
      const ctx = await loadFixture(systemFixture);
      const r = reader(ctx, ctx.funded);
      const head = await r.head();
      const logs = await r.coordinatorLogs(0n, head);
      const expected = await ethers.provider.getLogs({ address: ctx.coordinator, fromBlock: 0, toBlock: Number(head) });
      expect(logs.map((l) => [Number(l.blockNumber), l.logIndex, l.data])).to.deep.equal(
        expected.map((l) => [l.blockNumber, l.index, l.data]),
      );
      const order = logs.map((l) => Number(l.blockNumber) * 1e6 + l.logIndex!);
      expect(order).to.deep.equal([...order].sort((a, b) => a - b));
      expect(new Set(logs.map((l) => l.address.toLowerCase()))).to.deep.equal(new Set([ctx.coordinator.toLowerCase()]));

      // A range of one block holds only that block's logs.
      const scheduled = parseEventLogs({ abi: upgradeCoordinatorAbi, logs, eventName: "UpgradeScheduled" });
      expect(scheduled).to.have.length(1);
      const block = scheduled[0].blockNumber;
      const one = await r.coordinatorLogs(block, block);
      expect(one.length).to.be.greaterThan(0);
      expect(one.every((l) => l.blockNumber === block)).to.equal(true);
      expect(await r.coordinatorLogs(head + 1n, head + 1n)).to.deep.equal([]);
    });

    it("reads this validator's assignment before and after it attests", async function () {
      const ctx = await loadFixture(systemFixture);
      const r = reader(ctx, ctx.funded);
      expect(await r.assignment(ctx.upgradeId)).to.deep.equal({
        inRoster: true,
        stage: 0,
        lastUpgradeId: 0,
        lastStatus: null,
      });
      expect(await reader(ctx, ctx.outsider).assignment(ctx.upgradeId)).to.deep.equal({
        inRoster: true,
        stage: 1,
        lastUpgradeId: 0,
        lastStatus: null,
      });
      await (await attester(ctx, ctx.funded)).attest(ready(ctx));
      expect(await r.assignment(ctx.upgradeId)).to.deep.equal({
        inRoster: true,
        stage: 0,
        lastUpgradeId: ctx.upgradeId,
        lastStatus: "Ready",
      });
    });

    describe("RPC failures", function () {
      let server: Server;
      let answer: (res: ServerResponse) => void;
      beforeEach(async function () {
        server = createServer((_req, res) => answer(res));
        await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
      });
      afterEach(async function () {
        server.closeAllConnections();
        await new Promise((done) => server.close(done));
      });
      const url = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const readerAt = (rpcUrl: string) =>
        new ViemChainReader(
          connect(rpcUrl),
          "0x0000000000000000000000000000000000000001",
          "0x0000000000000000000000000000000000000002",
        );

      it("are retryable when the connection is refused", async function () {
        const error = await rejection(readerAt(await closedUrl()).head());
        expect(error.code).to.equal("rpc");
        expect(error.retryable).to.equal(true);
      });

      it("are retryable on a 5xx answer or a rate limit", async function () {
        for (const status of [503, 429]) {
          answer = (res) => res.writeHead(status).end("busy");
          const error = await rejection(readerAt(url()).head());
          expect([status, error.code, error.retryable]).to.deep.equal([status, "rpc", true]);
        }
      });

      it("are fatal when the node answers with an error", async function () {
        answer = (res) =>
          res.writeHead(200, { "content-type": "application/json" }).end(
            JSON.stringify({
              jsonrpc: "2.0",
              id: 0,
              error: { code: -32601, message: "the method eth_blockNumber does not exist" },
            }),
          );
        const error = await rejection(readerAt(url()).head());
        expect(error.code).to.equal("rpc");
        expect(error.retryable).to.equal(false);
        expect(error.message)
          .to.match(/^head: /)
          .and.not.include("\n");
      });
    });
  });

  describe("attester (viem)", function () {
    useTmp();

    it("posts an attestation from the attester key and waits for it", async function () {
      const ctx = await loadFixture(systemFixture);
      const result = await (await attester(ctx, ctx.funded)).attest(ready(ctx));
      expect(result.via).to.equal("transaction");
      const receipt = await ethers.provider.getTransactionReceipt(result.reference);
      expect(receipt!.status).to.equal(1);
      const events = await ctx.d.coordinator.queryFilter(
        ctx.d.coordinator.filters.Attested(ctx.upgradeId, ctx.funded.operator.address),
      );
      expect(events.map((e) => [e.transactionHash, ...e.args])).to.deep.equal([
        [
          result.reference,
          BigInt(ctx.upgradeId),
          ctx.funded.operator.address,
          0n,
          BigInt(Status.Ready),
          versionTag("v2.0.0"),
          HEIGHT,
          DIGEST,
          STAKE(100),
        ],
      ]);
    });

    it("returns the coordinator's refusal as a fatal error and does not relay it", async function () {
      const ctx = await loadFixture(systemFixture);
      const file = join(tmp, "relay.jsonl");
      // Healthy before the stage activated: the coordinator refuses.
      const error = await rejection(
        (await attester(ctx, ctx.funded, { file })).attest(ready(ctx, { status: "Healthy" })),
      );
      expect(error.retryable).to.equal(false);
      expect(error.code).to.equal("refused");
      expect(error.options.details).to.deep.equal({
        error: "CoordinatorStageNotActivated",
        args: [String(ctx.upgradeId), "0"],
      });
      expect(error.message).to.equal(
        `coordinator refused the attestation: CoordinatorStageNotActivated(${ctx.upgradeId}, 0)`,
      );
      expect(existsSync(file)).to.equal(false);
    });

    it("without funds and without a relay, fails with a retryable error", async function () {
      const ctx = await loadFixture(systemFixture);
      const error = await rejection((await attester(ctx, ctx.unfunded)).attest(ready(ctx)));
      expect([error.code, error.retryable]).to.deep.equal(["funds", true]);
    });

    it("without funds, writes a signed packed attestation to the relay file that the coordinator accepts", async function () {
      const ctx = await loadFixture(systemFixture);
      const file = join(tmp, "relay", "attestations.jsonl");
      const result = await (await attester(ctx, ctx.unfunded, { file })).attest(ready(ctx));
      expect(result.via).to.equal("relay");

      const lines = (await readFile(file, "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines).to.have.length(1);
      expect(lines[0]).to.include({
        chainId: 31337,
        upgradeId: ctx.upgradeId,
        stage: 0,
        status: "Ready",
        digest: result.reference,
      });
      expect(lines[0].attestations).to.have.length(1);

      const relayer = ctx.d.others[0];
      await expect(ctx.d.coordinator.connect(relayer).relayAttestations(lines[0].attestations[0]))
        .to.emit(ctx.d.coordinator, "Attested")
        .withArgs(
          ctx.upgradeId,
          ctx.unfunded.operator.address,
          0,
          Status.Ready,
          versionTag("v2.0.0"),
          HEIGHT,
          DIGEST,
          STAKE(200),
        );
      expect((await reader(ctx, ctx.unfunded).assignment(ctx.upgradeId)).lastStatus).to.equal("Ready");
    });

    it("after quick retries of an unreachable RPC node, hands the attestation to the relay", async function () {
      const ctx = await loadFixture(systemFixture);
      const file = join(tmp, "relay.jsonl");
      const sleeps: number[] = [];
      const clock: Clock = { now: Date.now, sleep: async (ms) => void sleeps.push(ms) };
      const result = await (
        await attester(ctx, ctx.funded, { file }, { url: await closedUrl(), clock })
      ).attest(ready(ctx));
      expect(result.via).to.equal("relay");
      expect(sleeps).to.have.length(2);
      expect(JSON.parse(await readFile(file, "utf8")).digest).to.equal(result.reference);
    });

    it("without funds, posts the signed attestation to a relay URL", async function () {
      const ctx = await loadFixture(systemFixture);
      const bodies: unknown[] = [];
      let status = 200;
      const server = createServer((req, res) => {
        let text = "";
        req
          .on("data", (chunk) => (text += chunk))
          .on("end", () => {
            bodies.push(JSON.parse(text));
            res.writeHead(status).end();
          });
      });
      await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/attestations`;
        const a = await attester(ctx, ctx.unfunded, { url });
        const result = await a.attest(ready(ctx));
        expect(result.via).to.equal("relay");
        expect(bodies).to.have.length(1);
        const body = bodies[0] as { attestations: string[]; digest: string };
        expect(body.digest).to.equal(result.reference);
        expect(body.attestations.map((p) => (p.length - 2) / 2)).to.deep.equal([172]);

        status = 503;
        const error = await rejection(a.attest(ready(ctx)));
        expect([error.code, error.retryable]).to.deep.equal(["relay", true]);
      } finally {
        server.closeAllConnections();
        await new Promise((done) => server.close(done));
      }
    });
  });
});

describe("attester key", function () {
  useTmp();
  const password = "correct horse battery staple";
  const wallet: HDNodeWallet = Wallet.createRandom();
  let keystore: string;
  let passwordFile: string;

  beforeEach(async function () {
    keystore = join(tmp, "keystore.json");
    passwordFile = join(tmp, "password");
    await writeFile(
      keystore,
      await encryptKeystoreJson({ address: wallet.address, privateKey: wallet.privateKey }, password, {
        scrypt: { N: 1024 },
      }),
    );
    await writeFile(passwordFile, `${password}\n`);
  });

  /** Neither the key nor the password shows in `value` however it is printed. */
  function expectNoSecret(value: unknown) {
    const secrets = [wallet.privateKey.slice(2).toLowerCase(), password];
    for (const text of [JSON.stringify(value), inspect(value, { showHidden: true, depth: 10 }), String(value)]) {
      for (const secret of secrets) expect(text.toLowerCase()).to.not.include(secret.toLowerCase());
    }
  }

  async function failure(source: Parameters<typeof loadAttesterKey>[0], env: NodeJS.ProcessEnv = {}) {
    const error = await rejection(loadAttesterKey(source, env));
    expect(error.retryable).to.equal(false);
    expect(error.code).to.equal("key");
    expect(error.message).to.not.include("\n");
    expectNoSecret(error);
    return error.message;
  }

  it("decrypts a keystore with its password file", async function () {
    const account = await loadAttesterKey({ keystore, passwordFile });
    expect(account.address).to.equal(wallet.address);
    expectNoSecret(account);
  });

  it("decrypts a PBKDF2 keystore (the Web3 Secret Storage definition's test vector)", async function () {
    await writeFile(
      keystore,
      JSON.stringify({
        crypto: {
          cipher: "aes-128-ctr",
          cipherparams: { iv: "6087dab2f9fdbbfaddc31a909735c1e6" },
          ciphertext: "5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46",
          kdf: "pbkdf2",
          kdfparams: {
            c: 262144,
            dklen: 32,
            prf: "hmac-sha256",
            salt: "ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd",
          },
          mac: "517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2",
        },
        id: "3198bc9c-6672-5ab3-d995-4942343ae5b6",
        version: 3,
      }),
    );
    await writeFile(passwordFile, "testpassword\n");
    const account = await loadAttesterKey({ keystore, passwordFile });
    expect(account.address).to.equal(
      new Wallet("0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d").address,
    );
  });

  it("reads a key from an environment variable", async function () {
    const account = await loadAttesterKey({ env: "ATTESTER_KEY" }, { ATTESTER_KEY: wallet.privateKey });
    expect(account.address).to.equal(wallet.address);
    expectNoSecret(account);
  });

  it("signs with the loaded key", async function () {
    const account = await loadAttesterKey({ keystore, passwordFile });
    expect(await account.signMessage({ message: "lockstep" })).to.equal(await wallet.signMessage("lockstep"));
  });

  describe("fails with one line naming the problem", function () {
    it("on a wrong password", async function () {
      await writeFile(passwordFile, "not the password\n");
      expect(await failure({ keystore, passwordFile })).to.equal(
        `attester key: wrong password for keystore ${keystore} (from ${passwordFile})`,
      );
    });

    it("on a missing keystore or password file", async function () {
      const missing = join(tmp, "nowhere.json");
      expect(await failure({ keystore: missing, passwordFile })).to.equal(
        `attester key: keystore ${missing} does not exist`,
      );
      expect(await failure({ keystore, passwordFile: missing })).to.equal(
        `attester key: password file ${missing} does not exist`,
      );
    });

    it("on a keystore whose parameters are malformed", async function () {
      const broken = JSON.parse(await readFile(keystore, "utf8"));
      (broken.crypto ?? broken.Crypto).kdfparams.salt = "not hex";
      await writeFile(keystore, JSON.stringify(broken));
      expect(await failure({ keystore, passwordFile })).to.equal(
        `attester key: keystore ${keystore} cannot be decrypted: it is malformed`,
      );
    });

    it("on a file that is not a keystore", async function () {
      await writeFile(keystore, JSON.stringify({ privateKey: wallet.privateKey }));
      expect(await failure({ keystore, passwordFile })).to.equal(
        `attester key: keystore ${keystore} is not a Web3 Secret Storage JSON keystore`,
      );
    });

    it("on an unset or malformed environment variable", async function () {
      expect(await failure({ env: "ATTESTER_KEY" })).to.equal(
        "attester key: environment variable ATTESTER_KEY is not set",
      );
      const malformed = await failure({ env: "ATTESTER_KEY" }, { ATTESTER_KEY: wallet.privateKey.slice(0, 60) });
      expect(malformed).to.equal(
        "attester key: environment variable ATTESTER_KEY does not hold a 0x-prefixed 32-byte hex private key",
      );
      const outOfRange = await failure({ env: "ATTESTER_KEY" }, { ATTESTER_KEY: `0x${"f".repeat(64)}` });
      expect(outOfRange).to.equal(
        "attester key: environment variable ATTESTER_KEY holds a value that is not a valid secp256k1 private key",
      );
    });
  });
});
