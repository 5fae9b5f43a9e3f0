// The artifact downloader against a hostile server: redirects out of http(s), redirect loops, a server that
// stalls after its headers (slow-loris) and one that trickles bytes. Each ends in a named error, at once, with
// the right answer to "retry?".
import { expect } from "chai";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer, Server } from "node:http";
import { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HttpDownloader } from "../../watcher/src/adapters/downloader";
import { parseConfig } from "../../watcher/src/config";
import { rejection } from "../helpers/watcherHarness";

describe("http downloader against a hostile server", function () {
  let server: Server;
  let base: string;
  let dir: string;
  const open = new Set<NodeJS.Timeout>();

  before(async function () {
    server = createServer((req, res) => {
      const url = req.url!;
      const redirect = (location: string) => res.writeHead(302, { location }).end();
      if (url === "/artifact") return res.end("the artifact");
      if (url === "/to-file") return redirect("file:///etc/passwd");
      if (url === "/to-ftp") return redirect("ftp://127.0.0.1/artifact");
      if (url === "/to-data") return redirect("data:,hello");
      if (url === "/relative") return redirect("/artifact");
      if (url.startsWith("/loop/")) return redirect(`/loop/${Number(url.slice(6)) + 1}`);
      if (url === "/stall") {
        res.writeHead(200, { "content-length": "1000" });
        res.write("x"); // then nothing, ever
        return;
      }
      if (url === "/trickle") {
        res.writeHead(200);
        const timer = setInterval(() => res.write("x"), 20);
        open.add(timer);
        res.on("close", () => clearInterval(timer));
        return;
      }
      res.writeHead(404).end();
    });
    server.listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async function () {
    for (const timer of open) clearInterval(timer);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  beforeEach(async function () {
    dir = await mkdtemp(join(tmpdir(), "lockstep-download-"));
  });
  afterEach(async function () {
    await rm(dir, { recursive: true, force: true });
  });

  const downloader = (options: Partial<ConstructorParameters<typeof HttpDownloader>[0]> = {}) =>
    new HttpDownloader({ allowInsecureHttp: true, idleTimeoutMs: 5_000, totalTimeoutMs: 20_000, ...options });

  it("follows a relative redirect on an allowed scheme", async function () {
    const result = await downloader().fetch(`${base}/relative`, join(dir, "a"), 1_000);
    expect(result.bytes).to.equal("the artifact".length);
  });

  it("refuses a redirect to file:, naming it, without retrying", async function () {
    const error = await rejection(downloader().fetch(`${base}/to-file`, join(dir, "a"), 1_000));
    expect([error.code, error.retryable]).to.deep.equal(["download-refused", false]);
    expect(error.message).to.equal(
      `GET ${base}/to-file refused: redirect to file:///etc/passwd: only https or http is followed`,
    );
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it("refuses a redirect to any other scheme", async function () {
    for (const [path, target] of [
      ["/to-ftp", "ftp://127.0.0.1/artifact"],
      ["/to-data", "data:,hello"],
    ]) {
      const error = await rejection(downloader().fetch(`${base}${path}`, join(dir, "a"), 1_000));
      expect([error.code, error.retryable]).to.deep.equal(["download-refused", false]);
      expect(error.message).to.include(`redirect to ${target}: only https or http is followed`);
    }
  });

  it("refuses a redirect loop after the configured number of hops", async function () {
    const error = await rejection(downloader({ maxRedirects: 3 }).fetch(`${base}/loop/0`, join(dir, "a"), 1_000));
    expect([error.code, error.retryable]).to.deep.equal(["download-refused", false]);
    expect(error.message).to.equal(`GET ${base}/loop/0 refused: more than 3 redirects (artifacts.maxRedirects)`);
  });

  it("abandons a server that stalls after its headers once the idle timeout passes, as retryable", async function () {
    const started = Date.now();
    const error = await rejection(downloader({ idleTimeoutMs: 300 }).fetch(`${base}/stall`, join(dir, "a"), 1_000));
    expect([error.code, error.retryable]).to.deep.equal(["download-timeout", true]);
    expect(error.message).to.equal(`GET ${base}/stall stalled: no bytes for 300 ms (artifacts.idleTimeoutMs)`);
    expect(Date.now() - started).to.be.lessThan(10_000); // not the 20 s total timeout
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it("abandons a server that trickles bytes once the total timeout passes, as retryable", async function () {
    const error = await rejection(
      downloader({ idleTimeoutMs: 5_000, totalTimeoutMs: 500 }).fetch(`${base}/trickle`, join(dir, "a"), 1_000_000),
    );
    expect([error.code, error.retryable]).to.deep.equal(["download-timeout", true]);
    expect(error.message).to.equal(`GET ${base}/trickle took longer than 500 ms (artifacts.totalTimeoutMs)`);
    expect(await readdir(dir)).to.deep.equal([]);
  });

  it("takes its limits from the configuration, with defaults", function () {
    const config = parseConfig({
      chain: { rpcUrl: "http://127.0.0.1:1", chainId: 1, coordinator: "0x" + "11".repeat(20), startBlock: 1 },
      validator: { operator: "0x" + "22".repeat(20), attesterKey: { env: "K" } },
      dataDir: "/d",
      node: { adapter: "process", statusUrl: "http://127.0.0.1:1/status", stateDir: "/s" },
    });
    expect(config.artifacts).to.include({ idleTimeoutMs: 30_000, totalTimeoutMs: 600_000, maxRedirects: 5 });
  });
});
