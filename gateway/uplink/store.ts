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
 * It reads and writes through the outbox's writer thread (db/owner.ts), the one connection that
 * writes outbox.db: requests are answered one at a time in the order sent, so no caller sees
 * another's change half-done and no two writers wait for each other's lock. A store made without
 * that connection (tools, tests) starts a writer thread of its own.
 */
import { DbOwner, type OwnerConnection, type Step } from '../db/owner.js';
import type { BatchRecord, EventClass, OutboxRecord } from '../protocol/envelopes.js';
import type { DeviceKind } from '../protocol/topics.js';
import { outboxRecordOf, type EventRow } from '../outbox/store.js';
import { OutboxCounts } from '../outbox/counts.js';

export interface Row extends EventRow {
  seq_from: number | null;
}

const COLUMNS = 'seq, seq_from, cls, kind, device_id, type, ts, recv_ts, boot_id, mono_ms, data';

const INSERT_COMPACT = `INSERT INTO events (seq, seq_from, cls, kind, device_id, type, ts, recv_ts, boot_id, mono_ms, data)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;
// The seq high-water mark (outbox/store.ts lastSeq: max of this and MAX(seq)) is raised by every
// transaction that deletes rows, in that transaction, so a seq is never reused even after the
// outbox was emptied; appends then need no statement of their own for it.
const RAISE_SEQ = "UPDATE meta SET v = ?1 WHERE k = 'seq' AND v < ?1";
const DELETE_SEQ = 'DELETE FROM events WHERE seq = ? RETURNING cls';
/** A window's raw rows are all of one class: counted by `changes`, no row comes back to JS. */
const DELETE_RAW = 'DELETE FROM events WHERE seq = ?';
// The `n` oldest rows of a class (?1 = class, ?2 = n): the mark rises to the highest of them
// (COALESCE: no rows, no change), then they go, each returning what the eviction reports.
const OLDEST = 'SELECT seq FROM events WHERE cls = ?1 ORDER BY seq LIMIT ?2';
const RAISE_SEQ_OLDEST = `UPDATE meta SET v = MAX(v, COALESCE((SELECT MAX(seq) FROM (${OLDEST})), 0)) WHERE k = 'seq'`;
const DELETE_OLDEST = `DELETE FROM events WHERE seq IN (${OLDEST}) RETURNING seq, seq_from`;

export interface Eviction {
  cls: EventClass;
  count: number;
  /** Lowest raw seq the evicted rows covered (a compact row's seq_from). */
  seqFrom: number;
  seqTo: number;
}

export class UplinkStore {
  private conn!: OwnerConnection;
  private ownOwner: DbOwner | null = null;
  /**
   * `counts` are the outbox's per-class row counts (OutboxStore.counts): every change committed
   * here moves them, so nobody has to count the table again. Without them (a store opened on its
   * own, as in tools and tests), summary() counts the table. `writer`: the outbox's writer
   * connection (OutboxStore.writer).
   */
  constructor(
    private readonly file: string,
    private readonly shared?: OutboxCounts,
    private readonly writer?: OwnerConnection | null,
  ) {
    this.counts = shared ?? new OutboxCounts();
  }

  private readonly counts: OutboxCounts;

  /** Opens the outbox file (already migrated by the outbox store, which starts first). */
  async start(): Promise<void> {
    if (this.writer) {
      this.conn = this.writer;
      return;
    }
    this.ownOwner = new DbOwner();
    this.ownOwner.start();
    this.conn = await this.ownOwner.open(this.file, { synchronous: 'FULL' });
  }

  /** The connection this store writes through (started). */
  get connection(): OwnerConnection {
    return this.conn;
  }

  async stop(): Promise<void> {
    if (this.ownOwner) await this.ownOwner.stop();
    this.ownOwner = null;
  }

  /**
   * Raw (not yet compacted) rows of a non-exact class whose window is closed: from another boot,
   * or older than `monoCutoff` on this boot's monotonic clock. In seq order.
   */
  async rawClosed(cls: EventClass, bootId: string, monoCutoff: number, limit: number): Promise<OutboxRecord[]> {
    const rows = await this.conn.all<Row>(
      `SELECT ${COLUMNS} FROM events WHERE cls = ?1 AND seq_from IS NULL AND (boot_id != ?2 OR mono_ms < ?3) ORDER BY seq LIMIT ?4`,
      [cls, bootId, monoCutoff, limit],
    );
    return rows.map(outboxRecordOf);
  }

  /** In one transaction: delete the raw seqs, insert their compact records. */
  async replaceWithCompact(cls: EventClass, rawSeqs: readonly number[], compact: readonly BatchRecord[]): Promise<void> {
    // The write lock is held from BEGIN IMMEDIATE to COMMIT and every group commit queues behind
    // it on the writer thread: keep it short.
    const steps: Step[] = [
      { sql: DELETE_RAW, rows: rawSeqs.map((s) => [s]) },
      { sql: RAISE_SEQ, rows: [[maxOf(rawSeqs)]] },
    ];
    if (compact.length > 0) {
      steps.push({ sql: INSERT_COMPACT, rows: compact.map((r) => [r.seq, r.seqFrom ?? r.seq, r.class, r.kind, r.deviceId, r.type, r.ts, r.recvTs ?? 0, r.bootId ?? '', r.monoMs ?? 0, JSON.stringify(r.data)]) });
    }
    const [del] = await this.conn.steps(steps, true);
    this.counts.add(cls, -del!.changes);
    this.counts.addEach(compact.map((r) => r.class), 1);
  }

  /**
   * Sendable rows of one class in seq order: every exact row; compacted rows of the other classes.
   * A row of a batch awaiting HQ's ingest ack (deliveryStore.ts) is not sent again as new, unless
   * `awaitingToo` (broker-puback: nothing waits for an ingest ack there). Only seqs above `afterSeq`.
   */
  async sendable(cls: EventClass, limit: number, awaitingToo = false, afterSeq = -1): Promise<BatchRecord[]> {
    const free = awaitingToo ? '' : ' AND batch_id IS NULL';
    const where = (cls === 'exact' ? 'cls = ?1' : 'cls = ?1 AND seq_from IS NOT NULL') + free + ' AND seq > ?3';
    const rows = await this.conn.all<Row>(`SELECT ${COLUMNS} FROM events WHERE ${where} ORDER BY seq LIMIT ?2`, [cls, limit, afterSeq]);
    return rows.map(toBatchRecordRow);
  }

  /** One transaction: the seqs HQ acknowledged leave the outbox. */
  async deleteSeqs(seqs: readonly number[]): Promise<number> {
    if (seqs.length === 0) return 0;
    const [gone] = await this.conn.steps([{ sql: DELETE_SEQ, rows: seqs.map((s) => [s]), mode: 'all' }, { sql: RAISE_SEQ, rows: [[maxOf(seqs)]] }], true);
    const classes = (gone!.rows as { cls: string }[]).map((r) => r.cls);
    this.counts.addEach(classes, -1);
    return classes.length;
  }

  /** Evicts the `n` oldest rows of a class (raw or compacted) in one transaction; null when none. */
  async evictOldest(cls: EventClass, n: number): Promise<Eviction | null> {
    // The high-water mark first (to the highest seq about to go), then the rows themselves.
    const [, gone] = await this.conn.steps([{ sql: RAISE_SEQ_OLDEST, rows: [[cls, n]] }, { sql: DELETE_OLDEST, rows: [[cls, n]], mode: 'all' }], true);
    const rows = gone!.rows as { seq: number; seq_from: number | null }[];
    if (rows.length === 0) return null;
    let lo = Infinity;
    let hi = 0;
    for (const r of rows) {
      lo = Math.min(lo, r.seq_from ?? r.seq);
      hi = Math.max(hi, r.seq);
    }
    this.counts.add(cls, -rows.length);
    return { cls, count: rows.length, seqFrom: lo, seqTo: hi };
  }

  /** Bytes the outbox's live pages take (freed pages are reused by SQLite, so they do not count). */
  async usedBytes(): Promise<number> {
    const [pc, fl, ps] = await this.conn.steps([{ sql: 'PRAGMA page_count', rows: [[]], mode: 'all' }, { sql: 'PRAGMA freelist_count', rows: [[]], mode: 'all' }, { sql: 'PRAGMA page_size', rows: [[]], mode: 'all' }], false);
    const v = <K extends string>(r: { rows: unknown[] } | undefined, k: K): number | undefined => (r?.rows[0] as Record<K, number> | undefined)?.[k];
    return ((v(pc, 'page_count') ?? 0) - (v(fl, 'freelist_count') ?? 0)) * (v(ps, 'page_size') ?? 4096);
  }

  /**
   * Rows per class (from the counts), and the gateway time of the oldest row (null when empty;
   * one step down the primary key, not a scan).
   */
  async summary(): Promise<{ rows: Record<string, number>; total: number; oldestRecvTs: number | null }> {
    const [oldest] = await this.conn.all<{ recv_ts: number }>('SELECT recv_ts FROM events ORDER BY seq LIMIT 1');
    let counts = this.shared;
    if (!counts) {
      counts = new OutboxCounts();
      counts.reset(await this.conn.all<{ cls: string; n: number }>('SELECT cls, COUNT(*) AS n FROM events GROUP BY cls'));
    }
    return { rows: counts.snapshot(), total: counts.total, oldestRecvTs: oldest?.recv_ts ?? null };
  }
}

function maxOf(seqs: readonly number[]): number {
  let m = 0;
  for (const s of seqs) if (s > m) m = s;
  return m;
}

/** A row as a wire record; the key order is fixed, so a re-sent record is byte-identical. */
export function toBatchRecordRow(r: Row): BatchRecord {
  const base: BatchRecord = { seq: r.seq, class: r.cls, kind: r.kind, deviceId: r.device_id, type: r.type, ts: r.ts, recvTs: r.recv_ts, bootId: r.boot_id, monoMs: r.mono_ms, data: JSON.parse(r.data) as Record<string, unknown> };
  return r.seq_from === null ? base : { seq: r.seq, seqFrom: r.seq_from, ...stripSeq(base) };
}

function stripSeq(b: BatchRecord): Omit<BatchRecord, 'seq'> {
  const { seq: _seq, ...rest } = b;
  return rest;
}
