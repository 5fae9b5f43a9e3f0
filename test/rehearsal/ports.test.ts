// A server the rehearsal starts on a port it saw free, when another process binds that port first: started again
// on another port, at once, rather than failing the drill or waiting out its start-up limit.
import { expect } from "chai";
import { createServer, type Server } from "node:net";
import { freePort, onFreePort, startChain } from "../../rehearsal/localnet";

describe("rehearsal ports", function () {
  this.timeout(180_000);
  let squatter: Server;
  let taken: number;

  before(async function () {
    taken = await freePort();
    squatter = createServer();
    await new Promise<void>((r) => squatter.listen(taken, "127.0.0.1", () => r()));
  });
  after(() => new Promise<void>((r) => squatter.close(() => r())));

  it("a chain asked for a port another process holds fails at once, saying so in one line", async function () {
    const started = Date.now();
    const error = await startChain({ port: taken, timeoutMs: 120_000 }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error?.message).to.equal(`hardhat node exited: port ${taken} is in use (EADDRINUSE)`);
    // It ended when the node exited, not at its start-up limit.
    expect(Date.now() - started).to.be.below(120_000);
  });

  it("a chain whose free port was taken before it bound starts again on another one", async function () {
    // The first port handed to the start is the squatter's, as if it had bound it just after the check.
    const ports: number[] = [];
    const chain = await onFreePort((port) => {
      const chosen = ports.length === 0 ? taken : port;
      ports.push(chosen);
      return startChain({ port: chosen });
    });
    try {
      expect(ports).to.have.length(2);
      expect(ports[0]).to.equal(taken);
      expect(chain.port).to.equal(ports[1]).and.not.equal(taken);
      expect(Number(await chain.client.getBlockNumber())).to.be.at.least(0);
    } finally {
      await chain.stop();
    }
  });

  it("a preferred port another process holds is passed over for a free one", async function () {
    const chain = await startChain({ preferPort: taken });
    try {
      expect(chain.port).to.not.equal(taken);
    } finally {
      await chain.stop();
    }
  });
});
