import { expect } from "chai";
import { ConfigError, parseConfig, paths } from "../../watcher/src/config";

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
});
