// Loads the attester key from an encrypted keystore (with a password file) or, for development, an environment
// variable. Errors name the file or variable and what is wrong, never the key or the password, and carry no cause
// (a library's message could quote what it was given).
import { readFile } from "node:fs/promises";
import { decryptKeystoreJson, isKeystoreJson } from "ethers";
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
  if (!isKeystoreJson(json))
    throw keyError(`keystore ${keystore} is not a Web3 Secret Storage JSON keystore`, { file: keystore });
  let privateKey: string;
  try {
    ({ privateKey } = await decryptKeystoreJson(json, password));
  } catch (error) {
    const wrongPassword = /incorrect password/i.test((error as Error).message);
    throw keyError(
      wrongPassword
        ? `wrong password for keystore ${keystore} (from ${passwordFile})`
        : `keystore ${keystore} cannot be decrypted: it is malformed`,
      { file: keystore },
    );
  }
  return account(privateKey as `0x${string}`, `keystore ${keystore}`, { file: keystore });
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
