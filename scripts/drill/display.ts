// The live progress display: one line per lifecycle stage, redrawn in place on a terminal, printed as plain
// lines (each time a line changes) otherwise, so a CI log reads as a transcript. Figures are formatted by lib/format.
import { duration, percent, wholeTokens } from "../../lib/format";

export interface Out {
  write(text: string): void;
  isTTY: boolean;
}

export class Board {
  /** Only the newest board redraws in place: older ones are above text printed since. */
  private static newest?: Board;
  private keys: string[] = [];
  private lines = new Map<string, string>();
  private drawn = 0;

  constructor(
    private readonly out: Out,
    private readonly title: string,
  ) {
    out.write(`${title}\n`);
    Board.newest = this;
  }

  /** Sets the line for `key` (in order of first use) and redraws. */
  set(key: string, text: string) {
    const line = `  ${key.padEnd(10)} ${text}`;
    if (this.lines.get(key) === line) return;
    if (!this.lines.has(key)) this.keys.push(key);
    this.lines.set(key, line);
    if (this.out.isTTY && Board.newest === this) this.redraw();
    else this.out.write(`${line}\n`);
  }

  private redraw() {
    let text = this.drawn ? `\x1b[${this.drawn}A` : "";
    for (const key of this.keys) text += `\x1b[2K${this.lines.get(key)}\n`;
    this.drawn = this.keys.length;
    this.out.write(text);
  }

  /** Prints a message below the board (the board goes on redrawing below it on a terminal). */
  note(text: string) {
    if (this.out.isTTY) {
      let clear = this.drawn ? `\x1b[${this.drawn}A` : "";
      for (let i = 0; i < this.drawn; i++) clear += "\x1b[2K\n";
      if (this.drawn) clear += `\x1b[${this.drawn}A`;
      this.out.write(`${clear}  ${text}\n`);
      this.drawn = 0;
      this.redraw();
    } else {
      this.out.write(`  ${text}\n`);
    }
  }
}

/** `part` of `whole` as a fixed-width percentage (" 12.3%"), or a blank of that width when `whole` is 0. */
export const pct = (part: bigint, whole: bigint) => (whole === 0n ? "  -  " : percent(part, whole).padStart(6));

/** Stake in whole tokens with thousands separators. */
export const tokens = (wei: bigint) => wholeTokens(wei);

export { duration };
