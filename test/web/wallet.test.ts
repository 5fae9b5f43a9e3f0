// The dashboard's wallet logic in Node, against the in-process Hardhat network as its EIP-1193 provider: what a
// person is told when a transaction is refused before signing (a coordinator error bubbled up through the
// Governor and the timelock included), rejected in the wallet, or aimed at the wrong chain; and that nothing is
// sent in those cases.
import { expect } from "chai";
import { network } from "hardhat";
import { createPublicClient, custom, type Abi, type EIP1193Provider, type PublicClient } from "viem";
import { lockstepGovernorAbi, stakeTokenAbi, upgradeCoordinatorAbi } from "../../lib/abi/generated";
import { errorInWords } from "../../lib/errors";
import { TxFailure, Wallet, type ContractCall } from "../../web/src/wallet";
import { STAKE, deployLockstep, type Deployed } from "../helpers/system";
import {
  VoteType,
  castVotes,
  delegateAll,
  mineUntilVotingEnds,
  mineUntilVotingOpens,
  propose,
  queue,
  waitForEta,
} from "../helpers/governance";

type Hex = `0x${string}`;

/** The Hardhat network as a browser wallet would present it: one account, a chain id, optional refusals. */
function walletProvider(o: { account: string; chainId: number; reject?: boolean }) {
  const sent: unknown[] = [];
  const provider = {
    sent,
    on: () => undefined,
    removeListener: () => undefined,
    async request({ method, params }: { method: string; params?: unknown[] }) {
      if (method === "eth_accounts" || method === "eth_requestAccounts") return [o.account];
      if (method === "eth_chainId") return `0x${o.chainId.toString(16)}`;
      if (method === "eth_sendTransaction") {
        if (o.reject) throw Object.assign(new Error("User rejected the request."), { code: 4001 });
        sent.push(params?.[0]);
      }
      return network.provider.request({ method, params });
    },
  };
  return provider as typeof provider & EIP1193Provider;
}

async function connected(o: { account: string; chainId: number; reject?: boolean }) {
  const provider = walletProvider(o);
  const wallet = new Wallet(
    [{ id: "test", name: "Test wallet", icon: "", provider }],
    { chainId: 31337, rpcUrl: "http://127.0.0.1:1", name: "test" },
    () => undefined,
  );
  await wallet.init();
  return { wallet, provider };
}

describe("dashboard wallet: refusals, rejections and wrong chains, in words", function () {
  let d: Deployed;
  let client: PublicClient;
  let coordinator: Hex;

  before(async function () {
    d = await deployLockstep();
    client = createPublicClient({ transport: custom(network.provider as unknown as EIP1193Provider) }) as PublicClient;
    coordinator = (await d.coordinator.getAddress()) as Hex;
  });

  const pause = (id: bigint): ContractCall => ({
    address: coordinator,
    abi: upgradeCoordinatorAbi as Abi,
    functionName: "pause",
    args: [id],
  });

  it("refuses a non-guardian's pause before the wallet is asked, in words, and sends nothing", async function () {
    const outsider = d.others[3].address;
    const { wallet, provider } = await connected({ account: outsider, chainId: 31337 });
    expect(wallet.status).to.deep.equal({ kind: "ready", account: outsider, chainId: 31337 });
    const stages: string[] = [];
    const nonce = await d.others[3].getNonce();
    const err = await wallet.send(client, pause(1n), (s) => stages.push(s)).catch((e) => e);
    expect(err).to.be.instanceOf(TxFailure);
    expect(err.kind).to.equal("refused");
    expect(err.message).to.equal(
      `The contract refused: ${outsider} does not hold the role this action needs. Nothing was sent.`,
    );
    expect(stages, "the wallet was never asked to sign").to.deep.equal([]);
    expect(provider.sent).to.deep.equal([]);
    expect(await d.others[3].getNonce()).to.equal(nonce);
  });

  it("words a coordinator refusal that surfaces through the Governor's execute", async function () {
    const voter = d.others[0];
    await delegateAll(d, [voter], STAKE(100_000_000));
    const calls = {
      targets: [coordinator],
      values: [0n],
      calldatas: [d.coordinator.interface.encodeFunctionData("resume", [99])],
      description: "Resume upgrade 99 (there is none)",
    };
    const p = await propose(d, voter, calls);
    await mineUntilVotingOpens(d, p.proposalId);
    await castVotes(d, p.proposalId, [{ voter, support: VoteType.For }]);
    await mineUntilVotingEnds(d, p.proposalId);
    await queue(d, p);
    await waitForEta(d, p.proposalId);

    const { wallet } = await connected({ account: voter.address, chainId: 31337 });
    const execute: ContractCall = {
      address: (await d.governor.getAddress()) as Hex,
      abi: lockstepGovernorAbi as Abi,
      functionName: "execute",
      args: [calls.targets, calls.values, calls.calldatas, p.descriptionHash],
    };
    const err = await wallet.send(client, execute, () => undefined).catch((e) => e);
    expect(err.kind).to.equal("refused");
    expect(err.message).to.equal("The contract refused: there is no upgrade #99. Nothing was sent.");
  });

  it("says a rejection in the wallet sent nothing", async function () {
    // A call that would succeed (delegating), so only the rejection stops it.
    const holder = d.others[1];
    const { wallet, provider } = await connected({ account: holder.address, chainId: 31337, reject: true });
    const stages: string[] = [];
    const call: ContractCall = {
      address: (await d.token.getAddress()) as Hex,
      abi: stakeTokenAbi as Abi,
      functionName: "delegate",
      args: [holder.address],
    };
    const err = await wallet.send(client, call, (s) => stages.push(s)).catch((e) => e);
    expect(err.kind).to.equal("rejected");
    expect(err.message).to.equal("You rejected the request in your wallet: nothing was signed or sent.");
    expect(stages).to.deep.equal(["signing"]);
    expect(provider.sent).to.deep.equal([]);
    expect(await d.token.delegates(holder.address)).to.equal("0x0000000000000000000000000000000000000000");
  });

  it("will not send from the wrong chain, and says which chains", async function () {
    const { wallet, provider } = await connected({ account: d.guardian.address, chainId: 5 });
    expect(wallet.status.kind).to.equal("wrong-chain");
    const err = await wallet.send(client, pause(1n), () => undefined).catch((e) => e);
    expect(err.kind).to.equal("wrong-chain");
    expect(err.message).to.equal("Your wallet is on chain 5; this deployment is on chain 31337. Switch chains first.");
    expect(provider.sent).to.deep.equal([]);
  });

  it("will not sign when the wallet switched chains after the page last looked, and sends nothing", async function () {
    const holder = d.others[2];
    const opts = { account: holder.address, chainId: 31337 };
    const { wallet, provider } = await connected(opts);
    expect(wallet.status.kind).to.equal("ready");
    opts.chainId = 5; // switched in the wallet; the page has not heard of it yet
    const call: ContractCall = {
      address: (await d.token.getAddress()) as Hex,
      abi: stakeTokenAbi as Abi,
      functionName: "delegate",
      args: [holder.address],
    };
    const err = await wallet.send(client, call, () => undefined).catch((e) => e);
    expect(err.kind).to.equal("wrong-chain");
    expect(err.message).to.equal(
      "Your wallet switched to another chain before signing: nothing was sent. Switch back and try again.",
    );
    expect(provider.sent).to.deep.equal([]);
    expect(await d.token.delegates(holder.address)).to.equal("0x0000000000000000000000000000000000000000");
  });

  it("without a wallet, says how to get one", async function () {
    const wallet = new Wallet([], { chainId: 31337, rpcUrl: "", name: "test" }, () => undefined);
    expect(wallet.status.kind).to.equal("no-wallet");
    const err = await wallet.connect().catch((e) => e);
    expect(err.message).to.include("No browser wallet found");
  });

  it("keeps the name and arguments of an error it has no words for", function () {
    expect(errorInWords("SomethingNew", [1n, "x"])).to.equal("the contract refused with SomethingNew(1, x)");
    expect(errorInWords("GovernorUnexpectedProposalState", [7n, 5n, 0b10000n])).to.equal(
      "the proposal is Queued; this needs it to be Succeeded",
    );
    expect(errorInWords("CoordinatorUnexpectedState", [4n, 0n])).to.equal("there is no upgrade #4");
    expect(errorInWords("CoordinatorUnexpectedState", [4n, 3n])).to.equal(
      "upgrade #4 is Paused, so this action is not possible now",
    );
  });
});
