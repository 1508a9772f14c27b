/**
 * The reference ingest end to end: real Mosquitto, real PostgreSQL, the real
 * `dist/storegw-hq.js ingest` with 3 workers on a shared subscription, a light store publisher.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchText, compress, decodeBatch, makeHeader, type BatchRecord } from '../../../gateway/protocol/envelopes.js';
import { tempDir } from '../../helpers/tmp.js';
import { topics } from '../../../gateway/protocol/topics.js';
import { HQ_BIN, makeBatch, record, startIngestStack, StorePublisher, type IngestStack, type TestBatch } from './ingestStack.js';

let stack: IngestStack;
let pub: StorePublisher;

beforeAll(async () => {
  stack = await startIngestStack({ workers: 3 });
  pub = await StorePublisher.connect(stack.mosq.url, stack.signer);
});
afterAll(async () => {
  await pub?.close();
  await stack?.stop();
});

const count = async (sql: string, params: unknown[] = []): Promise<number> => Number((await stack.db.query<{ n: string }>(sql, params)).rows[0].n);

describe('storegw-hq ingest', () => {
  const batches: TestBatch[] = [];
  for (const storeId of ['store-a', 'store-b']) {
    for (let b = 0; b < 8; b++) batches.push(makeBatch(storeId, Array.from({ length: 25 }, (_, i) => record(1 + b * 25 + i))));
  }

  it('stores every record of two stores once and acks each batch, signed, naming its digest', async () => {
    const acked = Promise.all(batches.map((b) => pub.nextAck(b)));
    await Promise.all(batches.map((b) => pub.publish(b)));
    const acks = await acked;
    expect(pub.refused).toEqual([]);
    for (const a of acks) {
      expect(a.feed.scope).toBe(`store:${a.storeId}`);
      expect(a.body).toMatchObject({ records: 25, stored: 25, duplicates: 0, conflicts: 0 });
    }
    // One version per batch and store, handed out by the database: 1..8 for each store.
    for (const s of ['store-a', 'store-b']) {
      expect(acks.filter((a) => a.storeId === s).map((a) => a.feed.version).sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    }
    expect(await count('SELECT count(*) AS n FROM records')).toBe(400);
    expect(await count('SELECT count(DISTINCT (store_id, seq)) AS n FROM records')).toBe(400);
    const row = (await stack.db.query('SELECT class, kind, device_id, type, ts, recv_ts, record FROM records WHERE store_id = $1 AND seq = 30', ['store-b'])).rows[0];
    expect(row).toMatchObject({ class: 'exact', kind: 'scanner', device_id: 'scan-1', type: 'scan' });
    expect(row.record).toEqual(JSON.parse(JSON.stringify(record(30))));
    expect((row.ts as Date).toISOString()).toBe(record(30).ts);
    expect(await count('SELECT last_seq AS n FROM stores WHERE store_id = $1', ['store-a'])).toBe(200);
    // The supervisor's /metrics sums its workers' counts (each sent before its ack; IPC may lag a little).
    let stored = 0;
    for (let i = 0; i < 50 && stored < 400; i++) stored = await stack.metric('storegw_hq_ingest_records_total{outcome="stored"}');
    expect(stored).toBe(400);
    expect(await stack.metric('storegw_hq_ingest_ack_latency_seconds_count')).toBeGreaterThanOrEqual(16);
    // Three workers share the subscription: with 16 batches, more than one took part.
    expect(await count('SELECT count(DISTINCT worker) AS n FROM batches')).toBeGreaterThan(1);
  });

  it('acks a re-sent batch again, counted as duplicates, with no new row', async () => {
    const b = batches[3];
    const ack = pub.nextAck(b);
    await pub.publish(b);
    expect((await ack).body).toMatchObject({ stored: 0, duplicates: 25, conflicts: 0 });
    expect((await ack).feed.version).toBe(9);
    expect(await count('SELECT count(*) AS n FROM records')).toBe(400);
    expect(await count('SELECT count(*) AS n FROM batches WHERE batch_id = $1', [b.batchId])).toBe(2);
  });

  it('keeps a conflicting copy of a (store, seq) beside the first one and reports it', async () => {
    const b = makeBatch('store-a', [record(199), record(200, 1), record(201)], 'store-a:conflict');
    const ack = pub.nextAck(b);
    await pub.publish(b);
    expect((await ack).body).toMatchObject({ records: 3, stored: 1, duplicates: 1, conflicts: 1 });
    const kept = (await stack.db.query('SELECT seq, record FROM record_conflicts WHERE store_id = $1', ['store-a'])).rows;
    expect(kept).toEqual([{ seq: '200', record: JSON.parse(JSON.stringify(record(200, 1))) }]);
    const first = (await stack.db.query('SELECT record FROM records WHERE store_id = $1 AND seq = 200', ['store-a'])).rows[0];
    expect(first.record.data.salt).toBe(0);
  });

  it('stores the first copy of a seq that one batch carries three times, and classifies the other two', async () => {
    const b = makeBatch('store-a', [record(300), record(300), record(300, 7), record(301)], 'store-a:same-seq');
    const ack = pub.nextAck(b);
    await pub.publish(b);
    expect((await ack).body).toMatchObject({ records: 4, stored: 2, duplicates: 1, conflicts: 1 });
    const rows = (await stack.db.query("SELECT seq, record->'data'->>'salt' AS salt FROM records WHERE store_id = 'store-a' AND seq IN (300, 301) ORDER BY seq")).rows;
    expect(rows).toEqual([{ seq: '300', salt: '0' }, { seq: '301', salt: '0' }]);
    const kept = (await stack.db.query("SELECT record->'data'->>'salt' AS salt FROM record_conflicts WHERE store_id = 'store-a' AND seq = 300")).rows;
    expect(kept).toEqual([{ salt: '7' }]);
  });

  it('files a malformed batch in rejected_batches, never acks it, and keeps going', async () => {
    const from = stack.lines.length;
    // Decodes, but a record lacks its class: rejected with the field named.
    const bad = Buffer.from(JSON.stringify({ batchId: 'store-b:bad', storeId: 'store-b', seqFrom: 500, seqTo: 500, records: 1, createdAt: 'x' }) + '\n' + JSON.stringify({ seq: 500, kind: 'scanner', deviceId: 'd', type: 't', ts: 'x', data: {} }) + '\n');
    await pub.client.publishAsync(topics.hqBatch('store-b'), compress(bad), { qos: 1 });
    await pub.client.publishAsync(topics.hqBatch('store-b'), Buffer.from('not a batch at all'), { qos: 1 });
    // A batch whose header names another store than its topic.
    const other = makeBatch('store-a', [record(900)]);
    await pub.client.publishAsync(topics.hqBatch('store-b'), other.payload, { qos: 1 });
    let rejected = 0;
    await stack.waitLine((l) => l.msg === 'batch rejected' && ++rejected === 3, from);
    const rows = (await stack.db.query('SELECT store_id, batch_id, code, reason FROM rejected_batches ORDER BY code, reason')).rows;
    expect(rows).toHaveLength(3);
    expect(rows.map((r) => r.code).sort()).toEqual(['SGW_ERR_BATCH_DECOMPRESS', 'SGW_ERR_BATCH_RECORD', 'SGW_ERR_BATCH_STORE']);
    expect(rows.find((r) => r.code === 'SGW_ERR_BATCH_RECORD')).toMatchObject({ store_id: 'store-b', reason: expect.stringContaining('records[0]') });
    // Still running: the next good batch is stored and acked, and nothing ever acked the bad ones.
    const next = makeBatch('store-b', [record(501)]);
    const ack = pub.nextAck(next);
    await pub.publish(next);
    expect((await ack).body.stored).toBe(1);
    expect(pub.acks.filter((a) => a.body.batchId === 'store-b:bad' || a.body.batchId === other.batchId)).toEqual([]);
    expect(await count('SELECT count(*) AS n FROM records WHERE seq IN (500, 900)')).toBe(0);
  });

  it('keeps the latest status and report per store for the chain view', async () => {
    const from = stack.lines.length;
    await pub.client.publishAsync(topics.hqStatus('store-a'), JSON.stringify({ online: false }), { qos: 1, retain: true });
    await pub.client.publishAsync(topics.hqStatus('store-a'), JSON.stringify({ online: true }), { qos: 1, retain: true });
    await pub.client.publishAsync(topics.hqReport('store-a', 'sync'), JSON.stringify({ feeds: { prices: 7 } }), { qos: 1 });
    let kept = 0;
    await stack.waitLine((l) => l.msg === 'store report kept' && l.storeId === 'store-a' && ++kept === 3, from);
    const rows = async () => (await stack.db.query('SELECT topic, body FROM store_reports WHERE store_id = $1 ORDER BY topic', ['store-a'])).rows;
    expect(await rows()).toEqual([
      { topic: 'report/sync', body: { feeds: { prices: 7 } } },
      { topic: 'status', body: { online: true } },
    ]);
  });

  it('answers any payload on a batch topic with an ack or a filed rejection, and keeps running (seeded)', async () => {
    // Records whose strings are any UTF-16 (U+0000 and lone surrogates included: jsonb refuses both).
    const oddRecord = fc.record({ seq: fc.integer({ min: 1000, max: 1e6 }), text: fc.string({ unit: 'binary', maxLength: 12 }) });
    const payloads = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      fc.string({ maxLength: 300 }).map((t) => compress(t)),
      fc.array(oddRecord, { minLength: 1, maxLength: 4 }).map((rs) => {
        const records = rs.map((r) => ({ ...record(r.seq), data: { text: r.text } }) as BatchRecord);
        return compress(batchText(makeHeader(`prop:${rs[0].seq}`, 'store-p', records, 'x'), records));
      }),
    );
    await fc.assert(
      fc.asyncProperty(payloads, async (payload) => {
        const from = stack.lines.length;
        await pub.client.publishAsync(topics.hqBatch('store-p'), payload, { qos: 1 });
        const l = await stack.waitLine((x) => x.msg === 'batch rejected' || (x.msg === 'batch stored and acked' && x.storeId === 'store-p'), from);
        const dec = decodeBatch(payload);
        // A payload that does not decode is refused; one that does is stored unless PostgreSQL refuses its text.
        if (!dec.ok) expect(l).toMatchObject({ msg: 'batch rejected', code: dec.code });
        else if (l.msg === 'batch rejected') expect(l.code).toBe('SGW_ERR_BATCH_STORE');
        else expect((l.stored as number) + (l.duplicates as number) + (l.conflicts as number)).toBe(dec.records.length);
      }),
      { seed: 2020, numRuns: 20 },
    );
    const next = makeBatch('store-p', [record(2_000_000)]);
    const ack = pub.nextAck(next);
    await pub.publish(next);
    expect((await ack).body.stored).toBe(1);
  });

  it('refuses a config with a signing key others can read, naming the field (exit 2)', () => {
    const tmp = tempDir('hq-cfg-');
    try {
      const key = path.join(tmp.dir, 'k.pem');
      writeFileSync(key, stack.signer.privateKeyPem, { mode: 0o644 });
      const cfg = path.join(tmp.dir, 'c.yaml');
      writeFileSync(cfg, `mqtt:\n  url: ${stack.mosq.url}\npostgres:\n  connectionString: ${stack.pg.connectionString}\nworkers: 0\nsigning:\n  kid: k\n  privateKeyFile: k.pem\n`);
      const r = spawnSync(process.execPath, [HQ_BIN, 'ingest', '--config', cfg], { encoding: 'utf8' });
      expect(r.status).toBe(2);
      expect(r.stderr).toContain('config.workers: must be >= 1');
      writeFileSync(cfg, `mqtt:\n  url: ${stack.mosq.url}\npostgres:\n  connectionString: ${stack.pg.connectionString}\nsigning:\n  kid: k\n  privateKeyFile: k.pem\n`);
      const r2 = spawnSync(process.execPath, [HQ_BIN, 'ingest', '--config', cfg], { encoding: 'utf8' });
      expect(r2.status).toBe(2);
      expect(r2.stderr).toContain('config.signing.privateKeyFile: k.pem is mode 0644');
    } finally {
      tmp.remove();
    }
  });
});
