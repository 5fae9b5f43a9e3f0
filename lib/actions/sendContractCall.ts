// The one way a transaction leaves off-chain code: simulate (a refusal comes back decoded and nothing is signed),
// estimate with a quarter more gas, sign and send, wait for the receipt. Every transaction action builds on it.
import {
  BaseError,
  encodeFunctionData,
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Client,
  type EstimateContractGasErrorType,
  type Hex,
  type ReplacementReturnType,
  type SimulateContractErrorType,
  type TransactionReceipt,
  type Transport,
  type WaitForTransactionReceiptErrorType,
  type WriteContractErrorType,
} from "viem";
import { estimateContractGas, simulateContract, waitForTransactionReceipt, writeContract } from "viem/actions";

/** A contract call as data: what the dashboard shows and the actions send. */
export interface ContractCall {
  address: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
}

/** What every transaction action takes besides its own parameters. */
export interface SendOptions {
  /** The sender; default: the client's account. */
  account?: Account | Address;
  /** Checked against the wallet's chain before signing; default: the client's chain, if it has one (null: none). */
  chain?: Chain | null;
  /** Reads (simulate, estimate, receipt) through this client instead, e.g. a dashboard's own RPC node. */
  reader?: Client;
  /** Called before the wallet is asked to sign. */
  onSigning?: () => void;
  /** Called once the transaction is sent. */
  onSent?: (hash: Hex) => void;
  /** Called when the wallet replaced the transaction (sped up, repriced or cancelled). */
  onReplaced?: (replacement: ReplacementReturnType) => void;
  /** How often the receipt is polled for, in ms (default: the reader's). */
  pollingInterval?: number;
}

export type SendContractCallParameters = ContractCall & SendOptions;
export type SendContractCallReturnType = { hash: Hex; receipt: TransactionReceipt };
export type SendContractCallErrorType =
  | SimulateContractErrorType
  | EstimateContractGasErrorType
  | WriteContractErrorType
  | WaitForTransactionReceiptErrorType
  | CallRevertedError;

/**
 * Gas sent over the estimate, as a fraction: a vote that reaches quorum late pays for extending the deadline, and
 * one estimated just before another landed would run short.
 */
export const GAS_HEADROOM = { numerator: 5n, denominator: 4n } as const;

/** A transaction that was mined and reverted, though its simulation passed (something earlier in its block won). */
export class CallRevertedError extends BaseError {
  override name = "CallRevertedError";
  constructor(
    readonly receipt: TransactionReceipt,
    /** The call as sent, to replay at the receipt's block and learn why. */
    readonly request: { account: Address; to: Address; data: Hex },
  ) {
    super(`transaction ${receipt.transactionHash} reverted in block ${receipt.blockNumber}`);
  }
}

export async function sendContractCall(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  parameters: SendContractCallParameters,
): Promise<SendContractCallReturnType> {
  const {
    address,
    abi,
    functionName,
    args,
    reader = client,
    onSigning,
    onSent,
    onReplaced,
    pollingInterval,
  } = parameters;
  const account = parameters.account ?? client.account;
  if (!account) throw new BaseError("no account to send the transaction from");
  const call = { address, abi, functionName, args, account } as const;
  await simulateContract(reader, call);
  const estimate = await estimateContractGas(reader, call);
  const gas = (estimate * GAS_HEADROOM.numerator) / GAS_HEADROOM.denominator;
  onSigning?.();
  const chain = parameters.chain === undefined ? (client.chain ?? null) : parameters.chain;
  const hash = await writeContract(client, { ...call, chain, gas });
  onSent?.(hash);
  const receipt = await waitForTransactionReceipt(reader, { hash, onReplaced, pollingInterval });
  if (receipt.status === "reverted") {
    const from = typeof account === "string" ? account : account.address;
    throw new CallRevertedError(receipt, {
      account: from,
      to: address,
      data: encodeFunctionData({ abi, functionName, args }),
    });
  }
  return { hash, receipt };
}
