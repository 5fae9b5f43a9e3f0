// The drill's command line, read in this process: what it takes and the one-line refusals (drill.test.ts runs the
// real command for a few of them, to see the exit code).
import { expect } from "chai";
import { UsageError, parseOptions } from "../../scripts/drill/options";

const refusal = (argv: string[]): string => {
  try {
    parseOptions(argv);
  } catch (e) {
    expect(e, argv.join(" ")).to.be.instanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error(`${argv.join(" ")} was accepted`);
};

describe("drill options", function () {
  it("takes the defaults, values as `--flag value` or `--flag=value`, and switches", function () {
    expect(parseOptions([])).to.deep.equal({
      validators: 9,
      cohorts: [2, 3, 4],
      fault: "stall",
      node: "sim",
      seed: "lockstep",
      keep: false,
      inProcess: false,
      help: false,
    });
    expect(
      parseOptions(["--validators=300", "--in-process", "--fault", "crash", "--seed", "load", "--keep", "-h"]),
    ).to.deep.equal({
      validators: 300,
      cohorts: [15, 60, 225],
      fault: "crash",
      node: "sim",
      seed: "load",
      keep: true,
      inProcess: true,
      help: true,
    });
    expect(parseOptions(["--cohorts", "1,1,2"]).validators).to.equal(4);
    expect(parseOptions(["--node", "anvil", "--validators", "3"]).node).to.equal("anvil");
  });

  it("refuses each bad option in one line", function () {
    for (const [argv, message] of [
      [["--fault", "explode"], '--fault must be one of none, crash, stall, wrong-version, not "explode"'],
      [["--validators", "two"], '--validators must be a whole number from 3 to 2000, not "two"'],
      [["--validators", "2"], '--validators must be a whole number from 3 to 2000, not "2"'],
      [["--cohorts", "1,2"], '--cohorts takes three positive whole numbers (canary,early,main), not "1,2"'],
      [["--validators", "9", "--cohorts", "1,1,1"], "--cohorts 1,1,1 adds up to 3, but --validators is 9"],
      [["--bogus"], 'unknown option "--bogus" (see --help)'],
      [["--seed"], "--seed needs a value"],
      [["--seed", "--keep"], "--seed needs a value"],
      [["--keep=1"], "--keep takes no value"],
      [["--seed", ""], "--seed must be 1 to 64 characters"],
      [["--node", "geth"], '--node must be one of sim, anvil, not "geth"'],
      [["--node", "anvil", "--in-process"], "--node anvil runs a real anvil process per validator"],
      [["--node", "anvil", "--fault", "wrong-version"], "--fault wrong-version cannot be shown with --node anvil"],
      [["--validators", "41"], "--validators 41 runs 82 processes: add --in-process for more than 40"],
    ] as const) {
      const text = refusal([...argv]);
      expect(text, argv.join(" ")).to.include(message);
      expect(text.split("\n"), argv.join(" ")).to.have.length(1);
    }
  });
});
