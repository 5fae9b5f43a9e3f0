import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/**
 * Crash drills: LOCKSTEP_KILL_AT="prepare:started,upgrade:stopped,..." makes the watcher SIGKILL itself the first
 * time it reaches each named point (a marker file under <dataDir>/drill/ makes each fire once), so tests and
 * rehearsals can prove that a restart after a crash at any step ends in the same state. Unset, it does nothing.
 */
export class KillPoints {
  private readonly points: Set<string>;

  constructor(
    private readonly dir: string,
    spec = process.env.LOCKSTEP_KILL_AT ?? "",
  ) {
    this.points = new Set(
      spec
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    );
  }

  hit(point: string) {
    if (!this.points.has(point)) return;
    const marker = join(this.dir, point.replace(/[^A-Za-z0-9_-]/g, "_"));
    if (existsSync(marker)) return;
    mkdirSync(this.dir, { recursive: true });
    writeFileSync(marker, new Date().toISOString());
    process.kill(process.pid, "SIGKILL");
  }
}

/** The points a crash drill can name, in the order a rollout reaches them. */
export const KILL_POINTS = [
  "prepare:started",
  "prepare:staged",
  "attest:started",
  "attest:broadcast",
  "attest:sent",
  "upgrade:started",
  "upgrade:stopped",
  "upgrade:snapshotted",
  "upgrade:swapped",
  "upgrade:node-started",
  "upgrade:healthy",
] as const;
