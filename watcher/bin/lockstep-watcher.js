#!/usr/bin/env node
// The watcher's command. Runs the TypeScript sources directly (transpiled on load, no type check).
const path = require("node:path");
require("ts-node").register({
  transpileOnly: true,
  project: path.join(__dirname, "..", "..", "tsconfig.json"),
});
require("../src/cli")
  .main(process.argv.slice(2))
  .then((code) => process.exit(code))
  .catch((e) => {
    process.stderr.write(`lockstep-watcher: ${e && e.message ? e.message : e}\n`);
    process.exit(1);
  });
