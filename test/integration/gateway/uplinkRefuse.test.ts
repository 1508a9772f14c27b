/**
 * HQ refusing batches, two real ways (see test/sim/hqSim.ts):
 * 1. size: Mosquitto `max_packet_size`. The uplink sizes batches under the limit HQ announces in
 *    its MQTT 5 CONNACK; a record that cannot fit any batch is reported (an exact record at HQ, a
 *    log line, a metric) and kept in the outbox, and the records around it still arrive in order.
 * 2. policy: the dynamic-security plugin makes HQ answer PUBACK 0x87 for the store's batches. The
 *    uplink splits, backs off, reports; when HQ accepts again, everything arrives, in order, once.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectDevice, metric, startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import { HqSim, hqBrokerSecurity } from '../../sim/hqSim.js';
import { wanGate } from './uplinkWan.js';

const STORE = 'test-store';
let cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const f of cleanup.reverse()) await f();
  cleanup = [];
});

async function gateway(url: string): Promise<{ gw: RunningGateway; dev: MqttClient }> {
  const gw = await startGateway({
    devices: [{ kind: 'payment', id: 'pay-1' }, { kind: 'kiosk', id: 'k1' }],
    extra: { hq: { url }, prices: { enabled: false }, uplink: { batchMaxAgeMs: 0, backoffInitialMs: 50, backoffMaxMs: 200 } },
  });
  const dev = await connectDevice(gw.mqttUrl, 'payment/pay-1', TEST_SECRET);
  cleanup.push(async () => {
    await dev.endAsync(true);
    await gw.stop();
  });
  return { gw, dev };
}

function payment(i: number, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ts: new Date().toISOString(), requestId: `q-${i}`, status: 'approved', amount: 100 + i, ...extra });
}

describe('HQ refusing batches', () => {
  it('too large for HQ: batches fit under its packet limit; a record that fits none is reported and kept', async () => {
    const broker: Mosquitto = await startMosquitto({ maxPacketSize: 4096 });
    const hq = new HqSim({ url: broker.url });
    await hq.start();
    cleanup.push(async () => {
      await hq.stop();
      await broker.stop();
    });
    const { gw, dev } = await gateway(broker.url);
    const kiosk = await connectDevice(gw.mqttUrl, 'kiosk/k1', TEST_SECRET);
    cleanup.push(() => kiosk.endAsync(true));
    // Random text does not compress: 60 records of ~700 bytes need several batches under 4 KiB.
    for (let i = 0; i < 30; i++) await dev.publishAsync('store/v1/dev/payment/pay-1/evt/result', payment(i, { authCode: randomBytes(16).toString('hex') }), { qos: 1 });
    const bigSeq = gw.gw.ingest.lastSeq + 1;
    await kiosk.publishAsync('store/v1/dev/kiosk/k1/evt/alert', JSON.stringify({ ts: new Date().toISOString(), code: 'DUMP', severity: 'info', message: 'x', dump: randomBytes(6000).toString('base64') }), { qos: 1 });
    for (let i = 30; i < 60; i++) await dev.publishAsync('store/v1/dev/payment/pay-1/evt/result', payment(i, { authCode: randomBytes(16).toString('hex') }), { qos: 1 });

    await hq.waitFor((h) => h.records(STORE, 'exact').filter((r) => r.kind === 'payment').length === 60, 15_000, '60 payments');
    await hq.waitFor((h) => h.records(STORE, 'exact').some((r) => r.data.code === 'UPLINK_UNSENDABLE'), 10_000, 'the unsendable report');
    const exact = hq.records(STORE, 'exact');
    expect(exact.filter((r) => r.kind === 'payment').map((r) => r.data.requestId)).toEqual(Array.from({ length: 60 }, (_, i) => `q-${i}`));
    const report = exact.find((r) => r.data.code === 'UPLINK_UNSENDABLE')!;
    expect(report).toMatchObject({ deviceId: 'storegw', data: { unsendable: { seq: bigSeq, deviceId: 'k1', type: 'alert' } } });
    expect(hq.missing(STORE, [bigSeq])).toEqual([bigSeq]);
    expect(Math.max(...hq.batchLog.map((b) => b.bytes))).toBeLessThanOrEqual(4096);
    // Kept, not dropped: it is the one record left in the outbox.
    await expect.poll(async () => (await gw.gw.uplink.store.summary()).total, { timeout: 5000 }).toBe(1);
    expect((await gw.gw.uplink.store.sendable('exact', 10)).map((r) => r.seq)).toEqual([bigSeq]);
    expect(gw.gw.uplink.uplink!.state.held).toEqual([bigSeq]);
    expect(await metric(gw.httpUrl, 'storegw_uplink_unsendable_total')).toBe(1);
    // The day's KPI report is over HQ's 4 KiB too: left out, not sent to have HQ's broker close the link.
    expect(await metric(gw.httpUrl, 'storegw_uplink_reports_too_large_total{report="kpi"}')).toBeGreaterThanOrEqual(1);
    expect(gw.logs.some((l) => l.msg === 'a record cannot be sent to HQ; kept in the outbox' && l.seq === bigSeq)).toBe(true);
  });

  it('refused by policy (PUBACK 0x87): split, reported, retried; all arrive once and in order after HQ accepts', async () => {
    const dir = tempDir('sgw-refuse-');
    const security = hqBrokerSecurity(dir.dir);
    const broker = await startMosquitto({ extraConfig: security.extraConfig });
    const hq = new HqSim({ url: broker.url, admin: security.admin });
    await hq.start();
    cleanup.push(async () => {
      await hq.stop();
      await broker.stop();
      dir.remove();
    });
    const { gw, dev } = await gateway(broker.url);
    await hq.refuse(STORE);
    for (let i = 0; i < 40; i++) await dev.publishAsync('store/v1/dev/payment/pay-1/evt/result', payment(i), { qos: 1 });
    // No event tells the test that HQ refused: poll the metric with a deadline.
    await expect.poll(() => metric(gw.httpUrl, 'storegw_uplink_refused_total{reason="0x87"}'), { timeout: 15_000 }).toBeGreaterThan(5);
    expect(hq.records(STORE).length).toBe(0);
    expect((await gw.gw.uplink.store.summary()).rows.exact).toBeGreaterThanOrEqual(40);

    await hq.accept(STORE);
    await hq.waitFor((h) => h.records(STORE, 'exact').filter((r) => r.kind === 'payment').length === 40, 20_000, 'all payments after accept');
    await expect.poll(async () => (await gw.gw.uplink.store.summary()).total, { timeout: 10_000 }).toBe(0);
    const exact = hq.records(STORE, 'exact');
    expect(exact.filter((r) => r.kind === 'payment').map((r) => r.data.requestId)).toEqual(Array.from({ length: 40 }, (_, i) => `q-${i}`));
    expect(hq.exactOutOfOrder(STORE)).toBe(0);
    expect(hq.totals(STORE).conflicts).toBe(0);
  });
});

describe('HQ closing the connection on a packet too large, without announcing a limit', () => {
  it('halves the batch size after two drops on one batch; everything arrives in order; a record too large for any batch is reported', async () => {
    const broker = await startMosquitto();
    const hq = new HqSim({ url: broker.url });
    await hq.start();
    const cuts: number[] = [];
    const wan = await wanGate(broker.port, true, { maxPacketBytes: 8192, onCut: (n) => cuts.push(n) });
    cleanup.push(async () => {
      await wan.close();
      await hq.stop();
      await broker.stop();
    });
    const gw = await startGateway({
      devices: [{ kind: 'payment', id: 'pay-1' }],
      extra: { hq: { url: wan.url }, prices: { enabled: false }, uplink: { batchMaxBytes: 65536, batchMaxAgeMs: 0, backoffInitialMs: 20, backoffMaxMs: 100 } },
    });
    const dev = await connectDevice(gw.mqttUrl, 'payment/pay-1', TEST_SECRET);
    cleanup.push(async () => {
      await dev.endAsync(true);
      await gw.stop();
    });
    // HQ offline while the backlog builds, so the first batch is big: 40 × ~1.4 kB of random text.
    wan.cut();
    for (let i = 0; i < 40; i++) await dev.publishAsync('store/v1/dev/payment/pay-1/evt/result', payment(i, { authCode: randomBytes(16).toString('hex'), note: randomBytes(700).toString('hex') }), { qos: 1 });
    const bigSeq = gw.gw.ingest.lastSeq + 1;
    await dev.publishAsync('store/v1/dev/payment/pay-1/evt/result', payment(40, { note: randomBytes(9000).toString('base64') }), { qos: 1 });
    for (let i = 41; i < 45; i++) await dev.publishAsync('store/v1/dev/payment/pay-1/evt/result', payment(i), { qos: 1 });
    wan.open();
    await hq.waitFor((h) => h.records(STORE, 'exact').filter((r) => r.kind === 'payment').length === 44, 30_000, '44 payments');
    await hq.waitFor((h) => h.records(STORE, 'exact').some((r) => r.data.code === 'UPLINK_UNSENDABLE'), 10_000, 'the unsendable report');
    const ids = hq.records(STORE, 'exact').filter((r) => r.kind === 'payment').map((r) => r.data.requestId);
    expect(ids).toEqual(Array.from({ length: 45 }, (_, i) => `q-${i}`).filter((id) => id !== 'q-40'));
    expect(hq.exactOutOfOrder(STORE)).toBe(0);
    expect(cuts.length).toBeGreaterThanOrEqual(2);
    expect(gw.gw.uplink.uplink!.state.batchLimitBytes).toBeLessThanOrEqual(8192);
    expect(gw.gw.uplink.uplink!.state.held).toEqual([bigSeq]);
    expect(await metric(gw.httpUrl, 'storegw_uplink_refused_total{reason="dropped"}')).toBeGreaterThan(0);
  });
});
