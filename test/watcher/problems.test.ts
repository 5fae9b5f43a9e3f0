// /healthz problems outlive the watcher (issue 10): what an operator must see is kept in the journal, reported again
// by a restarted watcher, and cleared there once resolved.
import { expect } from "chai";
import { mkdtempSync, rmSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteJournal } from "../../watcher/src/journal/sqlite";
import { Metrics } from "../../watcher/src/metrics";
import { FakeChain } from "../fakes/chain";
import { FakeNode } from "../fakes/ports";
import { testConfig, upgradedJob, wireWatcher } from "../helpers/watcherHarness";

// No artifact for this platform (upgradedJob's manifest has none): the swap fails at once, before the node is touched.
const failing = () => upgradedJob({ local: "upgrading", attested: "Ready", health: null, steps: 2 });

describe("watcher /healthz problems across restarts", function () {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  /** A watcher over the journal in `dataDir` (a restart: the same directory, a new process's metrics). */
  async function start(dataDir: string, chain: FakeChain) {
    return wireWatcher(testConfig({ dataDir, stateDir: join(dataDir, "state") }), {
      chain,
      node: new FakeNode(),
      journal: new SqliteJournal(join(dataDir, "journal.sqlite")),
    });
  }

  async function healthz(metrics: Metrics): Promise<{ status: number; problems?: Record<string, string> }> {
    metrics.pollSucceeded(Date.now());
    const server: Server = await metrics.serve("127.0.0.1", 0, 60_000);
    try {
      const response = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/healthz`);
      const body = (await response.json()) as { problems?: Record<string, string> };
      return { status: response.status, problems: body.problems };
    } finally {
      server.close();
    }
  }

  it("a problem raised before a restart is still on /healthz after it, and is cleared for good once resolved", async function () {
    const dataDir = mkdtempSync(join(tmpdir(), "lockstep-problems-"));
    dirs.push(dataDir);
    const chain = new FakeChain(2);
    let w = await start(dataDir, chain);
    const anchor = (await chain.block(0n))!;
    const state = { jobs: { "1": failing() } };
    w.deps.journal.commit(
      { block: 0n, hash: anchor.hash, parentHash: anchor.parentHash, state },
      { state, effects: [{ kind: "upgrade", upgradeId: 1, step: 2 }] },
    );
    await w.runtime.tick();
    const before = await healthz(w.metrics);
    expect(before.status).to.equal(503);
    expect(before.problems?.["upgrade 1"]).to.match(/upgrade 1 failed: the manifest has no artifact/);
    w.close();

    w = await start(dataDir, chain); // restarted
    const after = await healthz(w.metrics);
    expect(after.status).to.equal(503);
    expect(after.problems).to.deep.equal(before.problems);

    // Resolved: the upgrade ended (withdrawn). The problem goes, and stays gone after another restart.
    w.deps.journal.applyLocal({ jobs: { "1": { ...w.runtime.state().jobs["1"], ended: "withdrawn" } } }, []);
    await w.runtime.tick();
    expect(w.metrics.problemKeys()).to.not.include("upgrade 1");
    w.close();
    w = await start(dataDir, chain);
    expect(w.metrics.problemKeys()).to.not.include("upgrade 1");
    w.close();
  });

  it("keeps each change of a problem in the journal, and a restarted watcher takes them up", function () {
    const journal = new SqliteJournal(":memory:");
    const metrics = new Metrics(false);
    metrics.problem("step e0:3:4:rollbackLocally", "rollbackLocally of upgrade 3 failed: previous version missing");
    metrics.keepProblemsIn(journal);
    const restarted = new Metrics(false);
    restarted.keepProblemsIn(journal);
    expect(restarted.problemKeys()).to.deep.equal(["step e0:3:4:rollbackLocally"]);
    restarted.problem("step e0:3:4:rollbackLocally", undefined);
    expect(journal.problems()).to.deep.equal({});
    journal.close();
  });
});
