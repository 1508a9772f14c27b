/**
 * The one way a repository opens its SQLite file (outbox/store.ts, devices/store.ts, …), over
 * better-sqlite3: the file is created 0600, the pragmas are set once here, numbered migrations run
 * each in a transaction, statements are prepared once per connection and cached by their text.
 * Domain code never builds SQL, and values always travel as bound parameters.
 *
 * better-sqlite3 runs a statement on the calling thread and returns its result. Two faces:
 * - `runNow/getNow/allNow/execNow` and `tx(fn)`: synchronous. A transaction is one synchronous
 *   function, so nothing else (another caller, another connection of this thread) can run inside
 *   it or between its statements.
 * - `run/get/all/exec`: the same calls as promises (already settled when returned), for
 *   repositories whose callers await them; an error rejects instead of throwing.
 */
import { closeSync, openSync, chmodSync } from 'node:fs';
import Database from 'better-sqlite3';

export type Statement = Database.Statement<unknown[], unknown>;

export interface RunResult {
  changes: number;
  lastID: number;
}

export interface Db {
  readonly raw: Database.Database;
  readonly file: string;
  /** The statement for this text, prepared on first use and kept for the connection's life. */
  prepare(sql: string): Statement;
  runNow(sql: string, params?: readonly unknown[]): RunResult;
  getNow<T>(sql: string, params?: readonly unknown[]): T | undefined;
  allNow<T>(sql: string, params?: readonly unknown[]): T[];
  execNow(sql: string): void;
  /**
   * Runs `fn` in one transaction (BEGIN IMMEDIATE: the write lock is taken at once) and returns
   * what it returns; a throw rolls everything back and is rethrown. Nested calls become savepoints.
   */
  tx<T>(fn: () => T): T;
  /** Calls `fn` with the text of every statement run through this Db from now on (tests, diagnostics). */
  onStatement(fn: (sql: string) => void): () => void;
  run(sql: string, params?: readonly unknown[]): Promise<RunResult>;
  get<T>(sql: string, params?: readonly unknown[]): Promise<T | undefined>;
  all<T>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  readonly?: boolean;
  /**
   * FULL: a commit is on disk before it returns, so it survives power loss as well as a crash
   * (https://www.sqlite.org/pragma.html#pragma_synchronous). NORMAL in WAL mode may lose the last
   * commits on power loss, never consistency.
   */
  synchronous?: 'FULL' | 'NORMAL';
  /** How long a statement waits for another connection's lock (ms). Default 5000. */
  busyTimeoutMs?: number;
}

const SYNCHRONOUS: Record<string, string> = { FULL: 'FULL', NORMAL: 'NORMAL' };

/**
 * Page cache per connection, in KiB when negative (https://www.sqlite.org/pragma.html#pragma_cache_size):
 * SQLite's own default, 2 MB. better-sqlite3 is built with 16 MB (SQLITE_DEFAULT_CACHE_SIZE=-16000
 * in its build), and a connection that reads a large table (the uplink's, a catalog read) keeps it
 * resident: measured, three connections each reading a 46 MB table hold +60 MB of RSS with 16 MB and
 * +17 MB with 2 MB. The OS page cache still holds the file; this is only SQLite's copy.
 * ownerWorker.mjs sets the same on the writer's connections.
 */
export const CACHE_SIZE = -2000;

/**
 * SQLite binds numbers, strings, bigints, buffers and null; a boolean binds as 0/1 and a missing
 * value as NULL, as the stores have always stored them. A statement written with numbered
 * parameters (`?1`, `?2`: one value used twice) takes them from an object keyed by number in
 * better-sqlite3, so the list becomes one.
 */
function bindable(params: readonly unknown[], numbered: boolean): unknown[] {
  const out = new Array<unknown>(params.length);
  for (let i = 0; i < params.length; i++) {
    const v = params[i];
    out[i] = v === undefined ? null : typeof v === 'boolean' ? (v ? 1 : 0) : v;
  }
  if (!numbered) return out;
  const named: Record<number, unknown> = {};
  for (let i = 0; i < out.length; i++) named[i + 1] = out[i];
  return [named];
}

/** Whether the statement text uses numbered parameters (`?1`). */
export function usesNumberedParams(sql: string): boolean {
  return /\?\d/.test(sql);
}

function settled<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (err) {
    return Promise.reject(err as Error);
  }
}

/** Creates the file owner-only before SQLite opens it (its -wal and -shm copy this mode). */
function createPrivate(file: string): void {
  if (file === ':memory:' || file === '') return;
  closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
}

export async function openDb(file: string, opts: OpenOptions = {}): Promise<Db> {
  return openDbNow(file, opts);
}

/** openDb without the promise (a worker thread or a tool that has no event loop to spare). */
export function openDbNow(file: string, opts: OpenOptions = {}): Db {
  if (!opts.readonly) createPrivate(file);
  const raw = new Database(file, { readonly: opts.readonly === true, fileMustExist: opts.readonly === true, timeout: opts.busyTimeoutMs ?? 5000 });
  const cache = new Map<string, Statement>();
  const numbered = new WeakSet<Statement>();
  const watchers = new Set<(sql: string) => void>();
  let changesOf: Statement | undefined;
  const prepare = (sql: string): Statement => {
    if (watchers.size > 0) for (const w of watchers) w(sql);
    let s = cache.get(sql);
    if (!s) {
      s = raw.prepare(sql);
      cache.set(sql, s);
      if (usesNumberedParams(sql)) numbered.add(s);
    }
    return s;
  };
  const runNow = (sql: string, params: readonly unknown[] = []): RunResult => {
    const s = prepare(sql);
    // A statement that returns rows (RETURNING, a PRAGMA) may still be run for its effect.
    if (s.reader) {
      s.all(...bindable(params, numbered.has(s)));
      changesOf ??= raw.prepare('SELECT changes()').pluck();
      return { changes: changesOf.get() as number, lastID: 0 };
    }
    const r = s.run(...bindable(params, numbered.has(s)));
    return { changes: r.changes, lastID: Number(r.lastInsertRowid) };
  };
  const getNow = <T>(sql: string, params: readonly unknown[] = []): T | undefined => {
    const s = prepare(sql);
    if (!s.reader) {
      s.run(...bindable(params, numbered.has(s)));
      return undefined;
    }
    return s.get(...bindable(params, numbered.has(s))) as T | undefined;
  };
  const allNow = <T>(sql: string, params: readonly unknown[] = []): T[] => {
    const s = prepare(sql);
    if (!s.reader) {
      s.run(...bindable(params, numbered.has(s)));
      return [];
    }
    return s.all(...bindable(params, numbered.has(s))) as T[];
  };
  const execNow = (sql: string): void => {
    if (watchers.size > 0) for (const w of watchers) w(sql);
    raw.exec(sql);
  };
  const tx = <T>(fn: () => T): T => raw.transaction(fn).immediate();
  const db: Db = {
    raw,
    file,
    prepare,
    runNow,
    getNow,
    allNow,
    execNow,
    tx,
    onStatement: (fn) => {
      watchers.add(fn);
      return () => watchers.delete(fn);
    },
    run: (sql, params) => settled(() => runNow(sql, params)),
    get: <T>(sql: string, params?: readonly unknown[]) => settled(() => getNow<T>(sql, params)),
    all: <T>(sql: string, params?: readonly unknown[]) => settled(() => allNow<T>(sql, params)),
    exec: (sql) => settled(() => execNow(sql)),
    close: () =>
      settled(() => {
        cache.clear();
        raw.close();
      }),
  };
  if (!opts.readonly) {
    // A PRAGMA takes no bound parameters: its value comes from this fixed set, never from input.
    const sync = SYNCHRONOUS[opts.synchronous ?? 'FULL'];
    if (!sync) {
      raw.close();
      throw new RangeError(`synchronous: must be FULL or NORMAL`);
    }
    raw.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${sync}; PRAGMA foreign_keys = ON;`);
  }
  raw.exec(`PRAGMA cache_size = ${CACHE_SIZE}`);
  return db;
}

/** Applies migrations numbered from 1 that the file has not seen yet, each in its own transaction. */
export async function migrate(db: Db, migrations: readonly string[]): Promise<void> {
  migrateNow(db, migrations);
}

export function migrateNow(db: Db, migrations: readonly string[]): void {
  const have = db.raw.pragma('user_version', { simple: true }) as number;
  if (!Number.isSafeInteger(have) || have < 0) throw new Error(`${db.file}: user_version ${String(have)} is not a migration number`);
  for (let i = have; i < migrations.length; i++) {
    // The migration text is code; the version is an integer this loop made (PRAGMA binds nothing).
    // A failing migration is rolled back whole, user_version included.
    db.tx(() => {
      db.raw.exec(migrations[i]!);
      db.raw.exec(`PRAGMA user_version = ${i + 1}`);
    });
  }
}
