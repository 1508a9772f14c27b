import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import { HqSim, hqBrokerSecurity } from '../../sim/hqSim.js';
import { buildBatches, encodeBatch, makeHeader, type BatchRecord, type OutboxRecord } from '../../../gateway/protocol/envelopes.js';
import { compact } from '../../../gateway/uplink/compaction.js';
import { topics } from '../../../gateway/protocol/topics.js';

const T0 = Date.parse('2026-11-25T09:00:00.000Z');
const CREATED = '2026-11-25T09:10:00.000Z';

/** A window of a small store: payments (exact), door counts, a shelf reader, heartbeats, a scale. */
function rawWindow(): OutboxRecord[] {
  const raw: OutboxRecord[] = [];
  let seq = 0;
  const add = (cls: OutboxRecord['cls'], kind: OutboxRecord['kind'], deviceId: string, type: string, data: Record<string, unknown>, dt = 1_000) => {
    seq++;
    const recvTs = T0 + seq * dt;
    raw.push({ seq, cls, kind, deviceId, type, ts: new Date(recvTs).toISOString(), recvTs, bootId: 'boot-1', monoMs: seq * dt, data });
  };
  for (let i = 0; i < 40; i++) {
    add('aggregate', 'footfall', i % 2 ? 'door-1' : 'door-2', i % 3 ? 'count' : 'cross', i % 3 ? { in: i % 5, out: i % 4 } : { direction: i % 2 ? 'in' : 'out' });
    if (i % 4 === 0) add('exact', 'payment', 'pay-1', 'result', { requestId: `r${i}`, status: 'approved', amount: 100 * i });
    add('presence', 'rfid', 'shelf-1', 'read', { epc: i < 20 ? 'AAAA0001' : 'BBBB0002', antenna: 1 + (i % 2), rssi: -50 - (i % 7) });
    if (i % 10 === 0) add('latest', 'kiosk', 'kiosk-1', 'heartbeat', { uptimeS: i * 30 });
    add('sampled', 'scale', 'scale-1', 'weight', { grams: i < 20 ? 0 : 450, stable: i % 2 === 0 });
  }
  return raw;
}

function rawFootfall(raw: OutboxRecord[]): { in: number; out: number } {
  const sum = { in: 0, out: 0 };
  for (const r of raw) {
    if (r.kind !== 'footfall') continue;
    if (r.type === 'cross') sum[r.data.direction as 'in' | 'out']++;
    else {
      sum.in += r.data.in as number;
      sum.out += r.data.out as number;
    }
  }
  return sum;
}

/** A gateway-like publisher; it reconnects, as refuse/accept make Mosquitto kick anonymous clients. */
async function publisher(url: string, protocolVersion: 4 | 5 = 5, reconnectPeriod = 100): Promise<MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion, reconnectPeriod, clean: true });
}

function batchOf(storeId: string, records: BatchRecord[], batchId = `${storeId}:${records[0].seq}-${records[records.length - 1].seq}`): Buffer {
  return encodeBatch(makeHeader(batchId, storeId, records, CREATED), records);
}

describe('HQ simulator against a real Mosquitto', () => {
  let broker: Mosquitto;
  let sim: HqSim;
  let pub: MqttClient;
  const dir = tempDir('hqsim-');

  beforeAll(async () => {
    const security = hqBrokerSecurity(dir.dir);
    broker = await startMosquitto({ extraConfig: security.extraConfig });
    sim = new HqSim({ url: broker.url, admin: security.admin });
    await sim.start();
    pub = await publisher(broker.url);
  });

  afterAll(async () => {
    await pub?.endAsync(true);
    await sim?.stop();
    await broker?.stop();
    dir.remove();
  });

  it('keeps the first record per (storeId, seq), counts duplicates, and sums footfall exactly', async () => {
    const raw = rawWindow();
    const { records } = compact(raw);
    const { batches, oversize } = await buildBatches(records, { storeId: 'store-a', createdAt: CREATED, maxRecords: 7 });
    expect(oversize).toEqual([]);
    expect(batches.length).toBeGreaterThan(2);
    for (const b of batches) await pub.publishAsync(topics.hqBatch('store-a'), b.payload, { qos: 1 });
    // A reconnect re-sends the second batch as it was …
    await pub.publishAsync(topics.hqBatch('store-a'), batches[1].payload, { qos: 1 });
    // … and a restarted gateway recompacts the same window and cuts it into different batches.
    const again = await buildBatches(compact(raw).records, { storeId: 'store-a', createdAt: CREATED, maxRecords: 3 });
    for (const b of again.batches) await pub.publishAsync(topics.hqBatch('store-a'), b.payload, { qos: 1 });

    const expectBatches = batches.length + 1 + again.batches.length;
    await sim.waitFor((hq) => hq.totals('store-a').batches === expectBatches, 10_000, 'all batches');

    const t = sim.totals('store-a');
    expect(t.records).toBe(records.length);
    expect(t.duplicates).toBe(batches[1].header.records + records.length);
    expect(t.conflicts).toBe(0);
    expect(t.duplicateBatches).toBe(1);
    expect(t.bytes).toBe([...batches, batches[1], ...again.batches].reduce((n, b) => n + b.payload.length, 0));
    expect(sim.batchLog.filter((b) => b.storeId === 'store-a').map((b) => b.duplicates)).toEqual([
      ...batches.map(() => 0),
      batches[1].header.records,
      ...again.batches.map((b) => b.header.records),
    ]);

    expect(sim.footfall('store-a')).toEqual(rawFootfall(raw));
    expect(sim.footfall('store-a', 'door-1')).toEqual(rawFootfall(raw.filter((r) => r.deviceId === 'door-1')));
    const byClass = sim.countsByClass('store-a');
    expect(byClass.exact).toBe(raw.filter((r) => r.cls === 'exact').length);
    expect(byClass.presence).toBe(2);
    expect(byClass.latest).toBe(1);
    expect(sim.lastSeq('store-a')).toBe(Math.max(...records.map((r) => r.seq)));
    const exactSeqs = raw.filter((r) => r.cls === 'exact').map((r) => r.seq);
    expect(sim.missing('store-a', exactSeqs)).toEqual([]);
    expect(sim.exactOutOfOrder('store-a')).toBe(0);
    expect(sim.records('store-a', 'exact').map((r) => r.seq)).toEqual(exactSeqs);
  });

  it('finds exact records that never arrived, and ones that arrived out of order', async () => {
    const ex = (seq: number): BatchRecord => ({ seq, class: 'exact', kind: 'scanner', deviceId: 'sc-1', type: 'scan', ts: CREATED, data: { code: String(seq) } });
    const agg: BatchRecord = { seq: 6, seqFrom: 4, class: 'aggregate', kind: 'footfall', deviceId: 'door-1', type: 'count', ts: CREATED, data: { in: 1, out: 0 } };
    await pub.publishAsync(topics.hqBatch('store-b'), batchOf('store-b', [ex(1), ex(2), agg, ex(7), ex(10), ex(11)]), { qos: 1 });
    await pub.publishAsync(topics.hqBatch('store-b'), batchOf('store-b', [ex(3)]), { qos: 1 });
    await sim.waitFor((hq) => hq.recordCount('store-b') === 7, 10_000, 'store-b records');
    // 3 arrived late; 4..6 are covered by the aggregate; 8..9 nobody covers.
    expect(sim.exactGaps('store-b')).toEqual([{ from: 8, to: 9 }]);
    expect(sim.exactOutOfOrder('store-b')).toBe(1);
    expect(sim.missing('store-b', [1, 2, 3, 8, 9, 10])).toEqual([8, 9]);
  });

  it('counts an undecodable batch as an error and keeps going', async () => {
    await pub.publishAsync(topics.hqBatch('store-c'), Buffer.from([0x1f, 0x8b, 0, 0]), { qos: 1 });
    // A header that claims another store than the topic's is refused too.
    const ex: BatchRecord = { seq: 1, class: 'exact', kind: 'scanner', deviceId: 'sc-1', type: 'scan', ts: CREATED, data: {} };
    await pub.publishAsync(topics.hqBatch('store-c'), batchOf('store-x', [ex]), { qos: 1 });
    await pub.publishAsync(topics.hqBatch('store-c'), batchOf('store-c', [ex]), { qos: 1 });
    await sim.waitFor((hq) => hq.recordCount('store-c') === 1, 10_000, 'store-c record');
    expect(sim.decodeErrors.filter((e) => e.storeId === 'store-c').map((e) => e.code)).toEqual(['SGW_ERR_BATCH_DECOMPRESS', 'SGW_ERR_BATCH_HEADER']);
    expect(sim.storeIds()).not.toContain('store-x');
  });

  it('tracks the retained store status, including a status retained before it subscribed', async () => {
    await pub.publishAsync(topics.hqStatus('store-d'), JSON.stringify({ state: 'online', outboxDepth: 12 }), { qos: 1, retain: true });
    await sim.waitFor((hq) => (hq.status('store-d') as { state?: string } | undefined)?.state === 'online', 10_000, 'store-d online');

    const late = new HqSim({ url: broker.url });
    await late.start();
    try {
      await late.waitFor((hq) => hq.status('store-d') !== undefined, 10_000, 'retained status');
      expect(late.status('store-d')).toEqual({ state: 'online', outboxDepth: 12 });
    } finally {
      await late.stop();
    }
    await pub.publishAsync(topics.hqStatus('store-d'), '', { qos: 1, retain: true });
    await sim.waitFor((hq) => hq.status('store-d') === undefined, 10_000, 'status cleared');
  });

  it('the Last Will of a gateway that dies shows as its status', async () => {
    const gw = await mqtt.connectAsync(broker.url, {
      protocolVersion: 5,
      reconnectPeriod: 0,
      will: { topic: topics.hqStatus('store-e'), payload: Buffer.from(JSON.stringify({ state: 'offline' })), qos: 1, retain: true },
    });
    await gw.publishAsync(topics.hqStatus('store-e'), JSON.stringify({ state: 'online' }), { qos: 1, retain: true });
    await sim.waitFor((hq) => (hq.status('store-e') as { state?: string } | undefined)?.state === 'online', 10_000, 'store-e online');
    (gw as unknown as { stream: { destroy(): void } }).stream.destroy(); // no DISCONNECT: the broker sends the will
    await sim.waitFor((hq) => (hq.status('store-e') as { state?: string } | undefined)?.state === 'offline', 10_000, 'store-e offline');
    gw.end(true);
  });

  it('refuses a store’s batches on demand: MQTT 5 publishers get PUBACK 0x87, and nothing reaches HQ', async () => {
    const rec = (seq: number): BatchRecord => ({ seq, class: 'exact', kind: 'payment', deviceId: 'pay-1', type: 'result', ts: CREATED, data: { amount: seq } });
    await sim.refuse('store-f');
    const refused = await pub.publishAsync(topics.hqBatch('store-f'), batchOf('store-f', [rec(1)]), { qos: 1 }).then(
      () => null,
      (err: Error & { code?: number }) => err.code,
    );
    expect(refused).toBe(0x87);
    // Another store is not affected.
    await pub.publishAsync(topics.hqBatch('store-g'), batchOf('store-g', [rec(1)]), { qos: 1 });

    // MQTT 3.1.1 has no negative PUBACK: a refused batch is acked like a delivered one and lost.
    // The uplink must speak MQTT 5 to ever learn of a refusal.
    const v4 = await publisher(broker.url, 4);
    const v4Result = await v4.publishAsync(topics.hqBatch('store-f'), batchOf('store-f', [rec(2)]), { qos: 1 }).then(() => 'acked', () => 'refused');
    await v4.endAsync(true);
    expect(v4Result).toBe('acked');

    await sim.accept('store-f');
    await pub.publishAsync(topics.hqBatch('store-f'), batchOf('store-f', [rec(3)]), { qos: 1 });
    await sim.waitFor((hq) => hq.recordCount('store-f') > 0 && hq.recordCount('store-g') > 0, 10_000, 'store-f after accept');
    expect(sim.records('store-f').map((r) => r.seq)).toEqual([3]);
    expect(sim.totals('store-f').batches).toBe(1);
  });

  it('waitFor rejects with what it waited for when the condition never holds', async () => {
    await expect(sim.waitFor((hq) => hq.recordCount('nobody') > 0, 50, 'a batch from nobody')).rejects.toThrow(/a batch from nobody: not met within 50 ms/);
  });
});

describe('HQ refusing a packet over its size limit', () => {
  let broker: Mosquitto;
  let sim: HqSim;

  beforeAll(async () => {
    broker = await startMosquitto({ maxPacketSize: 4_096 });
    sim = new HqSim({ url: broker.url });
    await sim.start();
  });
  afterAll(async () => {
    await sim?.stop();
    await broker?.stop();
  });

  it('drops the big batch and disconnects its publisher; a batch under the limit goes through', async () => {
    // Random bytes do not compress: the batch stays over the limit after gzip.
    const big: BatchRecord = { seq: 1, class: 'exact', kind: 'scanner', deviceId: 'sc-1', type: 'scan', ts: CREATED, data: { code: randomBytes(6_000).toString('base64') } };
    const bigPayload = batchOf('store-h', [big]);
    expect(bigPayload.length).toBeGreaterThan(4_096);

    const pub = await publisher(broker.url, 5, 0);
    const closed = new Promise<void>((resolve) => pub.once('close', () => resolve()));
    pub.publish(topics.hqBatch('store-h'), bigPayload, { qos: 1 }, () => {});
    await closed;
    pub.end(true);

    const small: BatchRecord = { ...big, seq: 2, data: { code: '4006381333931' } };
    const pub2 = await publisher(broker.url, 5, 0);
    await pub2.publishAsync(topics.hqBatch('store-h'), batchOf('store-h', [small]), { qos: 1 });
    await pub2.endAsync(true);
    await sim.waitFor((hq) => hq.recordCount('store-h') > 0, 10_000, 'small batch');
    expect(sim.records('store-h').map((r) => r.seq)).toEqual([2]);
  });
});
