// `npm run drill -- --node anvil`: the whole drill on Foundry's real anvil binaries (devDependencies anvil-1.5.1 and
// anvil-1.7.1), three validators, the second release's launcher crashing anvil on the early cohort's machines.
import { expect } from "chai";
import { tempDir } from "../../rehearsal/localnet";
import { drillInProcess, processesMentioning, runDrill } from "../helpers/drill";

describe("npm run drill -- --node anvil", function () {
  this.timeout(300_000);
  let deployments: ReturnType<typeof tempDir>;

  before(() => (deployments = tempDir("lockstep-drill-deployments-")));
  after(() => deployments.cleanup());

  it("upgrades real anvil nodes 1.5.1 -> 1.7.1, and rolls back a release that crashes in the early cohort", async function () {
    const run = await runDrill(["--node", "anvil", "--validators", "3", "--fault", "crash", "--seed", "anvil"], {
      LOCKSTEP_DEPLOYMENTS_DIR: deployments.path,
    });
    const out = run.stdout;
    expect(run.code, `${out.slice(-4000)}\n${run.stderr}`).to.equal(0);
    expect(out).to.include("3 anvil nodes on v1.5.1 and 3 watcher processes up");
    expect(out).to.include("✓ every node answers web3_clientVersion anvil/v1.5.1");
    expect(out).to.include("upgrade 1: v1.5.1 → v1.7.1");
    expect(out).to.include("✓ upgrade 1 completed");
    expect(out).to.include("✓ every node answers web3_clientVersion anvil/v1.7.1");
    expect(out).to.include("upgrade 2: v1.7.1 → v1.5.1 (its binary fails on the early cohort's machines: crash)");
    expect(out).to.include("✓ while paused, the canary answers anvil/v1.5.1 and the main cohort anvil/v1.7.1");
    expect(out).to.match(
      /early-cohort watchers attested unhealthy \/ failed-to-upgrade \(\d+ attestations: FailedToUpgrade/,
    );
    expect(out).to.include("✓ the coordinator paused the rollout by itself (unhealthy threshold) in the early stage");
    expect(out).to.include("✓ every node answers web3_clientVersion anvil/v1.7.1 again (anvil/v1.7.1 ×3)");
    expect(out).to.include("✓ nothing left running");
    expect(out).not.to.include("✗");
    const workDir = /work directory (\S+)/.exec(out)![1];
    expect(processesMentioning(workDir), "watchers and anvil nodes").to.deep.equal([]);
  });

  it("refuses what anvil cannot show, with a one-line error and exit code 2", async function () {
    for (const [args, message] of [
      [["--node", "anvil", "--in-process"], /--node anvil runs a real anvil process per validator/],
      [["--node", "anvil", "--fault", "wrong-version"], /--fault wrong-version cannot be shown with --node anvil/],
      [["--node", "geth"], /--node must be one of sim, anvil, not "geth"/],
    ] as const) {
      const run = await drillInProcess([...args]);
      expect(run.code, args.join(" ")).to.equal(2);
      expect(run.stderr.trim().split("\n"), args.join(" ")).to.have.length(1);
      expect(run.stderr).to.match(message);
      expect(run.stdout).to.equal("");
    }
  });
});
