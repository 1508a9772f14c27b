/**
 * The disk quota with a real gateway: HQ is down, a scale floods weights and a terminal sells;
 * the outbox goes over its (1 MiB) quota, the quota evicts sampled records first and writes an
 * exact record saying what it evicted; no exact record is evicted. When HQ is back it gets every
 * sale and the eviction record, and the evicted range is exactly what is missing.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { connectDevice, metric, startGateway, TEST_SECRET } from '../../helpers/gatewayHarness.js';
import { startMosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import { HqSim } from '../../sim/hqSim.js';
import { wanGate } from './uplinkWan.js';

const tmp = tempDir('sgw-quota-');
afterAll(() => tmp.remove());
const STORE = 'test-store';
const QUOTA = 1024 * 1024;

describe('outbox quota', () => {
  it('evicts sampled records first, records the eviction, keeps every exact record', async () => {
    const broker = await startMosquitto();
    const hq = new HqSim({ url: broker.url });
    await hq.start();
    const wan = await wanGate(broker.port, false);
    const gw = await startGateway({
      dataDir: tmp.dir,
      devices: [{ kind: 'scale', id: 's1' }, { kind: 'payment', id: 'pay-1' }],
      extra: {
        data: { dir: tmp.dir, quotaBytes: QUOTA },
        hq: { url: wan.url },
        prices: { enabled: false },
        uplink: { backoffInitialMs: 50, backoffMaxMs: 200, minFreeDiskBytes: 0, checkIntervalMs: 600_000 },
      },
    });
    const scale = await connectDevice(gw.mqttUrl, 'scale/s1', TEST_SECRET);
    const pay = await connectDevice(gw.mqttUrl, 'payment/pay-1', TEST_SECRET);
    try {
      const pad = 'w'.repeat(150);
      for (let round = 0; round < 12; round++) {
        // 500 weights per round, at most 100 awaiting their PUBACK (the gateway closes a client past mqtt.maxInflightPerClient).
        for (let chunk = 0; chunk < 5; chunk++) await Promise.all(Array.from({ length: 100 }, (_, j) => chunk * 100 + j).map((i) => scale.publishAsync('store/v1/dev/scale/s1/evt/weight', JSON.stringify({ ts: new Date().toISOString(), grams: round * 1000 + i * 7, stable: true, note: pad }), { qos: 1 })));
        await pay.publishAsync('store/v1/dev/payment/pay-1/evt/result', JSON.stringify({ ts: new Date().toISOString(), requestId: `p-${round}`, status: 'approved', amount: round }), { qos: 1 });
      }
      await gw.gw.uplink.checkNow();
      const q = gw.gw.uplink.quota.status;
      expect(q.usedBytes).toBeLessThanOrEqual(QUOTA);
      expect(q.evicted.sampled).toBeGreaterThan(0);
      expect(q.evicted.exact).toBeUndefined();
      expect(await metric(gw.httpUrl, 'storegw_outbox_evicted_total{class="sampled"}')).toBe(q.evicted.sampled);

      wan.open();
      await hq.waitFor((h) => h.records(STORE, 'exact').filter((r) => r.kind === 'payment').length === 12 && h.records(STORE, 'exact').some((r) => r.data.code === 'OUTBOX_EVICTED'), 20_000, 'sales and the eviction record');
      const ev = hq.records(STORE, 'exact').filter((r) => r.data.code === 'OUTBOX_EVICTED').map((r) => r.data.evicted as { class: string; count: number; seqFrom: number; seqTo: number });
      expect(ev.every((e) => e.class === 'sampled')).toBe(true);
      expect(ev.reduce((a, e) => a + e.count, 0)).toBe(q.evicted.sampled);
      expect(hq.records(STORE, 'exact').filter((r) => r.kind === 'payment').map((r) => r.data.requestId)).toEqual(Array.from({ length: 12 }, (_, i) => `p-${i}`));
      // The eviction record's range is the oldest sampled seqs (the sales inside it are at HQ).
      const first = ev[0];
      expect(first.seqFrom).toBe(1);
      expect((await gw.gw.uplink.store.summary()).rows.sampled).toBeGreaterThan(0);
      const left = await gw.gw.uplink.store.rawClosed('sampled', 'any-other-boot', Infinity, 10);
      expect(left[0].seq).toBeGreaterThan(first.seqTo);
    } finally {
      await scale.endAsync(true);
      await pay.endAsync(true);
      await gw.stop();
      await wan.close();
      await hq.stop();
      await broker.stop();
    }
  });
});
