// Revert data, found and decoded: the same for the dashboard (viem errors) and the tasks (ethers errors). Every
// custom error of the system's contracts is known, so a refusal that bubbles up through the Governor and the
// timelock (a coordinator error inside `execute`) is still named.
import { decodeErrorResult, type Abi } from "viem";
import { lockstepGovernorAbi, lockstepTimelockAbi, stakeTokenAbi, upgradeCoordinatorAbi } from "./abi/generated";
import { errorInWords } from "./errors";

type Hex = `0x${string}`;

const ALL_ERRORS: Abi = (() => {
  const seen = new Set<string>();
  return [...upgradeCoordinatorAbi, ...lockstepGovernorAbi, ...lockstepTimelockAbi, ...stakeTokenAbi].filter((x) => {
    if (x.type !== "error" || seen.has(x.name)) return false;
    seen.add(x.name);
    return true;
  });
})();

const isRevertData = (x: unknown): x is Hex => typeof x === "string" && /^0x(?:[0-9a-fA-F]{2}){4,}$/.test(x);

/** The revert data an error carries, wherever the library or node put it (data, data.data, error, info, cause). */
export function revertDataOf(e: unknown): Hex | undefined {
  const todo: unknown[] = [e];
  for (let depth = 0; todo.length && depth < 24; depth++) {
    const x = todo.shift() as Record<string, unknown> | undefined;
    if (!x || typeof x !== "object") continue;
    if (isRevertData(x.data)) return x.data;
    if (x.data && typeof x.data === "object" && isRevertData((x.data as { data?: unknown }).data))
      return (x.data as { data: Hex }).data;
    if (isRevertData(x.raw)) return x.raw;
    todo.push(x.cause, x.error, (x.info as { error?: unknown } | undefined)?.error);
  }
  return undefined;
}

export interface DecodedRevert {
  name: string;
  args: readonly unknown[];
  /** The error in words (lib/errors.ts). */
  words: string;
}

/** Names revert data: a custom error of the system, Error(string), Panic(uint256), or undefined when unknown. */
export function decodeRevert(data: Hex): DecodedRevert | undefined {
  try {
    const d = decodeErrorResult({ abi: ALL_ERRORS, data });
    const args = d.args ?? [];
    if (d.errorName === "Error") return { name: "Error", args, words: String(args[0]) };
    if (d.errorName === "Panic") return { name: "Panic", args, words: `the contract panicked (code ${args[0]})` };
    return { name: d.errorName, args, words: errorInWords(d.errorName, args) };
  } catch {
    return undefined;
  }
}
