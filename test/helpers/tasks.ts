// Hardhat tasks run in this process, as the task tests drive them: what a task printed, and how it refused.
import { expect } from "chai";
import hre from "hardhat";

/** Runs a task in process and returns what it printed. */
export async function runTask(name: string, args: Record<string, unknown> = {}): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...parts: unknown[]) => lines.push(parts.map(String).join(" "));
  try {
    await hre.run(name, args);
  } finally {
    console.log = log;
  }
  return lines.join("\n");
}

/** Runs a task that must refuse: returns the one line it wrote and checks it would have exited with code 1. */
export async function refusal(name: string, args: Record<string, unknown>): Promise<string> {
  const exit = process.exit;
  const write = process.stderr.write;
  let line = "";
  let code: number | undefined;
  process.exit = ((c?: number) => {
    code = c;
    throw new Error("exited");
  }) as typeof process.exit;
  process.stderr.write = ((chunk: string) => ((line += chunk), true)) as typeof process.stderr.write;
  try {
    await hre.run(name, args).catch(() => undefined);
  } finally {
    process.exit = exit;
    process.stderr.write = write;
  }
  expect(code).to.equal(1);
  expect(line.endsWith("\n") && line.split("\n").length === 2, `one line: ${line}`).to.equal(true);
  return line.replace(/^lockstep: /, "").trimEnd();
}
