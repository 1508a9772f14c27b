/**
 * Time you can trust: the gateway's wall clock jumps one hour back, then one hour
 * forward, during a run (injected clocks into a real in-process Gateway; HQ a real Mosquitto).
 * Both jumps are recorded as exact records, in order among the sales; sequence order and HQ's
 * dedupe hold; compaction windows (monotonic) neither lose nor double a footfall report.
 */
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { buildConfig, connectDevice, TEST_SECRET } from '../../helpers/gatewayHarness.js';
import { startMosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import { HqSim } from '../../sim/hqSim.js';
import { parseConfig } from '../../../gateway/config.js';
import { createLogger } from '../../../gateway/log.js';
import { Gateway } from '../../../gateway/gateway.js';

const tmp = tempDir('sgw-clock-');
afterAll(() => tmp.remove());
const STORE = 'test-store';
const T0 = Date.parse('2026-11-25T10:00:00.000Z');
const HOUR = 3600_000;

describe('a wall-clock jump', () => {
  it('one hour back and forward: recorded, order and dedupe hold, no window lost or doubled', async () => {
    const broker = await startMosquitto();
    const hq = new HqSim({ url: broker.url });
    await hq.start();
    let mono = 5_000;
    let offset = 0;
    const now = () => T0 + mono + offset;
    const raw = await buildConfig({
      dataDir: tmp.dir,
      devices: [{ kind: 'payment', id: 'pay-1' }, { kind: 'footfall', id: 'door-1' }],
      extra: {
        hq: { url: broker.url },
        prices: { enabled: false },
        uplink: { batchMaxAgeMs: 0, checkIntervalMs: 600_000, minFreeDiskBytes: 0 },
        compaction: { windowMs: 60_000, intervalMs: 3600_000 },
      },
    });
    const res = parseConfig(stringify(raw), {});
    if (!res.ok) throw new Error(res.errors.join('; '));
    const gw = new Gateway({ config: res.config, log: createLogger({ level: 'warn', stream: new Writable({ write: (_c, _e, cb) => cb() }) }), now, mono: () => mono });
    await gw.start();
    const url = `mqtt://127.0.0.1:${gw.mqttPort}`;
    const pay = await connectDevice(url, 'payment/pay-1', TEST_SECRET);
    const door = await connectDevice(url, 'footfall/door-1', TEST_SECRET);
    const sent = { in: 0, out: 0 };
    let reports = 0;
    const ids: string[] = [];
    try {
      const phase = async (name: string, steps: number): Promise<void> => {
        for (let i = 0; i < steps; i++) {
          const ts = new Date(now()).toISOString();
          ids.push(`${name}-${i}`);
          await pay.publishAsync('store/v1/dev/payment/pay-1/evt/result', JSON.stringify({ ts, requestId: `${name}-${i}`, status: 'approved', amount: 1 }), { qos: 1 });
          const n = (i % 5) + 1;
          sent.in += n;
          sent.out += i % 3;
          reports++;
          await door.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts, in: n, out: i % 3 }), { qos: 1 });
          mono += 7_000;
          if (i % 5 === 4) await gw.uplink.checkNow();
        }
      };
      await phase('a', 40);
      offset = -HOUR; // back one hour
      await phase('b', 40);
      offset = 0; // forward one hour
      await phase('c', 40);
      mono += 120_000;
      await gw.uplink.checkNow();
      await hq.waitFor((h) => h.records(STORE, 'exact').filter((r) => r.kind === 'payment').length === ids.length && h.footfall(STORE).in === sent.in, 20_000, 'everything at HQ');

      const exact = hq.records(STORE, 'exact');
      // Sequence order is arrival order and publish order.
      expect(exact.filter((r) => r.kind === 'payment').map((r) => r.data.requestId)).toEqual(ids);
      expect(hq.exactOutOfOrder(STORE)).toBe(0);
      // Both jumps recorded, each between the last sale before it and the first after it.
      const jumps = exact.filter((r) => r.data.code === 'CLOCK_JUMP');
      expect(jumps.map((j) => (j.data.clock as { direction: string }).direction)).toEqual(['back', 'forward']);
      for (const j of jumps) expect(Math.abs(Math.abs((j.data.clock as { jumpMs: number }).jumpMs) - HOUR)).toBeLessThan(10_000);
      const seqOf = (id: string) => exact.find((r) => r.data.requestId === id)!.seq;
      expect(jumps[0].seq).toBeGreaterThan(seqOf('a-39'));
      expect(jumps[0].seq).toBeLessThanOrEqual(seqOf('b-0') + 1);
      expect(jumps[1].seq).toBeGreaterThan(seqOf('b-39'));
      expect(jumps[1].seq).toBeLessThanOrEqual(seqOf('c-0') + 1);
      // Every footfall report counted once: sums, the report count, and no overlapping ranges.
      expect(hq.footfall(STORE)).toEqual(sent);
      const agg = hq.records(STORE, 'aggregate');
      expect(agg.reduce((a, r) => a + (r.data.reports as number), 0)).toBe(reports);
      const ranges = agg.map((r) => [r.seqFrom!, r.seq]).sort((x, y) => x[0] - y[0]);
      for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBeGreaterThan(ranges[i - 1][1]);
      expect(hq.totals(STORE).duplicates).toBe(0);
      expect(hq.totals(STORE).conflicts).toBe(0);
      expect((await gw.uplink.status()).clockJumps).toHaveLength(2);
    } finally {
      await pay.endAsync(true);
      await door.endAsync(true);
      await gw.stop();
      await hq.stop();
      await broker.stop();
    }
  });
});
