// Preloaded into a process a test runs (NODE_OPTIONS="--require <this file>"): on SIGUSR2 and at exit, appends one JSON
// line to the file named by LOCKSTEP_MODULE_LOG with the process's pid and the Node.js built-in modules it has loaded
// so far (process.moduleLoadList). Global fetch, Headers, Request and Response load
// "NativeModule internal/deps/undici/undici" on first touch: test/watcher/release.undici.test.ts looks for it.
const { appendFileSync } = require("node:fs");

const file = process.env.LOCKSTEP_MODULE_LOG;
if (file) {
  const write = (when) =>
    appendFileSync(file, JSON.stringify({ when, pid: process.pid, modules: process.moduleLoadList }) + "\n");
  process.on("SIGUSR2", () => write("signal"));
  process.on("exit", () => write("exit"));
}
