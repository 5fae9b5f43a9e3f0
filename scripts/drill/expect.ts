// Every expectation the drill checks, printed as it is checked; the exit code is 0 only if all held.
import type { Out } from "./display";

export class Expectations {
  private results: { label: string; ok: boolean }[] = [];
  constructor(private readonly out: Out) {}

  check(label: string, ok: boolean, detail = ""): boolean {
    this.results.push({ label, ok });
    this.out.write(`  ${ok ? "✓" : "✗"} ${label}${detail ? ` (${detail})` : ""}\n`);
    return ok;
  }

  get failed(): string[] {
    return this.results.filter((r) => !r.ok).map((r) => r.label);
  }

  get count(): number {
    return this.results.length;
  }
}
