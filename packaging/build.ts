// The watcher's release: its command (bin/lockstep-watcher.js, a few kilobytes) and the watcher (lib/watcher.js), two
// JavaScript files bundled by esbuild from watcher/src (the contract ABIs of lib/abi/generated.ts included),
// better-sqlite3's compiled addon beside them, and a package.json with no
// dependencies, so that `npm install -g <tarball>` needs neither the registry nor a compiler (docs/watcher.md,
// "Installing the release"). Run it with `npm run build:watcher`; tests, the drill and the bench call buildRelease.
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { buildSync } from "esbuild";

export const ROOT = resolve(__dirname, "..");
export const DEFAULT_OUT = join(ROOT, "watcher", "dist");

/** Packages that must never reach the bundle: the release runs without them. */
const FORBIDDEN = ["ethers", "hardhat", "typescript", "ts-node", "@nomicfoundation", "typechain"];
/** Not bundled: loaded only when the operator installed it (pretty logs in a terminal). */
const OPTIONAL = ["pino-pretty"];
const ADDON = "better_sqlite3.node";
/** The watcher's bundle, in lib/ beside the addon; the command (bin/) requires it only to run. */
const MAIN = "watcher.js";
/** How the release's command starts Node.js (its shebang); the systemd unit runs the command, so it gets the same. */
export const RELEASE_ENV = "MALLOC_ARENA_MAX=2";
export const RELEASE_NODE_FLAGS = "--max-semi-space-size=1 --optimize-for-size";

export interface Release {
  /** The package folder, as npm packs it. */
  dir: string;
  /** Its command: run with `node <bin>` or directly. */
  bin: string;
  /** The JavaScript's size in bytes: the command and the watcher's bundle. */
  bytes: number;
  /** The command's own size in bytes: what --help reads. */
  commandBytes: number;
}

export class ReleaseError extends Error {}

/** Builds the package folder `<outDir>/package` (replacing it); synchronous, about a second. */
export function buildRelease(outDir = DEFAULT_OUT): Release {
  if (!existsSync(join(ROOT, "lib", "abi", "generated.ts")))
    throw new ReleaseError("lib/abi/generated.ts is missing: run `npx hardhat compile` first");
  const addon = join(ROOT, "node_modules", "better-sqlite3", "build", "Release", ADDON);
  if (!existsSync(addon)) throw new ReleaseError(`${addon} is missing: better-sqlite3 is not built (npm ci)`);

  const dir = join(outDir, "package");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, "bin"), { recursive: true });
  mkdirSync(join(dir, "lib"), { recursive: true });
  const bin = join(dir, "bin", "lockstep-watcher.js");
  const main = join(dir, "lib", MAIN);

  // Two files: the command answers --help and bad arguments from a few kilobytes, and requires the watcher's bundle
  // (lib/watcher.js) only to run; Node.js reads and compiles a script whole, 1.3 MB of it took most of --help's time.
  // The require's path is computed, so esbuild leaves it to Node.js, relative to the installed command's folder.
  const inputs = [
    ...bundle({
      contents:
        `const { join } = require("node:path");\n` +
        `require("./cli").run(process.argv.slice(2), async () => require(join(__dirname, "..", "lib", ${JSON.stringify(MAIN)})));`,
      outfile: bin,
      // A small young generation (an idle watcher allocates little), and two glibc malloc arenas instead of one per
      // thread (Node's worker threads each took one): an idle watcher stays under 80 MB RSS (bench:watcher). The
      // variable is the watcher's own: the node and hooks it starts get a fixed environment (adapters/nodeEnv.ts).
      banner: `#!/usr/bin/env -S ${RELEASE_ENV} node ${RELEASE_NODE_FLAGS}`,
    }),
    ...bundle({ contents: `module.exports = require("./start");`, outfile: main }),
  ];
  const forbidden = inputs.filter((input) =>
    FORBIDDEN.some((name) => input.startsWith(`node_modules/${name}/`) || input.includes(`/node_modules/${name}/`)),
  );
  if (forbidden.length) throw new ReleaseError(`the bundle would carry ${forbidden[0]}: the release must not`);
  chmodSync(bin, 0o755);
  copyFileSync(addon, join(dir, "lib", ADDON));

  const source = JSON.parse(readFileSync(join(ROOT, "watcher", "package.json"), "utf8"));
  const major = process.versions.node.split(".")[0];
  const manifest = {
    name: source.name,
    version: source.version,
    description: source.description,
    license: source.license,
    bin: { "lockstep-watcher": "bin/lockstep-watcher.js" },
    files: ["bin", "lib", "share", "README.md"],
    // The addon is compiled for this platform and this Node.js major version (its ABI): npm refuses other platforms.
    engines: { node: `${major}.x` },
    os: [process.platform],
    cpu: [process.arch],
    peerDependencies: { "pino-pretty": ">=13" },
    peerDependenciesMeta: { "pino-pretty": { optional: true } },
  };
  writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2) + "\n");
  mkdirSync(join(dir, "share", "systemd"), { recursive: true });
  copyFileSync(
    join(ROOT, "packaging", "systemd", "lockstep-watcher.service"),
    join(dir, "share", "systemd", "lockstep-watcher.service"),
  );
  copyFileSync(join(ROOT, "docs", "watcher.md"), join(dir, "README.md"));
  return { dir, bin, bytes: statSync(bin).size + statSync(main).size, commandBytes: statSync(bin).size };
}

/** Bundles `contents` (CommonJS, resolved from watcher/src) into `outfile`; returns the input files it took. */
function bundle(o: { contents: string; outfile: string; banner?: string }): string[] {
  let result;
  try {
    result = buildSync({
      stdin: {
        contents: o.contents,
        resolveDir: join(ROOT, "watcher", "src"),
        sourcefile: "release-entry.js",
        loader: "js",
      },
      outfile: o.outfile,
      bundle: true,
      platform: "node",
      target: "node20",
      format: "cjs",
      minify: true,
      keepNames: true,
      legalComments: "none",
      external: OPTIONAL,
      // better-sqlite3 finds its addon through `bindings`, which searches the package's build folders; the release
      // has it at lib/better_sqlite3.node beside its bundle, and packaging/addon.cjs loads that one file.
      alias: { bindings: "./packaging/addon.cjs" },
      absWorkingDir: ROOT,
      banner: o.banner ? { js: o.banner } : undefined,
      metafile: true,
      logLevel: "silent",
    });
  } catch (e) {
    const first = (e as { errors?: { text: string }[] }).errors?.[0]?.text;
    throw new ReleaseError(`esbuild failed: ${first ?? (e as Error).message}`);
  }
  return Object.keys(result.metafile.inputs);
}

/** Packs the release folder with `npm pack`; returns the tarball's path (in `destDir`). */
export function packRelease(release: Release, destDir: string): string {
  mkdirSync(destDir, { recursive: true });
  const out = execFileSync("npm", ["pack", "--json", "--pack-destination", destDir], {
    cwd: release.dir,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
  });
  const [packed] = JSON.parse(out) as { filename: string }[];
  return join(destDir, packed.filename);
}

/**
 * Installs `tarball` as an operator would, `npm install -g` into `prefix`, from `home` with an environment that
 * inherits no npm settings, an empty npm cache and no registry (--offline: the package has no dependencies).
 * Returns the installed command.
 */
export function installRelease(tarball: string, prefix: string, home: string): string {
  mkdirSync(home, { recursive: true });
  execFileSync(
    "npm",
    ["install", "-g", tarball, "--prefix", prefix, "--offline", "--no-audit", "--no-fund", "--loglevel", "error"],
    { cwd: home, env: cleanEnv(home), stdio: ["ignore", "pipe", "pipe"] },
  );
  return join(prefix, "bin", "lockstep-watcher");
}

/** The environment of a machine that never saw the repository: no npm settings inherited, nothing preloaded. */
export function cleanEnv(home: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !/^(npm_|NODE_|TS_NODE|HARDHAT)/i.test(k) && k !== "INIT_CWD") env[k] = v;
  return { ...env, HOME: home, npm_config_cache: join(home, ".npm"), npm_config_update_notifier: "false" };
}

let built: Release | undefined;

/**
 * The release build of this checkout, built once per process into a temporary folder: what the tests, the drill and
 * the bench run, so that what they exercise is what operators install.
 */
export function builtWatcher(): Release {
  if (built && existsSync(built.bin)) return built;
  const { mkdtempSync } = require("node:fs") as typeof import("node:fs");
  const { tmpdir } = require("node:os") as typeof import("node:os");
  const out = mkdtempSync(join(tmpdir(), "lockstep-release-"));
  process.once("exit", () => rmSync(out, { recursive: true, force: true }));
  built = buildRelease(out);
  return built;
}

if (require.main === module) {
  try {
    const release = buildRelease();
    const tarball = packRelease(release, DEFAULT_OUT);
    process.stdout.write(
      `built ${relative(ROOT, release.dir)} (bundle ${(release.bytes / 1e6).toFixed(1)} MB)\npacked ${relative(ROOT, tarball)}\n`,
    );
  } catch (e) {
    process.stderr.write(`build:watcher: ${(e as Error).message.split("\n")[0]}\n`);
    process.exit(1);
  }
}
