-- A record whose strings jsonb cannot hold (U+0000, or a lone UTF-16 surrogate: both valid JSON,
-- both refused by PostgreSQL's jsonb) is kept as its exact JSON text instead, so one odd string
-- never makes a whole batch unstorable. Exactly one of record / record_text is set.
ALTER TABLE records ALTER COLUMN record DROP NOT NULL, ADD COLUMN record_text text,
  ADD CONSTRAINT records_one_form CHECK ((record IS NULL) <> (record_text IS NULL));
ALTER TABLE record_conflicts ALTER COLUMN record DROP NOT NULL, ADD COLUMN record_text text,
  ADD CONSTRAINT record_conflicts_one_form CHECK ((record IS NULL) <> (record_text IS NULL));

-- A refused batch comes back every ack timeout (the store re-sends what HQ never acknowledged):
-- one row per store and payload, counting its arrivals, instead of one row per arrival.
ALTER TABLE rejected_batches ADD COLUMN payload_sha256 bytea, ADD COLUMN attempts integer NOT NULL DEFAULT 1,
  ADD COLUMN last_received_at timestamptz NOT NULL DEFAULT now();
CREATE UNIQUE INDEX rejected_batches_store_payload ON rejected_batches (store_id, payload_sha256);
