/**
 * The batches sent to HQ and not yet acknowledged by its ingest (`hq.delivery: ingest-ack`), over
 * the outbox file (migration 8): an in-flight batch's rows stay in `events` with its `batch_id`,
 * and `hq_batches` keeps its header line and digest, so it can be re-sent byte for byte and an
 * acknowledgement checked against exactly what was sent. Every change is one transaction on the
 * outbox's writer connection; nothing is cached in memory, so `storegw outbox export` (another
 * process) may register batches while the gateway runs.
 */
import type { OwnerConnection } from '../db/owner.js';
import type { BatchHeader, BatchRecord } from '../protocol/envelopes.js';
import type { OutboxCounts } from '../outbox/counts.js';
import { toBatchRecordRow, type Row } from './store.js';

const COLUMNS = 'seq, seq_from, cls, kind, device_id, type, ts, recv_ts, boot_id, mono_ms, data';

/** One batch awaiting HQ's acknowledgement. */
export interface InflightBatch {
  batchId: string;
  seqFrom: number;
  seqTo: number;
  records: number;
  digest: string;
  /** The header line exactly as sent (JSON text, no newline). */
  header: string;
  sentAt: number;
  attempts: number;
  /** `uplink` (published) or `export` (written by `storegw outbox export`). */
  via: string;
}

interface BatchRow {
  batch_id: string;
  seq_from: number;
  seq_to: number;
  records: number;
  digest: string;
  header: string;
  sent_at: number;
  attempts: number;
  via: string;
}

const SELECT_BATCH = 'SELECT batch_id, seq_from, seq_to, records, digest, header, sent_at, attempts, via FROM hq_batches';
const RAISE_SEQ = "UPDATE meta SET v = ?1 WHERE k = 'seq' AND v < ?1";
/**
 * Accepted ack versions kept to recognise a replay. Acks of HQ's workers arrive out of order, but
 * not by thousands of versions; below the kept ones, `ackFloor` (in meta) says "seen": a late
 * genuine ack refused that way costs only a re-send, which HQ acknowledges again.
 */
const KEEP_VERSIONS = 10_000;
const PRUNE_EVERY = 256;
const RAISE_FLOOR = `INSERT INTO meta (k, v) SELECT 'ackFloor', version FROM (SELECT version FROM hq_ack_versions ORDER BY version DESC LIMIT 1 OFFSET ?) WHERE true
  ON CONFLICT (k) DO UPDATE SET v = MAX(v, excluded.v)`;
const PRUNE = "DELETE FROM hq_ack_versions WHERE version <= (SELECT v FROM meta WHERE k = 'ackFloor')";

function batchOf(r: BatchRow): InflightBatch {
  return { batchId: r.batch_id, seqFrom: r.seq_from, seqTo: r.seq_to, records: r.records, digest: r.digest, header: r.header, sentAt: r.sent_at, attempts: r.attempts, via: r.via };
}

export class DeliveryStore {
  private acksSincePrune = PRUNE_EVERY;

  constructor(
    private readonly conn: () => OwnerConnection,
    private readonly counts?: OutboxCounts,
  ) {}

  /** One transaction: the rows carry the batch id and the batch is recorded as awaiting its ack. */
  async register(header: BatchHeader, headerLine: string, digest: string, seqs: readonly number[], sentAt: number, via: string): Promise<void> {
    await this.conn().steps(
      [
        { sql: 'UPDATE events SET batch_id = ? WHERE seq = ?', rows: seqs.map((s) => [header.batchId, s]) },
        {
          sql: `INSERT INTO hq_batches (batch_id, seq_from, seq_to, records, digest, header, sent_at, attempts, via) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)
                ON CONFLICT (batch_id) DO UPDATE SET digest = excluded.digest, header = excluded.header, records = excluded.records, sent_at = excluded.sent_at, attempts = attempts + 1, via = excluded.via`,
          rows: [[header.batchId, header.seqFrom, header.seqTo, header.records, digest, headerLine, sentAt, via]],
        },
      ],
      true,
    );
  }

  async get(batchId: string): Promise<InflightBatch | null> {
    const [r] = await this.conn().all<BatchRow>(`${SELECT_BATCH} WHERE batch_id = ?`, [batchId]);
    return r ? batchOf(r) : null;
  }

  /** Batches whose last send is older than `before`, oldest first. */
  async due(before: number, limit: number): Promise<InflightBatch[]> {
    return (await this.conn().all<BatchRow>(`${SELECT_BATCH} WHERE sent_at <= ? ORDER BY seq_from LIMIT ?`, [before, limit])).map(batchOf);
  }

  /** How many batches await an ack, and how many records they hold. */
  async inflight(): Promise<{ batches: number; records: number }> {
    const [r] = await this.conn().all<{ n: number; recs: number | null }>('SELECT COUNT(*) AS n, SUM(records) AS recs FROM hq_batches');
    return { batches: r?.n ?? 0, records: r?.recs ?? 0 };
  }

  /** A batch's rows as wire records, in seq order (byte-identical to what was sent). */
  async records(batchId: string): Promise<BatchRecord[]> {
    return (await this.conn().all<Row>(`SELECT ${COLUMNS} FROM events WHERE batch_id = ? ORDER BY seq`, [batchId])).map(toBatchRecordRow);
  }

  /** After a re-send's PUBACK. */
  async resent(batchId: string, at: number): Promise<void> {
    await this.conn().steps([{ sql: 'UPDATE hq_batches SET sent_at = ?, attempts = attempts + 1 WHERE batch_id = ?', rows: [[at, batchId]] }], true);
  }

  /** A batch that can no longer be sent as it was (the quota took rows): its rows go out afresh. */
  async release(batchId: string): Promise<void> {
    await this.conn().steps(
      [
        { sql: 'UPDATE events SET batch_id = NULL WHERE batch_id = ?', rows: [[batchId]] },
        { sql: 'DELETE FROM hq_batches WHERE batch_id = ?', rows: [[batchId]] },
      ],
      true,
    );
  }

  /** Every batch awaiting an ack goes back to plain rows (hq.delivery switched to broker-puback). */
  async releaseAll(): Promise<number> {
    const [, gone] = await this.conn().steps(
      [
        { sql: 'UPDATE events SET batch_id = NULL WHERE batch_id IS NOT NULL', rows: [[]] },
        { sql: 'DELETE FROM hq_batches', rows: [[]] },
      ],
      true,
    );
    return gone!.changes;
  }

  /** Was this ack version accepted before (a replay)? */
  async accepted(version: number): Promise<boolean> {
    const [r] = await this.conn().all<{ seen: number }>("SELECT EXISTS (SELECT 1 FROM hq_ack_versions WHERE version = ?) OR ? <= COALESCE((SELECT v FROM meta WHERE k = 'ackFloor'), -1) AS seen", [version, version]);
    return (r?.seen ?? 0) === 1;
  }

  /**
   * One transaction: the batch's rows leave the outbox, the batch is no longer in flight, and the
   * ack's version is kept (a replay of it is refused). Returns the rows deleted.
   */
  async acknowledge(b: InflightBatch, version: number, at: number): Promise<number> {
    const [gone] = await this.conn().steps(
      [
        { sql: 'DELETE FROM events WHERE batch_id = ? RETURNING cls', rows: [[b.batchId]], mode: 'all' },
        { sql: 'DELETE FROM hq_batches WHERE batch_id = ?', rows: [[b.batchId]] },
        { sql: 'INSERT INTO hq_ack_versions (version, batch_id, at) VALUES (?, ?, ?)', rows: [[version, b.batchId, at]] },
        { sql: RAISE_SEQ, rows: [[b.seqTo]] },
        ...(++this.acksSincePrune >= PRUNE_EVERY ? [{ sql: RAISE_FLOOR, rows: [[KEEP_VERSIONS]] }, { sql: PRUNE, rows: [[]] }] : []),
      ],
      true,
    );
    if (this.acksSincePrune >= PRUNE_EVERY) this.acksSincePrune = 0;
    const classes = (gone!.rows as { cls: string }[]).map((r) => r.cls);
    this.counts?.addEach(classes, -1);
    return classes.length;
  }

  /** The time of the last accepted ack, or null. */
  async lastAckAt(): Promise<number | null> {
    const [r] = await this.conn().all<{ at: number | null }>('SELECT MAX(at) AS at FROM hq_ack_versions');
    return r?.at ?? null;
  }
}
