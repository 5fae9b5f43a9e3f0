import { bytesToHex, hexToBytes, stringToBytes, type Hex } from "viem";

/** A version string as attestations carry it: UTF-8, left-aligned in 32 bytes. */
export function versionTag(version: string): Hex {
  const bytes = stringToBytes(version);
  if (bytes.length === 0 || bytes.length > 32) throw new Error(`version "${version}" must be 1 to 32 bytes of UTF-8`);
  const out = new Uint8Array(32);
  out.set(bytes);
  return bytesToHex(out);
}

/**
 * The version string a bytes32 tag holds (trailing zero bytes dropped). Bytes that are not UTF-8 become U+FFFD:
 * any validator can report any tag with a non-Healthy status, and one odd tag must not stop a history rebuild.
 */
export function versionFromTag(tag: string): string {
  const bytes = hexToBytes(tag as Hex);
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return new TextDecoder("utf-8", { fatal: false }).decode(bytes.slice(0, end));
}
