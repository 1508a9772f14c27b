/**
 * gateway/db: a writer thread that dies refuses what it held (nothing of it committed), refuses
 * new requests at once while it is down, and comes back with every connection open again under
 * the same ids; one that cannot come back gives up after its bounded restarts. A rarely used
 * writer (LazyWriter) runs only around its writes. Real SQLite files and real worker threads.
 */
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openDb, migrate } from '../../../../gateway/db/sqlite.js';
import { DbOwner, OwnerError, WRITER_DOWN } from '../../../../gateway/db/owner.js';
import { LazyWriter } from '../../../../gateway/db/lazyWriter.js';
import { tempDir } from '../../../helpers/tmp.js';

const INSERT = 'INSERT INTO t (k) VALUES (?)';

async function makeFile(file: string): Promise<void> {
  const db = await openDb(file);
  await migrate(db, ['CREATE TABLE t (k TEXT PRIMARY KEY)']);
  await db.close();
}

describe('a writer thread that dies', () => {
  let tmp: ReturnType<typeof tempDir>;
  let owner: DbOwner | null = null;
  beforeEach(() => {
    tmp = tempDir('storegw-owner-');
  });
  afterEach(async () => {
    await owner?.stop();
    owner = null;
    vi.useRealTimers();
    tmp.remove();
  });

  it('fails what it held, refuses while down, then serves the same connection again', async () => {
    const file = path.join(tmp.dir, 'a.db');
    await makeFile(file);
    const exits: (number | null)[] = [];
    let restarted!: () => void;
    const back = new Promise<void>((r) => (restarted = r));
    owner = new DbOwner({ testExitAt: { nth: 2, sql: INSERT }, restartBaseMs: 20, onExit: (e) => exits.push(e.restartInMs), onRestarted: () => restarted() });
    owner.start();
    const c = await owner.open(file);
    await c.steps([{ sql: INSERT, rows: [['before']] }], true);
    const died = await c.steps([{ sql: INSERT, rows: [['dying']] }], true).catch((e: unknown) => e);
    expect(died).toBeInstanceOf(OwnerError);
    expect((died as OwnerError).code).toBe(WRITER_DOWN);
    expect(owner.state).toBe('restarting');
    // Down: refused at once with the same clear error, not queued.
    const refused = await c.get('SELECT COUNT(*) AS n FROM t').catch((e: unknown) => e);
    expect((refused as OwnerError).code).toBe(WRITER_DOWN);
    await back;
    expect(owner.state).toBe('up');
    expect(exits).toEqual([20]);
    expect({ exits: owner.exits, restarts: owner.restarts }).toEqual({ exits: 1, restarts: 1 });
    // The transaction that died rolled back; the committed row survived; the old connection id works.
    expect(await c.all('SELECT k FROM t ORDER BY k')).toEqual([{ k: 'before' }]);
    await c.steps([{ sql: INSERT, rows: [['after']] }], true);
    expect(await c.all('SELECT k FROM t ORDER BY k')).toEqual([{ k: 'after' }, { k: 'before' }]);
  });

  it('gives up after its bounded restarts when the file cannot be opened again', async () => {
    const file = path.join(tmp.dir, 'b.db');
    await makeFile(file);
    let gaveUp!: (e: Error) => void;
    const failed = new Promise<Error>((r) => (gaveUp = r));
    const delays: (number | null)[] = [];
    owner = new DbOwner({ testExitAt: { nth: 1, sql: INSERT }, maxRestarts: 3, restartBaseMs: 5, onExit: (e) => delays.push(e.restartInMs), onGaveUp: ({ error }) => gaveUp(error) });
    owner.start();
    const c = await owner.open(file);
    rmSync(file);
    await expect(c.steps([{ sql: INSERT, rows: [['x']] }], true)).rejects.toThrow(/SGW_ERR_DB_WRITER_DOWN/);
    expect((await failed).message).toMatch(/unable to open|SQLITE_CANTOPEN/i);
    // Backoff doubles per failed attempt; the last death has no restart left.
    expect(delays).toEqual([5, 10, 20, null]);
    expect(owner.state).toBe('failed');
    await expect(c.get('SELECT 1')).rejects.toThrow(/SGW_ERR_DB_WRITER_DOWN/);
  });
});

describe('LazyWriter', () => {
  it('starts its thread at the first write and stops it once idle', async () => {
    const tmp = tempDir('storegw-lazy-');
    const file = path.join(tmp.dir, 'c.db');
    await makeFile(file);
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const w = new LazyWriter(file, { idleMs: 30_000 });
    try {
      expect(w.running).toBe(false);
      await w.steps([{ sql: INSERT, rows: [['a']] }], true);
      expect({ running: w.running, starts: w.starts }).toEqual({ running: true, starts: 1 });
      await w.steps([{ sql: INSERT, rows: [['b']] }], true);
      expect(w.starts).toBe(1);
      vi.advanceTimersByTime(30_000);
      expect(w.running).toBe(false);
      const [r] = await w.steps([{ sql: 'SELECT k FROM t ORDER BY k', rows: [[]], mode: 'all' }], false);
      expect(r!.rows).toEqual([{ k: 'a' }, { k: 'b' }]);
      expect(w.starts).toBe(2);
    } finally {
      vi.useRealTimers();
      await w.stop();
      tmp.remove();
    }
  });
});
