// Signs an attester key's proof of possession (EIP-712): what `register` and `rotateAttester` require of a new key.
import {
  type Account,
  type Address,
  type Chain,
  type Client,
  type Hex,
  type ReadContractErrorType,
  type SignTypedDataErrorType,
  type Transport,
} from "viem";
import { readContract, signTypedData } from "viem/actions";
import { upgradeCoordinatorAbi } from "../abi/generated";
import { attesterProofTypedData } from "../coordinator";

export type SignAttesterProofParameters = {
  /** The new attester key; default: the client's account. */
  account?: Account | Address;
  chainId: number | bigint;
  coordinator: Address;
  /** The operator that will register with, or rotate to, the key. */
  operator: Address;
  /** The coordinator's `nonces(operator)`; read from the chain when left out. */
  nonce?: bigint;
};
export type SignAttesterProofReturnType = Hex;
export type SignAttesterProofErrorType = SignTypedDataErrorType | ReadContractErrorType;

export async function signAttesterProof(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  { account = client.account, chainId, coordinator, operator, nonce }: SignAttesterProofParameters,
): Promise<SignAttesterProofReturnType> {
  if (!account) throw new Error("signAttesterProof: no account (the attester key) to sign with");
  const current =
    nonce ??
    (await readContract(client, {
      address: coordinator,
      abi: upgradeCoordinatorAbi,
      functionName: "nonces",
      args: [operator],
    }));
  return signTypedData(client, { account, ...attesterProofTypedData(chainId, coordinator, operator, current) });
}
