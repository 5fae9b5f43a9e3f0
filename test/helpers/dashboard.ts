// What the dashboard's browser tests set up before a page opens: the built bundle, validators registered on a chain
// process, an upgrade scheduled, the deployment record web/serve.ts reads, the server itself, Debian's chromium and
// the page; and the checks every view takes at a desktop's and a phone's size.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { Wallet, ZeroHash, keccak256, parseEther, toUtf8Bytes, type JsonRpcProvider } from "ethers";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import type { Status } from "../../lib/coordinator";
import { deploymentRecord } from "../../lib/deploy";
import { writeDeployment } from "../../lib/deployments";
import type { StageRules } from "../../lib/manifest";
import { versionTag } from "../../lib/version";
import { injectWallet, type TestWallet } from "./browser-wallet";
import { startDashboardServer } from "../../rehearsal/localnet";
import { paced } from "../../rehearsal/pace";
import { ROOT, deployOn, startChain, tempDir, type Chain, type Deployment } from "./e2e";
import { attesterProof, manifest, type ManifestInput } from "./system";

export const CHROMIUM = "/usr/bin/chromium";
/** Where the browser tests leave their screenshots. */
export const ARTIFACTS = join(ROOT, "test-artifacts");
/** The sizes every view must fit: a desktop's screen and a phone's. */
export const SIZES = { desktop: { width: 1440, height: 900 }, phone: { width: 390, height: 844 } } as const;
export interface Viewport {
  width: number;
  height: number;
}
/** The flags every browser test starts chromium with. */
export const HEADLESS = ["--headless", "--no-sandbox", "--disable-gpu"];

/** Builds the dashboard (vite) once chromium is known to be there; throws naming what is missing or failed. */
export function buildDashboard(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no browser at ${CHROMIUM}: the dashboard's browser tests drive Debian's chromium; install it with \`apt-get install -y chromium\``,
    );
  }
  const build = spawnSync(
    join(ROOT, "node_modules", ".bin", "vite"),
    ["build", "web", "--config", "web/vite.config.ts"],
    {
      cwd: ROOT,
      encoding: "utf8",
    },
  );
  if (build.status !== 0) throw new Error(`vite build failed:\n${build.stdout}\n${build.stderr}`);
}

export interface NamedValidator {
  name: string;
  operator: Wallet;
  attester: Wallet;
}

/**
 * Registers one validator per [name, stake in tokens, cohort] on a chain process: funded keys derived from
 * `${label}:${name}`, the stake self-delegated, the attester's proof, and governance (the impersonated timelock)
 * moving it out of the default cohort 3 where asked.
 */
export async function registerNamedValidators(
  d: Deployment,
  provider: JsonRpcProvider,
  label: string,
  specs: readonly (readonly [name: string, stake: number, cohort: number])[],
): Promise<Record<string, NamedValidator>> {
  const out: Record<string, NamedValidator> = {};
  for (const [name, amount, cohort] of specs) {
    const operator = new Wallet(keccak256(toUtf8Bytes(`${label}:${name}:operator`)), provider);
    const attester = new Wallet(keccak256(toUtf8Bytes(`${label}:${name}:attester`)), provider);
    for (const w of [operator, attester]) await provider.send("hardhat_setBalance", [w.address, "0x56BC75E2D63100000"]);
    await (await d.token.connect(d.deployer).transfer(operator.address, parseEther(String(amount)))).wait();
    await (await d.token.connect(operator).delegate(operator.address)).wait();
    const proof = await attesterProof(d.coordinator, operator, attester);
    await (await d.coordinator.connect(operator).register(attester.address, `ipfs://${label}/${name}`, proof)).wait();
    if (cohort !== 3) await (await d.coordinator.connect(d.timelockSigner).setCohort(operator.address, cohort)).wait();
    out[name] = { name, operator, attester };
  }
  return out;
}

/**
 * The manifest a dashboard test schedules (test/helpers/system.ts `manifest`, from v1.9.3 to v2.0.0): `name` with
 * `stages`, one linux-amd64 artifact whose digest is the hash of `binary`, the manifest hash that of `hashOf`, no
 * metadata URI.
 */
export function testManifest(
  name: string,
  stages: StageRules[],
  o: { binary: string; hashOf: string; featureFlags?: string[] },
): ManifestInput {
  return manifest(name, [], {
    stages,
    artifacts: [
      {
        platform: "linux-amd64",
        uri: "https://dl.example/node-v2.0.0",
        sha256Digest: keccak256(toUtf8Bytes(o.binary)),
      },
    ],
    featureFlags: o.featureFlags ?? [],
    metadataURI: "",
    manifestHash: keccak256(toUtf8Bytes(o.hashOf)),
  });
}

/** `who`'s attester reports `status` for `stage` of upgrade `id`, running v2.0.0 at `height`; the mined receipt. */
export async function attestAs(
  d: Deployment,
  who: Pick<NamedValidator, "operator" | "attester">,
  id: bigint,
  stage: number,
  status: Status,
  height: number,
) {
  const tx = await d.coordinator
    .connect(who.attester)
    .attest(who.operator.address, id, stage, status, versionTag("v2.0.0"), height, ZeroHash);
  return (await tx.wait())!;
}

/** Writes `d`'s deployment record as network `network` into `dir`, where web/serve.ts is told to look. */
export function writeTestDeployment(d: Deployment, network: string, dir: string): void {
  writeDeployment(
    deploymentRecord(d.addresses, {
      network,
      chainId: 31337,
      startBlock: d.startBlock,
      guardian: d.guardian.address,
    }),
    dir,
  );
}

/**
 * Starts web/serve.ts (rehearsal/localnet.ts startDashboardServer) on a free port, giving it the 30 s a quiet machine
 * needs at the pace this process measured.
 */
export function serveDashboard(o: Omit<Parameters<typeof startDashboardServer>[0], "port" | "timeoutMs">) {
  return startDashboardServer({ ...o, timeoutMs: paced(30_000) });
}

/** Launches headless chromium with `args`; makes the screenshots' folder ready. */
export async function launchChromium(args: string[] = HEADLESS): Promise<Browser> {
  mkdirSync(ARTIFACTS, { recursive: true });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/**
 * Opens the dashboard at `url` in a new context of `browser` (a desktop's size unless told), with `permissions`
 * granted and the injected `wallet` if one is given; records the page's errors into `pageErrors` and waits until the
 * page reads the chain live.
 */
export async function openDashboard(
  browser: Browser,
  o: {
    url: string;
    pageErrors: string[];
    viewport?: Viewport;
    acceptDownloads?: boolean;
    permissions?: string[];
    wallet?: Parameters<typeof injectWallet>[1];
    liveWithinMs?: number;
  },
): Promise<{ context: BrowserContext; page: Page; wallet?: TestWallet }> {
  const context = await browser.newContext({
    viewport: o.viewport ?? SIZES.desktop,
    acceptDownloads: o.acceptDownloads,
  });
  if (o.permissions) await context.grantPermissions(o.permissions, { origin: new URL(o.url).origin });
  const page = await context.newPage();
  page.on("pageerror", (e) => o.pageErrors.push(String(e)));
  const wallet = o.wallet ? await injectWallet(page, o.wallet) : undefined;
  await page.goto(o.url);
  await page.waitForFunction(`document.body.dataset.state === "live"`, undefined, {
    timeout: o.liveWithinMs ?? 30_000,
  });
  return { context, page, wallet };
}

/**
 * What a dashboard suite opens in `before` and closes in `after`: a temporary directory, a chain with the system
 * deployed, validators registered by name (keys derived from `label`), and, for the browser suites, the dashboard
 * built, served for network `<label>test` and open in chromium.
 */
export class DashboardBench {
  chain!: Chain;
  d!: Deployment;
  /** The validators registered by `deploy`, by name. */
  readonly v: Record<string, NamedValidator> = {};
  /** What the page threw: a suite's last check holds it empty. */
  readonly pageErrors: string[] = [];
  browser?: Browser;
  private dir?: ReturnType<typeof tempDir>;
  private server?: Awaited<ReturnType<typeof startDashboardServer>>;

  constructor(private readonly label: string) {}

  /** Builds the dashboard unless `build` is false, makes the temporary directory and starts a chain. */
  async start(o: { build?: boolean } = {}): Promise<Chain> {
    if (o.build !== false) buildDashboard();
    this.dir = tempDir(`lockstep-web-${this.label}-`);
    this.chain = await startChain();
    return this.chain;
  }

  /** Deploys the system on the chain and registers `validators` ([name, stake in tokens, cohort]) into `v`. */
  async deploy(
    validators: Parameters<typeof registerNamedValidators>[3],
    o: { binderKey?: `0x${string}` } = {},
  ): Promise<Deployment> {
    this.d = await deployOn(this.chain, o);
    Object.assign(this.v, await registerNamedValidators(this.d, this.chain.provider, this.label, validators));
    return this.d;
  }

  /** `start`, then `deploy`: the chain and the deployment. */
  async open(validators: Parameters<typeof registerNamedValidators>[3]): Promise<{ chain: Chain; d: Deployment }> {
    await this.start();
    await this.deploy(validators);
    return { chain: this.chain, d: this.d };
  }

  /**
   * Writes the deployment record for network `<label>test`, serves the dashboard for it over `rpc` (the chain's
   * unless given) with `args`, and launches chromium with `chromium` flags; the server's address and port.
   */
  async serve(o: { rpc?: string; args?: string[]; chromium?: string[] } = {}): Promise<{ url: string; port: number }> {
    const network = `${this.label}test`;
    writeTestDeployment(this.d, network, this.dir!.path);
    this.server = await serveDashboard({
      network,
      rpc: o.rpc ?? this.chain.url,
      deployments: this.dir!.path,
      args: o.args,
    });
    this.browser = await launchChromium(o.chromium);
    return { url: this.server.url, port: this.server.port };
  }

  /** Opens the served dashboard (at `hash`, if given) in the browser: `openDashboard` with this bench's errors. */
  openPage(o: Omit<Parameters<typeof openDashboard>[1], "url" | "pageErrors"> & { hash?: string } = {}) {
    const { hash, ...rest } = o;
    return openDashboard(this.browser!, {
      ...rest,
      url: `${this.server!.url}${hash ?? ""}`,
      pageErrors: this.pageErrors,
    });
  }

  /** Closes what was opened, the browser first and the temporary directory last. */
  async close(): Promise<void> {
    await this.browser?.close();
    await this.server?.stop();
    await this.chain?.stop();
    this.dir?.cleanup();
  }
}

let axeSource: string | undefined;
/** Runs axe-core on the page as it is; returns the violations, each with the elements it names. */
export async function axe(page: Page): Promise<string[]> {
  if (!String(await page.evaluate("typeof window.axe")).includes("object")) {
    axeSource ??= readFileSync(join(ROOT, "node_modules", "axe-core", "axe.min.js"), "utf8");
    await page.addScriptTag({ content: axeSource });
  }
  const found = (await page.evaluate(
    "window.axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)",
  )) as { id: string; impact: string; nodes: { target: string[] }[] }[];
  return found.map((x) => `${x.id} (${x.impact}): ${x.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

/** How wide the page is, and up to four texts that stick out past `limit` px, named so a failure says what to fix. */
async function widthAndOverflow(page: Page, limit: number): Promise<{ width: number; wide: string[] }> {
  const width = (await page.evaluate("document.documentElement.scrollWidth")) as number;
  if (width <= limit) return { width, wide: [] };
  const wide = (await page.evaluate(`(() => {
    const out = [];
    const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n && out.length < 4; n = walk.nextNode()) {
      const r = document.createRange();
      r.selectNodeContents(n);
      const right = r.getBoundingClientRect().right;
      if (right > ${limit}) out.push(n.parentElement.tagName + "." + n.parentElement.className + " " + Math.round(right) + " " + n.textContent.slice(0, 40));
    }
    return out;
  })()`)) as string[];
  return { width, wide };
}

/**
 * Holds the view on screen, `name` at `viewport` (already set): no wider than the screen, no axe-core violation; and
 * keeps a full-page screenshot of it in test-artifacts/ as `<screenshot>-<width>.png`.
 */
export async function checkView(page: Page, name: string, viewport: Viewport, screenshot: string): Promise<void> {
  const { width, wide } = await widthAndOverflow(page, viewport.width);
  expect(width, `${name} is ${width} px wide at ${viewport.width}: ${JSON.stringify(wide)}`).to.be.at.most(
    viewport.width,
  );
  expect(await axe(page), `axe in ${name} at ${viewport.width}x${viewport.height}`).to.deep.equal([]);
  await page.screenshot({ path: join(ARTIFACTS, `${screenshot}-${viewport.width}.png`), fullPage: true });
}

/**
 * Holds the open dialog at a phone's size: it has no axe-core violation and lies wholly on screen; keeps a screenshot
 * as `<screenshot>-390.png`, then gives the page a desktop's size again.
 */
export async function checkDialogOnPhone(page: Page, name: string, screenshot: string): Promise<void> {
  expect(await axe(page), `axe in ${name}`).to.deep.equal([]);
  await page.setViewportSize(SIZES.phone);
  const box = (await page.locator("#dialog").boundingBox())!;
  expect(box.x, `${name} starts on screen`).to.be.at.least(0);
  expect(box.x + box.width, `${name} ends on screen`).to.be.at.most(SIZES.phone.width);
  await page.screenshot({ path: join(ARTIFACTS, `${screenshot}-${SIZES.phone.width}.png`) });
  await page.setViewportSize(SIZES.desktop);
}
