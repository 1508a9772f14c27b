/**
 * openStore on real SQLite files in a temp folder: a new file is private from its first byte
 * (its WAL too), migrations run once each and in order, a failing one leaves the version where it
 * was, and a file from a newer gateway is refused untouched, naming the file and both versions.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../../../gateway/db/openStore.js';
import { openDb } from '../../../../gateway/db/sqlite.js';
import { tempDir } from '../../../helpers/tmp.js';

const V1 = 'CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)';
const V2 = 'ALTER TABLE t ADD COLUMN at INTEGER';

let tmp: ReturnType<typeof tempDir>;
let file: string;
let oldMask: number;
beforeEach(() => {
  tmp = tempDir('sgw-openstore-');
  file = path.join(tmp.dir, 'x.db');
  // The usual umask: without the helper, SQLite would create the file 0644.
  oldMask = process.umask(0o022);
});
afterEach(() => {
  process.umask(oldMask);
  tmp.remove();
});

const version = async (f: string) => {
  const db = await openDb(f, { readonly: true });
  try {
    return (await db.get<{ user_version: number }>('PRAGMA user_version'))!.user_version;
  } finally {
    await db.close();
  }
};

describe('openStore', () => {
  it('creates the file 0600, and its WAL with it, in WAL mode at the last migration', async () => {
    const db = await openStore(file, { synchronous: 'FULL', migrations: [V1, V2] });
    await db.run('INSERT INTO t (v, at) VALUES (?, ?)', ['a', 1]);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
    expect(await db.get('PRAGMA journal_mode')).toEqual({ journal_mode: 'wal' });
    await db.close();
    expect(await version(file)).toBe(2);
  });

  it('runs only the migrations the file has not seen, and keeps the rows', async () => {
    const a = await openStore(file, { migrations: [V1] });
    await a.run('INSERT INTO t (v) VALUES (?)', ['kept']);
    await a.close();
    const b = await openStore(file, { migrations: [V1, V2] });
    expect(await b.all('SELECT v, at FROM t')).toEqual([{ v: 'kept', at: null }]);
    await b.close();
    const c = await openStore(file, { migrations: [V1, V2] });
    await c.close();
    expect(await version(file)).toBe(2);
  });

  it('leaves the version where it was when a migration fails', async () => {
    await (await openStore(file, { migrations: [V1] })).close();
    await expect(openStore(file, { migrations: [V1, 'ALTER TABLE nope ADD COLUMN x INTEGER'] })).rejects.toThrow(/no such table: nope/);
    expect(await version(file)).toBe(1);
  });

  it('refuses a file a newer gateway migrated, naming it and both versions', async () => {
    await (await openStore(file, { migrations: [V1, V2] })).close();
    await expect(openStore(file, { migrations: [V1] })).rejects.toThrow(`${file}: schema version 2 is newer than this gateway knows (1)`);
    expect(await version(file)).toBe(2);
  });
});
