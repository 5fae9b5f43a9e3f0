/**
 * What the node (or a node command) inherits from the watcher's environment: enough to run, and nothing
 * else, so secrets loaded for the watcher (an attester key in development) never reach it.
 */
export function nodeEnv(): Record<string, string> {
  const keep = ["PATH", "HOME", "USER", "LANG", "TZ", "TMPDIR"];
  return Object.fromEntries(keep.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]!]));
}
