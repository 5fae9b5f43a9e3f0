// A journal that cannot be opened or written says which file and which operation, never a bare SQLite message
// ("unable to open database file", "database or disk is full").
import { expect } from "chai";
import type Database from "better-sqlite3";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WatcherError } from "../../watcher/src/errors";
import { SqliteJournal } from "../../watcher/src/journal/sqlite";
import { emptyState } from "../../watcher/src/machine/types";

function thrown(run: () => unknown): WatcherError {
  try {
    run();
  } catch (e) {
    expect(e, String(e)).to.be.instanceOf(WatcherError);
    return e as WatcherError;
  }
  throw new Error("expected an error");
}

describe("sqlite journal errors", function () {
  let dir: string;
  beforeEach(function () {
    dir = mkdtempSync(join(tmpdir(), "lockstep-journal-errors-"));
  });
  afterEach(function () {
    chmodSync(dir, 0o755);
    rmSync(dir, { recursive: true, force: true });
  });

  it("names the path when the journal's directory is missing", function () {
    const path = join(dir, "missing", "journal.sqlite");
    const error = thrown(() => new SqliteJournal(path));
    expect([error.code, error.retryable]).to.deep.equal(["fs", true]);
    expect(error.details).to.include({ operation: "open journal", path });
    expect(error.message).to.match(new RegExp(`^open journal ${path} failed: .*directory does not exist`));
  });

  it("names the path and SQLite's reason when the file cannot be opened", function () {
    writeFileSync(join(dir, "not-a-directory"), "");
    const path = join(dir, "not-a-directory", "journal.sqlite");
    expect(thrown(() => new SqliteJournal(path)).message).to.equal(
      `open journal ${path} failed: unable to open database file (SQLITE_CANTOPEN)`,
    );
  });

  it("names the path when the directory is not writable", function () {
    if (process.getuid?.() === 0) this.skip(); // root writes anywhere
    const path = join(dir, "journal.sqlite");
    new SqliteJournal(path).close();
    rmSync(`${path}-wal`, { force: true });
    rmSync(`${path}-shm`, { force: true });
    chmodSync(dir, 0o555); // the WAL file cannot be created
    const error = thrown(() => new SqliteJournal(path));
    expect(error.message).to.match(new RegExp(`^open journal ${path} failed: .*\\(SQLITE_`));
  });

  it("refuses a file that is not a journal, naming it, as nothing a retry fixes", function () {
    const path = join(dir, "journal.sqlite");
    writeFileSync(path, "not a database, just text ".repeat(100));
    const error = thrown(() => new SqliteJournal(path));
    expect([error.code, error.retryable]).to.deep.equal(["fs", false]);
    expect(error.message).to.equal(`open journal ${path} failed: file is not a database (SQLITE_NOTADB)`);
  });

  it("names the path and the operation when the disk is full, as retryable", function () {
    mkdirSync(join(dir, "data"));
    const path = join(dir, "data", "journal.sqlite");
    const journal = new SqliteJournal(path);
    // A full disk, simulated: the connection may not grow the file past its present size.
    const db = (journal as unknown as { db: Database.Database }).db;
    db.pragma(`max_page_count = ${db.pragma("page_count", { simple: true })}`);
    const big = { ...emptyState(), note: "x".repeat(100_000) } as ReturnType<typeof emptyState>;
    const h = `0x${"1".repeat(64)}` as const;
    const error = thrown(() => journal.commit({ block: 1n, hash: h, parentHash: h, state: big }));
    expect([error.code, error.retryable]).to.deep.equal(["fs", true]);
    expect(error.details).to.include({ operation: "write journal", path, errno: "SQLITE_FULL" });
    expect(error.message).to.equal(`write journal ${path} failed: database or disk is full (SQLITE_FULL)`);
    journal.close();
  });
});
