/**
 * The ingest's PostgreSQL repository: one transaction per batch, the rejected batches, the stores'
 * reports. Values are always bind parameters; a batch's records go in as one multi-row INSERT over
 * `unnest` of column arrays (one round trip, one plan, whatever the batch size).
 */
import { createHash } from 'node:crypto';
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

const INSERT_RECORDS = `
INSERT INTO records (store_id, seq, seq_from, class, kind, device_id, type, ts, recv_ts, batch_id, record, record_text)
SELECT $1, r.seq, r.seq_from, r.class, r.kind, r.device_id, r.type, r.ts, r.recv_ts, $2, r.record, r.record_text
FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::text[], $7::text[], $8::text[], $9::timestamptz[], $10::timestamptz[], $11::jsonb[], $12::text[])
  AS r(seq, seq_from, class, kind, device_id, type, ts, recv_ts, record, record_text)
ON CONFLICT (store_id, seq) DO NOTHING
RETURNING seq`;

// The records not inserted: held already with the same content (jsonb equality ignores key order
// and spacing) or with other content, which is kept in record_conflicts. A record kept as text
// (jsonb cannot hold it) equals only the same text.
const CLASSIFY = `
WITH cmp AS (
  SELECT i.seq, i.record, i.record_text, (r.record IS NOT DISTINCT FROM i.record AND r.record_text IS NOT DISTINCT FROM i.record_text) AS same
  FROM unnest($2::bigint[], $3::jsonb[], $5::text[]) AS i(seq, record, record_text)
  JOIN records r ON r.store_id = $1 AND r.seq = i.seq
), kept AS (
  INSERT INTO record_conflicts (store_id, seq, batch_id, record, record_text)
  SELECT $1, seq, $4, record, record_text FROM cmp WHERE NOT same
  RETURNING 1
)
SELECT (SELECT count(*) FROM cmp WHERE same)::int AS duplicates, (SELECT count(*) FROM kept)::int AS conflicts`;

const BUMP_STORE = `
INSERT INTO stores (store_id, ack_version, last_batch_id, last_seq, last_batch_at, batches)
VALUES ($1, 1, $2, $3, now(), 1)
ON CONFLICT (store_id) DO UPDATE SET
  ack_version = stores.ack_version + 1,
  last_batch_id = EXCLUDED.last_batch_id,
  last_seq = GREATEST(stores.last_seq, EXCLUDED.last_seq),
  last_batch_at = now(),
  batches = stores.batches + 1
RETURNING ack_version`;

const INSERT_BATCH = `
INSERT INTO batches (store_id, batch_id, seq_from, seq_to, records, digest, stored, duplicates, conflicts, ack_version, created_at, received_at, worker)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING committed_at`;

/**
 * Stores one batch in one transaction and hands out the store's next ack version in it. The
 * store's row is locked first, so two workers holding batches of one store take turns (no
 * deadlock between their record inserts) while other stores go on in parallel.
 */
export async function storeBatch(pool: Pool, b: BatchToStore): Promise<StoredBatch> {
  const client = await pool.connect();
  // A connection lost mid-transaction (PostgreSQL restarting) rejects the query in hand; the
  // client's 'error' event says the same again and, with no listener, would kill the process.
  const onError = (): void => undefined;
  client.on('error', onError);
  let broken = false;
  try {
    await client.query('BEGIN');
    const bump = await client.query<{ ack_version: string }>(BUMP_STORE, [b.storeId, b.header.batchId, b.header.seqTo]);
    const ackVersion = Number(bump.rows[0].ack_version);

    const rs = [...b.records].sort((x, y) => x.seq - y.seq);
    const texts = rs.map((r) => JSON.stringify(r));
    const asText = rs.map((r) => !jsonbCanHold(r));
    const jsonbs = texts.map((t, i) => (asText[i] ? null : t));
    const plain = texts.map((t, i) => (asText[i] ? t : null));
    const ins = await client.query<{ seq: string }>(INSERT_RECORDS, [
      b.storeId,
      b.header.batchId,
      rs.map((r) => r.seq),
      rs.map((r) => r.seqFrom ?? null),
      rs.map((r) => r.class),
      rs.map((r) => r.kind),
      rs.map((r) => r.deviceId),
      rs.map((r) => r.type),
      rs.map((r) => tsOrNull(r.ts)),
      rs.map((r) => (typeof r.recvTs === 'number' && Number.isFinite(r.recvTs) ? new Date(r.recvTs).toISOString() : null)),
      jsonbs,
      plain,
    ]);
    // One record per seq is inserted; a second record with the same seq in the same batch is
    // classified like one from an earlier batch.
    const inserted = new Set(ins.rows.map((r) => Number(r.seq)));
    const restSeqs: number[] = [];
    const restJsonbs: (string | null)[] = [];
    const restPlain: (string | null)[] = [];
    rs.forEach((r, i) => {
      if (inserted.has(r.seq)) inserted.delete(r.seq);
      else {
        restSeqs.push(r.seq);
        restJsonbs.push(jsonbs[i]);
        restPlain.push(plain[i]);
      }
    });
    const stored = ins.rowCount ?? 0;
    let duplicates = 0;
    let conflicts = 0;
    if (restSeqs.length > 0) {
      const c = await client.query<{ duplicates: number; conflicts: number }>(CLASSIFY, [b.storeId, restSeqs, restJsonbs, b.header.batchId, restPlain]);
      duplicates = c.rows[0].duplicates;
      conflicts = c.rows[0].conflicts;
    }
    const h = b.header;
    const row = await client.query<{ committed_at: Date }>(INSERT_BATCH, [
      b.storeId, h.batchId, h.seqFrom, h.seqTo, b.records.length, b.digest, stored, duplicates, conflicts, ackVersion, h.createdAt, b.receivedAt, b.worker,
    ]);
    await client.query('COMMIT');
    return { stored, duplicates, conflicts, ackVersion, committedAt: row.rows[0].committed_at.toISOString() };
  } catch (err) {
    broken = true;
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    // A client whose connection failed mid-transaction is not returned to the pool for reuse.
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

/**
 * Files a refused batch: one row per store and payload, its `attempts` counting how often it came
 * (a store re-sends what was never acknowledged, byte for byte). Text from the payload is made
 * storable first: PostgreSQL text cannot hold U+0000.
 */
export async function storeRejected(pool: Pool, r: RejectedBatch): Promise<void> {
  await pool.query(
    `INSERT INTO rejected_batches (store_id, batch_id, code, reason, line, payload_bytes, payload_head, worker, payload_sha256) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (store_id, payload_sha256) DO UPDATE SET attempts = rejected_batches.attempts + 1, last_received_at = now(), code = EXCLUDED.code, reason = EXCLUDED.reason, worker = EXCLUDED.worker`,
    [
      storable(r.storeId),
      r.batchId === undefined ? null : storable(r.batchId),
      r.code,
      storable(r.reason.slice(0, 4000)),
      r.line ?? null,
      r.payload.length,
      r.payload.subarray(0, 64 * 1024),
      r.worker,
      createHash('sha256').update(r.payload).digest(),
    ],
  );
}

// U+0000 or a UTF-16 surrogate without its other half.
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const UNSTORABLE_ALL = new RegExp(UNSTORABLE.source, 'g');

/** Text PostgreSQL can store: lone surrogates and U+0000 become U+FFFD. */
export function storable(s: string): string {
  return s.replace(UNSTORABLE_ALL, '\uFFFD');
}

/** False when a value holds a string (or key) jsonb refuses: U+0000 or a lone UTF-16 surrogate. */
export function jsonbCanHold(v: unknown): boolean {
  const stack: unknown[] = [v];
  while (stack.length > 0) {
    const x = stack.pop();
    if (typeof x === 'string') {
      if (UNSTORABLE.test(x)) return false;
    } else if (x !== null && typeof x === 'object') {
      if (Array.isArray(x)) stack.push(...x);
      else
        for (const [k, c] of Object.entries(x)) {
          if (UNSTORABLE.test(k)) return false;
          stack.push(c);
        }
    }
  }
  return true;
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
 * U+0000 in a device id, which text columns refuse) or a limit it breaks (class 54). Anything else
 * (connection lost, server restarting, deadlock, serialization) is retried.
 */
export function isPermanentDbError(err: unknown): boolean {
  // Our own code failing on this batch's data (a value too deep to serialise, say) fails the same
  // way every time; refusing the batch is safe, the store sends it again.
  if (err instanceof RangeError || err instanceof TypeError) return true;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && (code.startsWith('22') || code.startsWith('54'));
}
