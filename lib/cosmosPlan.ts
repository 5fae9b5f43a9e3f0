// An x/upgrade plan (what `gaiad q upgrade plan` prints, or a proposal's MsgSoftwareUpgrade plan) as a Lockstep
// manifest file. The plan's `info` carries Cosmovisor's binaries map, {"binaries": {"linux/amd64": "https://
// ...?checksum=sha256:..."}}; each entry becomes an artifact, the checksum its digest, an archive URL an archive
// artifact with the daemon at bin/<daemon>, where Cosmovisor expects it. The stages are the user's to give.
import { ManifestError, parseManifest, type ManifestFile, type StageFile } from "./manifest";

export interface CosmosPlanOptions {
  /** The Lockstep version the plan installs, and the one it replaces. */
  version: string;
  previousVersion: string;
  stages: StageFile[];
  /** The daemon's name ($DAEMON_NAME): an archive's binary is bin/<daemon> unless `binaryPath` says otherwise. */
  daemon?: string;
  binaryPath?: string;
}

/** Builds the manifest; every problem (in the plan or the result) is reported at once, as a ManifestError. */
export function manifestFromCosmosPlan(text: string, options: CosmosPlanOptions, source = "plan"): ManifestFile {
  const problems: string[] = [];
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ManifestError([`not valid JSON (${(e as Error).message})`], source);
  }
  const holder = raw as { plan?: unknown };
  const plan = (holder && typeof holder === "object" && holder.plan ? holder.plan : raw) as Record<string, unknown>;
  if (!plan || typeof plan !== "object") throw new ManifestError(["not an x/upgrade plan object"], source);
  const name = plan.name;
  if (typeof name !== "string" || name === "") problems.push("name: the plan has no name");
  const info = typeof plan.info === "string" ? plan.info : "";
  let binaries: Record<string, unknown> = {};
  if (/^https?:\/\//.test(info.trim())) {
    problems.push("info: it is a link to the binaries file; download it and pass its contents as the plan's info");
  } else {
    try {
      const parsed = JSON.parse(info) as { binaries?: unknown };
      if (!parsed.binaries || typeof parsed.binaries !== "object") problems.push('info: no "binaries" map');
      else binaries = parsed.binaries as Record<string, unknown>;
    } catch {
      problems.push('info: not JSON with a "binaries" map (Cosmovisor\'s format)');
    }
  }
  const artifacts: ManifestFile["artifacts"] = [];
  for (const [platform, value] of Object.entries(binaries)) {
    const where = `info.binaries["${platform}"]`;
    if (typeof value !== "string") {
      problems.push(`${where}: not a URL`);
      continue;
    }
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      problems.push(`${where}: ${JSON.stringify(value)} is not a URL`);
      continue;
    }
    const checksum = url.searchParams.get("checksum") ?? "";
    const match = /^sha256:([0-9a-fA-F]{64})$/.exec(checksum);
    if (!match) {
      problems.push(`${where}: needs ?checksum=sha256:<64 hex digits> (got ${checksum ? checksum : "none"})`);
      continue;
    }
    url.searchParams.delete("checksum"); // go-getter's own parameter, never sent to the server
    const format = /\.(tar\.gz|tgz)$/i.test(url.pathname) ? "tar.gz" : /\.zip$/i.test(url.pathname) ? "zip" : undefined;
    const artifact: ManifestFile["artifacts"][number] = {
      platform: platform.replace("/", "-"),
      uri: url.href,
      sha256: match[1].toLowerCase(),
    };
    if (format) {
      const binary = options.binaryPath ?? (options.daemon ? `bin/${options.daemon}` : undefined);
      if (!binary) problems.push(`${where}: an archive; give the daemon's name (--daemon) or --binary-path`);
      else artifact.archive = { format, binary };
    }
    artifacts.push(artifact);
  }
  if (problems.length) throw new ManifestError(problems, source);
  const manifest = {
    name,
    version: options.version,
    previousVersion: options.previousVersion,
    artifacts,
    featureFlags: [],
    metadataURI: "",
    stateIncompatible: false,
    stages: options.stages,
  };
  return parseManifest(JSON.stringify(manifest), `manifest from ${source}`);
}
