/** Outbox schema, one numbered migration each; never edit a shipped one, add the next. */
export const OUTBOX_MIGRATIONS: readonly string[] = [
  // 1: events, dead letters, and the sequence high-water mark (seq is never reused: HQ deduplicates by it).
  `CREATE TABLE events (
     seq INTEGER PRIMARY KEY,
     cls TEXT NOT NULL,
     kind TEXT NOT NULL,
     device_id TEXT NOT NULL,
     type TEXT NOT NULL,
     ts TEXT NOT NULL,
     recv_ts INTEGER NOT NULL,
     boot_id TEXT NOT NULL,
     mono_ms INTEGER NOT NULL,
     data TEXT NOT NULL
   );
   CREATE INDEX events_cls_seq ON events (cls, seq);
   CREATE TABLE dead_letters (
     id INTEGER PRIMARY KEY,
     recv_ts INTEGER NOT NULL,
     kind TEXT NOT NULL,
     device_id TEXT NOT NULL,
     topic TEXT NOT NULL,
     code TEXT NOT NULL,
     reason TEXT NOT NULL,
     payload TEXT NOT NULL
   );
   CREATE INDEX dead_letters_device ON dead_letters (device_id, id);
   CREATE TABLE meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL);
   INSERT INTO meta (k, v) VALUES ('seq', 0)`,
  // 2 (uplink): a compacted record keeps seq = the highest raw seq it covers and stores
  // the lowest in seq_from; NULL marks a raw row. Raw non-exact rows wait for the compactor; the
  // uplink sends exact rows and compacted rows. The index serves the compactor's "raw, closed
  // window" scan (cls = ? AND seq_from IS NULL, in seq order); the uplink reads by (cls, seq).
  `ALTER TABLE events ADD COLUMN seq_from INTEGER;
   CREATE INDEX events_cls_seqfrom_seq ON events (cls, seq_from, seq)`,
  // 3: dead letters moved to deadletters.db (outbox/deadLetters.ts; the store copies the old rows
  // over first), so the outbox quota measures only events.
  `DROP TABLE dead_letters`,
  // 4: the day's numbers live beside the records they count. A group of events that
  // counts toward the KPIs commits its increments in the same transaction as its rows
  // (kpi/kpiCounters.ts), so a crash can never keep one without the other, and the counters never
  // depend on rows the uplink deletes once HQ has them. kpi_member holds SHA-256 hashes, never a
  // member code. kpi_meta: 'currency', and 'legacyImported' once kpi.db's old counters moved here.
  `CREATE TABLE kpi_hour (
     day TEXT NOT NULL, hour INTEGER NOT NULL, visitors INTEGER NOT NULL, transactions INTEGER NOT NULL,
     sales INTEGER NOT NULL, member_tx INTEGER NOT NULL, repeat_tx INTEGER NOT NULL,
     PRIMARY KEY (day, hour)
   ) WITHOUT ROWID;
   CREATE TABLE kpi_member (hash TEXT PRIMARY KEY, first_seq INTEGER NOT NULL) WITHOUT ROWID;
   CREATE TABLE kpi_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID`,
  // 5: what a kiosk needs to settle a payment after a restart, kept beside the outbox
  // rows and written by the same transaction (triggers), but never deleted by the uplink: which
  // payment a sale record was committed for, and the last result each payment request got (only
  // the fields settling needs). SaleLedger.prune() deletes rows below the oldest payment still open.
  `CREATE TABLE sale_keys (
     request_id TEXT PRIMARY KEY, transaction_id TEXT NOT NULL, kiosk_id TEXT NOT NULL, seq INTEGER NOT NULL
   );
   CREATE TABLE payment_results (
     request_id TEXT PRIMARY KEY, device_id TEXT NOT NULL, seq INTEGER NOT NULL, data TEXT NOT NULL
   );
   CREATE TRIGGER events_sale_key AFTER INSERT ON events
     WHEN NEW.kind = 'kiosk' AND NEW.type = 'transaction' AND NEW.seq_from IS NULL
   BEGIN
     INSERT OR IGNORE INTO sale_keys (request_id, transaction_id, kiosk_id, seq)
       VALUES (NEW.data ->> '$.payment.requestId', NEW.data ->> '$.transactionId', NEW.device_id, NEW.seq);
   END;
   CREATE TRIGGER events_payment_result AFTER INSERT ON events
     WHEN NEW.kind = 'payment' AND NEW.type = 'result' AND NEW.seq_from IS NULL
   BEGIN
     INSERT INTO payment_results (request_id, device_id, seq, data)
       VALUES (NEW.data ->> '$.requestId', NEW.device_id, NEW.seq,
               json_object('status', NEW.data ->> '$.status', 'amount', NEW.data -> '$.amount', 'currency', NEW.data ->> '$.currency', 'authCode', NEW.data ->> '$.authCode'))
       ON CONFLICT (request_id) DO UPDATE SET device_id = excluded.device_id, seq = excluded.seq, data = excluded.data;
   END`,
  // 6: the same for click & collect: which order a `pickup` or `handover` record was committed
  // for, kept by the record's own transaction and never deleted by the uplink, so a claim a
  // restart left open is settled by key ("was it recorded?") instead of by scanning rows that may
  // already have gone to HQ. One small row per collected order.
  `CREATE TABLE record_keys (
     type TEXT NOT NULL, key TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (type, key)
   ) WITHOUT ROWID;
   CREATE TRIGGER events_record_key AFTER INSERT ON events
     WHEN NEW.kind = 'kiosk' AND NEW.type IN ('pickup', 'handover') AND NEW.seq_from IS NULL
   BEGIN
     INSERT OR IGNORE INTO record_keys (type, key, seq) VALUES (NEW.type, NEW.data ->> '$.orderId', NEW.seq);
   END`,
  // 7: the same for the stock ledger: which movement a `stockMove` record was committed for, so a
  // movement whose forward a restart interrupted is found instead of written twice. One small row
  // per movement.
  `CREATE TRIGGER events_stock_key AFTER INSERT ON events
     WHEN NEW.kind = 'light' AND NEW.type = 'stockMove' AND NEW.seq_from IS NULL
   BEGIN
     INSERT OR IGNORE INTO record_keys (type, key, seq) VALUES ('stockMove', NEW.data ->> '$.movementId', NEW.seq);
   END`,
  // 8 (delivery to HQ): with `hq.delivery: ingest-ack` a batch HQ's broker acknowledged stays in
  // the outbox until HQ's ingest acknowledges it: its rows carry the batch id, and hq_batches keeps
  // what was sent (header line, digest) so a batch is re-sent unchanged and an ack can be checked
  // against it. hq_ack_versions holds the ack versions accepted (replays are refused).
  // events_unsent lets the uplink find unsent rows without walking past a whole exported outbox.
  `ALTER TABLE events ADD COLUMN batch_id TEXT;
   CREATE INDEX events_unsent ON events (cls, seq) WHERE batch_id IS NULL;
   CREATE INDEX events_batch ON events (batch_id) WHERE batch_id IS NOT NULL;
   CREATE TABLE hq_batches (
     batch_id TEXT PRIMARY KEY, seq_from INTEGER NOT NULL, seq_to INTEGER NOT NULL, records INTEGER NOT NULL,
     digest TEXT NOT NULL, header TEXT NOT NULL, sent_at INTEGER NOT NULL, attempts INTEGER NOT NULL, via TEXT NOT NULL
   ) WITHOUT ROWID;
   CREATE TABLE hq_ack_versions (version INTEGER PRIMARY KEY, batch_id TEXT NOT NULL, at INTEGER NOT NULL)`,
  // 9: what members make visible, counted like the rest (kpi/kpiCounters.ts): per hour the member
  // share of sales, points issued and spent, coupon redemptions; per local day and keyed member
  // hash the member's transactions and last tier, for the repeat rate by tier. Hours counted before
  // this migration carry zeros in the new columns.
  `ALTER TABLE kpi_hour ADD COLUMN member_sales INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE kpi_hour ADD COLUMN points_issued INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE kpi_hour ADD COLUMN points_spent INTEGER NOT NULL DEFAULT 0;
   ALTER TABLE kpi_hour ADD COLUMN coupon_redemptions INTEGER NOT NULL DEFAULT 0;
   CREATE TABLE kpi_member_day (day TEXT NOT NULL, hash TEXT NOT NULL, tier TEXT NOT NULL, visits INTEGER NOT NULL, PRIMARY KEY (day, hash)) WITHOUT ROWID`,
  // 10: the same for a voided sale: which transaction a `saleVoided` record was committed for, so a
  // void whose record a restart interrupted is found instead of written twice.
  `CREATE TRIGGER events_void_key AFTER INSERT ON events
     WHEN NEW.kind = 'kiosk' AND NEW.type = 'saleVoided' AND NEW.seq_from IS NULL
   BEGIN
     INSERT OR IGNORE INTO record_keys (type, key, seq) VALUES ('saleVoided', NEW.data ->> '$.transactionId', NEW.seq);
   END`,
];
