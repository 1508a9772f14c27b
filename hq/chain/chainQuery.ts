/**
 * What the chain view reads from the ingest's tables (hq/db/001_init.sql): one row per store HQ
 * has heard of (a batch, a status or report, or a refused batch), with its status and sync report
 * as the store last published them, its batch bookkeeping, and its records per class over the last
 * 24 hours (by HQ's receipt time). Read-only; bind parameters only.
 */
import type { Pool } from 'pg';

export interface StoreRow {
  storeId: string;
  lastBatchId: string | null;
  lastSeq: number | null;
  lastBatchAt: Date | null;
  batches: number;
  status: unknown;
  statusAt: Date | null;
  sync: unknown;
  syncAt: Date | null;
  duplicateBatches: number;
  conflictBatches: number;
  duplicates: number;
  conflicts: number;
  rejectedBatches: number;
  /** class → records stored in the last 24 h. */
  classes24h: Record<string, number>;
  /** HQ's clock when read: lags are computed against the database's now(), not the viewer's. */
  dbNow: Date;
}

const STORES = `
WITH ids AS (
  SELECT store_id FROM stores UNION SELECT store_id FROM store_reports UNION SELECT store_id FROM rejected_batches WHERE store_id <> ''
), b AS (
  SELECT store_id, count(*) FILTER (WHERE duplicates > 0) AS dup_batches, count(*) FILTER (WHERE conflicts > 0) AS conflict_batches,
         coalesce(sum(duplicates), 0) AS dups, coalesce(sum(conflicts), 0) AS confl
  FROM batches GROUP BY store_id
), rj AS (
  SELECT store_id, count(*) AS n FROM rejected_batches GROUP BY store_id
)
SELECT ids.store_id, s.last_batch_id, s.last_seq, s.last_batch_at, coalesce(s.batches, 0) AS batches,
       st.body AS status, st.received_at AS status_at, sy.body AS sync, sy.received_at AS sync_at,
       coalesce(b.dup_batches, 0) AS dup_batches, coalesce(b.conflict_batches, 0) AS conflict_batches,
       coalesce(b.dups, 0) AS dups, coalesce(b.confl, 0) AS confl, coalesce(rj.n, 0) AS rejected, now() AS db_now
FROM ids
LEFT JOIN stores s ON s.store_id = ids.store_id
LEFT JOIN store_reports st ON st.store_id = ids.store_id AND st.topic = 'status'
LEFT JOIN store_reports sy ON sy.store_id = ids.store_id AND sy.topic = 'report/sync'
LEFT JOIN b ON b.store_id = ids.store_id
LEFT JOIN rj ON rj.store_id = ids.store_id
ORDER BY ids.store_id`;

const CLASSES = `SELECT store_id, class, count(*) AS n FROM records WHERE stored_at > now() - interval '24 hours' GROUP BY store_id, class`;

interface Raw {
  store_id: string;
  last_batch_id: string | null;
  last_seq: string | null;
  last_batch_at: Date | null;
  batches: string;
  status: unknown;
  status_at: Date | null;
  sync: unknown;
  sync_at: Date | null;
  dup_batches: string;
  conflict_batches: string;
  dups: string;
  confl: string;
  rejected: string;
  db_now: Date;
}

export async function readStores(pool: Pool): Promise<StoreRow[]> {
  const [stores, classes] = await Promise.all([pool.query<Raw>(STORES), pool.query<{ store_id: string; class: string; n: string }>(CLASSES)]);
  const perClass = new Map<string, Record<string, number>>();
  for (const c of classes.rows) {
    const m = perClass.get(c.store_id) ?? {};
    m[c.class] = Number(c.n);
    perClass.set(c.store_id, m);
  }
  return stores.rows.map((r) => ({
    storeId: r.store_id,
    lastBatchId: r.last_batch_id,
    lastSeq: r.last_seq === null ? null : Number(r.last_seq),
    lastBatchAt: r.last_batch_at,
    batches: Number(r.batches),
    status: r.status,
    statusAt: r.status_at,
    sync: r.sync,
    syncAt: r.sync_at,
    duplicateBatches: Number(r.dup_batches),
    conflictBatches: Number(r.conflict_batches),
    duplicates: Number(r.dups),
    conflicts: Number(r.confl),
    rejectedBatches: Number(r.rejected),
    classes24h: perClass.get(r.store_id) ?? {},
    dbNow: r.db_now,
  }));
}
