-- HQ's ingest: the stores' records keyed by (store_id, seq), what each batch brought, and the
-- stores' own status and sync reports. hq/README.md describes every table.

CREATE TABLE records (
  store_id   text        NOT NULL,
  seq        bigint      NOT NULL,
  -- a compacted record covers the raw seqs seq_from..seq; NULL for an exact (uncompacted) record
  seq_from   bigint,
  class      text        NOT NULL,
  kind       text        NOT NULL,
  device_id  text        NOT NULL,
  type       text        NOT NULL,
  -- the device's time; NULL when the device sent a string that is not a date (record keeps it)
  ts         timestamptz,
  -- the gateway's wall time at receipt
  recv_ts    timestamptz,
  batch_id   text        NOT NULL,
  stored_at  timestamptz NOT NULL DEFAULT now(),
  -- the record exactly as the batch carried it
  record     jsonb       NOT NULL,
  PRIMARY KEY (store_id, seq)
);
CREATE INDEX records_store_class_seq ON records (store_id, class, seq);

-- A (store_id, seq) HQ already held with other content: the first copy stays in records, every
-- other one is kept here.
CREATE TABLE record_conflicts (
  id          bigserial   PRIMARY KEY,
  store_id    text        NOT NULL,
  seq         bigint      NOT NULL,
  batch_id    text        NOT NULL,
  record      jsonb       NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX record_conflicts_store_seq ON record_conflicts (store_id, seq);

-- One row per batch taken (a re-sent batch gets a row each time it arrives).
CREATE TABLE batches (
  id           bigserial   PRIMARY KEY,
  store_id     text        NOT NULL,
  batch_id     text        NOT NULL,
  seq_from     bigint      NOT NULL,
  seq_to       bigint      NOT NULL,
  records      integer     NOT NULL,
  digest       text        NOT NULL,
  stored       integer     NOT NULL,
  duplicates   integer     NOT NULL,
  conflicts    integer     NOT NULL,
  ack_version  bigint      NOT NULL,
  created_at   text,
  received_at  timestamptz NOT NULL,
  committed_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  worker       integer     NOT NULL
);
CREATE INDEX batches_store_batch ON batches (store_id, batch_id);
CREATE INDEX batches_store_committed ON batches (store_id, committed_at);

-- Per store: what came last and the last ack version handed out (increased in the transaction
-- that stores a batch, so versions are unique and increasing per store).
CREATE TABLE stores (
  store_id          text        PRIMARY KEY,
  ack_version       bigint      NOT NULL DEFAULT 0,
  last_batch_id     text,
  last_seq          bigint,
  last_batch_at     timestamptz,
  batches           bigint      NOT NULL DEFAULT 0,
  first_seen_at     timestamptz NOT NULL DEFAULT now()
);

-- Batches that failed to decode or validate: never acknowledged to the store.
CREATE TABLE rejected_batches (
  id            bigserial   PRIMARY KEY,
  store_id      text        NOT NULL,
  batch_id      text,
  code          text        NOT NULL,
  reason        text        NOT NULL,
  line          integer,
  payload_bytes integer     NOT NULL,
  -- the first 64 KiB of the payload, to look at
  payload_head  bytea       NOT NULL,
  received_at   timestamptz NOT NULL DEFAULT now(),
  worker        integer     NOT NULL
);
CREATE INDEX rejected_batches_store ON rejected_batches (store_id, received_at);

-- The latest message per store and topic under hq/v1/store/{id}/status and …/report/#.
CREATE TABLE store_reports (
  store_id    text        NOT NULL,
  -- the topic below hq/v1/store/{id}/: 'status', 'report/sync' …
  topic       text        NOT NULL,
  -- the payload when it is JSON, else NULL (payload_text or payload_bytes then tell what came)
  body        jsonb,
  payload_text text,
  retained    boolean     NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (store_id, topic)
);
