import { expect } from "chai";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../helpers/e2e";

/** Runs `npx hardhat <args>` in a child process, without blocking the event loop the fake node answers on. */
function hardhat(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const child = spawn(join(ROOT, "node_modules", ".bin", "hardhat"), args, {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stderr }));
  });
}

describe("deploy task on a non-local chain", function () {
  this.timeout(240_000);
  const methods: string[] = [];
  let dir: string;
  let env: Record<string, string>;
  // A node of chain 11155111 (Sepolia) that answers reads and records every method it is asked for.
  const node = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      const { id, method } = JSON.parse(body) as { id: number; method: string };
      methods.push(method);
      const result: Record<string, unknown> = {
        eth_chainId: "0xaa36a7",
        net_version: "11155111",
        eth_accounts: ["0x70997970C51812dc3A010C7d01b50e0d17dc79C8"],
        eth_blockNumber: "0x10",
      };
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id, result: result[method] ?? null }));
    });
  });

  before(async function () {
    await new Promise<void>((r) => node.listen(0, "127.0.0.1", r));
    dir = mkdtempSync(join(tmpdir(), "lockstep-deploy-task-"));
    env = {
      RPC_URL: `http://127.0.0.1:${(node.address() as AddressInfo).port}`,
      NETWORK: "sepolia",
      CHAIN_ID: "11155111",
      DEPLOYER_KEY: "",
      LOCKSTEP_DEPLOYMENTS_DIR: dir,
    };
  });

  after(function () {
    node.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const refused: [string, string[], string][] = [
    [
      "without a preset or a parameters file",
      [],
      "lockstep: chain 11155111 is not a local chain: pass --preset testnet|mainnet or --params <file.json>",
    ],
    [
      "with an unknown preset",
      ["--preset", "devnet"],
      'lockstep: unknown preset "devnet": choose local, testnet, mainnet',
    ],
    [
      "with both a preset and a file",
      ["--preset", "mainnet", "--params", "x.json"],
      "lockstep: pass --preset or --params, not both",
    ],
  ];
  for (const [what, extra, line] of refused) {
    it(`refuses ${what}, in one line, sending nothing`, async function () {
      methods.length = 0;
      const r = await hardhat(["deploy", "--network", "sepolia", ...extra], env);
      expect(r.code).to.equal(1);
      expect(r.stderr.trim()).to.equal(line);
      expect(methods).to.not.include("eth_sendTransaction");
      expect(methods).to.not.include("eth_sendRawTransaction");
    });
  }

  it("refuses a parameters file with a bad field, naming it", async function () {
    const file = join(dir, "bad.json");
    writeFileSync(file, JSON.stringify({ extends: "mainnet", quorumPercent: 0 }));
    const r = await hardhat(["deploy", "--network", "sepolia", "--params", file], env);
    expect(r.code).to.equal(1);
    expect(r.stderr.trim()).to.match(/^lockstep: .*bad\.json: quorumPercent: .+$/);
  });
});
