/**
 * Uplink to a real HQ Mosquitto, HQ simulated by test/sim/hqSim.ts (which dedupes like HQ):
 * exact records arrive once each and in order, the retained status says online, the backlog
 * drains when the link comes back without a new event, GET /api/uplink and /metrics tell the same.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectDevice, metric, startGateway, TEST_PASSWORDS, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { HqSim } from '../../sim/hqSim.js';
import { wanGate } from './uplinkWan.js';

const STORE = 'test-store';
let hqBroker: Mosquitto;
let hq: HqSim;
let gw: RunningGateway | null = null;
const clients: MqttClient[] = [];

beforeAll(async () => {
  hqBroker = await startMosquitto();
  hq = new HqSim({ url: hqBroker.url });
  await hq.start();
});
afterAll(async () => {
  await hq.stop();
  await hqBroker.stop();
});
afterEach(async () => {
  for (const c of clients.splice(0)) await c.endAsync(true);
  await gw?.stop();
  gw = null;
});

const DEVICES = [
  { kind: 'payment' as const, id: 'pay-1' },
  { kind: 'footfall' as const, id: 'door-1' },
];

function uplinkConfig(url: string) {
  return {
    hq: { url, compression: 'gzip' },
    prices: { enabled: false }, // the feed intake needs HQ keys; not under test here
    uplink: { batchMaxAgeMs: 20, backoffInitialMs: 50, backoffMaxMs: 500, checkIntervalMs: 60_000 },
    compaction: { windowMs: 60_000, intervalMs: 60_000 },
  };
}

async function publishPayments(c: MqttClient, from: number, n: number): Promise<void> {
  for (let i = from; i < from + n; i++) {
    await c.publishAsync('store/v1/dev/payment/pay-1/evt/result', JSON.stringify({ ts: new Date().toISOString(), requestId: `r-${i}`, status: 'approved', amount: 100 + i, currency: 'EUR' }), { qos: 1 });
  }
}

async function login(httpUrl: string): Promise<string> {
  const r = await fetch(`${httpUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'viewer', password: TEST_PASSWORDS.viewer }) });
  expect(r.status).toBe(200);
  return (r.headers.get('set-cookie') ?? '').split(';')[0];
}

describe('uplink to HQ', () => {
  it('delivers exact records once each and in order, says online, and reports on /api/uplink and /metrics', async () => {
    gw = await startGateway({ devices: DEVICES, extra: uplinkConfig(hqBroker.url) });
    await hq.waitFor((h) => (h.status(STORE) as { state?: string } | undefined)?.state === 'online', 10_000, 'status online');
    expect(hq.status(STORE)).toMatchObject({ state: 'online', bootId: gw.gw.bootId });
    const pay = await connectDevice(gw.mqttUrl, 'payment/pay-1', TEST_SECRET);
    clients.push(pay);
    await publishPayments(pay, 0, 300);
    await hq.waitFor((h) => h.records(STORE, 'exact').length >= 300, 15_000, '300 exact records');
    const exact = hq.records(STORE, 'exact');
    expect(exact.map((r) => r.data.requestId)).toEqual(Array.from({ length: 300 }, (_, i) => `r-${i}`));
    expect(hq.exactOutOfOrder(STORE)).toBe(0);
    expect(hq.totals(STORE).duplicates).toBe(0);
    // Each leaves the outbox once acknowledged.
    await expect.poll(async () => (await gw!.gw.uplink.store.summary()).total, { timeout: 5000 }).toBe(0);

    const cookie = await login(gw.httpUrl);
    const api = (await (await fetch(`${gw.httpUrl}/api/uplink`, { headers: { cookie } })).json()) as Record<string, any>;
    expect(api.wan.connected).toBe(true);
    expect(api.wan.recordsSent).toBe(300);
    expect(api.quota.alert).toBe(false);
    expect((await fetch(`${gw.httpUrl}/api/uplink`)).status).toBe(401);
    expect(await metric(gw.httpUrl, 'storegw_uplink_wan_up')).toBe(1);
    expect(await metric(gw.httpUrl, 'storegw_uplink_records_total{class="exact"}')).toBe(300);
    expect(await metric(gw.httpUrl, 'storegw_uplink_batches_total')).toBe(api.wan.batchesSent);
    // A clean stop says offline itself (a clean DISCONNECT suppresses the Will).
    await gw.stop();
    gw = null;
    await hq.waitFor((h) => (h.status(STORE) as { state?: string } | undefined)?.state === 'offline', 5000, 'status offline after stop');
  });

  it('drains the backlog the moment HQ is back, without a new event, exact first', async () => {
    const wan = await wanGate(hqBroker.port, false);
    try {
      const store = 'drain-store';
      gw = await startGateway({ devices: DEVICES, extra: { ...uplinkConfig(wan.url), storeId: store } });
      const pay = await connectDevice(gw.mqttUrl, 'payment/pay-1', TEST_SECRET);
      const door = await connectDevice(gw.mqttUrl, 'footfall/door-1', TEST_SECRET);
      clients.push(pay, door);
      await publishPayments(pay, 0, 50);
      for (let i = 0; i < 20; i++) await door.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: new Date().toISOString(), in: 2, out: 1 }), { qos: 1 });
      expect((await gw.gw.uplink.store.summary()).total).toBe(70);
      expect(hq.records(store)).toEqual([]);
      wan.open(); // no event follows: the reconnect alone starts the drain
      await hq.waitFor((h) => h.records(store, 'exact').length === 50, 15_000, 'backlog drained');
      expect(hq.exactOutOfOrder(store)).toBe(0);
      expect(hq.records(store, 'exact').map((r) => r.data.requestId)).toEqual(Array.from({ length: 50 }, (_, i) => `r-${i}`));
      // The footfall reports wait for their window to close (60 s here): still raw, not lost.
      expect((await gw.gw.uplink.store.summary()).rows.aggregate).toBe(20);
    } finally {
      await wan.close();
    }
  });
});
