// A watcher reduced to its node controller, for the supervision test: starts the node of the data directory given
// as JSON on the command line, with LOCKSTEP_KILL_AT honoured. Only runs as a script (the test runner loads it too).
import { join } from "node:path";
import { paths } from "../../watcher/src/config";
import { KillPoints } from "../../watcher/src/faults";
import { ProcessNodeController, type ProcessNodeConfig } from "../../watcher/src/adapters/processNode";

async function main() {
  const { dataDir, config } = JSON.parse(process.argv[2]) as { dataDir: string; config: ProcessNodeConfig };
  const p = paths({ dataDir }, config.binaryName);
  const node = new ProcessNodeController(config, p, { kill: new KillPoints(join(dataDir, "drill")) });
  await node.start();
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (e: Error) => {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    },
  );
}
