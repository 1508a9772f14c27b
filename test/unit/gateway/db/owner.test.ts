/**
 * gateway/db: a store file is created owner-only, its migrations run once each, values bind as
 * parameters (numbered ones too), a transaction on the writer thread commits whole or not at all,
 * and an error from that thread keeps SQLite's code. Real SQLite files in a temp folder.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDb, migrate } from '../../../../gateway/db/sqlite.js';
import { openOwned, OwnerError, type OwnedFile } from '../../../../gateway/db/owner.js';
import { tempDir } from '../../../helpers/tmp.js';

const MIGRATIONS = ['CREATE TABLE t (k TEXT PRIMARY KEY, v INTEGER NOT NULL)', 'ALTER TABLE t ADD COLUMN note TEXT'];

describe('gateway/db', () => {
  let tmp: ReturnType<typeof tempDir>;
  let owned: OwnedFile | null = null;
  beforeEach(() => {
    tmp = tempDir('storegw-db-');
  });
  afterEach(async () => {
    await owned?.close();
    owned = null;
    tmp.remove();
  });

  it('creates the file 0600 and runs each migration once, in order', async () => {
    const file = path.join(tmp.dir, 'a.db');
    const db = await openDb(file);
    await migrate(db, MIGRATIONS);
    await migrate(db, MIGRATIONS);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(db.getNow<{ user_version: number }>('PRAGMA user_version')).toEqual({ user_version: 2 });
    await db.run('INSERT INTO t (k, v, note) VALUES (?, ?, ?)', ["a'); DROP TABLE t; --", true, undefined]);
    expect(await db.all('SELECT k, v, note FROM t')).toEqual([{ k: "a'); DROP TABLE t; --", v: 1, note: null }]);
    await db.close();
  });

  it("every connection keeps SQLite's 2 MB page cache, not better-sqlite3's 16 MB", async () => {
    const db = await openDb(path.join(tmp.dir, 'd.db'));
    expect(db.getNow('PRAGMA cache_size')).toEqual({ cache_size: -2000 });
    await db.close();
    owned = await openOwned(path.join(tmp.dir, 'e.db'), MIGRATIONS, { ownThread: true });
    expect(await owned.conn.get('PRAGMA cache_size')).toEqual({ cache_size: -2000 });
  });

  it('a failing migration leaves the file at the version before it', async () => {
    const db = await openDb(path.join(tmp.dir, 'b.db'));
    await expect(migrate(db, [MIGRATIONS[0]!, 'CREATE TABLE t (x)'])).rejects.toThrow(/already exists/);
    expect(db.getNow<{ user_version: number }>('PRAGMA user_version')).toEqual({ user_version: 1 });
    await db.close();
  });

  it('the writer thread: numbered parameters, one transaction per request, SQLite codes kept', async () => {
    owned = await openOwned(path.join(tmp.dir, 'c.db'), MIGRATIONS, { ownThread: true });
    const c = owned.conn;
    const [ins] = await c.steps([{ sql: 'INSERT INTO t (k, v) VALUES (?1, ?2) ON CONFLICT (k) DO UPDATE SET v = v + ?2', rows: [['a', 1], ['b', 2], ['a', 5]] }], true);
    expect(ins!.changes).toBe(3);
    expect(await c.all('SELECT k, v FROM t ORDER BY k')).toEqual([{ k: 'a', v: 6 }, { k: 'b', v: 2 }]);
    // The second step breaks the primary key: the first step's row is rolled back with it.
    const failed = await c.steps([{ sql: 'INSERT INTO t (k, v) VALUES (?, ?)', rows: [['c', 3]] }, { sql: 'INSERT INTO t (k, v) VALUES (?, ?)', rows: [['a', 0]] }], true).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(OwnerError);
    expect((failed as OwnerError).code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    expect((failed as OwnerError).message).toMatch(/^SQLITE_CONSTRAINT_PRIMARYKEY: UNIQUE constraint failed/);
    expect(await c.get('SELECT COUNT(*) AS n FROM t')).toEqual({ n: 2 });
    const [del] = await c.steps([{ sql: 'DELETE FROM t WHERE k = ? RETURNING v', rows: [['a'], ['zz']], mode: 'all' }], true);
    expect(del!.rows).toEqual([{ v: 6 }]);
  });
});
