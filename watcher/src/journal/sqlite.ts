import Database from "better-sqlite3";
import type { Checkpoint } from "../../../lib/sync";
import type { Effect, WatcherState } from "../machine/types";
import type { Hex, Journal, PageOutcome, Step, StepStatus } from "../ports";
import type { Outbox, SignedAttestation } from "../ports/outbox";
import type { AttestStatus } from "../machine/types";
import { fatal, fsError, WatcherError } from "../errors";

export type { Step, StepStatus };

/**
 * The key of an effect in the journal: the machine numbers its effects per upgrade, and `epoch` counts reorg
 * rewinds, so asking the same effect again (a crash before it was recorded done) finds the same row, while
 * effects re-derived after a rewind get rows of their own and run again (every executor is idempotent).
 */
export function stepKey(effect: Effect, epoch = 0): string {
  const status = effect.kind === "attest" ? `:${effect.status}` : "";
  return `e${epoch}:${effect.upgradeId}:${effect.step}:${effect.kind}${status}`;
}

/**
 * The watcher's durable journal, one SQLite file (WAL, synchronous=FULL): the follower's checkpoints (cursor and
 * machine state per processed block) and every step the runtime takes, recorded before it starts and after it
 * ends. A SIGKILL at any point leaves either the old or the new row, never half of one.
 */
export class SqliteJournal implements Journal, Outbox {
  private readonly db: Database.Database;

  constructor(
    path: string,
    private readonly keep = 256,
  ) {
    try {
      this.db = guarded(new Database(path), path);
      this.setUp();
    } catch (e) {
      // The guard names a failing query "read" or "write"; while opening, it is part of opening.
      throw fsError("open journal", path, e instanceof WatcherError && e.code === "fs" ? e.cause : e);
    }
  }

  private setUp() {
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS checkpoints (
        block INTEGER PRIMARY KEY,
        hash TEXT NOT NULL,
        parent_hash TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL
      );
      CREATE TABLE IF NOT EXISTS steps (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        key TEXT NOT NULL UNIQUE,
        effect TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        updated_at INTEGER NOT NULL,
        result TEXT,
        error TEXT
      );
    `);
    // Journals written before checkpoints kept their parent's hash: the column is added empty (nothing reads the
    // parent hash of an old checkpoint; new ones carry it).
    const columns = this.db.prepare("PRAGMA table_info(checkpoints)").all() as { name: string }[];
    if (!columns.some((c) => c.name === "parent_hash")) {
      this.db.exec("ALTER TABLE checkpoints ADD COLUMN parent_hash TEXT NOT NULL DEFAULT ''");
    }
    this.addOutbox();
    this.addProblems();
  }

  /** Migration: the problems /healthz reports (journals older than it get the table, empty). */
  private addProblems() {
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS problems (key TEXT PRIMARY KEY, message TEXT NOT NULL, since INTEGER NOT NULL);
    `);
  }

  /** Migration: the outbox of signed attestations (journals older than it get the table, empty). */
  private addOutbox() {
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS outbox (
        hash TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        upgrade_id INTEGER NOT NULL,
        stage INTEGER NOT NULL,
        status TEXT NOT NULL,
        via TEXT NOT NULL,
        raw TEXT NOT NULL,
        nonce INTEGER NOT NULL,
        signed_at INTEGER NOT NULL,
        retired TEXT
      );
      CREATE INDEX IF NOT EXISTS outbox_key ON outbox (key);
    `);
  }

  close() {
    this.db.close();
  }

  // ---------------------------------------------------------------- identity

  /** Binds the journal to one chain, coordinator and operator; refuses to reuse it for another. */
  bind(identity: Record<string, string>) {
    const get = this.db.prepare("SELECT value FROM meta WHERE key = ?");
    const put = this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?)");
    this.db.transaction(() => {
      for (const [key, value] of Object.entries(identity)) {
        const row = get.get(key) as { value: string } | undefined;
        if (!row) put.run(key, value);
        else if (row.value !== value) {
          throw fatal(
            "journal-mismatch",
            `the journal belongs to ${key} ${row.value}, not ${value}: use another data directory`,
            { [key]: row.value, configured: value },
          );
        }
      }
    })();
  }

  // ---------------------------------------------------------------- checkpoints

  latest(): Checkpoint<WatcherState> | undefined {
    const row = this.db
      .prepare("SELECT block, hash, parent_hash, state FROM checkpoints ORDER BY block DESC LIMIT 1")
      .get();
    return row ? toCheckpoint(row as CheckpointRow) : undefined;
  }

  recent(): Checkpoint<WatcherState>[] {
    const rows = this.db.prepare("SELECT block, hash, parent_hash, state FROM checkpoints ORDER BY block DESC").all();
    return (rows as CheckpointRow[]).map(toCheckpoint);
  }

  /** Commits a processed page: its checkpoint and the effects its events asked for, in one transaction. */
  commit(checkpoint: Checkpoint<WatcherState>, outcome?: PageOutcome) {
    this.db.transaction(() => {
      this.db
        .prepare("INSERT OR REPLACE INTO checkpoints (block, hash, parent_hash, state) VALUES (?, ?, ?, ?)")
        .run(Number(checkpoint.block), checkpoint.hash, checkpoint.parentHash, JSON.stringify(checkpoint.state));
      this.db
        .prepare(
          "DELETE FROM checkpoints WHERE block NOT IN (SELECT block FROM checkpoints ORDER BY block DESC LIMIT ?)",
        )
        .run(this.keep);
      this.enqueue(outcome?.effects ?? []);
    })();
  }

  /** Drops checkpoints above `block`, cancels steps queued from what they held, and starts a new epoch. */
  rewindTo(block: bigint) {
    this.db.transaction(() => {
      this.db.prepare("DELETE FROM checkpoints WHERE block > ?").run(Number(block));
      this.db.prepare("UPDATE steps SET status = 'cancelled', updated_at = ? WHERE status = 'queued'").run(Date.now());
      this.db
        .prepare(
          "INSERT INTO meta (key, value) VALUES ('epoch', '1') ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1",
        )
        .run();
    })();
  }

  /** How many reorg rewinds this journal has seen. */
  epoch(): number {
    const row = this.db.prepare("SELECT value FROM meta WHERE key = 'epoch'").get() as { value: string } | undefined;
    return row ? Number(row.value) : 0;
  }

  /** Replaces the state of the latest checkpoint (outcomes of local work happen between blocks). */
  updateLatestState(state: WatcherState) {
    const latest = this.latest();
    if (!latest) throw fatal("journal-empty", "the journal has no checkpoint to update");
    this.db
      .prepare("UPDATE checkpoints SET state = ? WHERE block = ?")
      .run(JSON.stringify(state), Number(latest.block));
  }

  // ---------------------------------------------------------------- steps

  /** Queues effects not journaled yet (by key); known keys are left as they are. */
  enqueue(effects: Effect[]) {
    const insert = this.db.prepare(
      "INSERT OR IGNORE INTO steps (key, effect, status, updated_at) VALUES (?, ?, 'queued', ?)",
    );
    this.db.transaction(() => {
      const epoch = this.epoch();
      for (const effect of effects) insert.run(stepKey(effect, epoch), JSON.stringify(effect), Date.now());
    })();
  }

  /** Steps still to run (queued, or started when a crash interrupted them), oldest first. */
  pending(): Step[] {
    const rows = this.db
      .prepare(
        "SELECT key, effect, status, attempts, result, error FROM steps WHERE status IN ('queued', 'started') ORDER BY seq",
      )
      .all();
    return (rows as StepRow[]).map(toStep);
  }

  all(): Step[] {
    return (
      this.db.prepare("SELECT key, effect, status, attempts, result, error FROM steps ORDER BY seq").all() as StepRow[]
    ).map(toStep);
  }

  markStarted(key: string) {
    this.db
      .prepare("UPDATE steps SET status = 'started', attempts = attempts + 1, updated_at = ? WHERE key = ?")
      .run(Date.now(), key);
  }

  markDone(key: string, result: string) {
    this.db
      .prepare("UPDATE steps SET status = 'done', result = ?, updated_at = ? WHERE key = ?")
      .run(result, Date.now(), key);
  }

  markFailed(key: string, error: string) {
    this.db
      .prepare("UPDATE steps SET status = 'failed', error = ?, updated_at = ? WHERE key = ?")
      .run(error, Date.now(), key);
  }

  /** Marks a step done and folds its outcome (state and further effects) into the journal in one transaction. */
  finish(key: string, result: string, state: WatcherState, effects: Effect[]) {
    this.db.transaction(() => {
      this.markDone(key, result);
      this.updateLatestState(state);
      this.enqueue(effects);
    })();
  }

  /** Folds a local fact's result (state and effects) into the journal in one transaction. */
  applyLocal(state: WatcherState, effects: Effect[]) {
    this.db.transaction(() => {
      this.updateLatestState(state);
      this.enqueue(effects);
    })();
  }

  /** Cancels queued (never started) steps that a rewind made void. */
  cancelQueued(keys: string[]) {
    const cancel = this.db.prepare(
      "UPDATE steps SET status = 'cancelled', updated_at = ? WHERE key = ? AND status = 'queued'",
    );
    this.db.transaction(() => {
      for (const key of keys) cancel.run(Date.now(), key);
    })();
  }

  // ---------------------------------------------------------------- problems

  problems(): Record<string, string> {
    const rows = this.db.prepare("SELECT key, message FROM problems ORDER BY since, key").all() as {
      key: string;
      message: string;
    }[];
    return Object.fromEntries(rows.map((r) => [r.key, r.message]));
  }

  setProblem(key: string, message: string | undefined) {
    if (message === undefined) this.db.prepare("DELETE FROM problems WHERE key = ?").run(key);
    else
      this.db
        .prepare(
          "INSERT INTO problems (key, message, since) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET message = excluded.message",
        )
        .run(key, message, Date.now());
  }

  // ---------------------------------------------------------------- outbox

  signed(key: string): SignedAttestation[] {
    const rows = this.db
      .prepare(
        "SELECT hash, key, upgrade_id, stage, status, via, raw, nonce, signed_at FROM outbox WHERE key = ? AND retired IS NULL ORDER BY signed_at, rowid",
      )
      .all(key) as OutboxRow[];
    return rows.map((r) => ({
      key: r.key,
      upgradeId: r.upgrade_id,
      stage: r.stage,
      status: r.status as AttestStatus,
      hash: r.hash as Hex,
      via: r.via as SignedAttestation["via"],
      raw: r.raw as Hex,
      nonce: r.nonce,
      signedAt: r.signed_at,
    }));
  }

  record(e: SignedAttestation) {
    this.db
      .prepare(
        "INSERT OR IGNORE INTO outbox (hash, key, upgrade_id, stage, status, via, raw, nonce, signed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(e.hash, e.key, e.upgradeId, e.stage, e.status, e.via, e.raw, e.nonce, e.signedAt);
  }

  retire(key: string, reason: string) {
    this.db.prepare("UPDATE outbox SET retired = ? WHERE key = ? AND retired IS NULL").run(reason, key);
  }

  isOurs(hash: Hex, upgradeId: number, stage: number, status: AttestStatus): boolean {
    const row = this.db
      .prepare(
        "SELECT 1 FROM outbox WHERE lower(hash) = lower(?) OR (via = 'relay' AND upgrade_id = ? AND stage = ? AND status = ?) LIMIT 1",
      )
      .get(hash, upgradeId, stage, status);
    return row !== undefined;
  }
}

interface OutboxRow {
  hash: string;
  key: string;
  upgrade_id: number;
  stage: number;
  status: string;
  via: string;
  raw: string;
  nonce: number;
  signed_at: number;
}

interface CheckpointRow {
  block: number;
  hash: string;
  parent_hash: string;
  state: string;
}

interface StepRow {
  key: string;
  effect: string;
  status: StepStatus;
  attempts: number;
  result: string | null;
  error: string | null;
}

function toCheckpoint(row: CheckpointRow): Checkpoint<WatcherState> {
  return {
    block: BigInt(row.block),
    hash: row.hash as Hex,
    parentHash: row.parent_hash as Hex,
    state: JSON.parse(row.state) as WatcherState,
  };
}

function toStep(row: StepRow): Step {
  return {
    key: row.key,
    effect: JSON.parse(row.effect) as Effect,
    status: row.status,
    attempts: row.attempts,
    result: row.result ?? undefined,
    error: row.error ?? undefined,
  };
}

/**
 * `db` with every SQLite failure (a full disk, a directory it cannot create the WAL in, a file that is not a
 * database) turned into an `fsError` naming the journal's path and whether it was reading or writing. Wrapping the
 * handle rather than each method keeps every query, present and future, covered.
 */
function guarded(db: Database.Database, path: string): Database.Database {
  const wrap =
    <A extends unknown[], R>(operation: string, run: (...args: A) => R) =>
    (...args: A): R => {
      try {
        return run(...args);
      } catch (e) {
        if (e instanceof WatcherError || !(e instanceof Database.SqliteError)) throw e;
        throw fsError(operation, path, e);
      }
    };
  const statement = (s: Database.Statement) =>
    new Proxy(s, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, target) as unknown;
        if (typeof value !== "function") return value;
        const bound = (value as (...args: unknown[]) => unknown).bind(target);
        const run = wrap(property === "run" ? "write journal" : "read journal", bound);
        // pluck(), raw(), bind() ... return the statement itself: keep returning the guarded one.
        return (...args: unknown[]) => {
          const result = run(...args);
          return result === target ? receiver : result;
        };
      },
    });
  return new Proxy(db, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== "function") return value;
      const bound = (value as (...args: unknown[]) => unknown).bind(target);
      switch (property) {
        case "prepare":
          return wrap("read journal", (sql: string) => statement(target.prepare(sql)));
        case "transaction":
          return (run: (...args: unknown[]) => unknown) => wrap("write journal", target.transaction(run));
        case "exec":
        case "pragma":
          return wrap("write journal", bound);
        default:
          return bound;
      }
    },
  });
}
