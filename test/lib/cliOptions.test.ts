// The command-line options the exporter and the dashboard server share (lib/cliOptions.ts).
import { expect } from "chai";
import {
  SERVICE_DEFAULTS,
  applyFlags,
  parseFlags,
  parseServiceOptions,
  type ServiceOptions,
} from "../../lib/cliOptions";

interface Extra extends ServiceOptions {
  explorer: string;
}

const DEFAULTS: Extra = { ...SERVICE_DEFAULTS, port: 9465, pollMs: 5_000, explorer: "" };

const parse = (argv: string[]) =>
  parseServiceOptions<Extra>(argv, DEFAULTS, { flags: { "--explorer": (o, v) => (o.explorer = v) } });

const problemsOf = (argv: string[]): string => {
  try {
    parse(argv);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`${argv.join(" ")} was accepted`);
};

describe("cli options", function () {
  it("takes the defaults, then each flag as `--flag value` or `--flag=value`", function () {
    expect(parse([])).to.deep.equal(DEFAULTS);
    expect(
      parse([
        "--network",
        "sepolia",
        "--rpc=http://10.0.0.2:8000",
        "--host",
        "0.0.0.0",
        "--port=0",
        "--poll-ms",
        "250",
        "--deployments",
        "/srv/deployments",
        "--explorer",
        "https://explorer.example",
      ]),
    ).to.deep.equal({
      network: "sepolia",
      rpc: "http://10.0.0.2:8000",
      host: "0.0.0.0",
      port: 0,
      pollMs: 250,
      deployments: "/srv/deployments",
      explorer: "https://explorer.example",
    });
  });

  it("keeps an inline value whole when it holds '=' itself", function () {
    expect(parse(["--rpc=https://rpc.example/v1?key=abc=="]).rpc).to.equal("https://rpc.example/v1?key=abc==");
  });

  it("names every problem in one line: unknown flags, missing values, bad numbers and URLs", function () {
    expect(problemsOf(["--port", "http", "--rpc", "ftp://x", "--verbose"])).to.equal(
      "unknown option --verbose; --port must be a port number; --rpc must be an http(s) URL",
    );
    expect(problemsOf(["--poll-ms", "50"])).to.equal("--poll-ms must be a whole number, at least 100");
    expect(problemsOf(["--poll-ms", "1e3"])).to.equal("--poll-ms must be a whole number, at least 100");
    expect(problemsOf(["--port", "0x10"])).to.equal("--port must be a port number");
    expect(problemsOf(["--port", "65536"])).to.equal("--port must be a port number");
    expect(problemsOf(["--network", ""])).to.equal("--network must name a network");
    expect(problemsOf(["--rpc"])).to.equal("--rpc needs a value");
  });

  it("does not take an option from the prototype of the flag table", function () {
    const problems = applyFlags(["--toString", "x", "constructor"], {}, {});
    expect(problems).to.deep.equal(["unknown option --toString", "unknown option x", "unknown option constructor"]);
  });
});

describe("cli options: switches and flags that lack their value", function () {
  interface Drill {
    seed: string;
    keep: boolean;
  }
  const DRILL: Drill = { seed: "lockstep", keep: false };
  const spec = {
    flags: { "--seed": (o: Drill, v: string) => (o.seed = v) },
    switches: { "--keep": (o: Drill) => (o.keep = true) },
  };
  const problemsOf = (argv: string[]) => {
    try {
      parseFlags(argv, DRILL, spec);
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error(`${argv.join(" ")} was accepted`);
  };

  it("sets a switch without taking the next argument as its value", function () {
    expect(parseFlags(["--keep", "--seed", "x"], DRILL, spec)).to.deep.equal({ seed: "x", keep: true });
    expect(parseFlags([], DRILL, spec)).to.deep.equal(DRILL);
  });

  it("refuses a value given to a switch, and a flag followed by another flag instead of its value", function () {
    expect(problemsOf(["--keep=yes"])).to.equal("--keep takes no value");
    expect(problemsOf(["--seed", "--keep"])).to.equal("--seed needs a value");
    expect(parseFlags(["--seed=--keep"], DRILL, spec).seed).to.equal("--keep");
  });

  it("words an unknown flag as the command asks", function () {
    const problems = applyFlags(["--bogus"], { ...DRILL }, spec.flags, {
      unknown: (arg) => `unknown option "${arg}" (see --help)`,
    });
    expect(problems).to.deep.equal(['unknown option "--bogus" (see --help)']);
  });

  it("lists the options once, after every unknown flag, when given a usage line", function () {
    const usage = { usage: "--seed S, --keep" };
    expect(applyFlags(["--bogus", "--other=1", "--seed", "x"], { ...DRILL }, spec.flags, usage)).to.deep.equal([
      "unknown option --bogus",
      "unknown option --other=1",
      "options: --seed S, --keep",
    ]);
    expect(applyFlags(["--seed", "x"], { ...DRILL }, spec.flags, usage)).to.deep.equal([]);
  });
});
