/**
 * Only the checkout writes sales: a record type the gateway itself produces (kiosk `transaction`,
 * `attendant`, `pickup`, …) is refused from a device or bridge credential — the device hears why on
 * `rej`, ops get an exact alert record, a metric counts it, and nothing reaches the day's sales or
 * the outbox. Service users never write device `cmd`/`rej` topics nor retain on device topics,
 * whatever their write patterns say.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectDevice, metric, startGateway, ts, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';

let g: RunningGateway;
beforeAll(async () => {
  g = await startGateway({
    devices: [
      { kind: 'kiosk', id: 'k1' },
      { kind: 'scale', id: 'bag-1', bridge: 'kb' },
      { kind: 'kiosk', id: 'k2', bridge: 'kb' },
      { kind: 'footfall', id: 'door-1' },
    ],
    bridges: ['kb'],
    serviceUsers: [{ username: 'integrator', read: ['store/v1/dev/#'], write: ['store/v1/dev/#'] }],
  });
});
afterAll(async () => g.stop());

function forgedSale(kioskId: string): string {
  const now = ts();
  return JSON.stringify({
    ts: now,
    transactionId: `forged-${kioskId}`,
    kioskId,
    lines: [{ gtin: '4006381333931', name: 'nothing', qty: 1, unitPrice: 777_777, price: 777_777 }],
    subtotal: 777_777,
    discounts: 0,
    total: 777_777,
    currency: 'EUR',
    payment: { requestId: 'p-1', authCode: 'A1', amount: 777_777 },
    attendant: [],
  });
}

function nextMessage(c: MqttClient, topic: string): Promise<string> {
  return new Promise((resolve) => {
    const on = (t: string, p: Buffer): void => {
      if (t !== topic) return;
      c.off('message', on);
      resolve(p.toString('utf8'));
    };
    c.on('message', on);
  });
}

function closed(c: MqttClient): Promise<void> {
  return new Promise((resolve) => c.once('close', () => resolve()));
}

async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 15_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('gateway-written record types from devices', () => {
  it('refuses a forged kiosk transaction from the kiosk device credential: rej, alert, metric; no sale, no outbox record', async () => {
    const salesBefore = g.gw.ops.kpiSnapshot().totals.sales;
    const seqBefore = g.gw.ingest.lastSeq;
    const c = await connectDevice(g.mqttUrl, 'kiosk/k1', TEST_SECRET);
    await c.subscribeAsync('store/v1/dev/kiosk/k1/rej', { qos: 1 });
    const rej = nextMessage(c, 'store/v1/dev/kiosk/k1/rej');
    await c.publishAsync('store/v1/dev/kiosk/k1/evt/transaction', forgedSale('k1'), { qos: 1 });
    const notice = JSON.parse(await rej) as { code: string; reason: string; topic: string };
    expect(notice.code).toBe('SGW_ERR_GATEWAY_RECORD');
    expect(notice.reason).toContain('transaction');
    expect(notice.topic).toBe('store/v1/dev/kiosk/k1/evt/transaction');
    expect(await metric(g.httpUrl, 'storegw_mqtt_refused_total{reason="gateway_record"}')).toBeGreaterThanOrEqual(1);
    // The alert is an exact record of its own (HQ sees it in order), and lands in the ops alert book.
    const alert = await waitFor(async () => (await g.gw.ops.alerts.list(50, false)).find((a) => a.code === 'FORGED_RECORD'), 'the FORGED_RECORD alert');
    expect(alert.message).toContain('kiosk/k1');
    expect(alert.message).toContain('transaction');
    await g.gw.ops.alerts.settled();
    const recs = await g.gw.outbox.read(seqBefore + 1, 1000);
    expect(recs.filter((r) => r.type === 'transaction')).toHaveLength(0);
    expect(g.gw.ops.kpiSnapshot().totals.sales).toBe(salesBefore);
    await c.endAsync();
  });

  it('refuses attendant, pickup and priceMismatch records too, and the same from a bridge speaking for a kiosk', async () => {
    const before = await metric(g.httpUrl, 'storegw_mqtt_refused_total{reason="gateway_record"}');
    const seqBefore = g.gw.ingest.lastSeq;
    const c = await connectDevice(g.mqttUrl, 'kiosk/k1', TEST_SECRET);
    await c.publishAsync('store/v1/dev/kiosk/k1/evt/attendant', JSON.stringify({ ts: ts(), requestId: 'r1', kioskId: 'k1', kind: 'override', decision: 'approved', by: 'me', at: ts() }), { qos: 1 });
    await c.publishAsync('store/v1/dev/kiosk/k1/evt/pickup', JSON.stringify({ ts: ts(), kioskId: 'k1', orderId: 'o-1' }), { qos: 1 });
    // Issue 14: a forged mismatch would put a wrong price complaint in HQ's books and the alert book.
    const mismatch = { ts: ts(), mismatchId: 't1:0:L1', kioskId: 'k1', transactionId: 't1', line: 0, gtin: '4006381333931', name: 'Milk', currency: 'EUR', tillPrice: 149, charged: 149, labelId: 'L1', labelState: 'pending', labelHash: 'abcd', labelPrice: 129, labelCurrency: 'EUR', paid: 'till' };
    await c.publishAsync('store/v1/dev/kiosk/k1/evt/priceMismatch', JSON.stringify(mismatch), { qos: 1 });
    await c.endAsync();
    const b = await connectDevice(g.mqttUrl, 'bridge/kb', TEST_SECRET);
    await b.publishAsync('store/v1/dev/kiosk/k2/evt/transaction', forgedSale('k2'), { qos: 1 });
    // The bridge's ordinary events still go through.
    await b.publishAsync('store/v1/dev/scale/bag-1/evt/weight', JSON.stringify({ ts: ts(), grams: 5, stable: true }), { qos: 1 });
    await b.endAsync();
    expect(await metric(g.httpUrl, 'storegw_mqtt_refused_total{reason="gateway_record"}')).toBe(before + 4);
    const recs = await g.gw.outbox.read(seqBefore + 1, 1000);
    expect(recs.filter((r) => r.kind === 'kiosk')).toHaveLength(0);
    expect(recs.filter((r) => r.kind === 'scale' && r.type === 'weight')).toHaveLength(1);
  });
});

describe('service users on device topics', () => {
  it('may not write a device cmd topic, whatever its patterns say (the connection closes, counted)', async () => {
    const before = await metric(g.httpUrl, 'storegw_mqtt_refused_total{reason="service_device_write"}');
    const s = await connectDevice(g.mqttUrl, 'integrator', TEST_SECRET);
    const gone = closed(s);
    s.publish('store/v1/dev/footfall/door-1/cmd/reset', '{}', { qos: 1 });
    await gone;
    s.end(true);
    expect(await metric(g.httpUrl, 'storegw_mqtt_refused_total{reason="service_device_write"}')).toBe(before + 1);
  });

  it('may not write a device rej topic', async () => {
    const s = await connectDevice(g.mqttUrl, 'integrator', TEST_SECRET);
    const gone = closed(s);
    s.publish('store/v1/dev/footfall/door-1/rej', '{"code":"x"}', { qos: 1 });
    await gone;
    s.end(true);
  });

  it('may not retain on a device topic', async () => {
    const s = await connectDevice(g.mqttUrl, 'integrator', TEST_SECRET);
    const gone = closed(s);
    s.publish('store/v1/dev/footfall/door-1/state', 'online', { qos: 1, retain: true });
    await gone;
    s.end(true);
  });

  it('may not speak for a device: a forged payment result never reaches the checkout (the connection closes, counted)', async () => {
    const before = await metric(g.httpUrl, 'storegw_mqtt_refused_total{reason="service_device_write"}');
    const s = await connectDevice(g.mqttUrl, 'integrator', TEST_SECRET);
    const gone = closed(s);
    s.publish('store/v1/dev/payment/p1/evt/result', JSON.stringify({ ts: ts(), requestId: 'r-forged', status: 'approved', amount: 100, currency: 'EUR' }), { qos: 1 });
    await gone;
    s.end(true);
    expect(await metric(g.httpUrl, 'storegw_mqtt_refused_total{reason="service_device_write"}')).toBe(before + 1);
  });

  it('may not write a gateway record type on a device topic', async () => {
    const s = await connectDevice(g.mqttUrl, 'integrator', TEST_SECRET);
    const gone = closed(s);
    s.publish('store/v1/dev/kiosk/k1/evt/transaction', forgedSale('k1'), { qos: 1 });
    await gone;
    s.end(true);
  });
});
