/**
 * The compactor shell, the uplink store and the quota on a real SQLite outbox file: closed
 * monotonic windows only, one transaction per window (a failing one leaves the raw rows), exact
 * rows never touched; eviction by class order, exact never evicted, and the alert.
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OutboxStore, type NewEvent } from '../../../../gateway/outbox/store.js';
import { UplinkStore } from '../../../../gateway/uplink/store.js';
import { Compactor } from '../../../../gateway/uplink/compactor.js';
import { Quota } from '../../../../gateway/uplink/quota.js';
import { ClockWatch } from '../../../../gateway/uplink/clockWatch.js';
import { DEFAULT_COMPACTION } from '../../../../gateway/uplink/compaction.js';
import type { SelfRecords } from '../../../../gateway/uplink/selfRecords.js';
import { Metrics } from '../../../../gateway/metrics.js';
import { createLogger } from '../../../../gateway/log.js';
import { tempDir } from '../../../helpers/tmp.js';

const BOOT = 'boot-1';
const T0 = Date.parse('2026-11-25T09:00:00.000Z');
const log = createLogger({ level: 'silent' });
let tmp: ReturnType<typeof tempDir>;
let outbox: OutboxStore;
let store: UplinkStore;
let seq = 0;

beforeEach(async () => {
  tmp = tempDir('sgw-cmp-');
  const file = path.join(tmp.dir, 'outbox.db');
  outbox = new OutboxStore(file);
  await outbox.start();
  store = new UplinkStore(file);
  await store.start();
  seq = 0;
});
afterEach(async () => {
  await store.stop();
  await outbox.stop();
  tmp.remove();
});

function ev(cls: NewEvent['cls'], kind: NewEvent['kind'], deviceId: string, type: string, monoMs: number, data: Record<string, unknown>): NewEvent {
  return { seq: ++seq, cls, kind, deviceId, type, ts: new Date(T0 + monoMs).toISOString(), recvTs: T0 + monoMs, monoMs, data: JSON.stringify({ ts: new Date(T0 + monoMs).toISOString(), ...data }) };
}
async function append(events: NewEvent[], bootId = BOOT): Promise<void> {
  await outbox.appendGroup(events, [], bootId);
}
function compactor(monoNow: () => number): Compactor {
  return new Compactor({ store, config: { ...DEFAULT_COMPACTION, windowMs: 60_000, intervalMs: 3600_000 }, bootId: BOOT, mono: monoNow, metrics: new Metrics({ defaultMetrics: false }), log });
}

describe('compactor', () => {
  it('compacts closed monotonic windows only, in one replace per window, and never touches exact rows', async () => {
    const evs: NewEvent[] = [];
    for (let i = 0; i < 30; i++) {
      evs.push(ev('aggregate', 'footfall', 'door-1', 'count', i * 4000, { in: 2, out: 1 }));
      if (i % 10 === 0) evs.push(ev('exact', 'payment', 'pay-1', 'result', i * 4000, { requestId: `r${i}`, status: 'approved', amount: 1 }));
    }
    await append(evs);
    let mono = 100_000; // window [60 s, 120 s) is still open
    const c = compactor(() => mono);
    await c.runOnce();
    const after1 = await store.summary();
    expect(after1.rows.exact).toBe(3);
    // Window [0, 60 s) held reports 0..14 → compacted; the open window's raw rows wait.
    const sendable1 = await store.sendable('aggregate', 100);
    expect(sendable1.reduce((a, r) => a + (r.data.in as number), 0)).toBe(15 * 2);
    expect(sendable1.every((r) => r.seqFrom !== undefined && r.seqFrom <= r.seq)).toBe(true);
    mono = 200_000;
    await c.runOnce();
    const agg = await store.sendable('aggregate', 100);
    expect(agg.reduce((a, r) => a + (r.data.in as number), 0)).toBe(60);
    expect(agg.reduce((a, r) => a + (r.data.reports as number), 0)).toBe(30);
    expect(await store.rawClosed('aggregate', BOOT, Infinity, 100)).toEqual([]);
    // Exact rows are as they were: same seqs, untouched data.
    const exact = await store.sendable('exact', 100);
    expect(exact.map((r) => r.data.requestId)).toEqual(['r0', 'r10', 'r20']);
    expect(exact.every((r) => r.seqFrom === undefined)).toBe(true);
    // A second pass changes nothing (compact rows are not recompacted).
    await c.runOnce();
    expect(await store.sendable('aggregate', 100)).toEqual(agg);
  });

  it('every window of an earlier boot is closed', async () => {
    await append([ev('latest', 'kiosk', 'k1', 'heartbeat', 1000, { uptimeS: 1 }), ev('latest', 'kiosk', 'k1', 'heartbeat', 2000, { uptimeS: 2 })], 'boot-0');
    await compactor(() => 0).runOnce();
    const latest = await store.sendable('latest', 10);
    expect(latest).toHaveLength(1);
    expect(latest[0]).toMatchObject({ seq: 2, seqFrom: 1, data: { uptimeS: 2 } });
  });

  it('a replace that fails leaves the raw rows (one transaction)', async () => {
    await append([ev('sampled', 'scale', 's1', 'weight', 0, { grams: 10, stable: true }), ev('sampled', 'scale', 's1', 'weight', 10, { grams: 500, stable: true })]);
    const raw = await store.rawClosed('sampled', BOOT, Infinity, 10);
    // Second insert row collides with an existing seq that is not deleted: the whole replace rolls back.
    await expect(store.replaceWithCompact('sampled', [1], [{ seq: 1, seqFrom: 1, class: 'sampled', kind: 'scale', deviceId: 's1', type: 'weight', ts: '', data: {} }, { seq: 2, seqFrom: 2, class: 'sampled', kind: 'scale', deviceId: 's1', type: 'weight', ts: '', data: {} }])).rejects.toThrow(/UNIQUE|constraint/);
    expect(await store.rawClosed('sampled', BOOT, Infinity, 10)).toEqual(raw);
  });
});

describe('quota', () => {
  function quota(quotaBytes: number, records: string[]): Quota {
    return new Quota({
      store,
      dir: tmp.dir,
      quotaBytes,
      minFreeDiskBytes: 0,
      selfRecords: { record: async (code: string, _s: string, _m: string, facts: Record<string, unknown>) => (records.push(`${code} ${JSON.stringify(facts)}`), 0) } as unknown as SelfRecords,
      metrics: new Metrics({ defaultMetrics: false }),
      log,
      now: () => T0,
      freeDisk: async () => 10 * 1024 ** 3,
    });
  }
  const pad = 'x'.repeat(400);

  it('evicts sampled, then latest, then presence, oldest first, records what it evicted, and never evicts exact', async () => {
    const evs: NewEvent[] = [];
    for (let i = 0; i < 1500; i++) evs.push(ev('sampled', 'scale', 's1', 'weight', i, { grams: i, stable: true, pad }));
    for (let i = 0; i < 500; i++) evs.push(ev('exact', 'kiosk', 'k1', 'attendant', i, { requestId: `r${i}`, pad })); // not a payment result: those also keep a small settlement row, outside this count
    for (let i = 0; i < 500; i++) evs.push(ev('latest', 'kiosk', 'k1', 'heartbeat', i, { uptimeS: i, pad }));
    await append(evs);
    const used = await store.usedBytes();
    const records: string[] = [];
    const q = quota(Math.floor(used * 0.35), records);
    const s = await q.check();
    expect(s.usedBytes).toBeLessThanOrEqual(s.limitBytes);
    expect(s.alert).toBe(false);
    expect(s.evicted.sampled).toBe(1500);
    expect(s.evicted.latest).toBeGreaterThan(0);
    expect(s.evicted.exact).toBeUndefined();
    expect((await store.summary()).rows.exact).toBe(500);
    expect(records[0]).toBe(`OUTBOX_EVICTED {"evicted":{"class":"sampled","count":1500,"seqFrom":1,"seqTo":1500}}`);
    expect(records[1]).toMatch(/^OUTBOX_EVICTED {"evicted":{"class":"latest","count":\d+,"seqFrom":2001,/);
    // The oldest latest rows went first.
    const left = await store.rawClosed('latest', BOOT, Infinity, 1000);
    expect(left[0].seq).toBeGreaterThan(2001);
  });

  it('raises the alert when exact records alone break the quota, and keeps them', async () => {
    const evs: NewEvent[] = [];
    for (let i = 0; i < 3000; i++) evs.push(ev('exact', 'payment', 'p1', 'result', i, { requestId: `r${i}`, pad }));
    await append(evs);
    const q = quota(1024 * 1024, []);
    const s = await q.check();
    expect(s.alert).toBe(true);
    expect((await store.summary()).rows.exact).toBe(3000);
  });
});

describe('clock watch', () => {
  it('sees a jump back and forward beyond the threshold, and not a drift within it', () => {
    let wall = T0;
    let mono = 0;
    const w = new ClockWatch(() => wall, () => mono, 2000);
    mono += 1000;
    wall += 2500; // 1.5 s drift: not a jump
    expect(w.check()).toBeNull();
    wall -= 3600_000;
    expect(w.check()).toMatchObject({ direction: 'back', jumpMs: -3600_000 + 1500 }); // against the baseline, drift included
    expect(w.check()).toBeNull();
    mono += 10;
    wall += 3600_010;
    expect(w.check()).toMatchObject({ direction: 'forward', jumpMs: 3600_000 });
  });
});
