// Signs an attestation with the attester key (EIP-712), in the compact EIP-2098 form relayed batches carry.
import {
  parseSignature,
  signatureToCompactSignature,
  type Account,
  type Address,
  type Chain,
  type Client,
  type SignTypedDataErrorType,
  type Transport,
} from "viem";
import { signTypedData } from "viem/actions";
import { attestationTypedData, type Attestation, type SignedAttestation } from "../coordinator";

export type SignAttestationParameters = {
  /** The attester; default: the client's account. */
  account?: Account | Address;
  chainId: number | bigint;
  coordinator: Address;
  attestation: Attestation;
};
export type SignAttestationReturnType = SignedAttestation;
export type SignAttestationErrorType = SignTypedDataErrorType;

export async function signAttestation(
  client: Client<Transport, Chain | undefined, Account | undefined>,
  { account = client.account, chainId, coordinator, attestation }: SignAttestationParameters,
): Promise<SignAttestationReturnType> {
  const signature = await signTypedData(client, {
    account: account!,
    ...attestationTypedData(chainId, coordinator, attestation),
  });
  const { r, yParityAndS } = signatureToCompactSignature(parseSignature(signature));
  return { attestation, r, vs: yParityAndS };
}
