// Stands in for the `bindings` package in the release bundle (packaging/build.ts): better-sqlite3's addon is
// lib/better_sqlite3.node in the installed package, beside bin/ where the bundle runs.
const { join } = require("node:path");
module.exports = (name) => require(join(__dirname, "..", "lib", name));
