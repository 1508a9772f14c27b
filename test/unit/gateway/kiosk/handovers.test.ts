/**
 * Click & collect hand-over tasks on real SQLite files (kiosk.db, outbox.db in a temp
 * folder): the task a collected order becomes, the exact record and its schema, a record that
 * fails (the task opens again), and every way a crash can leave a hand-over half done — its record
 * committed (also when the uplink already took the row to HQ) or never written.
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../gateway/log.js';
import { KioskStore } from '../../../../gateway/kiosk/store.js';
import { OutboxStore, type NewEvent } from '../../../../gateway/outbox/store.js';
import { Handovers, handoverRecord, taskOf } from '../../../../gateway/kiosk/handovers.js';
import type { OnlineOrderT } from '../../../../gateway/kiosk/orders.js';
import { CATALOGUE } from '../../../../gateway/protocol/schemas/index.js';
import { compile } from '../../../../gateway/protocol/validate.js';
import { tempDir } from '../../../helpers/tmp.js';

const order = (orderId: string, code: string, customer?: string): OnlineOrderT => ({
  orderId,
  pickupCode: code,
  ...(customer ? { customer } : {}),
  lines: [
    { name: 'Milk', qty: 2 },
    { name: 'Eggs', qty: 10 },
  ],
  total: 999,
  currency: 'EUR',
  paidAt: '2026-11-24T18:00:00.000Z',
});
const T0 = Date.parse('2026-11-25T10:00:00.000Z');

let tmp: ReturnType<typeof tempDir>;
let store: KioskStore;
let outbox: OutboxStore;
let lastSeq: number;
let logs: Record<string, unknown>[];
let recorded: { kioskId: string; data: Record<string, unknown> }[];
let failRecord: boolean;

function event(seq: number, type: string, data: object): NewEvent {
  return { seq, cls: 'exact', kind: 'kiosk', deviceId: 'k1', type, ts: new Date(T0).toISOString(), recvTs: T0, monoMs: 0, data: JSON.stringify(data) };
}

/** Appends as ingest would: the next seq, committed before it resolves. */
async function append(type: string, data: object): Promise<number> {
  const seq = ++lastSeq;
  await outbox.appendGroup([event(seq, type, data)], [], 'boot-1');
  return seq;
}

function handovers(now = () => T0 + 60_000): Handovers {
  const log = createLogger({ level: 'info', stream: new Writable({ write: (c: Buffer, _e, cb) => (logs.push(...c.toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>)), cb()) }) });
  return new Handovers({
    store,
    outbox,
    lastSeq: () => lastSeq,
    log,
    now,
    record: async (kioskId, data) => {
      if (failRecord) throw new Error('kiosk handover record failed its schema');
      recorded.push({ kioskId, data: data as Record<string, unknown> });
      return append('handover', data);
    },
  });
}

/** Orders collected at k1 (open tasks), as confirmPickup leaves them. */
async function collected(...orders: OnlineOrderT[]): Promise<void> {
  await store.applyOrders(1, { mode: 'snapshot', orders }, T0);
  for (const [i, o] of orders.entries()) {
    expect(await store.claimOrder(o.orderId, 'k1', 0, T0)).toBe(true);
    await store.finishOrder(o.orderId, 'collected', T0 + i * 1000, await append('pickup', { orderId: o.orderId }));
  }
}

beforeEach(async () => {
  tmp = tempDir('sgw-handovers-');
  store = new KioskStore(path.join(tmp.dir, 'kiosk.db'));
  outbox = new OutboxStore(path.join(tmp.dir, 'outbox.db'));
  await store.start();
  await outbox.start();
  lastSeq = 0;
  logs = [];
  recorded = [];
  failRecord = false;
});

afterEach(async () => {
  await store.stop();
  await outbox.stop();
  tmp.remove();
});

describe('the task and its record', () => {
  it('an open task shows what the order carries; the record validates against the kiosk handover schema', async () => {
    await collected(order('WEB-1', 'AAAAAA', 'A. Shopper'), order('WEB-2', 'BBBBBB'));
    const h = handovers();
    await h.start();
    expect(h.list()).toEqual([
      { orderId: 'WEB-1', kioskId: 'k1', customer: 'A. Shopper', items: 12, lines: 2, since: '2026-11-25T10:00:00.000Z', state: 'open' },
      { orderId: 'WEB-2', kioskId: 'k1', customer: '', items: 12, lines: 2, since: '2026-11-25T10:00:01.000Z', state: 'open' },
    ]);
    const row = (await store.handover('WEB-1'))!;
    expect(taskOf(row).orderId).toBe('WEB-1');
    const rec = handoverRecord(row, 'anna', T0 + 5000);
    expect(rec).toEqual({ ts: '2026-11-25T10:00:05.000Z', kioskId: 'k1', orderId: 'WEB-1', by: 'anna', at: '2026-11-25T10:00:05.000Z', collectedAt: '2026-11-25T10:00:00.000Z' });
    const check = compile(CATALOGUE.kiosk.events.handover.schema);
    expect(check(rec)).toBe(true);
    expect(check({ ...rec, by: '' })).toBe(false);
    expect(check({ ...rec, price: 1 })).toBe(false);
  });

  it('an order that was never collected, or withdrawn, is no task', async () => {
    await store.applyOrders(1, { mode: 'snapshot', orders: [order('WEB-9', 'ZZZZZZ')] }, T0);
    const h = handovers();
    await h.start();
    expect(h.list()).toEqual([]);
    expect(await h.handOver('WEB-9', 'anna')).toMatchObject({ ok: false, reason: 'notFound' });
    expect(recorded).toEqual([]);
  });

  it('a record that fails leaves the task open, and the next press records it once', async () => {
    await collected(order('WEB-1', 'AAAAAA'));
    const h = handovers();
    await h.start();
    const seen: number[] = [];
    h.onChange((t) => seen.push(t.length));
    failRecord = true;
    expect(await h.handOver('WEB-1', 'anna')).toMatchObject({ ok: false, reason: 'failed' });
    expect(h.list()).toMatchObject([{ orderId: 'WEB-1', state: 'open' }]);
    expect((await store.handover('WEB-1'))!).toMatchObject({ state: 'open', by: null, at: null });
    failRecord = false;
    expect(await h.handOver('WEB-1', 'ben')).toMatchObject({ ok: true, by: 'ben', seq: lastSeq });
    expect(await h.handOver('WEB-1', 'anna')).toMatchObject({ ok: false, reason: 'done', message: expect.stringContaining('by ben') });
    expect(recorded.map((r) => r.data.by)).toEqual(['ben']);
    expect(h.list()).toEqual([]);
    expect(seen.at(-1)).toBe(0);
  });
});

describe('a hand-over left half done by a crash', () => {
  it('settled by the record key: committed → done with its seq (also after HQ took the row); never committed → recorded now with the saved who and when', async () => {
    await collected(order('WEB-A', 'AAAAAA'), order('WEB-B', 'BBBBBB'), order('WEB-C', 'CCCCCC'), order('WEB-D', 'DDDDDD'));
    const base = lastSeq; // 4 pickups
    // WEB-A: claimed, its record committed, the crash came before "done".
    expect(await store.claimHandover('WEB-A', 'anna', T0 + 10_000, base)).toBe(true);
    const aSeq = await append('handover', handoverRecord((await store.handover('WEB-A'))!, 'anna', T0 + 10_000));
    // WEB-D: the same, and then the uplink delivered its record and rows around it and deleted them.
    expect(await store.claimHandover('WEB-D', 'dora', T0 + 10_500, lastSeq)).toBe(true);
    const dSeq = await append('handover', handoverRecord((await store.handover('WEB-D'))!, 'dora', T0 + 10_500));
    // WEB-C: claimed; after it two rows that the uplink then delivered and deleted (HQ has them); its own record never written.
    expect(await store.claimHandover('WEB-C', 'carl', T0 + 11_000, lastSeq)).toBe(true);
    const gone = [dSeq, await append('pickup', { orderId: 'X-1' }), await append('pickup', { orderId: 'X-2' })];
    await outbox.database.run(`DELETE FROM events WHERE seq IN (${gone.map(() => '?').join(', ')})`, gone);
    // WEB-B: claimed after that; nothing written since.
    expect(await store.claimHandover('WEB-B', 'ben', T0 + 12_000, lastSeq)).toBe(true);

    const h = handovers();
    await h.start();
    expect(h.list()).toEqual([]);
    expect(await store.handover('WEB-A')).toMatchObject({ state: 'done', seq: aSeq, by: 'anna' });
    expect(await store.handover('WEB-D')).toMatchObject({ state: 'done', seq: dSeq, by: 'dora' }); // no second record although its row is gone
    const written = recorded.map((r) => r.data.orderId).sort();
    expect(written).toEqual(['WEB-B', 'WEB-C']);
    expect(recorded.find((r) => r.data.orderId === 'WEB-B')).toEqual({ kioskId: 'k1', data: { ts: '2026-11-25T10:00:12.000Z', kioskId: 'k1', orderId: 'WEB-B', by: 'ben', at: '2026-11-25T10:00:12.000Z', collectedAt: '2026-11-25T10:00:01.000Z' } });
    expect(await store.handover('WEB-C')).toMatchObject({ state: 'done', by: 'carl' });
    expect((await store.handover('WEB-C'))!.seq).not.toBeNull();
    const inOutbox = (await outbox.read(0, 1000)).filter((r) => r.type === 'handover').map((r) => r.data.orderId).sort();
    expect(inOutbox).toEqual(['WEB-A', 'WEB-B', 'WEB-C']);
  });

});
