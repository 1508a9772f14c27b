-- One batch in one statement: the store's row locked and its next ack version handed out, the
-- records inserted keyed by (store_id, seq), the copies not inserted classified as duplicates
-- (same content) or conflicts (kept in record_conflicts), and the batch's row, in this order. It is
-- the same work as five statements inside BEGIN … COMMIT, in one round trip: called in autocommit
-- it is one transaction, and on a busy HQ box each round trip waits for the scheduler twice.
--
-- p_records is a JSON array of the batch's records sorted by seq (ties in batch order), each as the
-- batch carried it; r_ts and r_recv_ts are their times, parsed by the ingest, in the same order.
-- One JSON text instead of an array per column: the driver sends it as is, with no per-element
-- array escaping. A seq that appears twice in one batch has its first copy inserted (ON CONFLICT
-- DO NOTHING skips the second within one INSERT) and the second classified like a copy from an
-- earlier batch.
CREATE FUNCTION ingest_store_batch(
  p_store_id    text,
  p_batch_id    text,
  p_seq_from    bigint,
  p_seq_to      bigint,
  p_digest      text,
  p_created_at  text,
  p_received_at timestamptz,
  p_worker      integer,
  p_records     jsonb,
  r_ts          timestamptz[],
  r_recv_ts     timestamptz[]
) RETURNS TABLE (stored integer, duplicates integer, conflicts integer, ack_version bigint, committed_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_ack      bigint;
  v_inserted bigint[];
  v_stored   integer;
  v_dup      integer := 0;
  v_conf     integer := 0;
  v_n        integer := jsonb_array_length(p_records);
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
    SELECT p_store_id, (u.e->>'seq')::bigint, (u.e->>'seqFrom')::bigint, u.e->>'class', u.e->>'kind', u.e->>'deviceId', u.e->>'type',
      r_ts[u.ord], r_recv_ts[u.ord], p_batch_id, u.e
    FROM jsonb_array_elements(p_records) WITH ORDINALITY AS u(e, ord)
    ON CONFLICT (store_id, seq) DO NOTHING
    RETURNING seq
  )
  SELECT array_agg(ins.seq) INTO v_inserted FROM ins;
  v_stored := coalesce(cardinality(v_inserted), 0);

  IF v_stored < v_n THEN
    WITH batch AS (
      SELECT (u.e->>'seq')::bigint AS seq, u.e AS record, row_number() OVER (PARTITION BY (u.e->>'seq')::bigint ORDER BY u.ord) AS copy
      FROM jsonb_array_elements(p_records) WITH ORDINALITY AS u(e, ord)
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
