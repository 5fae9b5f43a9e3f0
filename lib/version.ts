import { Utf8ErrorFuncs, hexlify, toUtf8Bytes, toUtf8String, getBytes } from "ethers";

/** A version string as attestations carry it: UTF-8, left-aligned in 32 bytes. */
export function versionTag(version: string): string {
  const bytes = toUtf8Bytes(version);
  if (bytes.length === 0 || bytes.length > 32) throw new Error(`version "${version}" must be 1 to 32 bytes of UTF-8`);
  const out = new Uint8Array(32);
  out.set(bytes);
  return hexlify(out);
}

/**
 * The version string a bytes32 tag holds (trailing zero bytes dropped). Bytes that are not UTF-8 become U+FFFD:
 * any validator can report any tag with a non-Healthy status, and one odd tag must not stop a history rebuild.
 */
export function versionFromTag(tag: string): string {
  const bytes = getBytes(tag);
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return toUtf8String(bytes.slice(0, end), Utf8ErrorFuncs.replace);
}
