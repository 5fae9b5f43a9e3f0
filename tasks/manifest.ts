import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { task } from "hardhat/config";
import { manifestFromCosmosPlan } from "../lib/cosmosPlan";
import {
  DEFAULT_STAGE_RULES,
  ManifestError,
  canonicalManifest,
  manifestHash,
  readManifest,
  stageSchema,
  type StageFile,
} from "../lib/manifest";
import { TaskError, action, table } from "./cli";

function load(file: string) {
  try {
    return readManifest(file).manifest;
  } catch (e) {
    if (e instanceof ManifestError) throw new TaskError(e.message);
    throw e;
  }
}

task("manifest:check", "Validates an upgrade manifest file and prints its canonical hash and digests")
  .addPositionalParam("file", "the manifest file (JSON)")
  .addFlag("canonical", "also print the canonical form that is hashed")
  .setAction(
    action(async ({ file, canonical }: { file: string; canonical: boolean }) => {
      const m = load(file);
      console.log(`${file}: valid`);
      console.log(
        `name ${m.name}, version ${m.version} (replaces ${m.previousVersion})${m.stateIncompatible ? ", state-incompatible" : ""}`,
      );
      console.log(`manifest hash (keccak256 of the canonical form): ${manifestHash(m)}`);
      console.log(
        table([
          ["platform", "sha256", "uri"],
          ...m.artifacts.map((a) => [a.platform, a.sha256.replace(/^0x/, "").toLowerCase(), a.uri]),
        ]),
      );
      console.log(
        table([
          [
            "stage",
            "cohort",
            "timelock s",
            "observe s",
            "deadline s",
            "ready %",
            "healthy %",
            "pause at %",
            "rollback at %",
          ],
          ...m.stages.map((s, i) => [
            `${i}${s.label ? ` ${s.label}` : ""}`,
            s.cohort,
            s.timelock,
            s.observationWindow,
            s.attestationDeadline,
            s.readinessBps / 100,
            s.healthyBps / 100,
            s.unhealthyBps / 100,
            s.rollbackBps ? s.rollbackBps / 100 : "off",
          ]),
        ]),
      );
      if (m.featureFlags.length) console.log(`feature flags: ${m.featureFlags.join(", ")}`);
      if (canonical) console.log(canonicalManifest(m));
    }),
  );

task("manifest:hash", "Prints the keccak256 of a manifest file's canonical form")
  .addPositionalParam("file", "the manifest file (JSON)")
  .setAction(
    action(async ({ file }: { file: string }) => {
      console.log(manifestHash(load(file)));
    }),
  );

interface FromPlanArgs {
  plan: string;
  newVersion: string;
  previousVersion: string;
  stages?: string;
  cohorts?: string;
  daemon?: string;
  binaryPath?: string;
  out?: string;
}

/** The stages: a JSON file of stage objects, or cohort numbers given the default rules. */
function stagesOf({ stages, cohorts }: FromPlanArgs): StageFile[] {
  if ((stages === undefined) === (cohorts === undefined))
    throw new TaskError("give exactly one of --stages and --cohorts");
  if (cohorts !== undefined) {
    return cohorts.split(",").map((c) => {
      if (!/^\d+$/.test(c.trim())) throw new TaskError(`--cohorts: ${JSON.stringify(c)} is not a cohort number`);
      return { cohort: Number(c), ...DEFAULT_STAGE_RULES };
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(stages!, "utf8"));
  } catch (e) {
    throw new TaskError(`--stages ${stages}: cannot be read as JSON (${(e as Error).message})`);
  }
  const parsed = stageSchema.array().min(1).safeParse(raw);
  if (!parsed.success) {
    throw new TaskError(
      `--stages ${stages}: ${parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ")}`,
    );
  }
  return parsed.data;
}

task("manifest:from-cosmos-plan", "Turns an x/upgrade plan (Cosmovisor's binaries map in info) into a manifest file")
  .addPositionalParam("plan", "the plan as JSON: `<daemon> q upgrade plan -o json`, or the plan object itself")
  .addParam("newVersion", "the Lockstep version the upgrade installs (e.g. v2.0.0)")
  .addParam("previousVersion", "the version it replaces")
  .addOptionalParam("stages", "a JSON file holding the stages (an array of stage objects)")
  .addOptionalParam("cohorts", "or: cohort numbers, comma-separated, each a stage with the default rules")
  .addOptionalParam("daemon", "the daemon's name ($DAEMON_NAME): an archive's binary is bin/<daemon>")
  .addOptionalParam("binaryPath", "the binary's path inside the archives, instead of bin/<daemon>")
  .addOptionalParam("out", "write the manifest here (default: print it)")
  .setAction(
    action(async (args: FromPlanArgs) => {
      let text: string;
      try {
        text = readFileSync(args.plan, "utf8");
      } catch {
        throw new TaskError(`${args.plan}: cannot be read`);
      }
      const stages = stagesOf(args);
      let manifest;
      try {
        manifest = manifestFromCosmosPlan(
          text,
          {
            version: args.newVersion,
            previousVersion: args.previousVersion,
            stages,
            daemon: args.daemon,
            binaryPath: args.binaryPath,
          },
          args.plan,
        );
      } catch (e) {
        if (e instanceof ManifestError) throw new TaskError(e.message);
        throw e;
      }
      const json = `${JSON.stringify(manifest, null, 2)}\n`;
      if (!args.out) {
        process.stdout.write(json);
        return;
      }
      const tmp = `${args.out}.tmp`;
      writeFileSync(tmp, json);
      renameSync(tmp, args.out);
      console.log(`${args.out}: ${manifest.artifacts.length} artifacts, ${manifest.stages.length} stages`);
      console.log(`manifest hash (keccak256 of the canonical form): ${manifestHash(manifest)}`);
    }),
  );
