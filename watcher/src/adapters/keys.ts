// Loads the attester key from an encrypted keystore (with a password file) or, for development, an environment
// variable. Errors name the file or variable and what is wrong, never the key or the password, and carry no cause
// (a library's message could quote what it was given).
import { createDecipheriv, pbkdf2, scrypt, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { bytesToHex, concatBytes, hexToBytes, keccak256 } from "viem";
import { privateKeyToAccount, type LocalAccount } from "viem/accounts";
import type { WatcherConfig } from "../config";
import { fatal } from "../errors";

export type AttesterKeySource = WatcherConfig["validator"]["attesterKey"];

/**
 * The attester account. It signs with the key it closes over; the object itself holds only the address and public
 * key, so logging it (JSON.stringify, util.inspect) shows nothing secret.
 */
export async function loadAttesterKey(
  source: AttesterKeySource,
  env: NodeJS.ProcessEnv = process.env,
): Promise<LocalAccount> {
  return "env" in source ? fromEnv(source.env, env) : fromKeystore(source.keystore, source.passwordFile);
}

const keyError = (message: string, details: Record<string, unknown>) =>
  fatal("key", `attester key: ${message}`, details);

function fromEnv(variable: string, env: NodeJS.ProcessEnv): LocalAccount {
  const value = env[variable]?.trim();
  if (!value) throw keyError(`environment variable ${variable} is not set`, { variable });
  if (!/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw keyError(`environment variable ${variable} does not hold a 0x-prefixed 32-byte hex private key`, {
      variable,
    });
  }
  return account(value as `0x${string}`, `environment variable ${variable}`, { variable });
}

async function fromKeystore(keystore: string, passwordFile: string): Promise<LocalAccount> {
  const json = await read(keystore, "keystore");
  // The first line is the password, as geth reads a password file.
  const password = (await read(passwordFile, "password file")).split(/\r?\n/)[0];
  const crypto = keystoreCrypto(json);
  if (!crypto) throw keyError(`keystore ${keystore} is not a Web3 Secret Storage JSON keystore`, { file: keystore });
  let privateKey: `0x${string}` | undefined;
  try {
    privateKey = await decrypt(crypto, password);
  } catch {
    throw keyError(`keystore ${keystore} cannot be decrypted: it is malformed`, { file: keystore });
  }
  if (!privateKey) throw keyError(`wrong password for keystore ${keystore} (from ${passwordFile})`, { file: keystore });
  return account(privateKey, `keystore ${keystore}`, { file: keystore });
}

/** The `crypto` section of a version 3 keystore (Web3 Secret Storage), or undefined for anything else. */
function keystoreCrypto(json: string): Record<string, unknown> | undefined {
  try {
    const data = JSON.parse(json) as Record<string, unknown>;
    const crypto = data.crypto ?? data.Crypto;
    return Number(data.version) === 3 && crypto && typeof crypto === "object"
      ? (crypto as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const hex = (value: unknown): Uint8Array => {
  if (typeof value !== "string" || !/^(0x)?([0-9a-fA-F]{2})*$/.test(value)) throw new Error("not hex");
  return hexToBytes(`0x${value.replace(/^0x/, "")}`);
};

/**
 * Web3 Secret Storage: the key derived from the password (scrypt or PBKDF2-HMAC-SHA256) checks the MAC,
 * keccak256(derived[16..32] ++ ciphertext), then decrypts the ciphertext with AES-128-CTR under derived[0..16].
 * Undefined when the MAC does not match (a wrong password); throws when the keystore is malformed.
 */
async function decrypt(crypto: Record<string, unknown>, password: string): Promise<`0x${string}` | undefined> {
  const params = crypto.kdfparams as Record<string, unknown>;
  const salt = hex(params.salt);
  const length = Number(params.dklen);
  const secret = Buffer.from(password.normalize("NFKC"), "utf8");
  let derived: Buffer;
  if (crypto.kdf === "scrypt") {
    const [N, r, p] = [Number(params.n), Number(params.r), Number(params.p)];
    derived = await promisify<Buffer, Buffer, number, object, Buffer>(scrypt)(secret, Buffer.from(salt), length, {
      N,
      r,
      p,
      maxmem: 256 * N * r + 1024 * 1024,
    });
  } else if (crypto.kdf === "pbkdf2" && params.prf === "hmac-sha256") {
    derived = await promisify(pbkdf2)(secret, Buffer.from(salt), Number(params.c), length, "sha256");
  } else {
    throw new Error("unknown key derivation");
  }
  if (crypto.cipher !== "aes-128-ctr" || length < 32) throw new Error("unknown cipher");
  const ciphertext = hex(crypto.ciphertext);
  const mac = hexToBytes(keccak256(concatBytes([derived.subarray(16, 32), ciphertext])));
  const expected = hex(crypto.mac);
  if (expected.length !== mac.length) throw new Error("malformed MAC");
  if (!timingSafeEqual(mac, expected)) return undefined;
  const iv = hex((crypto.cipherparams as Record<string, unknown>).iv);
  const decipher = createDecipheriv("aes-128-ctr", derived.subarray(0, 16), iv);
  return bytesToHex(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
}

function account(privateKey: `0x${string}`, where: string, details: Record<string, unknown>): LocalAccount {
  try {
    return privateKeyToAccount(privateKey);
  } catch {
    throw keyError(`${where} holds a value that is not a valid secp256k1 private key`, details);
  }
}

async function read(file: string, what: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem =
      code === "ENOENT"
        ? "does not exist"
        : code === "EACCES"
          ? "cannot be read (permission denied)"
          : `cannot be read (${code ?? "error"})`;
    throw keyError(`${what} ${file} ${problem}`, { file });
  }
}
