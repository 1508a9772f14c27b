/**
 * A thin promise face over the `sqlite3` package, plus numbered migrations. Every repository
 * (outbox/store.ts, devices/store.ts, …) sits on this; domain code never builds SQL.
 */
import sqlite3 from 'sqlite3';

export interface Db {
  readonly raw: sqlite3.Database;
  readonly file: string;
  run(sql: string, params?: unknown[]): Promise<{ changes: number; lastID: number }>;
  get<T>(sql: string, params?: unknown[]): Promise<T | undefined>;
  all<T>(sql: string, params?: unknown[]): Promise<T[]>;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  readonly?: boolean;
  /** FULL: a commit survives power loss, not only a crash (a PUBACK promises that). */
  synchronous?: 'FULL' | 'NORMAL';
}

const SYNCHRONOUS: Record<string, string> = { FULL: 'FULL', NORMAL: 'NORMAL' };

export async function openDb(file: string, opts: OpenOptions = {}): Promise<Db> {
  const mode = opts.readonly ? sqlite3.OPEN_READONLY : sqlite3.OPEN_READWRITE | sqlite3.OPEN_CREATE;
  const raw = await new Promise<sqlite3.Database>((resolve, reject) => {
    const d = new sqlite3.Database(file, mode, (err) => (err ? reject(err) : resolve(d)));
  });
  const db: Db = {
    raw,
    file,
    run: (sql, params = []) =>
      new Promise((resolve, reject) =>
        raw.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
          if (err) reject(err);
          else resolve({ changes: this.changes, lastID: this.lastID });
        }),
      ),
    get: <T>(sql: string, params: unknown[] = []) =>
      new Promise<T | undefined>((resolve, reject) => raw.get(sql, params, (err, row) => (err ? reject(err) : resolve(row as T | undefined)))),
    all: <T>(sql: string, params: unknown[] = []) =>
      new Promise<T[]>((resolve, reject) => raw.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[])))),
    exec: (sql) => new Promise((resolve, reject) => raw.exec(sql, (err) => (err ? reject(err) : resolve()))),
    close: () => new Promise((resolve, reject) => raw.close((err) => (err ? reject(err) : resolve()))),
  };
  await db.exec('PRAGMA busy_timeout = 5000');
  if (!opts.readonly) {
    // A PRAGMA takes no bound parameters: its value comes from this fixed set, never from input.
    const sync = SYNCHRONOUS[opts.synchronous ?? 'FULL'];
    if (!sync) throw new RangeError(`synchronous: must be FULL or NORMAL`);
    await db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${sync}; PRAGMA foreign_keys = ON;`);
  }
  return db;
}

/** Applies migrations numbered from 1 that the file has not seen yet, each in its own transaction. */
export async function migrate(db: Db, migrations: readonly string[]): Promise<void> {
  const row = await db.get<{ user_version: number }>('PRAGMA user_version');
  const have = row?.user_version ?? 0;
  if (!Number.isSafeInteger(have) || have < 0) throw new Error(`${db.file}: user_version ${String(have)} is not a migration number`);
  for (let i = have; i < migrations.length; i++) {
    // The migration text is code; the version is an integer this loop made (PRAGMA binds nothing).
    // A failing migration is rolled back, not left as an open transaction on the connection.
    try {
      await db.exec(`BEGIN; ${migrations[i]}; PRAGMA user_version = ${i + 1}; COMMIT;`);
    } catch (err) {
      await db.exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}
