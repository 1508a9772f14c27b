/**
 * The uplink's drain with every class competing, on a real outbox file through the real uplink
 * store, batcher and batch encoding; HQ is the `publish` function, decoding each batch as HQ would.
 * While HQ is down the outbox fills with exact records and compacted records of every other class;
 * once HQ is back exact goes first, and while new exact records keep arriving at a steady rate
 * (more than one per batch) every other class is still delivered within a bounded number of
 * batches: none starves.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxStore, type NewEvent } from '../../../../gateway/outbox/store.js';
import { UplinkStore } from '../../../../gateway/uplink/store.js';
import { Batcher, Dropped } from '../../../../gateway/uplink/batcher.js';
import { PRIORITY_BATCHES_PER_SHARE } from '../../../../gateway/uplink/drainShare.js';
import type { SelfRecords } from '../../../../gateway/uplink/selfRecords.js';
import { decodeBatch, type EventClass } from '../../../../gateway/protocol/envelopes.js';
import { Metrics } from '../../../../gateway/metrics.js';
import { createLogger } from '../../../../gateway/log.js';
import { tempDir } from '../../../helpers/tmp.js';

const BOOT = 'boot-1';
const T0 = Date.parse('2026-12-05T09:00:00.000Z');
const NON_EXACT: EventClass[] = ['aggregate', 'presence', 'latest', 'sampled'];
const BATCH = 10;
/** New exact records per batch sent: more than strict class order could ever get ahead of. */
const EXACT_PER_BATCH = 3;
let tmp: ReturnType<typeof tempDir>;
let outbox: OutboxStore;
let store: UplinkStore;
let seq = 0;

beforeAll(async () => {
  tmp = tempDir('sgw-drain-');
  const file = path.join(tmp.dir, 'outbox.db');
  outbox = new OutboxStore(file);
  await outbox.start();
  store = new UplinkStore(file);
  await store.start();
});
afterAll(async () => {
  await store.stop();
  await outbox.stop();
  tmp.remove();
});

function ev(cls: EventClass, i: number): NewEvent {
  const t = T0 + i * 1000;
  return { seq: ++seq, cls, kind: cls === 'exact' ? 'payment' : 'footfall', deviceId: cls === 'exact' ? 'pay-1' : `door-${cls}`, type: cls === 'exact' ? 'result' : 'count', ts: new Date(t).toISOString(), recvTs: t, monoMs: i * 1000, data: JSON.stringify({ ts: new Date(t).toISOString(), i }) };
}
async function appendExact(n: number): Promise<void> {
  await outbox.appendGroup(Array.from({ length: n }, (_, i) => ev('exact', seq + i)), [], BOOT);
}
/** `windows` compacted records of `cls`, each standing for 3 raw rows, as the compactor leaves them. */
async function appendCompacted(cls: EventClass, windows: number): Promise<void> {
  for (let w = 0; w < windows; w++) {
    const raw = [ev(cls, seq), ev(cls, seq + 1), ev(cls, seq + 2)];
    await outbox.appendGroup(raw, [], BOOT);
    const last = raw[2]!;
    await store.replaceWithCompact(cls, raw.map((r) => r.seq), [{ seq: last.seq, seqFrom: raw[0]!.seq, class: cls, kind: last.kind, deviceId: last.deviceId, type: 'window', ts: last.ts, recvTs: last.recvTs, bootId: BOOT, monoMs: last.monoMs, data: { ts: last.ts, count: 3 } }]);
  }
}

describe('drain with every class competing', () => {
  it('exact first, and no class starves while exact records keep arriving', async () => {
    // HQ down: an exact backlog with every other class interleaved in time.
    for (let round = 0; round < 3; round++) {
      await appendExact(20);
      for (const cls of NON_EXACT) await appendCompacted(cls, 4);
    }
    const waiting = await store.summary();
    expect(waiting.rows).toMatchObject({ exact: 60, aggregate: 12, presence: 12, latest: 12, sampled: 12 });

    let hqUp = false;
    const sent: { classes: Set<EventClass>; seqs: number[] }[] = [];
    const batcher = new Batcher({
      store,
      selfRecords: { record: async () => 0 } as unknown as SelfRecords,
      metrics: new Metrics({ defaultMetrics: false }),
      log: createLogger({ level: 'silent' }),
      now: () => T0,
      storeId: 'drain-store',
      compression: 'gzip',
      maxRecords: BATCH,
      maxBytes: () => 1024 * 1024,
      publish: async (payload) => {
        if (!hqUp) throw new Dropped('HQ is down');
        const d = decodeBatch(payload);
        if (!d.ok) throw new Error(d.reason);
        sent.push({ classes: new Set(d.records.map((r) => r.class)), seqs: d.records.map((r) => r.seq) });
        // The store keeps selling: new exact records arrive with every batch HQ takes.
        await appendExact(EXACT_PER_BATCH);
      },
    });
    await expect(batcher.sendNext()).rejects.toThrow(Dropped);
    expect((await store.summary()).total).toBe(waiting.total);

    hqUp = true;
    const firstSeen = new Map<EventClass, number>();
    for (let b = 0; b < 40; b++) {
      expect(await batcher.sendNext()).toBe(true);
      for (const c of sent[b]!.classes) if (!firstSeen.has(c)) firstSeen.set(c, b);
    }
    // Exact first: the first batches after the reconnect are exact, each batch is one class.
    expect(sent.slice(0, PRIORITY_BATCHES_PER_SHARE).every((s) => s.classes.size === 1 && s.classes.has('exact'))).toBe(true);
    expect(sent.every((s) => s.classes.size === 1)).toBe(true);
    // No class starves: every class was delivered within the first 40 batches, and all of the
    // backlog of every non-exact class is gone although exact records never stopped coming.
    for (const cls of NON_EXACT) expect(firstSeen.get(cls), cls).toBeLessThan(40);
    const after = await store.summary();
    for (const cls of NON_EXACT) expect(after.rows[cls] ?? 0, cls).toBe(0);
    // Exact still had most of the batches.
    const exactBatches = sent.filter((s) => s.classes.has('exact')).length;
    expect(exactBatches).toBeGreaterThanOrEqual(Math.floor((40 * PRIORITY_BATCHES_PER_SHARE) / (PRIORITY_BATCHES_PER_SHARE + 1)));
    // Exact records reached HQ in seq order.
    const exactSeqs = sent.filter((s) => s.classes.has('exact')).flatMap((s) => s.seqs);
    expect(exactSeqs).toEqual([...exactSeqs].sort((a, b) => a - b));
  });
});
