import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger };

/**
 * Structured logs (JSON lines), human-readable when stdout is a terminal and the optional package pino-pretty is
 * installed (the release does not ship it: `npm install -g pino-pretty` beside it). Keys, passwords and the
 * attester's private key are never passed to the logger; the redaction list is a second line of defence.
 */
export function createLogger(level: string, pretty = process.stdout.isTTY): Logger {
  const options = {
    level,
    base: { service: "lockstep-watcher" },
    redact: { paths: ["privateKey", "*.privateKey", "password", "*.password", "key", "*.key"], censor: "[redacted]" },
  };
  const stream = pretty ? prettyStream() : undefined;
  return stream ? pino(options, stream) : pino(options);
}

/** pino-pretty as a stream in this thread, or undefined when it is not installed. */
function prettyStream(): DestinationStream | undefined {
  let pretty: (options: Record<string, unknown>) => DestinationStream;
  try {
    // A plain require, left unresolved by the release bundle: found only when installed beside the watcher.
    pretty = require("pino-pretty");
  } catch {
    return undefined;
  }
  return pretty({ colorize: true, translateTime: "SYS:HH:MM:ss", sync: true });
}
