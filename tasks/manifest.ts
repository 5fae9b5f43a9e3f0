import { task } from "hardhat/config";
import { ManifestError, canonicalManifest, manifestHash, readManifest } from "../lib/manifest";
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
