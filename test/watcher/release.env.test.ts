// Configuration from the environment: every field has a LOCKSTEP_ variable derived from the schema, the variable
// wins over the file, bad values fail with the file's one-line errors, and docs/watcher.md lists every name.
import { expect } from "chai";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError, configSchema, envFields, loadConfig } from "../../watcher/src/config";
import { ROOT, runWatcher, tempDir } from "../helpers/e2e";

const file = () => ({
  chain: { rpcUrl: "http://127.0.0.1:1", chainId: 31337, coordinator: "0x" + "11".repeat(20), startBlock: 1 },
  validator: { operator: "0x" + "22".repeat(20), attesterKey: { keystore: "key.json", passwordFile: "password" } },
  dataDir: "data",
  node: { adapter: "process", statusUrl: "http://127.0.0.1:26657/status", stateDir: "state", args: ["--a"] },
  log: { level: "info" },
});

/** docs/watcher.md's table of variables, as envFields() makes it. */
function envTable(): string {
  const what = { string: "text", number: "a number", boolean: "`true` or `false`", json: "JSON" };
  return [
    "| variable | field | value |",
    "| --- | --- | --- |",
    ...envFields().map((f) => `| \`${f.variable}\` | \`${f.field}\` | ${what[f.kind]} |`),
  ].join("\n");
}

describe("watcher configuration from the environment", function () {
  this.timeout(60_000);
  let dir: ReturnType<typeof tempDir>;
  let path: string;

  before(function () {
    dir = tempDir();
    path = join(dir.path, "watcher.json");
  });
  after(() => dir?.cleanup());

  const load = (raw: unknown, env: NodeJS.ProcessEnv) => {
    writeFileSync(path, JSON.stringify(raw));
    return loadConfig(path, env);
  };
  const problemsOf = (raw: unknown, env: NodeJS.ProcessEnv): string[] => {
    try {
      load(raw, env);
    } catch (e) {
      if (e instanceof ConfigError) return e.problems;
      throw e;
    }
    throw new Error("the config was accepted");
  };

  it("names a variable for every field, nested names joined with _", function () {
    const names = envFields().map((f) => f.variable);
    expect(new Set(names).size).to.equal(names.length);
    expect(names).to.include.members([
      "LOCKSTEP_CHAIN_RPC_URL",
      "LOCKSTEP_CHAIN_CHAIN_ID",
      "LOCKSTEP_VALIDATOR_ATTESTER_KEY_PASSWORD_FILE",
      "LOCKSTEP_DATA_DIR",
      "LOCKSTEP_NODE_PROBE_TYPE",
      "LOCKSTEP_ARTIFACTS_ALLOW_INSECURE_HTTP",
      "LOCKSTEP_LOG_LEVEL",
    ]);
    // Every top-level field of the schema is reachable (fields added later are derived the same way).
    const tops = new Set(envFields().map((f) => f.field.split(".")[0]));
    expect([...tops].sort()).to.deep.equal(Object.keys(configSchema.shape).sort());
  });

  it("lets the variable win over the file, parsing numbers, booleans and JSON", function () {
    const config = load(file(), {
      LOCKSTEP_CHAIN_RPC_URL: "http://10.0.0.2:9650",
      LOCKSTEP_CHAIN_CHAIN_ID: "17000",
      LOCKSTEP_ARTIFACTS_ALLOW_INSECURE_HTTP: "true",
      LOCKSTEP_NODE_ARGS: '["--b", "2"]',
      LOCKSTEP_NODE_ENV: '{"RUST_LOG": "info"}',
      LOCKSTEP_LOG_LEVEL: "debug",
      LOCKSTEP_METRICS_PORT: "",
    });
    expect(config.chain.rpcUrl).to.equal("http://10.0.0.2:9650");
    expect(config.chain.chainId).to.equal(17000);
    expect(config.chain.startBlock).to.equal(1); // from the file
    expect(config.artifacts.allowInsecureHttp).to.equal(true);
    expect(config.node).to.include({ adapter: "process" });
    expect((config.node as { args: string[] }).args).to.deep.equal(["--b", "2"]);
    expect((config.node as { env: Record<string, string> }).env).to.deep.equal({ RUST_LOG: "info" });
    expect(config.log.level).to.equal("debug");
    expect(config.metrics.port).to.equal(9464); // an empty variable counts as unset
  });

  it("fills fields the file leaves out, resolving paths against the config's folder", function () {
    const raw = file() as Record<string, unknown>;
    delete raw.dataDir;
    const config = load(raw, { LOCKSTEP_DATA_DIR: "watcher-data", LOCKSTEP_HEALTH_DEADLINE_MS: "5000" });
    expect(config.dataDir).to.equal(join(dir.path, "watcher-data"));
    expect(config.health.deadlineMs).to.equal(5000);
    expect(config.health.probeIntervalMs).to.equal(1000);
  });

  it("switches a union's option: an env attester key over the file's keystore, another probe type", function () {
    const raw = file();
    const node = { adapter: "process", probe: { type: "command", command: "status", timeoutMs: 500 }, stateDir: "s" };
    const config = load(
      { ...raw, node },
      {
        LOCKSTEP_VALIDATOR_ATTESTER_KEY_ENV: "ATTESTER_KEY",
        LOCKSTEP_NODE_PROBE_TYPE: "ethereum-execution",
        LOCKSTEP_NODE_PROBE_URL: "http://127.0.0.1:26657",
      },
    );
    expect(config.validator.attesterKey).to.deep.equal({ env: "ATTESTER_KEY" });
    expect(config.node.probe).to.deep.equal({
      type: "ethereum-execution",
      url: "http://127.0.0.1:26657",
      timeoutMs: 500,
    });
    // A variable sets fields; it cannot remove one the file sets (node.statusUrl stays, so a probe is one too many).
    expect(
      problemsOf(raw, { LOCKSTEP_NODE_PROBE_TYPE: "solana", LOCKSTEP_NODE_PROBE_URL: "http://h:1" }),
    ).to.deep.equal(["config node.probe: set exactly one of node.probe and node.statusUrl"]);
  });

  it("refuses bad values with the file's one-line errors, naming the variable", function () {
    const fromFile = problemsOf({ ...file(), chain: { ...file().chain, chainId: "abc" } }, {});
    const fromEnv = problemsOf(file(), { LOCKSTEP_CHAIN_CHAIN_ID: "abc" });
    expect(fromEnv).to.deep.equal([fromFile[0].replace("chain.chainId:", "chain.chainId (LOCKSTEP_CHAIN_CHAIN_ID):")]);
    expect(problemsOf(file(), { LOCKSTEP_LOG_LEVEL: "loud", LOCKSTEP_METRICS_PORT: "70000" })).to.have.length(2);
    expect(problemsOf(file(), { LOCKSTEP_NODE_ARGS: "--x" })).to.deep.equal([
      `config node.args (LOCKSTEP_NODE_ARGS): not valid JSON: ${jsonError("--x")}`,
    ]);
    expect(problemsOf(file(), { LOCKSTEP_ARTIFACTS_ALLOW_INSECURE_HTTP: "yes" })[0]).to.match(
      /^config artifacts\.allowInsecureHttp \(LOCKSTEP_ARTIFACTS_ALLOW_INSECURE_HTTP\): .*expected boolean/,
    );
  });

  it("stops the command with exit 2 and one line for a bad variable", async function () {
    writeFileSync(path, JSON.stringify(file()));
    const r = await runWatcher(["--config", path], { LOCKSTEP_CHAIN_COORDINATOR: "0x12" });
    expect(r.code, r.stderr).to.equal(2);
    expect(r.stderr).to.equal(
      "lockstep-watcher: config chain.coordinator (LOCKSTEP_CHAIN_COORDINATOR): a 0x-prefixed 20-byte hex address\n",
    );
  });

  it("is listed in full in docs/watcher.md", function () {
    const docs = readFileSync(join(ROOT, "docs", "watcher.md"), "utf8");
    const start = docs.indexOf("<!-- env-table -->");
    const end = docs.indexOf("<!-- /env-table -->");
    expect(start, "docs/watcher.md has no <!-- env-table --> block").to.be.greaterThan(-1);
    const listed = docs.slice(start + "<!-- env-table -->".length, end).trim();
    expect(listed, `replace the block in docs/watcher.md with:\n${envTable()}\n`).to.equal(envTable());
  });
});

function jsonError(text: string): string {
  try {
    JSON.parse(text);
  } catch (e) {
    return (e as Error).message;
  }
  return "";
}
