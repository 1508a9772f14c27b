-- One batch in one statement: the store's row locked and its next ack version handed out, the
-- records inserted keyed by (store_id, seq), the copies not inserted classified as duplicates
-- (same content) or conflicts (kept in record_conflicts), and the batch's row, in this order. It is
-- the same work as five statements inside BEGIN … COMMIT, in one round trip: called in autocommit
-- it is one transaction, and on a busy HQ box each round trip waits for the scheduler twice.
--
-- The arrays are the batch's records sorted by seq (ties in batch order): a seq that appears twice
-- in one batch has its first copy inserted (ON CONFLICT DO NOTHING skips the second within one
-- INSERT) and the second classified like a copy from an earlier batch.
CREATE FUNCTION ingest_store_batch(
  p_store_id    text,
  p_batch_id    text,
  p_seq_from    bigint,
  p_seq_to      bigint,
  p_digest      text,
  p_created_at  text,
  p_received_at timestamptz,
  p_worker      integer,
  r_seq         bigint[],
  r_seq_from    bigint[],
  r_class       text[],
  r_kind        text[],
  r_device_id   text[],
  r_type        text[],
  r_ts          timestamptz[],
  r_recv_ts     timestamptz[],
  r_record      jsonb[]
) RETURNS TABLE (stored integer, duplicates integer, conflicts integer, ack_version bigint, committed_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_ack      bigint;
  v_inserted bigint[];
  v_stored   integer;
  v_dup      integer := 0;
  v_conf     integer := 0;
  v_n        integer := coalesce(cardinality(r_seq), 0);
  v_at       timestamptz;
BEGIN
  -- The store's row first: two workers holding batches of one store take turns here.
  INSERT INTO stores AS s (store_id, ack_version, last_batch_id, last_seq, last_batch_at, batches)
  VALUES (p_store_id, 1, p_batch_id, p_seq_to, now(), 1)
  ON CONFLICT (store_id) DO UPDATE SET
    ack_version = s.ack_version + 1,
    last_batch_id = EXCLUDED.last_batch_id,
    last_seq = GREATEST(s.last_seq, EXCLUDED.last_seq),
    last_batch_at = now(),
    batches = s.batches + 1
  RETURNING s.ack_version INTO v_ack;

  WITH ins AS (
    INSERT INTO records (store_id, seq, seq_from, class, kind, device_id, type, ts, recv_ts, batch_id, record)
    SELECT p_store_id, u.seq, u.seq_from, u.class, u.kind, u.device_id, u.type, u.ts, u.recv_ts, p_batch_id, u.record
    FROM unnest(r_seq, r_seq_from, r_class, r_kind, r_device_id, r_type, r_ts, r_recv_ts, r_record)
      AS u(seq, seq_from, class, kind, device_id, type, ts, recv_ts, record)
    ON CONFLICT (store_id, seq) DO NOTHING
    RETURNING seq
  )
  SELECT array_agg(ins.seq) INTO v_inserted FROM ins;
  v_stored := coalesce(cardinality(v_inserted), 0);

  IF v_stored < v_n THEN
    WITH batch AS (
      SELECT u.seq, u.record, row_number() OVER (PARTITION BY u.seq ORDER BY u.ord) AS copy
      FROM unnest(r_seq, r_record) WITH ORDINALITY AS u(seq, record, ord)
    ), rest AS (
      SELECT b.seq, b.record FROM batch b
      WHERE b.copy > 1 OR NOT EXISTS (SELECT 1 FROM unnest(v_inserted) AS i(seq) WHERE i.seq = b.seq)
    ), cmp AS (
      SELECT rest.seq, rest.record, r.record = rest.record AS same
      FROM rest JOIN records r ON r.store_id = p_store_id AND r.seq = rest.seq
    ), kept AS (
      INSERT INTO record_conflicts (store_id, seq, batch_id, record)
      SELECT p_store_id, cmp.seq, p_batch_id, cmp.record FROM cmp WHERE NOT cmp.same
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM cmp WHERE cmp.same)::int, (SELECT count(*) FROM kept)::int INTO v_dup, v_conf;
  END IF;

  INSERT INTO batches (store_id, batch_id, seq_from, seq_to, records, digest, stored, duplicates, conflicts, ack_version, created_at, received_at, worker)
  VALUES (p_store_id, p_batch_id, p_seq_from, p_seq_to, v_n, p_digest, v_stored, v_dup, v_conf, v_ack, p_created_at, p_received_at, p_worker)
  RETURNING batches.committed_at INTO v_at;

  RETURN QUERY SELECT v_stored, v_dup, v_conf, v_ack, v_at;
END
$$;
