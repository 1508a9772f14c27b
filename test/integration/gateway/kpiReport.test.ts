/**
 * The day's numbers reach HQ as a retained `report/kpi`: once at start, and after changes
 * at most once per `ops.kpiReportEveryMs`. (The re-send on reconnect is the uplink's `report()`.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { connectDevice, startGateway, ts, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';

interface Report {
  storeId: string;
  lastSeq: number;
  totals: { visitors: number };
}

let hq: Mosquitto;
let g: RunningGateway;
let listener: MqttClient;
const reports: Report[] = [];
const waiters: (() => void)[] = [];

function reportWhere(pred: (r: Report) => boolean, what: string): Promise<Report> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no report/kpi with ${what}; got ${JSON.stringify(reports.map((r) => r.totals))}`)), 15_000);
    const check = () => {
      const r = reports.find(pred);
      if (!r) return waiters.push(check);
      clearTimeout(t);
      resolve(r);
    };
    check();
  });
}

beforeAll(async () => {
  hq = await startMosquitto();
  listener = mqtt.connect(hq.url, { reconnectPeriod: 200 });
  listener.on('message', (_t, p) => {
    reports.push(JSON.parse(p.toString()) as Report);
    for (const w of waiters.splice(0)) w();
  });
  await new Promise<void>((r) => listener.once('connect', () => r()));
  await listener.subscribeAsync('hq/v1/store/test-store/report/kpi', { qos: 1 });
  g = await startGateway({ extra: { hq: { url: hq.url }, prices: { enabled: false }, ops: { kpiReportEveryMs: 200 } } });
});

afterAll(async () => {
  listener?.end(true);
  await g?.stop();
  await hq?.stop();
});

describe('report/kpi to HQ', () => {
  it('sends the day at start and again after footfall, with the visitors counted', async () => {
    const first = await reportWhere(() => true, 'anything');
    expect(first.storeId).toBe('test-store');
    expect(first.totals.visitors).toBe(0);
    const door = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
    await door.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: ts(), in: 3, out: 1 }), { qos: 1 });
    await door.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: ts(), in: 2, out: 0 }), { qos: 1 });
    const later = await reportWhere((r) => r.totals.visitors === 5, 'visitors 5');
    expect(later.lastSeq).toBeGreaterThan(first.lastSeq);
    await door.endAsync();
  });
});
