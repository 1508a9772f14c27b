/**
 * The batches awaiting HQ's ingest ack, on a real SQLite outbox file: registered rows are not
 * sendable as new, come back byte for byte, leave in one transaction on an ack (the version then
 * counts as seen), go back to plain rows on release; and the pure check of an ack against the
 * batch sent names the field that differs.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutboxStore, type NewEvent } from '../../../../gateway/outbox/store.js';
import { UplinkStore } from '../../../../gateway/uplink/store.js';
import { DeliveryStore } from '../../../../gateway/uplink/deliveryStore.js';
import { ackMismatch } from '../../../../gateway/uplink/ackSubscriber.js';
import { makeHeader } from '../../../../gateway/protocol/envelopes.js';
import { batchDigest } from '../../../../gateway/protocol/schemas/ingestAck.js';
import { tempDir } from '../../../helpers/tmp.js';

let tmp: ReturnType<typeof tempDir>;
let outbox: OutboxStore;
let store: UplinkStore;
let delivery: DeliveryStore;

beforeEach(async () => {
  tmp = tempDir('sgw-dlv-');
  const file = path.join(tmp.dir, 'outbox.db');
  outbox = new OutboxStore(file);
  await outbox.start();
  store = new UplinkStore(file);
  await store.start();
  delivery = new DeliveryStore(() => store.connection);
  const evs: NewEvent[] = Array.from({ length: 6 }, (_, i) => ({ seq: i + 1, cls: 'exact', kind: 'payment', deviceId: 'pay-1', type: 'result', ts: '2026-11-25T09:00:00.000Z', recvTs: 1000 + i, monoMs: i, data: JSON.stringify({ requestId: `r${i}`, status: 'approved', amount: i }) }));
  await outbox.appendGroup(evs, [], 'boot-1');
});
afterEach(async () => {
  await store.stop();
  await outbox.stop();
  tmp.remove();
});

async function registerFirst(n: number) {
  const recs = await store.sendable('exact', n);
  const header = makeHeader(`s:${recs[0].seq}-${recs[n - 1].seq}`, 's', recs, '2026-11-25T09:00:01.000Z');
  const line = JSON.stringify(header);
  const text = line + '\n' + recs.map((r) => JSON.stringify(r) + '\n').join('');
  await delivery.register(header, line, batchDigest(text), recs.map((r) => r.seq), 5000, 'uplink');
  return { header, text, digest: batchDigest(text) };
}

describe('delivery store', () => {
  it('keeps a registered batch out of the sendable rows, gives it back byte for byte, deletes it on an ack', async () => {
    const b = await registerFirst(4);
    expect((await store.sendable('exact', 10)).map((r) => r.seq)).toEqual([5, 6]);
    expect((await store.sendable('exact', 10, true)).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    const sent = (await delivery.get(b.header.batchId))!;
    expect(sent).toMatchObject({ seqFrom: 1, seqTo: 4, records: 4, digest: b.digest, sentAt: 5000, attempts: 1, via: 'uplink' });
    const again = sent.header + '\n' + (await delivery.records(sent.batchId)).map((r) => JSON.stringify(r) + '\n').join('');
    expect(again).toBe(b.text);
    expect(await delivery.due(4999, 10)).toEqual([]);
    expect((await delivery.due(5000, 10)).map((x) => x.batchId)).toEqual([sent.batchId]);
    expect(await delivery.inflight()).toEqual({ batches: 1, records: 4 });

    expect(await delivery.accepted(7)).toBe(false);
    expect(await delivery.acknowledge(sent, 7, 6000)).toBe(4);
    expect(await delivery.accepted(7)).toBe(true);
    expect(await delivery.get(sent.batchId)).toBeNull();
    expect(await delivery.lastAckAt()).toBe(6000);
    expect((await store.summary()).total).toBe(2);
    expect(await outbox.lastSeq()).toBe(6);
  });

  it('a released batch is plain rows again; releaseAll empties the bookkeeping', async () => {
    const b = await registerFirst(3);
    await delivery.release(b.header.batchId);
    expect((await store.sendable('exact', 10)).map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    await registerFirst(2);
    expect(await delivery.releaseAll()).toBe(1);
    expect(await delivery.inflight()).toEqual({ batches: 0, records: 0 });
    expect((await store.sendable('exact', 10)).length).toBe(6);
  });

  it('an ack must name the batch as sent: range, count, digest, and counts that add up', async () => {
    const b = await registerFirst(4);
    const sent = (await delivery.get(b.header.batchId))!;
    const ack = { batchId: sent.batchId, seqFrom: 1, seqTo: 4, records: 4, digest: b.digest, stored: 3, duplicates: 1, conflicts: 0, committedAt: '2026-11-25T09:00:02.000Z' };
    expect(ackMismatch(ack, sent)).toBeNull();
    expect(ackMismatch({ ...ack, seqFrom: 2 }, sent)).toMatch(/^signed\.body\.seqFrom/);
    expect(ackMismatch({ ...ack, seqTo: 5 }, sent)).toMatch(/^signed\.body\.seqTo/);
    expect(ackMismatch({ ...ack, records: 3, stored: 2 }, sent)).toMatch(/^signed\.body\.records/);
    expect(ackMismatch({ ...ack, digest: batchDigest('other') }, sent)).toMatch(/^signed\.body\.digest/);
    expect(ackMismatch({ ...ack, stored: 4 }, sent)).toMatch(/^signed\.body\.stored/);
  });
});
