/**
 * The uplink's repository over the outbox file (the `events` table of outbox/store.ts, migration 2
 * adds `seq_from`): what the compactor, the uplink and the quota read and replace. Every change
 * that must not be seen half-done is one transaction:
 * - compaction replaces a window's raw rows by their compact records (same seq space: a compact
 *   record keeps the highest raw seq it covers, so no seq is ever reused);
 * - the uplink deletes a batch's seqs once HQ acknowledged it;
 * - the quota evicts the oldest rows of one class and reports what it took.
 * A crash between any two of these leaves either the old or the new rows, never a mix.
 *
 * It opens its own connection to the file: a transaction belongs to a connection, and ingest's
 * group commit runs its own on the outbox store's connection at any moment (WAL lets both work;
 * writers take turns under busy_timeout).
 */
import { openDb, type Db } from '../db/sqlite.js';
import type { BatchRecord, EventClass, OutboxRecord } from '../protocol/envelopes.js';
import type { DeviceKind } from '../protocol/topics.js';
import { outboxRecordOf, type EventRow } from '../outbox/store.js';
import { OutboxCounts } from '../outbox/counts.js';

interface Row extends EventRow {
  seq_from: number | null;
}

const COLUMNS = 'seq, seq_from, cls, kind, device_id, type, ts, recv_ts, boot_id, mono_ms, data';

const INSERT_COMPACT = `INSERT INTO events (seq, seq_from, cls, kind, device_id, type, ts, recv_ts, boot_id, mono_ms, data)
  SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6, value->>7, value->>8, value->>9, value->>10
  FROM json_each(?1)`;
// The seq high-water mark (outbox/store.ts lastSeq: max of this and MAX(seq)) is raised by every
// transaction that deletes rows, in that transaction, so a seq is never reused even after the
// outbox was emptied; appends then need no statement of their own for it.
const RAISE_SEQ = "UPDATE meta SET v = ?1 WHERE k = 'seq' AND v < ?1";
const DELETE_SEQS = 'DELETE FROM events WHERE seq IN (SELECT value FROM json_each(?1)) RETURNING cls';
/** A window's raw rows are all of one class: counted by `changes`, no row comes back to JS. */
const DELETE_RAW = 'DELETE FROM events WHERE seq IN (SELECT value FROM json_each(?1))';

export interface Eviction {
  cls: EventClass;
  count: number;
  /** Lowest raw seq the evicted rows covered (a compact row's seq_from). */
  seqFrom: number;
  seqTo: number;
}

export class UplinkStore {
  private db!: Db;
  private queue: Promise<unknown> = Promise.resolve();
  /**
   * `counts` are the outbox's per-class row counts (OutboxStore.counts): every change committed
   * here moves them, so nobody has to count the table again. Without them (a store opened on its
   * own, as in tools and tests), summary() counts the table.
   */
  constructor(
    private readonly file: string,
    private readonly shared?: OutboxCounts,
  ) {
    this.counts = shared ?? new OutboxCounts();
  }

  private readonly counts: OutboxCounts;

  /** Opens the outbox file (already migrated by the outbox store, which starts first). */
  async start(): Promise<void> {
    this.db = await openDb(this.file, { synchronous: 'FULL' });
  }

  async stop(): Promise<void> {
    if (this.db) await this.db.close();
  }

  /**
   * Raw (not yet compacted) rows of a non-exact class whose window is closed: from another boot,
   * or older than `monoCutoff` on this boot's monotonic clock. In seq order.
   */
  async rawClosed(cls: EventClass, bootId: string, monoCutoff: number, limit: number): Promise<OutboxRecord[]> {
    const rows = await this.serial(() => this.db.all<Row>(
      `SELECT ${COLUMNS} FROM events WHERE cls = ?1 AND seq_from IS NULL AND (boot_id != ?2 OR mono_ms < ?3) ORDER BY seq LIMIT ?4`,
      [cls, bootId, monoCutoff, limit],
    ));
    return rows.map(outboxRecordOf);
  }

  /** In one transaction: delete the raw seqs, insert their compact records. */
  async replaceWithCompact(cls: EventClass, rawSeqs: readonly number[], compact: readonly BatchRecord[]): Promise<void> {
    const rows = compact.map((r) => [r.seq, r.seqFrom ?? r.seq, r.class, r.kind, r.deviceId, r.type, r.ts, r.recvTs ?? 0, r.bootId ?? '', r.monoMs ?? 0, JSON.stringify(r.data)]);
    let gone = 0;
    // The write lock is held from BEGIN IMMEDIATE to COMMIT, and every device's commit waits behind
    // it (in SQLite's busy handler, which sleeps in steps of up to 100 ms): keep it short.
    await this.tx(async () => {
      gone = (await this.db.run(DELETE_RAW, [JSON.stringify(rawSeqs)])).changes;
      await this.db.run(RAISE_SEQ, [maxOf(rawSeqs)]);
      if (rows.length > 0) await this.db.run(INSERT_COMPACT, [JSON.stringify(rows)]);
    });
    this.counts.add(cls, -gone);
    this.counts.addEach(compact.map((r) => r.class), 1);
  }

  /** Sendable rows of one class in seq order: every exact row; compacted rows of the other classes. */
  async sendable(cls: EventClass, limit: number): Promise<BatchRecord[]> {
    const where = cls === 'exact' ? "cls = 'exact'" : 'cls = ?1 AND seq_from IS NOT NULL';
    const rows = await this.serial(() => this.db.all<Row>(`SELECT ${COLUMNS} FROM events WHERE ${where} ORDER BY seq LIMIT ?2`, [cls, limit]));
    return rows.map(toBatchRecordRow);
  }

  /** One transaction: the seqs HQ acknowledged leave the outbox. */
  async deleteSeqs(seqs: readonly number[]): Promise<number> {
    if (seqs.length === 0) return 0;
    let gone: { cls: string }[] = [];
    await this.tx(async () => {
      gone = await this.db.all<{ cls: string }>(DELETE_SEQS, [JSON.stringify(seqs)]);
      await this.db.run(RAISE_SEQ, [maxOf(seqs)]);
    });
    this.counts.addEach(gone.map((r) => r.cls), -1);
    return gone.length;
  }

  /** Evicts the `n` oldest rows of a class (raw or compacted) in one transaction; null when none. */
  async evictOldest(cls: EventClass, n: number): Promise<Eviction | null> {
    let out: Eviction | null = null;
    await this.tx(async () => {
      const r = await this.db.get<{ n: number; lo: number | null; hi: number | null }>(
        `SELECT COUNT(*) AS n, MIN(COALESCE(seq_from, seq)) AS lo, MAX(seq) AS hi FROM (SELECT seq, seq_from FROM events WHERE cls = ?1 ORDER BY seq LIMIT ?2)`,
        [cls, n],
      );
      if (!r || r.n === 0 || r.hi === null || r.lo === null) return;
      const gone = await this.db.run('DELETE FROM events WHERE cls = ?1 AND seq <= ?2', [cls, r.hi]);
      await this.db.run(RAISE_SEQ, [r.hi]);
      out = { cls, count: gone.changes, seqFrom: r.lo, seqTo: r.hi };
    });
    if (out) this.counts.add(cls, -(out as Eviction).count);
    return out;
  }

  /** Bytes the outbox's live pages take (freed pages are reused by SQLite, so they do not count). */
  usedBytes(): Promise<number> {
    return this.serial(() => this.usedBytesNow());
  }

  private async usedBytesNow(): Promise<number> {
    const pc = await this.db.get<{ page_count: number }>('PRAGMA page_count');
    const fl = await this.db.get<{ freelist_count: number }>('PRAGMA freelist_count');
    const ps = await this.db.get<{ page_size: number }>('PRAGMA page_size');
    return ((pc?.page_count ?? 0) - (fl?.freelist_count ?? 0)) * (ps?.page_size ?? 4096);
  }

  /**
   * Rows per class (from the counts), and the gateway time of the oldest row (null when empty;
   * one step down the primary key, not a scan).
   */
  async summary(): Promise<{ rows: Record<string, number>; total: number; oldestRecvTs: number | null }> {
    const oldest = await this.serial(() => this.db.get<{ recv_ts: number }>('SELECT recv_ts FROM events ORDER BY seq LIMIT 1'));
    let counts = this.shared;
    if (!counts) {
      counts = new OutboxCounts();
      counts.reset(await this.serial(() => this.db.all<{ cls: string; n: number }>('SELECT cls, COUNT(*) AS n FROM events GROUP BY cls')));
    }
    return { rows: counts.snapshot(), total: counts.total, oldestRecvTs: oldest?.recv_ts ?? null };
  }

  /**
   * One transaction at a time on this connection: the compactor, the uplink and the quota call in
   * concurrently, and SQLite transactions do not nest. Reads go through the same queue, so none
   * sees another caller's transaction half-done.
   */
  private tx(fn: () => Promise<void>): Promise<void> {
    return this.serial(async () => {
      await this.db.exec('BEGIN IMMEDIATE');
      try {
        await fn();
        await this.db.exec('COMMIT');
      } catch (err) {
        await this.db.exec('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function maxOf(seqs: readonly number[]): number {
  let m = 0;
  for (const s of seqs) if (s > m) m = s;
  return m;
}

/** A row as a wire record; the key order is fixed, so a re-sent record is byte-identical. */
function toBatchRecordRow(r: Row): BatchRecord {
  const base: BatchRecord = { seq: r.seq, class: r.cls, kind: r.kind, deviceId: r.device_id, type: r.type, ts: r.ts, recvTs: r.recv_ts, bootId: r.boot_id, monoMs: r.mono_ms, data: JSON.parse(r.data) as Record<string, unknown> };
  return r.seq_from === null ? base : { seq: r.seq, seqFrom: r.seq_from, ...stripSeq(base) };
}

function stripSeq(b: BatchRecord): Omit<BatchRecord, 'seq'> {
  const { seq: _seq, ...rest } = b;
  return rest;
}
