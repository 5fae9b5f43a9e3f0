// Proofs of possession for RosterFiller.fill, shared by the gas and dashboard benchmarks.
import type { Provider } from "ethers";
import { createWalletClient, custom, getAddress, getContractAddress, zeroAddress, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { signAttesterProof } from "../lib/actions/signAttesterProof";

/**
 * The attesters and proofs RosterFiller.fill takes for `keys` (attester private keys; null for an operator that is
 * its own contract attester): each proof is signed for the operator the filler creates at its next CREATE nonce,
 * with nonce 0 at the coordinator, as a fresh operator's first registration uses.
 */
export async function fillerProofs(
  provider: Provider,
  filler: string,
  coordinator: string,
  keys: (Hex | null)[],
): Promise<{ attesters: Address[]; proofs: Hex[] }> {
  const { chainId } = await provider.getNetwork();
  const firstNonce = BigInt(await provider.getTransactionCount(filler));
  return signFillerProofs(chainId, firstNonce, filler, coordinator, keys);
}

/** fillerProofs for a caller that knows the chain id and the filler's next nonce (a viem caller, for one). */
export async function signFillerProofs(
  chainId: bigint | number,
  firstNonce: bigint,
  filler: string,
  coordinator: string,
  keys: (Hex | null)[],
): Promise<{ attesters: Address[]; proofs: Hex[] }> {
  // The keys are local accounts: signing never reaches the transport.
  const client = createWalletClient({
    transport: custom({ request: () => Promise.reject(new Error("fillerProofs signs locally")) }),
  });
  const signed = await Promise.all(
    keys.map(async (key, i) => {
      if (key === null) return { attester: zeroAddress, proof: "0x" as Hex };
      const account = privateKeyToAccount(key);
      const operator = getContractAddress({ from: getAddress(filler), nonce: firstNonce + BigInt(i) });
      const proof = await signAttesterProof(client, {
        account,
        chainId,
        coordinator: getAddress(coordinator),
        operator,
        nonce: 0n,
      });
      return { attester: account.address, proof };
    }),
  );
  return { attesters: signed.map((s) => s.attester), proofs: signed.map((s) => s.proof) };
}
