/**
 * A week without WAN in accelerated time: a real in-process Gateway with an
 * injected wall and monotonic clock, real MQTT devices publishing the demo store's event mix
 * (footfall counts, kiosk heartbeats, RFID reads, scale weights, payment results, alerts), HQ a
 * real Mosquitto behind a WAN gate that is closed all week. The clock advances 10 simulated minutes per step; every
 * simulated hour the periodic work runs on demand (compaction, quota). Then HQ comes back.
 *
 * Volume is kept modest so the test runs in well under 30 s: 1,008 steps × ~10 events ≈ 10,000
 * events (a real store sends far more; `make bench` measures the real rates).
 * Checks: disk stays under quota with nothing evicted, nothing exact lost, footfall sums at HQ
 * equal the sums the counters sent, and after the link returns the backlog drains to zero.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { MqttClient } from 'mqtt';
import { buildConfig, connectDevice, TEST_SECRET } from '../../helpers/gatewayHarness.js';
import { startMosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import { HqSim } from '../../sim/hqSim.js';
import { wanGate } from './uplinkWan.js';
import { parseConfig } from '../../../gateway/config.js';
import { createLogger } from '../../../gateway/log.js';
import { Gateway } from '../../../gateway/gateway.js';
import { Writable } from 'node:stream';
import { mulberry32 } from '../../helpers/prng.js';

const tmp = tempDir('sgw-week-');
afterAll(() => tmp.remove());

const STORE = 'week-store';
const T0 = Date.parse('2026-11-16T00:00:00.000Z');
const STEP_MS = 10 * 60_000;
const STEPS = 7 * 24 * 6;
const QUOTA = 16 * 1024 * 1024;


describe('a week without WAN', () => {
  it('keeps every exact record, exact footfall sums and the quota, then drains to zero', async () => {
    const hqBroker = await startMosquitto();
    const hq = new HqSim({ url: hqBroker.url });
    await hq.start();
    const wan = await wanGate(hqBroker.port, false); // the WAN is down all week

    let mono = 0;
    const now = () => T0 + mono;
    const raw = await buildConfig({
      dataDir: tmp.dir,
      devices: [
        { kind: 'footfall', id: 'door-main' },
        { kind: 'footfall', id: 'door-side' },
        { kind: 'kiosk', id: 'k1' },
        { kind: 'rfid', id: 'exit-gate' },
        { kind: 'scale', id: 'k1-produce' },
        { kind: 'payment', id: 'pay-k1' },
      ],
      extra: {
        hq: { url: wan.url },
        prices: { enabled: false },
        uplink: { backoffInitialMs: 50, backoffMaxMs: 300, checkIntervalMs: 600_000, minFreeDiskBytes: 0 },
        compaction: { windowMs: 15 * 60_000, intervalMs: 3600_000 },
      },
    });
    const res = parseConfig(stringify({ ...raw, storeId: STORE, data: { dir: tmp.dir, quotaBytes: QUOTA } }), {});
    if (!res.ok) throw new Error(res.errors.join('; '));
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    const gw = new Gateway({ config: res.config, log: createLogger({ level: 'warn', stream: sink }), now, mono: () => mono });
    await gw.start();
    const url = `mqtt://127.0.0.1:${gw.mqttPort}`;
    const dev = async (u: string): Promise<MqttClient> => connectDevice(url, u, TEST_SECRET);
    const doors = [await dev('footfall/door-main'), await dev('footfall/door-side')];
    const kiosk = await dev('kiosk/k1');
    const gate = await dev('rfid/exit-gate');
    const scale = await dev('scale/k1-produce');
    const pay = await dev('payment/pay-k1');
    const rnd = mulberry32(42);
    const sent = { in: 0, out: 0 };
    const requestIds: string[] = [];
    let alerts = 0;
    let maxUsed = 0;
    const t0 = Date.now();
    try {
      for (let step = 0; step < STEPS; step++) {
        const ts = new Date(now()).toISOString();
        const hour = new Date(now()).getUTCHours();
        const open = hour >= 8 && hour < 21;
        const pubs: Promise<unknown>[] = [];
        doors.forEach((d, i) => {
          const n = open ? Math.floor(rnd() * 12) : 0;
          const o = open ? Math.floor(rnd() * 12) : 0;
          sent.in += n;
          sent.out += o;
          pubs.push(d.publishAsync(`store/v1/dev/footfall/${i === 0 ? 'door-main' : 'door-side'}/evt/count`, JSON.stringify({ ts, in: n, out: o }), { qos: 1 }));
        });
        pubs.push(kiosk.publishAsync('store/v1/dev/kiosk/k1/evt/heartbeat', JSON.stringify({ ts, uptimeS: step * 300 }), { qos: 1 }));
        if (open) {
          for (let r = 0; r < 3; r++) {
            pubs.push(gate.publishAsync('store/v1/dev/rfid/exit-gate/evt/read', JSON.stringify({ ts, epc: `30340000000000000000${(step % 7) + r}`.slice(0, 24), antenna: 1 + r, rssi: -60 + r }), { qos: 1 }));
          }
          pubs.push(scale.publishAsync('store/v1/dev/scale/k1-produce/evt/weight', JSON.stringify({ ts, grams: Math.floor(rnd() * 2000), stable: rnd() > 0.3 }), { qos: 1 }));
          const id = `w-${step}`;
          requestIds.push(id);
          pubs.push(pay.publishAsync('store/v1/dev/payment/pay-k1/evt/result', JSON.stringify({ ts, requestId: id, status: rnd() > 0.1 ? 'approved' : 'declined', amount: 100 + step, currency: 'EUR' }), { qos: 1 }));
        }
        if (step % 144 === 50) {
          alerts++;
          pubs.push(kiosk.publishAsync('store/v1/dev/kiosk/k1/evt/alert', JSON.stringify({ ts, code: 'PAPER_LOW', severity: 'warning', message: 'receipt paper low' }), { qos: 1 }));
        }
        await Promise.all(pubs);
        mono += STEP_MS;
        if (step % 6 === 5) {
          await gw.uplink.checkNow();
          maxUsed = Math.max(maxUsed, gw.uplink.quota.status.usedBytes);
          expect(gw.uplink.quota.status.usedBytes).toBeLessThan(QUOTA);
        }
      }
      const weekMs = Date.now() - t0;
      const backlog = await gw.uplink.store.summary();
      const evicted = gw.uplink.quota.status.evicted;
      expect(evicted).toEqual({});
      expect(gw.uplink.quota.status.alert).toBe(false);
      expect(gw.uplink.quota.status.daysLeft).toBeGreaterThan(7);

      // The link returns: the backlog drains without a new event.
      mono += 3600_000; // close the last window
      await gw.uplink.checkNow();
      const d0 = Date.now();
      wan.open();
      await hq.waitFor((h) => h.records(STORE, 'exact').length >= requestIds.length + alerts, 30_000, 'exact backlog at HQ');
      await expect.poll(async () => (await gw.uplink.store.summary()).total, { timeout: 15_000 }).toBe(0);
      const drainMs = Date.now() - d0;

      const exact = hq.records(STORE, 'exact');
      expect(exact.filter((r) => r.kind === 'payment').map((r) => r.data.requestId)).toEqual(requestIds);
      expect(exact.filter((r) => r.type === 'alert' && r.deviceId === 'k1').length).toBe(alerts);
      expect(hq.exactOutOfOrder(STORE)).toBe(0);
      expect(hq.footfall(STORE)).toEqual(sent);
      expect(hq.totals(STORE).conflicts).toBe(0);
      const t = hq.totals(STORE);
      process.stdout.write(
        `week: ${backlog.total} rows backlog (${JSON.stringify(backlog.rows)}), max used ${maxUsed} B of ${QUOTA}, simulated in ${weekMs} ms; ` +
          `drained ${t.records} records in ${t.batches} batches, ${drainMs} ms; batch compression ${(t.rawBytes / t.bytes).toFixed(1)}x; ` +
          `payload bytes in / bytes sent ${(await gw.uplink.status()).compactionRatio?.toFixed(1)}x; footfall ${JSON.stringify(sent)}\n`,
      );
    } finally {
      for (const c of [...doors, kiosk, gate, scale, pay]) await c.endAsync(true);
      await gw.stop();
      await wan.close();
      await hq.stop();
      await hqBroker.stop();
    }
  });
});
