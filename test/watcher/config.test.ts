import { expect } from "chai";
import { ConfigError, RETRY_DEFAULTS, applyEnv, parseConfig, paths } from "../../watcher/src/config";

const valid = () => ({
  chain: { rpcUrl: "http://127.0.0.1:1", chainId: 31337, coordinator: "0x" + "11".repeat(20), startBlock: 1 },
  validator: { operator: "0x" + "22".repeat(20), attesterKey: { env: "LOCKSTEP_ATTESTER_KEY" } },
  dataDir: "data",
  node: { adapter: "process", statusUrl: "http://127.0.0.1:26657/status", stateDir: "state" },
});

function problems(raw: unknown): string[] {
  try {
    parseConfig(raw, "/etc/lockstep");
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("watcher configuration", function () {
  it("accepts a minimal config, fills defaults and resolves paths against the config's folder", function () {
    const config = parseConfig(valid(), "/etc/lockstep");
    expect(config.chain.confirmations).to.equal(2);
    expect(config.artifacts.allowInsecureHttp).to.equal(false);
    expect(config.dataDir).to.equal("/etc/lockstep/data");
    expect(config.node.stateDir).to.equal("/etc/lockstep/state");
  });

  it("reports every bad value at once, each naming its field and what is expected", function () {
    const raw = valid() as Record<string, any>;
    raw.chain.coordinator = "0x1234";
    raw.chain.confirmations = -1;
    raw.validator.attesterKey = { keystore: "k.json" };
    raw.node.adapter = "docker";
    raw.surprise = true;
    const found = problems(raw);
    expect(found).to.have.length.greaterThanOrEqual(5);
    expect(found.join("\n")).to.match(/config chain\.coordinator: a 0x-prefixed 20-byte hex address/);
    expect(found.join("\n")).to.match(/config chain\.confirmations:/);
    expect(found.join("\n")).to.match(/config validator\.attesterKey/);
    expect(found.join("\n")).to.match(/config node\.adapter/);
    expect(found.join("\n")).to.match(/surprise/);
    for (const line of found) expect(line).to.not.include("\n");
  });

  it("refuses versions and snapshot tags that would escape the data directory", function () {
    const p = paths({ dataDir: "/var/lib/lockstep" });
    expect(p.binary("v2.0.0")).to.equal("/var/lib/lockstep/versions/v2.0.0/bin/node");
    for (const bad of ["../etc", "/abs", "", "a/b", ".hidden"]) {
      expect(() => p.version(bad), bad).to.throw(/cannot name a directory/);
    }
    expect(() => p.snapshot("../x")).to.throw(/cannot name a directory/);
  });

  describe("retry", function () {
    it("defaults to a 5-minute backoff cap, a 6-hour budget and 200 tries", function () {
      expect(parseConfig(valid(), "/etc/lockstep").retry).to.deep.equal({
        backoffCapMs: 300_000,
        budgetMs: 21_600_000,
        maxAttempts: 200,
      });
      expect(RETRY_DEFAULTS).to.deep.equal(parseConfig(valid(), "/etc/lockstep").retry);
    });

    it("takes its values from the file or from LOCKSTEP_RETRY_* variables", function () {
      const raw = { ...valid(), retry: { backoffCapMs: 60_000 } };
      const { merged, sources } = applyEnv(raw, { LOCKSTEP_RETRY_MAX_ATTEMPTS: "12", LOCKSTEP_RETRY_BUDGET_MS: "" });
      const config = parseConfig(merged, "/etc/lockstep", sources);
      expect(config.retry).to.deep.equal({ backoffCapMs: 60_000, budgetMs: 21_600_000, maxAttempts: 12 });
    });

    it("refuses bad values with one line each, naming the field (and the variable that set it)", function () {
      const found = problems({ ...valid(), retry: { maxAttempts: 0, budgetMs: 1.5, surprise: 1 } });
      expect(found).to.have.length(3);
      expect(found.join("\n")).to.match(/^config retry\.budgetMs: .*int/m);
      expect(found.join("\n")).to.match(/^config retry\.maxAttempts: .*>0/m);
      expect(found.join("\n")).to.match(/^config retry: .*surprise/m);
      expect(problems({ ...valid(), retry: { backoffCapMs: 7_200_000, budgetMs: 3_600_000 } })).to.deep.equal([
        "config retry.backoffCapMs: must not be longer than retry.budgetMs",
      ]);
      const { merged, sources } = applyEnv(valid(), { LOCKSTEP_RETRY_BACKOFF_CAP_MS: "soon" });
      expect(() => parseConfig(merged, "/etc/lockstep", sources)).to.throw(
        ConfigError,
        /^config retry\.backoffCapMs \(LOCKSTEP_RETRY_BACKOFF_CAP_MS\): .*number/,
      );
    });
  });
});
