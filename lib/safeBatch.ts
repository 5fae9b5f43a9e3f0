// Safe Transaction Builder batch files: what a Safe's owners load into the Transaction Builder app to sign calls
// the tasks would otherwise send from one key. The format and its checksum are the builder's own (safe-global's
// safe-react-apps, apps/tx-builder: typings/models.ts and lib/checksum.ts): keccak256 of a canonical serialisation
// (keys sorted, undefined as null) of the file with `meta.name` set to null and no `meta.checksum`.
// The dashboard bundles this file for the browser: only `writeSafeBatch` and `readSafeBatch` touch the disk, and
// they load node:fs when called, never at import.
import {
  decodeFunctionData,
  encodeFunctionData,
  getAddress,
  isAddress,
  isHex,
  keccak256,
  stringToHex,
  type Abi,
  type AbiFunction,
  type AbiParameter,
  type Address,
  type Hex,
} from "viem";
import { z } from "zod";

/** The Transaction Builder version whose format this writes (it reads older and newer files alike). */
export const TX_BUILDER_VERSION = "1.18.0";

export interface SafeContractInput {
  internalType: string;
  name: string;
  type: string;
  components?: SafeContractInput[];
}

export interface SafeBatchTransaction {
  to: Address;
  value: string;
  data: Hex | null;
  contractMethod: { inputs: SafeContractInput[]; name: string; payable: boolean } | null;
  contractInputsValues: Record<string, string> | null;
}

export interface SafeBatchFile {
  version: "1.0";
  chainId: string;
  createdAt: number;
  meta: {
    name: string;
    description?: string;
    txBuilderVersion?: string;
    createdFromSafeAddress?: string;
    createdFromOwnerAddress?: string;
    checksum?: string;
  };
  transactions: SafeBatchTransaction[];
}

/** A call for the Safe to make. */
export interface SafeCall {
  to: Address;
  abi: Abi;
  functionName: string;
  args: readonly unknown[];
  value?: bigint;
}

/** A batch file that is malformed, or whose checksum or calls do not match: one line. */
export class SafeBatchError extends Error {}

// ------------------------------------------------------------------ checksum, as the builder computes it

const replacer = (_key: string, value: unknown) => (value === undefined ? null : value);

function serialize(json: unknown): string {
  if (Array.isArray(json)) return `[${json.map(serialize).join(",")}]`;
  if (typeof json === "object" && json !== null) {
    const keys = Object.keys(json).sort();
    let out = `{${JSON.stringify(keys, replacer)}`;
    for (const key of keys) out += `${serialize((json as Record<string, unknown>)[key])},`;
    return `${out}}`;
  }
  return JSON.stringify(json, replacer);
}

/** The builder's checksum of `file` as given (it hashes whatever `meta` holds, with the name blanked). */
export function batchChecksum(file: Omit<SafeBatchFile, "version"> & { version: string }): Hex {
  return keccak256(stringToHex(serialize({ ...file, meta: { ...file.meta, name: null } })));
}

/** `file` with its checksum computed over everything but the checksum itself, as the builder exports it. */
export function withChecksum(file: SafeBatchFile): SafeBatchFile {
  const meta = { ...file.meta };
  delete meta.checksum;
  return { ...file, meta: { ...meta, checksum: batchChecksum({ ...file, meta }) } };
}

// ------------------------------------------------------------------ writing

/** node:fs, loaded when a file is read or written (Node only): importing this module stays browser-safe. */
const nodeFs = () => require("node:fs") as typeof import("node:fs");

/** A Solidity value as the builder's input fields hold it: numbers in decimal, arrays and tuples as JSON. */
function inputValue(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "bigint" || typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

function contractInput(p: AbiParameter): SafeContractInput {
  const components = "components" in p ? p.components.map(contractInput) : undefined;
  return {
    internalType: p.internalType ?? p.type,
    name: p.name ?? "",
    type: p.type,
    ...(components && { components }),
  };
}

function abiFunction(abi: Abi, functionName: string, args: readonly unknown[]): AbiFunction {
  const f = abi.find(
    (x): x is AbiFunction => x.type === "function" && x.name === functionName && x.inputs.length === args.length,
  );
  if (!f) throw new SafeBatchError(`no function ${functionName} with ${args.length} arguments in the ABI`);
  return f;
}

/** One call as a batch transaction: its calldata, and the method and inputs the builder shows the signers. */
export function batchTransaction(call: SafeCall): SafeBatchTransaction {
  const f = abiFunction(call.abi, call.functionName, call.args);
  return {
    to: getAddress(call.to),
    value: (call.value ?? 0n).toString(),
    data: encodeFunctionData({ abi: [f], functionName: f.name, args: call.args }),
    contractMethod: { inputs: f.inputs.map(contractInput), name: f.name, payable: f.stateMutability === "payable" },
    contractInputsValues: Object.fromEntries(f.inputs.map((p, i) => [p.name || `arg${i}`, inputValue(call.args[i])])),
  };
}

export interface SafeBatchParameters {
  chainId: number;
  safe: Address;
  name: string;
  description?: string;
  calls: SafeCall[];
  /** Milliseconds since the epoch (default: now). */
  createdAt?: number;
}

/** A checksummed batch file for the Safe at `safe` on `chainId`. */
export function safeBatch(p: SafeBatchParameters): SafeBatchFile {
  if (p.calls.length === 0) throw new SafeBatchError("a batch needs at least one call");
  return withChecksum({
    version: "1.0",
    chainId: String(p.chainId),
    createdAt: p.createdAt ?? Date.now(),
    meta: {
      name: p.name,
      description: p.description ?? "",
      txBuilderVersion: TX_BUILDER_VERSION,
      createdFromSafeAddress: getAddress(p.safe),
      createdFromOwnerAddress: "",
    },
    transactions: p.calls.map(batchTransaction),
  });
}

/** Writes a batch file atomically (temporary file, then rename); refuses to overwrite one. */
export function writeSafeBatch(path: string, file: SafeBatchFile): void {
  const { existsSync, renameSync, writeFileSync } = nodeFs();
  if (existsSync(path)) throw new SafeBatchError(`${path} exists; choose another file for the batch`);
  writeFileSync(`${path}.tmp`, JSON.stringify(file, null, 2) + "\n");
  renameSync(`${path}.tmp`, path);
}

// ------------------------------------------------------------------ reading

const address = z.string().refine((s) => isAddress(s, { strict: false }), "must be an address");
const Input: z.ZodType<SafeContractInput> = z.lazy(() =>
  z.object({ internalType: z.string(), name: z.string(), type: z.string(), components: z.array(Input).optional() }),
);
const BatchSchema = z.object({
  version: z.string(),
  chainId: z.string().regex(/^\d+$/, "must be a chain id in decimal"),
  createdAt: z.number().int(),
  meta: z.object({
    name: z.string(),
    description: z.string().optional(),
    txBuilderVersion: z.string().optional(),
    createdFromSafeAddress: z.string().optional(),
    createdFromOwnerAddress: z.string().optional(),
    checksum: z.string().optional(),
  }),
  transactions: z
    .array(
      z.object({
        to: address,
        value: z.string().regex(/^\d+$/, "must be wei in decimal"),
        data: z
          .string()
          .refine((s) => isHex(s), "must be hex")
          .nullable()
          .optional(),
        contractMethod: z
          .object({ inputs: z.array(Input), name: z.string(), payable: z.boolean() })
          .nullable()
          .optional(),
        contractInputsValues: z.record(z.string(), z.string()).nullable().optional(),
      }),
    )
    .min(1, "must hold at least one transaction"),
});

/** Reads and checks a batch file: its shape, and its checksum when it carries one. */
export function readSafeBatch(path: string): SafeBatchFile {
  let text: string;
  try {
    text = nodeFs().readFileSync(path, "utf8");
  } catch (e) {
    throw new SafeBatchError(`${path} is not a readable JSON batch file: ${(e as Error).message}`);
  }
  return parseSafeBatch(text, path);
}

/** Checks a batch file's text (`source` names it in errors): its shape, and its checksum when it carries one. */
export function parseSafeBatch(text: string, source = "batch"): SafeBatchFile {
  const path = source;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SafeBatchError(`${path} is not a readable JSON batch file: ${(e as Error).message}`);
  }
  const parsed = BatchSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new SafeBatchError(`${path}: ${i.path.join(".") || "(file)"}: ${i.message}`);
  }
  const file = parsed.data as SafeBatchFile;
  if (file.meta.checksum !== undefined) {
    const meta = { ...file.meta };
    delete meta.checksum;
    if (batchChecksum({ ...file, meta }) !== file.meta.checksum) {
      throw new SafeBatchError(`${path}: the checksum does not match the contents`);
    }
  }
  return file;
}

/** Contracts the reader knows by address, to decode calls into words. */
export type KnownContracts = Record<string, { address: Address; abi: Abi }>;

function argsInWords(f: AbiFunction, args: readonly unknown[], known: KnownContracts): string {
  return f.inputs.map((p, i) => `${p.name || `arg${i}`}=${valueInWords(args[i], known)}`).join(", ");
}

function valueInWords(v: unknown, known: KnownContracts): string {
  if (typeof v === "string" && isAddress(v, { strict: false })) {
    const name = Object.entries(known).find(([, c]) => c.address.toLowerCase() === v.toLowerCase())?.[0];
    return name ? `${name} (${getAddress(v)})` : getAddress(v);
  }
  return inputValue(v);
}

/** One call in words: "UpgradeCoordinator.pause(upgradeId=1)"; a Governor proposal's calls are spelled out too. */
export function callInWords(to: Address, data: Hex, known: KnownContracts): string {
  const entry = Object.entries(known).find(([, c]) => c.address.toLowerCase() === to.toLowerCase());
  if (!entry) return `${getAddress(to)}: ${data.slice(0, 10)}… (unknown contract)`;
  const [name, { abi }] = entry;
  const call = decodeFunctionData({ abi, data });
  const args = call.args ?? [];
  const f = abiFunction(abi, call.functionName, args);
  const head = `${name}.${call.functionName}(${argsInWords(f, args, known)})`;
  const inner = f.inputs.findIndex((p) => p.name === "calldatas");
  if (inner < 0) return head;
  const targets = args[0] as Address[];
  const calldatas = args[inner] as Hex[];
  return [head, ...calldatas.map((d, i) => `  ${i + 1}. ${callInWords(targets[i], d, known)}`)].join("\n");
}

/**
 * Every transaction of a batch in words, after checking that its calldata and the method and inputs shown to the
 * signers say the same thing.
 */
export function batchInWords(file: SafeBatchFile, known: KnownContracts): string[] {
  return file.transactions.map((t, n) => {
    if (!t.data) throw new SafeBatchError(`transaction ${n + 1} has no calldata`);
    const words = callInWords(t.to, t.data, known);
    const entry = Object.values(known).find((c) => c.address.toLowerCase() === t.to.toLowerCase());
    if (entry && t.contractMethod) {
      const call = decodeFunctionData({ abi: entry.abi, data: t.data });
      const f = abiFunction(entry.abi, call.functionName, call.args ?? []);
      const shown = batchTransaction({ to: t.to, abi: [f], functionName: f.name, args: call.args ?? [] });
      if (
        shown.contractMethod!.name !== t.contractMethod.name ||
        JSON.stringify(shown.contractInputsValues) !== JSON.stringify(t.contractInputsValues)
      ) {
        throw new SafeBatchError(`transaction ${n + 1}: the method shown to the signers is not the calldata's`);
      }
    }
    return `${t.value === "0" ? "" : `${t.value} wei, `}${words}`;
  });
}
