// The `audit` task's definition; the work is in ./audit (importable outside Hardhat, e.g. by the drill), loaded
// only when the task runs: it needs the ABIs that `hardhat compile` generates, and the config loads this file first.
import { task } from "hardhat/config";
import { resolve } from "node:path";
import type { AuditRun } from "./audit";

task("audit", "Rebuilds every upgrade's history from the coordinator's logs, checks it and prints a report")
  .addOptionalParam("fromBlock", "the first block to scan (default: the deployment's start block)")
  .addOptionalParam("format", "md, json or csv", "md")
  .addOptionalParam("manifests", "comma-separated manifest files to check against the voted hashes")
  .addOptionalParam("explorer", "block explorer base URL for links in md (e.g. https://etherscan.io)")
  .addOptionalParam("out", "write the report to this file instead of stdout")
  .setAction(
    async (args: { fromBlock?: string; format?: string; manifests?: string; explorer?: string; out?: string }, hre) => {
      const { AuditInputError, clientFor, runAudit } = await import("./audit");
      let run: AuditRun;
      try {
        run = await runAudit({ ...args, network: hre.network.name, client: clientFor(hre) });
      } catch (e) {
        if (!(e instanceof AuditInputError)) throw e;
        process.stderr.write(`lockstep: ${e.message}\n`);
        process.exitCode = 1;
        return;
      }
      if (args.out) console.log(`report written to ${resolve(args.out)}`);
      else process.stdout.write(run.report);
      (run.ok ? process.stdout : process.stderr).write(`${run.ok ? "" : "lockstep: "}${run.summary}\n`);
      process.exitCode = run.exitCode;
    },
  );
