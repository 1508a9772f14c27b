/**
 * The ingest's PostgreSQL repository: one transaction per batch, the rejected batches, the stores'
 * reports. Values are always bind parameters; a batch goes in as one call of the
 * `ingest_store_batch` function with its records as one JSON array (one round trip whatever the
 * batch size).
 */
import type { Pool } from 'pg';
import type { BatchHeader, BatchRecord } from '../../gateway/protocol/envelopes.js';

export interface StoredBatch {
  stored: number;
  duplicates: number;
  conflicts: number;
  ackVersion: number;
  committedAt: string;
}

export interface BatchToStore {
  storeId: string;
  header: BatchHeader;
  records: readonly BatchRecord[];
  digest: string;
  receivedAt: Date;
  worker: number;
}

/** A device's time when it parses as a date; the record keeps whatever the device sent. */
function tsOrNull(ts: string): string | null {
  const ms = Date.parse(ts);
  return Number.isFinite(ms) && Math.abs(ms) < 8.64e15 ? new Date(ms).toISOString() : null;
}

// hq/db/002_store_batch.sql: the store's row locked and its next ack version, the records keyed by
// (store_id, seq), the copies not inserted classified (same content: a duplicate; other content:
// kept in record_conflicts; jsonb equality ignores key order and spacing), the batch's row. One
// statement in autocommit is one transaction, in one round trip instead of five or six.
const STORE_BATCH = `
SELECT stored, duplicates, conflicts, ack_version, committed_at
FROM ingest_store_batch($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::timestamptz[], $11::timestamptz[])`;

/**
 * Stores one batch in one transaction and hands out the store's next ack version in it. The
 * store's row is locked first, so two workers holding batches of one store take turns (no
 * deadlock between their record inserts) while other stores go on in parallel.
 */
export async function storeBatch(pool: Pool, b: BatchToStore): Promise<StoredBatch> {
  const client = await pool.connect();
  // A connection lost mid-statement (PostgreSQL restarting) rejects the query in hand; the
  // client's 'error' event says the same again and, with no listener, would kill the process.
  const onError = (): void => undefined;
  client.on('error', onError);
  let broken = false;
  try {
    // Sorted by seq, ties kept in batch order: a seq twice in one batch has its first copy stored.
    const rs = [...b.records].sort((x, y) => x.seq - y.seq);
    const h = b.header;
    const res = await client.query<{ stored: number; duplicates: number; conflicts: number; ack_version: string; committed_at: Date }>(STORE_BATCH, [
      b.storeId,
      h.batchId,
      h.seqFrom,
      h.seqTo,
      b.digest,
      h.createdAt,
      b.receivedAt,
      b.worker,
      // One JSON text: the driver escapes nothing in it (an array of texts it escapes char by char).
      JSON.stringify(rs),
      rs.map((r) => tsOrNull(r.ts)),
      rs.map((r) => (typeof r.recvTs === 'number' && Number.isFinite(r.recvTs) ? new Date(r.recvTs).toISOString() : null)),
    ]);
    const row = res.rows[0];
    return { stored: row.stored, duplicates: row.duplicates, conflicts: row.conflicts, ackVersion: Number(row.ack_version), committedAt: row.committed_at.toISOString() };
  } catch (err) {
    broken = true;
    throw err;
  } finally {
    // A client whose connection failed mid-statement is not returned to the pool for reuse.
    client.off('error', onError);
    client.release(broken ? true : undefined);
  }
}

export interface RejectedBatch {
  storeId: string;
  batchId?: string;
  code: string;
  reason: string;
  line?: number;
  payload: Buffer;
  worker: number;
}

export async function storeRejected(pool: Pool, r: RejectedBatch): Promise<void> {
  await pool.query(
    'INSERT INTO rejected_batches (store_id, batch_id, code, reason, line, payload_bytes, payload_head, worker) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [r.storeId, r.batchId ?? null, r.code, r.reason.slice(0, 4000), r.line ?? null, r.payload.length, r.payload.subarray(0, 64 * 1024), r.worker],
  );
}

export interface StoreReport {
  storeId: string;
  topic: string;
  payload: Buffer;
  retained: boolean;
}

/** Keeps the latest message per store and topic (the chain view reads these). */
export async function storeReport(pool: Pool, r: StoreReport): Promise<void> {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(r.payload);
  // PostgreSQL text and jsonb cannot hold U+0000: such a payload is kept as NULL text.
  const clean = !text.includes('\u0000') && !text.includes('\uFFFD');
  let body: string | null = null;
  if (clean) {
    try {
      const v: unknown = JSON.parse(text);
      body = JSON.stringify(v);
    } catch {
      body = null;
    }
  }
  await pool.query(
    `INSERT INTO store_reports (store_id, topic, body, payload_text, retained, received_at) VALUES ($1, $2, $3::jsonb, $4, $5, now())
     ON CONFLICT (store_id, topic) DO UPDATE SET body = EXCLUDED.body, payload_text = EXCLUDED.payload_text, retained = EXCLUDED.retained, received_at = EXCLUDED.received_at`,
    [r.storeId, r.topic, body, clean ? text.slice(0, 256 * 1024) : null, r.retained],
  );
}

/**
 * True for errors that retrying cannot fix: the batch's data itself (SQLSTATE class 22, e.g. a
 * `\u0000` in a string, which jsonb refuses) or a limit it breaks (class 54). Anything else
 * (connection lost, server restarting, deadlock, serialization) is retried.
 */
export function isPermanentDbError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('54'));
}
