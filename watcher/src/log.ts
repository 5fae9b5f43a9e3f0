import pino, { type Logger } from "pino";

export type { Logger };

/**
 * Structured logs (JSON lines), human-readable when stdout is a terminal. Keys, passwords and the attester's
 * private key are never passed to the logger; the redaction list is a second line of defence.
 */
export function createLogger(level: string, pretty = process.stdout.isTTY): Logger {
  const options = {
    level,
    base: { service: "lockstep-watcher" },
    redact: { paths: ["privateKey", "*.privateKey", "password", "*.password", "key", "*.key"], censor: "[redacted]" },
  };
  if (pretty) {
    return pino({
      ...options,
      transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss" } },
    });
  }
  return pino(options);
}
