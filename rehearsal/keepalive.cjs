// Preloaded into the rehearsal's `hardhat node` (NODE_OPTIONS=--require). Its JSON-RPC server closes idle
// connections after 5 s, Node's default, while clients (undici in Hardhat's provider, fetch in viem) reuse them for
// up to 4 s: on a busy machine a request can meet a socket the server is closing, and the client reports "other
// side closed" for a call that may or may not have run. Real nodes keep idle connections far longer (geth: 120 s);
// so does the rehearsal's chain.
const http = require("node:http");

const createServer = http.createServer;
http.createServer = function createServerKeptAlive(...args) {
  const server = createServer.apply(this, args);
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 125_000;
  return server;
};
