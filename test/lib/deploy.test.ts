import { expect } from "chai";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ethers } from "hardhat";
import { reset } from "@nomicfoundation/hardhat-network-helpers";
import { getAddress, parseEther, zeroAddress, type Address } from "viem";
import { readContract } from "viem/actions";
import { lockstepGovernorAbi, lockstepTimelockAbi, stakeTokenAbi } from "../../lib/abi/generated";
import {
  DEPLOY_STEPS,
  defaultParams,
  deployerPowers,
  deploySystem,
  type DeployProgress,
  type SystemAddresses,
} from "../../lib/deploy";
import { DeployParamsError, PRESETS, loadPreset, readParamsFile, systemParams } from "../../lib/deployParams";
import { hardhatClients } from "../helpers/system";

class Interrupted extends Error {}

describe("deploySystem", function () {
  this.timeout(240_000);
  let deployer: Address;
  let guardian: Address;

  before(async function () {
    await reset();
    const [a, b] = await ethers.getSigners();
    deployer = getAddress(a.address);
    guardian = getAddress(b.address);
  });

  describe("interrupted after each step", function () {
    for (const stop of DEPLOY_STEPS) {
      it(`leaves the deployer no power when it stops after ${stop}, and a run resumed from it completes`, async function () {
        const { wallet, client } = hardhatClients(deployer);
        const params = defaultParams(deployer, guardian);
        let progress: DeployProgress | undefined;
        let left: Partial<SystemAddresses> = {};
        const err = await deploySystem(wallet, client, params, {
          onStep: (step, p, done) => {
            progress = p;
            left = done;
            if (step === stop) throw new Interrupted(step);
          },
        }).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(Interrupted);
        expect(await deployerPowers(client, left, deployer)).to.deep.equal([]);
        if (left.token) {
          // Nobody holds the binding right but the vanished binder key: the deployer cannot bind even itself.
          const registry = await readContract(client, {
            address: left.token,
            abi: stakeTokenAbi,
            functionName: "registry",
          });
          const bound = stop === "bind" || stop === "sweepBinder";
          expect(getAddress(registry)).to.equal(bound ? left.coordinator : zeroAddress);
        }
        if (left.timelock) {
          const proposer = await readContract(client, {
            address: left.timelock,
            abi: lockstepTimelockAbi,
            functionName: "PROPOSER_ROLE",
          });
          expect(
            await readContract(client, {
              address: left.timelock,
              abi: lockstepTimelockAbi,
              functionName: "hasRole",
              args: [proposer, left.governor!],
            }),
          ).to.equal(true);
        }

        const resumed = await deploySystem(wallet, client, params, { resume: progress });
        expect(resumed.libraries.manifestPlanner).to.equal(progress!.libraries.manifestPlanner);
        if (stop !== "manifestPlanner")
          expect(resumed.libraries.rolloutViews).to.equal(progress!.libraries.rolloutViews);
        expect(await deployerPowers(client, resumed, deployer)).to.deep.equal([]);
        expect(
          getAddress(
            await readContract(client, { address: resumed.token, abi: stakeTokenAbi, functionName: "registry" }),
          ),
        ).to.equal(resumed.coordinator);
        expect(
          getAddress(
            await readContract(client, {
              address: resumed.governor,
              abi: lockstepGovernorAbi,
              functionName: "timelock",
            }),
          ),
        ).to.equal(resumed.timelock);
      });
    }
  });

  it("returns what is left of the binder's allowance to the deployer", async function () {
    const { wallet, client } = hardhatClients(deployer);
    const before = await client.getBalance({ address: deployer });
    const s = await deploySystem(wallet, client, defaultParams(deployer, guardian));
    const spent = before - (await client.getBalance({ address: deployer }));
    // Gas for seven contracts and a few calls, at Hardhat's fees: far below what was lent if nothing came back.
    expect(spent < parseEther("1")).to.equal(true);
    expect(await readContract(client, { address: s.token, abi: stakeTokenAbi, functionName: "totalSupply" })).to.equal(
      parseEther("1000000000"),
    );
  });

  describe("reverts", function () {
    it("when the guardian is the deployer", async function () {
      const { wallet, client } = hardhatClients(deployer);
      const err = await deploySystem(wallet, client, defaultParams(deployer, deployer)).catch((e: Error) => e);
      expect(String(err)).to.match(/guardian must not be the deploying account/);
    });

    it("when resuming another account's deploy", async function () {
      const { wallet, client } = hardhatClients(deployer);
      const resume = { chainId: 31337, deployer: guardian, libraries: {} };
      const err = await deploySystem(wallet, client, defaultParams(deployer, guardian), { resume }).catch(
        (e: Error) => e,
      );
      expect(String(err)).to.match(/the deploy to resume was made by/);
    });
  });
});

describe("deploy presets and parameter files", function () {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), "lockstep-params-"))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = (name: string, body: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, typeof body === "string" ? body : JSON.stringify(body));
    return path;
  };

  it("every preset passes the schema; testnet and mainnet govern slower than local", function () {
    const [local, testnet, mainnet] = PRESETS.map(loadPreset);
    expect(mainnet.timelockDelay).to.equal(172_800);
    expect(mainnet.votingDelay).to.be.greaterThan(testnet.votingDelay);
    expect(mainnet.votingPeriod).to.be.greaterThan(testnet.votingPeriod);
    expect(testnet.votingPeriod).to.be.greaterThan(local.votingPeriod);
    expect(BigInt(mainnet.proposalThreshold)).to.be.greaterThan(0n);
    expect(mainnet.restartBudgetBps).to.be.within(1, 1000);
  });

  it("the local preset is today's fast values (the drill's and the tests')", function () {
    const p = defaultParams(someone(), someone());
    expect([p.timelockDelay, p.votingDelay, p.votingPeriod, p.proposalThreshold, p.quorumPercent]).to.deep.equal([
      3600n,
      1n,
      50n,
      0n,
      4n,
    ]);
  });

  it("a file extends a preset and changes what it names", function () {
    const f = readParamsFile(file("ext.json", { extends: "mainnet", votingPeriod: 50_400, tokenSymbol: "VAL" }));
    expect(f.votingPeriod).to.equal(50_400);
    expect(f.tokenSymbol).to.equal("VAL");
    expect(f.timelockDelay).to.equal(loadPreset("mainnet").timelockDelay);
    expect(systemParams(f, someone(), someone()).proposalThreshold).to.equal(parseEther("1000000"));
  });

  describe("refuses in one line", function () {
    const cases: [string, unknown, RegExp][] = [
      ["a missing field", { tokenName: "x" }, /tokenSymbol/],
      ["an unknown field", { extends: "local", votingPerod: 5 }, /votingPerod/],
      ["a negative delay", { extends: "local", timelockDelay: -1 }, /timelockDelay/],
      ["a quorum over 100%", { extends: "local", quorumPercent: 101 }, /quorumPercent/],
      ["a budget over 10,000 bps", { extends: "local", restartBudgetBps: 10_001 }, /restartBudgetBps/],
      ["a zero lease", { extends: "local", leaseDuration: 0 }, /leaseDuration/],
      ["a supply in wei notation", { extends: "local", supply: "1e9" }, /supply/],
      ["an unknown preset", { extends: "devnet" }, /extends/],
      ["broken JSON", "{", /not valid JSON/],
    ];
    for (const [what, body, pattern] of cases) {
      it(`on ${what}`, function () {
        let err: unknown;
        try {
          readParamsFile(file(`${what.replace(/\W/g, "-")}.json`, body));
        } catch (e) {
          err = e;
        }
        expect(err).to.be.instanceOf(DeployParamsError);
        expect((err as Error).message).to.match(pattern);
        expect((err as Error).message).to.not.include("\n");
      });
    }
  });
});

const someone = () => getAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
