import { expect } from "chai";
import { artifacts, ethers, network } from "hardhat";
import { loadFixture, mine, time } from "@nomicfoundation/hardhat-network-helpers";
import { anyValue } from "@nomicfoundation/hardhat-chai-matchers/withArgs";
import { Interface, Signature, Signer, TypedDataDomain } from "ethers";
import { StakeToken__factory } from "../../typechain-types";
import { STAKE, attesterProof, deployLockstep, fundedWallet, registerValidators } from "../helpers/system";

const COHORTS = [1, 2, 3] as const;
const MAX_SUPPLY = 2n ** 96n - 1n;

/**
 * Operators A (cohort 1, 100 own stake) and B (cohort 2, 200 own stake); holder h1 (50) delegates to A, h2 (30)
 * to B, h3 (20) delegates to nobody. Cohort stakes: 1 = 150, 2 = 230, 3 = 0.
 */
async function tokenFixture() {
  const d = await deployLockstep();
  const [A, B] = await registerValidators(d, [
    { cohort: 1, stake: STAKE(100) },
    { cohort: 2, stake: STAKE(200) },
  ]);
  const [h1, h2, h3] = d.others;
  const give = async (to: string, amount: bigint) => (await d.token.connect(d.deployer).transfer(to, amount)).wait();
  await give(h1.address, STAKE(50));
  await give(h2.address, STAKE(30));
  await give(h3.address, STAKE(20));
  await (await d.token.connect(h1).delegate(A.operator.address)).wait();
  await (await d.token.connect(h2).delegate(B.operator.address)).wait();
  const asGovernance = d.coordinator.connect(d.timelockSigner);
  return { d, A, B, h1, h2, h3, asGovernance };
}

type Fixture = Awaited<ReturnType<typeof tokenFixture>>;

type CohortStakes = Record<(typeof COHORTS)[number], bigint>;
const stakes = (c1: number, c2: number, c3: number): CohortStakes => ({ 1: STAKE(c1), 2: STAKE(c2), 3: STAKE(c3) });

/** Current cohort stakes, and a check that each equals the votes of the operators registered in it. */
async function expectCohortStakes(f: Fixture, expected: CohortStakes, operators: string[]) {
  for (const c of COHORTS) expect(await f.d.token.getCohortStake(c), `cohort ${c}`).to.equal(expected[c]);
  const sums: Record<number, bigint> = { 1: 0n, 2: 0n, 3: 0n };
  for (const op of operators) {
    const cohort = Number(await f.d.token.cohortOf(op));
    if (cohort !== 0) sums[cohort] += await f.d.token.getVotes(op);
  }
  for (const c of COHORTS) expect(sums[c], `sum of cohort ${c}'s operators' votes`).to.equal(expected[c]);
}

/** Cohort stakes and roster entries at a past block. */
async function pastView(f: Fixture, block: number, operators: string[]) {
  const cohorts = await Promise.all(COHORTS.map((c) => f.d.token.getPastCohortStake(c, block)));
  const roster = await Promise.all(operators.map(async (op) => [...(await f.d.token.rosterAt(op, block))]));
  return { cohorts, roster };
}

async function latestBlock() {
  return ethers.provider.getBlockNumber();
}

describe("StakeToken", function () {
  describe("cohort accounting", function () {
    it("counts each registered operator's delegated stake in its cohort", async function () {
      const f = await loadFixture(tokenFixture);
      await expectCohortStakes(f, stakes(150, 230, 0), [f.A.operator.address, f.B.operator.address]);
      await mine();
      expect(await f.d.token.rosterAt(f.A.operator.address, (await latestBlock()) - 1)).to.deep.equal([1n, STAKE(150)]);
      expect(await f.d.token.rosterAt(f.B.operator.address, (await latestBlock()) - 1)).to.deep.equal([2n, STAKE(230)]);
    });

    it("keeps the registered stake, the sum of every cohort, through moves, departures and transfers", async function () {
      const f = await loadFixture(tokenFixture);
      const registeredNow = async () => {
        await mine();
        return f.d.token.getPastRegisteredStake((await latestBlock()) - 1);
      };
      expect(await registeredNow()).to.equal(STAKE(380));
      await (await f.d.coordinator.connect(f.d.timelockSigner).setCohort(f.A.operator.address, 3)).wait();
      expect(await registeredNow(), "a cohort move changes no total").to.equal(STAKE(380));
      await (await f.d.coordinator.connect(f.B.operator).deregister()).wait();
      expect(await registeredNow(), "a departure takes its stake out").to.equal(STAKE(150));
      await (await f.d.token.connect(f.A.operator).transfer(f.d.deployer.address, STAKE(50))).wait();
      expect(await registeredNow(), "stake leaving an operator leaves the total").to.equal(STAKE(100));
      const block = await latestBlock();
      const cohorts = await Promise.all(COHORTS.map((c) => f.d.token.getPastCohortStake(c, block - 1)));
      expect(await f.d.token.getPastRegisteredStake(block - 1)).to.equal(cohorts.reduce((x, y) => x + y, 0n));
    });

    it("follows a transfer from a delegator of A to a holder who delegates to nobody", async function () {
      const f = await loadFixture(tokenFixture);
      await expect(f.d.token.connect(f.h1).transfer(f.h3.address, STAKE(20)))
        .to.emit(f.d.token, "DelegateVotesChanged")
        .withArgs(f.A.operator.address, STAKE(150), STAKE(130));
      await expectCohortStakes(f, stakes(130, 230, 0), [f.A.operator.address, f.B.operator.address]);
    });

    it("follows a transfer between delegators of operators in different cohorts", async function () {
      const f = await loadFixture(tokenFixture);
      await (await f.d.token.connect(f.h1).transfer(f.h2.address, STAKE(10))).wait();
      await expectCohortStakes(f, stakes(140, 240, 0), [f.A.operator.address, f.B.operator.address]);
    });

    it("follows a transfer by an operator of its own stake", async function () {
      const f = await loadFixture(tokenFixture);
      await (await f.d.token.connect(f.A.operator).transfer(f.h2.address, STAKE(60))).wait();
      await expectCohortStakes(f, stakes(90, 290, 0), [f.A.operator.address, f.B.operator.address]);
    });

    it("follows a re-delegation from an operator of one cohort to another's", async function () {
      const f = await loadFixture(tokenFixture);
      await (await f.d.token.connect(f.h1).delegate(f.B.operator.address)).wait();
      await expectCohortStakes(f, stakes(100, 280, 0), [f.A.operator.address, f.B.operator.address]);
    });

    it("drops stake re-delegated to an account that is not a registered operator", async function () {
      const f = await loadFixture(tokenFixture);
      await (await f.d.token.connect(f.h2).delegate(f.h2.address)).wait();
      await expectCohortStakes(f, stakes(150, 200, 0), [f.A.operator.address, f.B.operator.address]);
      expect(await f.d.token.getVotes(f.h2.address)).to.equal(STAKE(30));
    });

    it("follows a delegation by signature", async function () {
      const f = await loadFixture(tokenFixture);
      const holder = await fundedWallet("token:signing-delegator");
      await (await f.d.token.connect(f.d.deployer).transfer(holder.address, STAKE(40))).wait();
      const expiry = BigInt(await time.latest()) + 3600n;
      const sig = Signature.from(
        await holder.signTypedData(
          await domainOf(f),
          {
            Delegation: [
              { name: "delegatee", type: "address" },
              { name: "nonce", type: "uint256" },
              { name: "expiry", type: "uint256" },
            ],
          },
          { delegatee: f.B.operator.address, nonce: 0, expiry },
        ),
      );
      await expect(f.d.token.connect(f.h3).delegateBySig(f.B.operator.address, 0, expiry, sig.v, sig.r, sig.s))
        .to.emit(f.d.token, "DelegateChanged")
        .withArgs(holder.address, anyValue, f.B.operator.address);
      await expectCohortStakes(f, stakes(150, 270, 0), [f.A.operator.address, f.B.operator.address]);
    });

    it("adds an operator's stake, delegated before it registered, to the default cohort at registration", async function () {
      const f = await loadFixture(tokenFixture);
      const C = await fundedWallet("token:C:operator");
      const attester = await fundedWallet("token:C:attester");
      await (await f.d.token.connect(f.d.deployer).transfer(C.address, STAKE(70))).wait();
      await (await f.d.token.connect(C).delegate(C.address)).wait();
      await (await f.d.token.connect(f.h3).delegate(C.address)).wait();
      const before = await latestBlock();
      await expectCohortStakes(f, stakes(150, 230, 0), [f.A.operator.address, f.B.operator.address, C.address]);

      const proof = await attesterProof(f.d.coordinator, C, attester);
      await expect(f.d.coordinator.connect(C).register(attester.address, "ipfs://C", proof))
        .to.emit(f.d.token, "OperatorCohortSet")
        .withArgs(C.address, 0, 3);
      const registered = await latestBlock();
      await expectCohortStakes(f, stakes(150, 230, 90), [f.A.operator.address, f.B.operator.address, C.address]);
      await mine();
      expect(await f.d.token.rosterAt(C.address, before)).to.deep.equal([0n, 0n]);
      expect(await f.d.token.rosterAt(C.address, registered)).to.deep.equal([3n, STAKE(90)]);
      expect(await f.d.token.getPastCohortStake(3, before)).to.equal(0n);
      expect(await f.d.token.getPastCohortStake(3, registered)).to.equal(STAKE(90));
    });

    it("moves an operator's whole stake when governance moves it to another cohort", async function () {
      const f = await loadFixture(tokenFixture);
      await expect(f.asGovernance.setCohort(f.A.operator.address, 2))
        .to.emit(f.d.token, "OperatorCohortSet")
        .withArgs(f.A.operator.address, 1, 2);
      await expectCohortStakes(f, stakes(0, 380, 0), [f.A.operator.address, f.B.operator.address]);
      // Stake arriving later follows the operator into its new cohort.
      await (await f.d.token.connect(f.h3).delegate(f.A.operator.address)).wait();
      await expectCohortStakes(f, stakes(0, 400, 0), [f.A.operator.address, f.B.operator.address]);
      await mine();
      expect(await f.d.token.rosterAt(f.A.operator.address, (await latestBlock()) - 1)).to.deep.equal([2n, STAKE(170)]);
    });

    it("removes a deregistered operator's stake and ignores stake delegated to it afterwards", async function () {
      const f = await loadFixture(tokenFixture);
      await expect(f.d.coordinator.connect(f.A.operator).deregister())
        .to.emit(f.d.token, "OperatorCohortSet")
        .withArgs(f.A.operator.address, 1, 0);
      const deregistered = await latestBlock();
      await expectCohortStakes(f, stakes(0, 230, 0), [f.A.operator.address, f.B.operator.address]);
      await (await f.d.token.connect(f.h3).delegate(f.A.operator.address)).wait();
      await (await f.d.token.connect(f.h2).delegate(f.A.operator.address)).wait();
      await expectCohortStakes(f, stakes(0, 200, 0), [f.A.operator.address, f.B.operator.address]);
      expect(await f.d.token.getVotes(f.A.operator.address)).to.equal(STAKE(200));
      await mine();
      const [cohort] = await f.d.token.rosterAt(f.A.operator.address, (await latestBlock()) - 1);
      expect(cohort).to.equal(0n);
      expect(await f.d.token.rosterAt(f.A.operator.address, deregistered - 1)).to.deep.equal([1n, STAKE(150)]);
    });

    it("brings a re-registered operator back into its own cohort (not the default) with its current stake", async function () {
      const f = await loadFixture(tokenFixture);
      await (await f.d.coordinator.connect(f.A.operator).deregister()).wait();
      await (await f.d.token.connect(f.h3).delegate(f.A.operator.address)).wait();
      const again = await fundedWallet("token:A:new-attester");
      const proof = await attesterProof(f.d.coordinator, f.A.operator, again);
      await (await f.d.coordinator.connect(f.A.operator).register(again.address, "ipfs://A", proof)).wait();
      await expectCohortStakes(f, stakes(170, 230, 0), [f.A.operator.address, f.B.operator.address]);
      await mine();
      expect(await f.d.token.rosterAt(f.A.operator.address, (await latestBlock()) - 1)).to.deep.equal([1n, STAKE(170)]);
    });

    /**
     * NOTE (reported): for an operator outside every cohort, rosterAt's stake is not its delegated stake as the
     * IStakeToken NatSpec says: it is 0 before the first registration and frozen at the deregistration value
     * afterwards. The coordinator never uses it (cohort 0 is in no stage), so this pins the behaviour only.
     */
    it("reports cohort 0 with a stake that does not follow votes for an operator outside every cohort", async function () {
      const f = await loadFixture(tokenFixture);
      await (await f.d.token.connect(f.h3).delegate(f.h3.address)).wait();
      await (await f.d.coordinator.connect(f.A.operator).deregister()).wait();
      await (await f.d.token.connect(f.h2).delegate(f.A.operator.address)).wait();
      await mine();
      const at = (await latestBlock()) - 1;
      expect(await f.d.token.getPastVotes(f.h3.address, at)).to.equal(STAKE(20));
      expect(await f.d.token.rosterAt(f.h3.address, at)).to.deep.equal([0n, 0n]);
      expect(await f.d.token.getPastVotes(f.A.operator.address, at)).to.equal(STAKE(180));
      expect(await f.d.token.rosterAt(f.A.operator.address, at)).to.deep.equal([0n, STAKE(150)]);
    });

    it("answers lookups at every past block of a sequence of changes", async function () {
      const f = await loadFixture(tokenFixture);
      const ops = [f.A.operator.address, f.B.operator.address];
      const seen: { block: number; view: Awaited<ReturnType<typeof pastView>> }[] = [];
      const record = async () => {
        await mine();
        const block = (await latestBlock()) - 1;
        seen.push({ block, view: await pastView(f, block, ops) });
      };
      // Each step is mined on its own (automine) before `record` mines the next block.
      const steps: (() => Promise<unknown>)[] = [
        () => f.d.token.connect(f.h1).transfer(f.h3.address, STAKE(20)),
        () => mine(5),
        () => f.d.token.connect(f.h2).delegate(f.A.operator.address),
        () => f.asGovernance.setCohort(f.B.operator.address, 3),
        () => f.d.token.connect(f.h3).delegate(f.B.operator.address),
        () => f.d.coordinator.connect(f.A.operator).deregister(),
        () => f.d.token.connect(f.h1).transfer(f.B.operator.address, STAKE(30)),
      ];
      await record();
      for (const step of steps) {
        await step();
        await record();
      }
      const expectedCohorts = [
        stakes(150, 230, 0), // start
        stakes(130, 230, 0), // h1 sends 20 to h3
        stakes(130, 230, 0), // empty blocks
        stakes(160, 200, 0), // h2 re-delegates from B to A
        stakes(160, 0, 200), // B moves to cohort 3
        stakes(160, 0, 240), // h3 delegates its 40 to B
        stakes(0, 0, 240), // A deregisters
        stakes(0, 0, 270), // h1 sends its last 30 straight to B
      ];
      const expectedRoster = [
        [
          [1n, STAKE(150)],
          [2n, STAKE(230)],
        ],
        [
          [1n, STAKE(130)],
          [2n, STAKE(230)],
        ],
        [
          [1n, STAKE(130)],
          [2n, STAKE(230)],
        ],
        [
          [1n, STAKE(160)],
          [2n, STAKE(200)],
        ],
        [
          [1n, STAKE(160)],
          [3n, STAKE(200)],
        ],
        [
          [1n, STAKE(160)],
          [3n, STAKE(240)],
        ],
        [
          [0n, STAKE(160)],
          [3n, STAKE(240)],
        ],
        [
          [0n, STAKE(160)],
          [3n, STAKE(270)],
        ],
      ];
      // Read everything again at the end, so each lookup goes through the history, not the latest entry.
      await mine();
      for (let i = 0; i < seen.length; i++) {
        const now = await pastView(f, seen[i].block, ops);
        expect(now, `block ${seen[i].block} read later`).to.deep.equal(seen[i].view);
        expect(now.cohorts, `cohorts after step ${i}`).to.deep.equal(COHORTS.map((c) => expectedCohorts[i][c]));
        expect(now.roster, `roster after step ${i}`).to.deep.equal(expectedRoster[i]);
      }
      // Blocks between two recorded ones hold the earlier values.
      const quiet = seen[1].block + 3;
      expect(await pastView(f, quiet, ops)).to.deep.equal(seen[1].view);
    });

    it("keeps the end-of-block values when several changes land in one block", async function () {
      const f = await loadFixture(tokenFixture);
      const ops = [f.A.operator.address, f.B.operator.address];
      await mine();
      const before = await latestBlock();
      const gasLimit = 500_000;
      await network.provider.send("evm_setAutomine", [false]);
      try {
        const sent = [
          await f.d.token.connect(f.h1).transfer(f.h3.address, STAKE(10), { gasLimit }), // A 140
          await f.asGovernance.setCohort(f.A.operator.address, 2, { gasLimit }), // A -> cohort 2
          await f.d.token.connect(f.h2).delegate(f.A.operator.address, { gasLimit }), // A 170, B 200
          await f.d.token.connect(f.h3).delegate(f.B.operator.address, { gasLimit }), // B 230
          await f.d.coordinator.connect(f.B.operator).deregister({ gasLimit }), // B leaves
          await f.d.token.connect(f.h1).delegate(f.h1.address, { gasLimit }), // A 130
        ];
        await mine();
        for (const tx of sent) expect((await tx.wait())!.status).to.equal(1);
      } finally {
        await network.provider.send("evm_setAutomine", [true]);
      }
      const block = await latestBlock();
      expect(block).to.equal(before + 1);
      await expectCohortStakes(f, stakes(0, 130, 0), ops);
      await mine();
      expect(await pastView(f, block, ops)).to.deep.equal({
        cohorts: [0n, STAKE(130), 0n],
        roster: [
          [2n, STAKE(130)],
          [0n, STAKE(230)],
        ],
      });
      expect(await pastView(f, before, ops)).to.deep.equal({
        cohorts: [STAKE(150), STAKE(230), 0n],
        roster: [
          [1n, STAKE(150)],
          [2n, STAKE(230)],
        ],
      });
    });

    it("refuses lookups at the current block or later", async function () {
      const f = await loadFixture(tokenFixture);
      const now = await latestBlock();
      await expect(f.d.token.getPastCohortStake(1, now))
        .to.be.revertedWithCustomError(f.d.token, "ERC5805FutureLookup")
        .withArgs(now, now);
      await expect(f.d.token.rosterAt(f.A.operator.address, now + 10))
        .to.be.revertedWithCustomError(f.d.token, "ERC5805FutureLookup")
        .withArgs(now + 10, now);
    });
  });

  describe("supply", function () {
    it("reverts a deployment minting more than 2^96 - 1 with ERC20ExceededSafeSupply", async function () {
      const f = await loadFixture(tokenFixture);
      const factory = new StakeToken__factory(f.d.deployer);
      await expect(factory.deploy("T", "T", f.d.deployer.address, MAX_SUPPLY + 1n))
        .to.be.revertedWithCustomError(f.d.token, "ERC20ExceededSafeSupply")
        .withArgs(MAX_SUPPLY + 1n, MAX_SUPPLY);
    });

    it("mints exactly 2^96 - 1, all delegable to one operator", async function () {
      const f = await loadFixture(tokenFixture);
      const token = await new StakeToken__factory(f.d.deployer).deploy("T", "T", f.h1.address, MAX_SUPPLY);
      expect(await token.totalSupply()).to.equal(MAX_SUPPLY);
      await (await token.connect(f.h1).delegate(f.h1.address)).wait();
      expect(await token.getVotes(f.h1.address)).to.equal(MAX_SUPPLY);
    });

    it("starts with the whole supply on the holder", async function () {
      const f = await loadFixture(tokenFixture);
      expect(await f.d.token.totalSupply()).to.equal(STAKE(1_000_000_000));
      const given = STAKE(100 + 200 + 50 + 30 + 20);
      expect(await f.d.token.balanceOf(f.d.deployer.address)).to.equal(STAKE(1_000_000_000) - given);
    });
  });

  describe("ERC-5805 / EIP-6372", function () {
    it("uses the block number as its clock", async function () {
      const f = await loadFixture(tokenFixture);
      expect(await f.d.token.clock()).to.equal(BigInt(await latestBlock()));
      await mine(3);
      expect(await f.d.token.clock()).to.equal(BigInt(await latestBlock()));
      expect(await f.d.token.CLOCK_MODE()).to.equal("mode=blocknumber&from=default");
    });

    it("checkpoints votes by block", async function () {
      const f = await loadFixture(tokenFixture);
      const before = await latestBlock();
      await (await f.d.token.connect(f.h1).delegate(f.B.operator.address)).wait();
      await mine();
      expect(await f.d.token.getPastVotes(f.A.operator.address, before)).to.equal(STAKE(150));
      expect(await f.d.token.getPastVotes(f.A.operator.address, before + 1)).to.equal(STAKE(100));
      expect(await f.d.token.delegates(f.h1.address)).to.equal(f.B.operator.address);
    });
  });

  describe("permit", function () {
    const PERMIT = {
      Permit: [
        { name: "owner", type: "address" },
        { name: "spender", type: "address" },
        { name: "value", type: "uint256" },
        { name: "nonce", type: "uint256" },
        { name: "deadline", type: "uint256" },
      ],
    };

    async function signPermit(
      f: Fixture,
      owner: Signer,
      spender: string,
      value: bigint,
      nonce: bigint,
      deadline: bigint,
    ) {
      const message = { owner: await owner.getAddress(), spender, value, nonce, deadline };
      return Signature.from(await owner.signTypedData(await domainOf(f), PERMIT, message));
    }

    it("sets an allowance from an off-chain signature, which the spender then uses", async function () {
      const f = await loadFixture(tokenFixture);
      const owner = await fundedWallet("token:permit-owner");
      await (await f.d.token.connect(f.d.deployer).transfer(owner.address, STAKE(10))).wait();
      const deadline = BigInt(await time.latest()) + 3600n;
      const sig = await signPermit(f, owner, f.h3.address, STAKE(4), 0n, deadline);
      await expect(f.d.token.connect(f.h3).permit(owner.address, f.h3.address, STAKE(4), deadline, sig.v, sig.r, sig.s))
        .to.emit(f.d.token, "Approval")
        .withArgs(owner.address, f.h3.address, STAKE(4));
      expect(await f.d.token.allowance(owner.address, f.h3.address)).to.equal(STAKE(4));
      expect(await f.d.token.nonces(owner.address)).to.equal(1n);
      await (await f.d.token.connect(f.h3).transferFrom(owner.address, f.h3.address, STAKE(4))).wait();
      expect(await f.d.token.balanceOf(owner.address)).to.equal(STAKE(6));

      // The same signature cannot be used twice: the nonce moved on, so it recovers to another address.
      await expect(f.d.token.connect(f.h3).permit(owner.address, f.h3.address, STAKE(4), deadline, sig.v, sig.r, sig.s))
        .to.be.revertedWithCustomError(f.d.token, "ERC2612InvalidSigner")
        .withArgs(anyValue, owner.address);
    });

    it("refuses an expired permit", async function () {
      const f = await loadFixture(tokenFixture);
      const owner = await fundedWallet("token:permit-owner");
      const deadline = BigInt(await time.latest()) - 1n;
      const sig = await signPermit(f, owner, f.h3.address, STAKE(4), 0n, deadline);
      await expect(f.d.token.permit(owner.address, f.h3.address, STAKE(4), deadline, sig.v, sig.r, sig.s))
        .to.be.revertedWithCustomError(f.d.token, "ERC2612ExpiredSignature")
        .withArgs(deadline);
      expect(await f.d.token.allowance(owner.address, f.h3.address)).to.equal(0n);
    });
  });

  describe("governor compatibility", function () {
    /** type(IGovernor).interfaceId: the functions IGovernor declares itself (not IERC165's or IERC6372's). */
    async function iGovernorInterfaceId() {
      const { abi } = await artifacts.readArtifact("@openzeppelin/contracts/governance/IGovernor.sol:IGovernor");
      let id = 0n;
      new Interface(abi).forEachFunction((fn) => {
        if (!["supportsInterface", "clock", "CLOCK_MODE"].includes(fn.name)) id ^= BigInt(fn.selector);
      });
      return "0x" + id.toString(16).padStart(8, "0");
    }

    it("exposes the standard IGovernor interface through ERC-165", async function () {
      const f = await loadFixture(tokenFixture);
      const id = await iGovernorInterfaceId();
      expect(await f.d.governor.supportsInterface(id)).to.equal(true);
      expect(await f.d.governor.supportsInterface("0x01ffc9a7")).to.equal(true); // IERC165
      expect(await f.d.governor.supportsInterface("0x4e2312e0")).to.equal(true); // IERC1155Receiver
      expect(await f.d.governor.supportsInterface("0xffffffff")).to.equal(false);
    });

    it("counts For/Against/Abstain with quorum on For + Abstain", async function () {
      const f = await loadFixture(tokenFixture);
      expect(await f.d.governor.COUNTING_MODE()).to.equal("support=bravo&quorum=for,abstain");
    });

    it("runs on the token's clock and reads its votes", async function () {
      const f = await loadFixture(tokenFixture);
      expect(await f.d.governor.token()).to.equal(await f.d.token.getAddress());
      expect(await f.d.governor.clock()).to.equal(await f.d.token.clock());
      expect(await f.d.governor.CLOCK_MODE()).to.equal(await f.d.token.CLOCK_MODE());
      await mine();
      const past = (await latestBlock()) - 1;
      expect(await f.d.governor.getVotes(f.A.operator.address, past)).to.equal(STAKE(150));
      expect(await f.d.governor.quorum(past)).to.equal((STAKE(1_000_000_000) * 4n) / 100n);
    });
  });
});

async function domainOf(f: Fixture): Promise<TypedDataDomain> {
  const d = await f.d.token.eip712Domain();
  return { name: d.name, version: d.version, chainId: d.chainId, verifyingContract: d.verifyingContract };
}
