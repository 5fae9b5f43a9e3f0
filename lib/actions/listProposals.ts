// The Governor's proposals as its logs tell them (lib/proposals.ts folds them): what a task or the dashboard lists.
import type { Address, Chain, Client, GetLogsErrorType, Transport } from "viem";
import { getBlockNumber, getLogs } from "viem/actions";
import { decodeGovernorLogs, foldProposals, type ProposalLogRecord } from "../proposals";

export type ListProposalsParameters = {
  governor: Address;
  /** The first block to read (the deployment's start block). */
  fromBlock: bigint;
  /** Default: the latest block. */
  toBlock?: bigint;
};
export type ListProposalsReturnType = ProposalLogRecord[];
export type ListProposalsErrorType = GetLogsErrorType;

/** One record per proposal, in the order they were made. */
export async function listProposals(
  client: Client<Transport, Chain | undefined>,
  { governor, fromBlock, toBlock }: ListProposalsParameters,
): Promise<ListProposalsReturnType> {
  const to = toBlock ?? (await getBlockNumber(client));
  const logs = await getLogs(client, { address: governor, fromBlock, toBlock: to });
  return foldProposals(decodeGovernorLogs(logs));
}
