/**
 * A box that boots with its wall clock behind (no battery clock, NTP not there yet): the monotonic
 * clock starts over at boot, so only what the gateway wrote down before can show it. A real
 * in-process Gateway on injected clocks and one data folder, started three times: a normal run,
 * a start two hours "earlier" than the last device was seen (an exact critical record, in the ops
 * alert book), and a start with the clock right again (no record).
 */
import { Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { buildConfig, connectDevice, TEST_PASSWORDS, TEST_SECRET } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { login } from '../../sim/hqFeeds.js';
import { parseConfig } from '../../../gateway/config.js';
import { createLogger } from '../../../gateway/log.js';
import { Gateway } from '../../../gateway/gateway.js';
import type { NewEvent } from '../../../gateway/outbox/store.js';

const tmp = tempDir('sgw-bootclock-');
afterAll(() => tmp.remove());
const T0 = Date.parse('2026-11-25T10:00:00.000Z');
const HOUR = 3600_000;

async function run(wallAtStart: number, body: (gw: Gateway) => Promise<void>): Promise<NewEvent[]> {
  const raw = await buildConfig({ dataDir: tmp.dir, devices: [{ kind: 'footfall', id: 'door-1' }], extra: { prices: { enabled: false } } });
  const res = parseConfig(stringify(raw), {});
  if (!res.ok) throw new Error(res.errors.join('; '));
  const mono0 = performance.now();
  const gw = new Gateway({ config: res.config, log: createLogger({ level: 'fatal', stream: new Writable({ write: (_c, _e, cb) => cb() }) }), now: () => wallAtStart + (performance.now() - mono0) });
  const selfAlerts: NewEvent[] = [];
  gw.onEvent((e) => {
    if (e.deviceId === 'storegw' && e.type === 'alert') selfAlerts.push(e);
  });
  await gw.start();
  try {
    await body(gw);
  } finally {
    await gw.stop();
  }
  return selfAlerts;
}

describe('the wall clock at start', () => {
  it('behind the last time seen before: an exact critical record, shown in the ops alert book; right again: nothing', async () => {
    // A normal run: a device is seen at about T0 (state.db keeps its last-seen time).
    const first = await run(T0, async (gw) => {
      const door = await connectDevice(`mqtt://127.0.0.1:${gw.mqttPort}`, 'footfall/door-1', TEST_SECRET);
      await door.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: new Date(T0).toISOString(), in: 1, out: 0 }), { qos: 1 });
      await door.endAsync();
    });
    expect(first.filter((e) => JSON.parse(e.data).code === 'CLOCK_BEHIND_AT_BOOT')).toHaveLength(0);

    // The box boots with its clock two hours behind.
    const behind = await run(T0 - 2 * HOUR, async (gw) => {
      const cookie = await login(`http://127.0.0.1:${gw.httpPort}`, 'viewer', TEST_PASSWORDS.viewer);
      const alerts = (await (await fetch(`http://127.0.0.1:${gw.httpPort}/api/alerts`, { headers: { cookie } })).json()) as { alerts: { code: string; severity: string; message: string }[] };
      expect(alerts.alerts).toContainEqual(expect.objectContaining({ code: 'CLOCK_BEHIND_AT_BOOT', severity: 'critical' }));
    });
    const rec = behind.map((e) => ({ e, d: JSON.parse(e.data) as { code: string; severity: string; clock: { behindMs: number; lastSeenBefore: string } } })).filter((x) => x.d.code === 'CLOCK_BEHIND_AT_BOOT');
    expect(rec).toHaveLength(1);
    expect(rec[0].e.cls).toBe('exact');
    expect(rec[0].d.severity).toBe('critical');
    expect(Math.abs(rec[0].d.clock.behindMs - 2 * HOUR)).toBeLessThan(60_000);
    expect(Date.parse(rec[0].d.clock.lastSeenBefore)).toBeGreaterThanOrEqual(T0);

    // Fixed: a start after the last time seen records nothing.
    const fixed = await run(T0 + 5 * 60_000, async () => undefined);
    expect(fixed.filter((e) => JSON.parse(e.data).code === 'CLOCK_BEHIND_AT_BOOT')).toHaveLength(0);
  });
});
