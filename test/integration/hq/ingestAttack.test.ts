/**
 * The ingest against a hostile or broken store: real Mosquitto, real PostgreSQL, the real
 * `dist/storegw-hq.js ingest` (one worker, so a store's messages are handled in the order sent).
 * Each refusal is followed by a good batch that must still be stored and acked.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batchText, compress, makeHeader, type BatchRecord } from '../../../gateway/protocol/envelopes.js';
import { topics } from '../../../gateway/protocol/topics.js';
import { makeBatch, record, startIngestStack, StorePublisher, type IngestStack } from './ingestStack.js';

let stack: IngestStack;
let pub: StorePublisher;
let nextSeq = 1;

beforeAll(async () => {
  stack = await startIngestStack({ workers: 1 });
  pub = await StorePublisher.connect(stack.mosq.url, stack.signer);
});
afterAll(async () => {
  await pub?.close();
  await stack?.stop();
});

/** Publishes raw bytes on a store's batch topic and waits for the ingest's rejection line. */
async function rejected(storeId: string, payload: Buffer, topic = topics.hqBatch(storeId)) {
  const from = stack.lines.length;
  await pub.client.publishAsync(topic, payload, { qos: 1 });
  return stack.waitLine((l) => l.msg === 'batch rejected' || l.msg === 'batch stored and acked', from);
}

/** A good batch after a bad one is still stored and acked: the worker was not stuck. */
async function stillIngests(storeId: string): Promise<void> {
  const b = makeBatch(storeId, [record(nextSeq++)]);
  const ack = pub.nextAck(b);
  await pub.publish(b);
  expect((await ack).body.stored).toBe(1);
}

const lying = (storeId: string, records: BatchRecord[], header: Partial<ReturnType<typeof makeHeader>>) =>
  compress(batchText({ ...makeHeader(`${storeId}:lie-${nextSeq}`, storeId, records, 'x'), ...header }, records));

describe('storegw-hq ingest under attack', () => {
  it('refuses a topic whose store id is not a valid id, and a header whose range is not its records\'', async () => {
    // A status on such a topic gets no store_reports row either.
    await pub.client.publishAsync(topics.hqStatus('bad id!'), '{"online":true}', { qos: 1 });
    const odd = makeBatch('bad id!', [record(nextSeq++)]);
    expect(await rejected('bad id!', odd.payload)).toMatchObject({ msg: 'batch rejected', code: 'SGW_ERR_BATCH_STORE', reason: expect.stringContaining('topic: store id') });
    const l = await rejected('store-h', lying('store-h', [record(5), record(6)], { seqFrom: 1, seqTo: 1_000_000 }));
    expect(l).toMatchObject({ msg: 'batch rejected', code: 'SGW_ERR_BATCH_HEADER', reason: expect.stringContaining('header.seqFrom..seqTo: says 1..1000000, the records cover 5..6') });
    expect((await stack.db.query('SELECT count(*)::int AS n FROM store_reports')).rows[0].n).toBe(0);
    // Nothing stored for it, and the store's last seq was not moved by the header's claim.
    expect((await stack.db.query('SELECT count(*)::int AS n FROM stores WHERE store_id = $1', ['store-h'])).rows[0].n).toBe(0);
    await stillIngests('store-h');
  });

  it('refuses a decompression bomb and a batch of too many records, by the configured limits', async () => {
    const bomb = gzipSync(Buffer.alloc(17 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    expect(await rejected('store-r', bomb)).toMatchObject({ code: 'SGW_ERR_BATCH_TOO_LARGE', reason: `payload: inflates beyond ${16 * 1024 * 1024} bytes` });
    const many = gzipSync(JSON.stringify({ batchId: 'store-r:many', storeId: 'store-r', seqFrom: 0, seqTo: 0, records: 50_001, createdAt: 'x' }) + '\n' + '{}\n'.repeat(50_001));
    expect(await rejected('store-r', many)).toMatchObject({ code: 'SGW_ERR_BATCH_TOO_LARGE', reason: 'records: 50001 is over the limit of 50000 per batch' });
    await stillIngests('store-r');
  });

  it('is never handed a message larger than its limits allow (MQTT 5 Maximum Packet Size)', async () => {
    const from = stack.lines.length;
    const huge = randomBytes(16 * 1024 * 1024 + 128 * 1024);
    await pub.client.publishAsync(topics.hqBatch('store-m'), huge, { qos: 1 });
    await stillIngests('store-m');
    expect(stack.lines.slice(from).filter((l) => l.msg === 'batch rejected')).toEqual([]);
  });

  it('refuses deeply nested data, naming the record, and keeps going', async () => {
    // Written as text: JSON.stringify itself cannot serialise a value this deep.
    const r = record(nextSeq++);
    const line = JSON.stringify({ ...r, data: {} }).replace('"data":{}', `"data":{"deep":${'['.repeat(100_000)}1${']'.repeat(100_000)}}`);
    const header = makeHeader('store-d:deep', 'store-d', [r], 'x');
    const l = await rejected('store-d', compress(JSON.stringify(header) + '\n' + line + '\n'));
    expect(l).toMatchObject({ code: 'SGW_ERR_BATCH_RECORD', reason: 'records[0].data: nests deeper than 32 levels' });
    await stillIngests('store-d');
  });

  it('stores a record with U+0000 or a lone surrogate as its JSON text, acks it, and dedupes a re-send', async () => {
    const odd = { ...record(nextSeq++), data: { code: 'ab\u0000cd', half: '\ud83d' } } as BatchRecord;
    const b = makeBatch('store-z', [record(nextSeq++), odd]);
    const ack = pub.nextAck(b);
    await pub.publish(b);
    expect((await ack).body).toMatchObject({ records: 2, stored: 2 });
    const row = (await stack.db.query('SELECT record, record_text FROM records WHERE store_id = $1 AND seq = $2', ['store-z', odd.seq])).rows[0];
    expect(row.record).toBeNull();
    expect(JSON.parse(row.record_text as string)).toEqual(JSON.parse(JSON.stringify(odd)));
    const again = pub.nextAck(b, (a) => a.feed.version === 2);
    await pub.publish(b);
    expect((await again).body).toMatchObject({ stored: 0, duplicates: 2, conflicts: 0 });
  });

  it('files a re-sent refused batch once with its attempts, and rate-limits a store\'s rejection lines', async () => {
    const from = stack.lines.length;
    const junk = compress('not json\n');
    for (let i = 0; i < 3; i++) await pub.client.publishAsync(topics.hqBatch('store-f'), junk, { qos: 1 });
    for (let i = 0; i < 20; i++) await pub.client.publishAsync(topics.hqBatch('store-f'), compress(`junk ${i}\n`), { qos: 1 });
    await stillIngests('store-f');
    const rows = (await stack.db.query('SELECT attempts FROM rejected_batches WHERE store_id = $1 ORDER BY id', ['store-f'])).rows;
    expect(rows).toHaveLength(21);
    expect(rows[0].attempts).toBe(3);
    // 23 refusals from one store within seconds: 5 lines (the burst), the rest counted for the next.
    expect(stack.lines.slice(from).filter((l) => l.msg === 'batch rejected' && l.storeId === 'store-f')).toHaveLength(5);
  });
});
