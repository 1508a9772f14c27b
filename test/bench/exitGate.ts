/**
 * Exit-gate bench: an MQTT-native RFID reader at the exit (`exitGates`) and its alarm light,
 * against the real gateway (in this process, so its committed events can be read), the catalog
 * from a real Mosquitto as HQ. Each passage is a fresh unsold serialised item read 10 times in a
 * row (a reader repeats a tag many times a second), while a second reader-side stream of
 * background reads — items sold here, tags of GTINs the store does not sell — is mixed in.
 *
 * read → alarm (gateway)  the read reaching the gateway (ingest's monotonic stamp) → the light's
 *                         `set` command durable and published (`latencyMs` of the exitAlarm record)
 * read → alarm (wire)     the reader's publish() called here → the command received by the light
 *                         client here (both over loopback MQTT, QoS 1)
 * alarms per passage      exitAlarm records / passages (must be 1)
 */
import { EventEmitter } from 'node:events';
import { startMosquitto } from '../helpers/mosquitto.js';
import { connectDevice, DEFAULT_DEVICES, startGateway, TEST_SECRET } from '../helpers/gatewayHarness.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import { encodeSgtin96 } from '../../gateway/kiosk/sgtin.js';
import { topics } from '../../gateway/protocol/topics.js';
import { Samples } from './stats.js';

export interface ExitGateBenchRow {
  bench: string;
  system: 'storegw';
  metric: string;
  value: number | null;
  unit: string;
}

const SHIRT = '80614141123458';
const READS_PER_PASSAGE = 10;
const round = (x: number, d = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

function epc(itemReference: string, serial: number): string {
  const r = encodeSgtin96({ filter: 1, companyPrefix: '0614141', itemReference, serial });
  if (!r.ok) throw new Error(r.reason);
  return r.hex;
}

export async function benchExitGate(opts: { quick?: boolean; progress?: (s: string) => void } = {}): Promise<ExitGateBenchRow[]> {
  const progress = opts.progress ?? (() => {});
  const passages = opts.quick ? 50 : 300;
  const signer = createHqSigner({ kid: 'hq-bench' });
  const hq = await startMosquitto();
  const cleanups: (() => Promise<unknown>)[] = [() => hq.stop()];
  try {
    const gw = await startGateway({
      devices: [...DEFAULT_DEVICES, { kind: 'light', id: 'alarm-1' }],
      extra: { hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] }, exitGates: [{ reader: 'gate-1', alarm: 'alarm-1', alarmForMs: 0 }] },
    });
    cleanups.unshift(() => gw.stop());
    const prices = gw.gw.prices!;
    const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
    await feeds.publish('catalog', 'store', 1, { mode: 'snapshot', items: [{ gtin: SHIRT, name: 'T-shirt', unit: 'each' }] });
    await feeds.publish('prices', 'store', 1, { mode: 'snapshot', currency: 'EUR', prices: [{ gtin: SHIRT, price: 1500 }], promotions: [] });
    await until(prices.changes, 'change', () => prices.priceAt(SHIRT) !== null, 20_000, 'bench feeds applied');
    await feeds.close();
    // Background: 1,000 serials sold here (quiet at the gate).
    gw.gw.kiosk.serials.book.addSold(Array.from({ length: 1000 }, (_, i) => ({ gtin: SHIRT, serial: String(1_000_000 + i), transactionId: 'bench' })));

    const gatewayMs = new Samples();
    let records = 0;
    const committed = new EventEmitter();
    gw.gw.onEvent((e) => {
      if (e.type !== 'exitAlarm') return;
      records++;
      committed.emit('record');
      gatewayMs.add((JSON.parse(e.data) as { latencyMs: number }).latencyMs);
    });
    const reader = await connectDevice(gw.mqttUrl, 'rfid/gate-1', TEST_SECRET);
    const light = await connectDevice(gw.mqttUrl, 'light/alarm-1', TEST_SECRET);
    cleanups.unshift(() => reader.endAsync(), () => light.endAsync());
    let waiting: ((t: number) => void) | null = null;
    light.on('message', (_t, p) => {
      const at = performance.now();
      const m = JSON.parse(p.toString('utf8')) as { cmdId: string; color: string };
      void light.publishAsync(topics.evt('light', 'alarm-1', 'ack'), JSON.stringify({ ts: new Date().toISOString(), cmdId: m.cmdId, ok: true }), { qos: 1 });
      if (m.color === 'red') waiting?.(at);
    });
    await light.subscribeAsync(topics.cmd('light', 'alarm-1', 'set'), { qos: 1 });
    const read = (hex: string) => reader.publishAsync(topics.evt('rfid', 'gate-1', 'read'), JSON.stringify({ ts: new Date().toISOString(), epc: hex, antenna: 1, rssi: -50 }), { qos: 1 });

    const wireMs = new Samples();
    progress(`  exit gate: ${passages} passages of ${READS_PER_PASSAGE} reads each, with sold and foreign tags between`);
    for (let i = 0; i < passages; i++) {
      const tag = epc('812345', i + 1);
      const alarmed = new Promise<number>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no alarm for passage ${i}`)), 10_000);
        waiting = (at) => (clearTimeout(t), (waiting = null), resolve(at));
      });
      const t0 = performance.now();
      void read(tag);
      for (let r = 1; r < READS_PER_PASSAGE; r++) void read(tag);
      void read(epc('812345', 1_000_000 + (i % 1000))); // sold here
      void read(epc('812399', i)); // a GTIN the store does not sell
      wireMs.add((await alarmed) - t0);
    }
    await until(committed, 'record', () => records >= passages, 10_000, 'every exitAlarm record', () => records);
    const row = (metric: string, value: number | null, unit: string): ExitGateBenchRow => ({ bench: 'exit gate', system: 'storegw', metric, value, unit });
    return [
      row('read_to_alarm_gateway_p50', round(gatewayMs.percentile(50)), 'ms'),
      row('read_to_alarm_gateway_p99', round(gatewayMs.percentile(99)), 'ms'),
      row('read_to_alarm_wire_p50', round(wireMs.percentile(50)), 'ms'),
      row('read_to_alarm_wire_p99', round(wireMs.percentile(99)), 'ms'),
      row('alarms_per_passage', round(records / passages, 3), 'alarms'),
    ];
  } finally {
    for (const c of cleanups) await c().catch(() => undefined);
  }
}
