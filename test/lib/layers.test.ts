// The layering rule: lib/ is the shared core and imports no front; the watcher, the
// dashboard and the exporter build on lib/ alone. This scans every import of those folders (static, re-exports,
// dynamic import() and require()), resolves it, and fails naming each one that reaches a layer above.
import { expect } from "chai";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve, sep } from "node:path";

const ROOT = resolve(__dirname, "..", "..");

/** Each layer and the top-level folders it may import from (artifacts/: the compiled contracts, data). */
const LAYERS: Record<string, string[]> = {
  lib: ["lib", "artifacts"],
  watcher: ["watcher", "lib", "artifacts"],
  web: ["web", "lib", "artifacts"],
  monitoring: ["monitoring", "lib", "artifacts"],
};

const SOURCE = /\.(c|m)?(t|j)sx?$/;
const SKIP = new Set(["node_modules", "dist", ".vite"]);

function sourceFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    if (SKIP.has(e.name) || e.isSymbolicLink()) return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return SOURCE.test(e.name) && !e.name.endsWith(".d.ts") ? [path] : [];
  });
}

/** The module specifiers a source text imports, in order. */
export function specifiers(text: string): string[] {
  const found: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/gms, // import x from, import {..} from, export .. from
    /^\s*import\s*["']([^"']+)["']/gm, // import "side-effect"
    /\b(?:import|require)\(\s*["']([^"']+)["']\s*\)/g, // import("x"), require("x")
  ];
  for (const pattern of patterns) for (const m of text.matchAll(pattern)) found.push(m[1]);
  return found;
}

/** Every import under `root`'s layered folders that reaches a folder its layer may not import from. */
export function upwardImports(root: string): string[] {
  const out: string[] = [];
  for (const [layer, allowed] of Object.entries(LAYERS)) {
    for (const file of sourceFiles(join(root, layer))) {
      for (const spec of specifiers(readFileSync(file, "utf8"))) {
        if (!spec.startsWith(".")) continue; // a package, or node:
        const target = relative(root, resolve(dirname(file), spec));
        const top = target.split(sep)[0];
        if (top === ".." || !allowed.includes(top)) out.push(`${relative(root, file)} imports ${spec} (${top}/)`);
      }
    }
  }
  return out;
}

describe("layers", function () {
  it("no module of lib/, watcher/, web/ or monitoring/ imports from a layer above it", function () {
    expect(upwardImports(ROOT)).to.deep.equal([]);
  });

  it("names each kind of upward import, and passes the allowed ones", function () {
    const root = mkdtempSync(join(tmpdir(), "lockstep-layers-"));
    try {
      const write = (path: string, text: string) => {
        mkdirSync(dirname(join(root, path)), { recursive: true });
        writeFileSync(join(root, path), text);
      };
      write(
        "lib/a.ts",
        [
          'import { x } from "../watcher/src/x";',
          "import {",
          "  y,",
          '} from "../web/src/y";',
          'export * from "../scripts/z";',
          'const t = require("../tasks/t");',
          'const u = await import("../test/helpers/u");',
          'import "../bench/side";',
          'import { ok } from "./ok";',
          'import json from "../artifacts/contracts/A.json";',
          'import { viem } from "viem";',
        ].join("\n"),
      );
      write("watcher/src/w.ts", 'import { a } from "../../lib/a";\nimport { b } from "../../rehearsal/b";\n');
      write("web/src/v.ts", 'import { w } from "../../watcher/src/w";\n');
      write("monitoring/m.ts", 'import { s } from "../scripts/s";\n');
      expect(upwardImports(root)).to.have.members([
        "lib/a.ts imports ../watcher/src/x (watcher/)",
        "lib/a.ts imports ../web/src/y (web/)",
        "lib/a.ts imports ../scripts/z (scripts/)",
        "lib/a.ts imports ../tasks/t (tasks/)",
        "lib/a.ts imports ../test/helpers/u (test/)",
        "lib/a.ts imports ../bench/side (bench/)",
        "watcher/src/w.ts imports ../../rehearsal/b (rehearsal/)",
        "web/src/v.ts imports ../../watcher/src/w (watcher/)",
        "monitoring/m.ts imports ../scripts/s (scripts/)",
      ]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
