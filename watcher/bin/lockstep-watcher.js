#!/usr/bin/env node
// The watcher's command in a development checkout: runs the TypeScript sources (transpiled on load, no type check).
// Operators install the release build instead (`npm run build:watcher`, see docs/watcher.md), which needs no ts-node.
const path = require("node:path");
require("ts-node").register({
  transpileOnly: true,
  project: path.join(__dirname, "..", "..", "tsconfig.json"),
});
require("../src/cli").run(process.argv.slice(2), async () => require("../src/start"));
