// The version rule the real-client probes share. A manifest version matches a client's report when, less one
// leading "v", it equals either the release core MAJOR.MINOR.PATCH of the client's version token, or that whole
// token. The token must start with the core and the core must end there (end, "-" or "+"), so "v1.1" never
// matches "1.14.12" and "1.14.1" never matches "1.14.12". Build suffixes are ignored unless the manifest names
// them: "v1.14.12" and "1.14.12-stable-293a300d" both match "Geth/v1.14.12-stable-293a300d/linux-amd64/go1.23".

const CORE = /^v?(\d+\.\d+\.\d+)(?=$|[-+])/;

/**
 * The manifest versions a version token counts as: `1.14.12`, `v1.14.12`, and the whole token with and without
 * its "v". None when the token does not start with a MAJOR.MINOR.PATCH core.
 */
export function releaseSpellings(token: string): string[] {
  const core = CORE.exec(token)?.[1];
  if (!core) return [];
  const whole = token.replace(/^v/, "");
  return [...new Set([core, `v${core}`, whole, `v${whole}`])];
}

/**
 * The version token of a client string in the `Name/version/platform/runtime` form that web3_clientVersion
 * and the beacon API's node version use (`Geth/v1.14.12-stable-293a300d/linux-amd64/go1.23`, `anvil/v1.5.1`,
 * `Lighthouse/v4.5.0-441fc16 (Linux x86_64)`): the first "/"-separated part after the name that starts with a
 * release core, cut at the first space. Geth puts an operator-chosen identity before it
 * (`Geth/my-node/v1.14.12-stable/...`), hence "first that starts with", not "second".
 */
export function clientToken(clientVersion: string): string | undefined {
  const parts = clientVersion.split("/").slice(1);
  return parts.map((p) => p.split(/\s/)[0]).find((p) => CORE.test(p));
}
