import { expect } from "chai";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import hre from "hardhat";
import { reset } from "@nomicfoundation/hardhat-network-helpers";
import { encodeAbiParameters, getAddress, zeroAddress, type AbiParameter, type Hex } from "viem";
import { readDeployment } from "../../lib/deployments";
import { verificationTargets } from "../../lib/verify";
import { runTask } from "../helpers/tasks";

const body = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let s = "";
    req.on("data", (c) => (s += c));
    req.on("end", () => resolve(s));
  });

interface Submission {
  address: string;
  contract: string;
  compiler: string;
  constructorArgs: string;
  input: {
    settings: { libraries?: Record<string, Record<string, string>>; viaIR?: boolean; optimizer?: { runs: number } };
  };
}

/**
 * An Etherscan-compatible explorer that checks each submission against what it expects (the contract's name and
 * constructor arguments, its libraries, the compiler) and fails the ones that differ, plus a Sourcify chain list.
 */
function fakeExplorer(expected: Map<string, { contract: string; constructorArgs: string }>) {
  const received: Submission[] = [];
  const sourcifyAsked: string[] = [];
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url!, "http://x");
    const reply = (json: unknown) =>
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(json));
    if (url.pathname === "/sourcify/chains") {
      sourcifyAsked.push(url.pathname);
      return reply([{ name: "Ethereum Mainnet", chainId: 1, supported: true }]);
    }
    if (url.pathname !== "/api") return res.writeHead(404).end();
    const params = req.method === "POST" ? new URLSearchParams(await body(req)) : url.searchParams;
    if (params.get("apikey") !== "test-key") return reply({ status: "0", message: "NOTOK", result: "Invalid API Key" });
    switch (params.get("action")) {
      case "getsourcecode":
        return reply({ status: "1", message: "OK", result: [{ SourceCode: "" }] });
      case "verifysourcecode": {
        const s: Submission = {
          address: getAddress(params.get("contractaddress")!),
          contract: params.get("contractname")!,
          compiler: params.get("compilerversion")!,
          constructorArgs: params.get("constructorArguements") ?? "",
          input: JSON.parse(params.get("sourceCode")!),
        };
        received.push(s);
        const want = expected.get(s.address);
        const ok =
          want &&
          want.contract === s.contract &&
          want.constructorArgs === s.constructorArgs &&
          params.get("codeformat") === "solidity-standard-json-input" &&
          s.compiler.startsWith("v0.8.30+commit.");
        return reply(
          ok
            ? { status: "1", message: "OK", result: `guid-${received.length}` }
            : { status: "0", message: "NOTOK", result: "Fail - Unable to verify" },
        );
      }
      case "checkverifystatus":
        return reply({ status: "1", message: "OK", result: "Pass - Verified" });
      default:
        return reply({ status: "0", message: "NOTOK", result: "unknown action" });
    }
  });
  return { server, received, sourcifyAsked };
}

describe("verify:all", function () {
  this.timeout(240_000);
  let dir: string;
  const saved = { etherscan: structuredClone(hre.config.etherscan), sourcify: structuredClone(hre.config.sourcify) };

  before(async function () {
    dir = mkdtempSync(join(tmpdir(), "lockstep-verify-"));
    process.env.LOCKSTEP_DEPLOYMENTS_DIR = dir;
    await reset();
    await runTask("deploy");
  });

  after(function () {
    delete process.env.LOCKSTEP_DEPLOYMENTS_DIR;
    Object.assign(hre.config.etherscan, saved.etherscan);
    Object.assign(hre.config.sourcify, saved.sourcify);
    rmSync(dir, { recursive: true, force: true });
  });

  it("submits every contract with its constructor arguments and libraries, and skips Sourcify off its chains", async function () {
    const d = readDeployment("hardhat", dir);
    // What an explorer must receive, computed independently of the task: the artifacts' constructor ABI, encoded.
    const expected = new Map<string, { contract: string; constructorArgs: string }>();
    for (const t of verificationTargets(d)) {
      const [file, name] = t.contract.split(":");
      const { abi } = await hre.artifacts.readArtifact(`${file}:${name}`);
      const ctor = abi.find((x: { type: string }) => x.type === "constructor") as
        { inputs: AbiParameter[] } | undefined;
      const args = ctor ? encodeAbiParameters(ctor.inputs, t.constructorArguments as readonly unknown[]) : "0x";
      expected.set(t.address, { contract: t.contract, constructorArgs: (args as Hex).slice(2) });
    }
    // The timelock was created with the governor as its only proposer and no admin, as the deploy's own records say.
    const timelock = verificationTargets(d).find((t) => t.name === "LockstepTimelock")!;
    expect(timelock.constructorArguments.slice(1)).to.deep.equal([
      [getAddress(d.contracts.LockstepGovernor)],
      [zeroAddress],
      zeroAddress,
    ]);

    const fake = fakeExplorer(expected);
    await new Promise<void>((r) => fake.server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
    try {
      hre.config.etherscan.apiKey = { hardhat: "test-key" };
      hre.config.etherscan.customChains = [
        { network: "hardhat", chainId: 31337, urls: { apiURL: `${base}/api`, browserURL: base } },
      ];
      hre.config.sourcify.enabled = true;
      hre.config.sourcify.apiUrl = `${base}/sourcify`;
      const out = await runTask("verify:all");
      expect(out).to.match(/Sourcify does not support chain 31337: Sourcify skipped/);
      expect(out).to.include("all 8 contracts verified");
      expect(fake.received.map((s) => s.contract)).to.deep.equal(verificationTargets(d).map((t) => t.contract));
      const coordinator = fake.received.find((s) => s.contract.endsWith(":UpgradeCoordinator"))!;
      expect(coordinator.input.settings.libraries).to.deep.equal({
        "contracts/rollout/ManifestPlanner.sol": { ManifestPlanner: getAddress(d.contracts.ManifestPlanner) },
        "contracts/rollout/RolloutViews.sol": { RolloutViews: getAddress(d.contracts.RolloutViews) },
        "contracts/rollout/RegistryLogic.sol": { RegistryLogic: getAddress(d.contracts.RegistryLogic!) },
        "contracts/rollout/GovernanceLogic.sol": { GovernanceLogic: getAddress(d.contracts.GovernanceLogic!) },
      });
      expect(coordinator.input.settings.viaIR).to.equal(true);
      expect(coordinator.input.settings.optimizer?.runs).to.equal(200);
      expect(fake.sourcifyAsked).to.have.length(1);
    } finally {
      fake.server.close();
    }
  });
});
