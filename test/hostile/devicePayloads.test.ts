/**
 * Every device kind and event type of gateway/protocol/schemas/, fed arbitrary payloads by a real
 * provisioned device of that kind over MQTT, QoS 1: random JSON, wrong types, missing and extra
 * fields, huge numbers, deep nesting, non-UTF-8 bytes, empty payloads, unknown event types. Each
 * PUBACKed payload is either stored and exported identical (when the schema accepts it) or answered
 * with a `rej` whose reason names the field, a dead letter holding the payload, a counter
 * increment. The process never dies and a valid event is never lost.
 */
import fc from 'fast-check';
import type { MqttClient } from 'mqtt';
import { isUtf8 } from 'node:buffer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, metric, TEST_SECRET } from '../helpers/gatewayHarness.js';
import { Birth, CATALOGUE } from '../../gateway/protocol/schemas/index.js';
import { createAjv } from '../../gateway/protocol/validate.js';
import { MAX_EVENT_DEPTH } from '../../gateway/protocol/jsonDepth.js';
import { DEVICE_KINDS, type DeviceKind } from '../../gateway/protocol/topics.js';
import { OutboxStore } from '../../gateway/outbox/store.js';
import { SELF_DEVICE_ID } from '../../gateway/protocol/gatewayRecords.js';
import { Bystander, SEED, Tally, startHostileGateway, withTimeout, type HostileGateway } from './harness.js';
import path from 'node:path';

const TS = '2026-12-05T10:00:00.000Z';
/** One valid payload per kind and event type (checked against the schema below). */
const SAMPLES: Record<DeviceKind, Record<string, Record<string, unknown>>> = (() => {
  const common = {
    heartbeat: { ts: TS, uptimeS: 5, batteryPct: 50, firmware: '1.0' },
    alert: { ts: TS, code: 'DOOR_OPEN', severity: 'warning', message: 'door open' },
    ack: { ts: TS, cmdId: 'c-1', ok: true },
  };
  return {
    esl: { ...common, status: { ts: TS, labels: [{ labelId: 'L1', batteryMv: 3000, rssi: -60 }] }, ack: { ts: TS, cmdId: 'c-1', ok: true, labelId: 'L1' } },
    scale: { ...common, weight: { ts: TS, grams: 410, stable: true } },
    scanner: { ...common, scan: { ts: TS, code: '4006381333931', symbology: ']E0' } },
    rfid: { ...common, read: { ts: TS, epc: '3074257BF7194E4000001A85', antenna: 1, rssi: -50 } },
    footfall: { ...common, count: { ts: TS, in: 3, out: 1 }, cross: { ts: TS, direction: 'in' } },
    light: { ...common },
    printer: { ...common, status: { ts: TS, online: true, paper: 'nearEnd', coverOpen: false } },
    payment: { ...common, result: { ts: TS, requestId: 'r-1', status: 'approved', amount: 100, currency: 'EUR', authCode: 'A1' } },
    kiosk: {
      ...common,
      transaction: {
        ts: TS,
        transactionId: 't-1',
        kioskId: 'kiosk-1',
        lines: [{ gtin: '4006381333931', name: 'Pen', qty: 1, unitPrice: 100, price: 100 }],
        subtotal: 100,
        discounts: 0,
        total: 100,
        currency: 'EUR',
        payment: { requestId: 'r-1', authCode: 'A1', amount: 100 },
        attendant: [],
      },
      attendant: { ts: TS, requestId: 'q-1', kioskId: 'kiosk-1', decision: 'approved', by: 'admin', at: TS },
      pickup: { ts: TS, kioskId: 'kiosk-1', orderId: 'o-1' },
      priceMismatch: { ts: TS, mismatchId: 't-1:0:L1', kioskId: 'kiosk-1', transactionId: 't-1', line: 0, gtin: '4006381333931', name: 'Pen', currency: 'EUR', tillPrice: 100, charged: 100, labelId: 'L1', labelState: 'pending', labelHash: 'abcd', labelPrice: 90, labelCurrency: 'EUR', paid: 'till' },
    },
  };
})();

/** Records only the gateway itself writes (a kiosk session); a device credential may be refused them. */
const GATEWAY_RECORDS = new Set(['kiosk/transaction', 'kiosk/attendant', 'kiosk/pickup', 'kiosk/priceMismatch']);

const ajv = createAjv();
const validators = new Map<string, ReturnType<typeof ajv.compile>>();
for (const kind of DEVICE_KINDS) for (const [type, spec] of Object.entries(CATALOGUE[kind].events)) validators.set(`${kind}/${type}`, ajv.compile(spec.schema));

/** The oracle: would a correct gateway store these bytes as this event? (Independent of the gateway's own check.) */
function shouldStore(kind: DeviceKind, type: string, bytes: Buffer): boolean {
  const v = validators.get(`${kind}/${type}`);
  if (!v || !isUtf8(bytes)) return false;
  let data: unknown;
  try {
    data = JSON.parse(bytes.toString('utf8'));
  } catch {
    return false;
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return false;
  if (textDepth(bytes.toString('utf8')) > MAX_EVENT_DEPTH + 1) return false;
  return v(data) as boolean;
}

/** Nesting depth of JSON text, counted on the characters (an implementation apart from the gateway's). */
function textDepth(t: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < t.length; i++) {
    const ch = t[i];
    if (inString) {
      if (ch === '\\') i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === '{' || ch === '[') max = Math.max(max, ++depth);
    else if (ch === '}' || ch === ']') depth--;
  }
  return max;
}

const deviceId = (kind: DeviceKind) => `${kind}-1`;
const pairs: [DeviceKind, string][] = DEVICE_KINDS.flatMap((k) => Object.keys(SAMPLES[k]).map((t) => [k, t] as [DeviceKind, string]));

const HUGE = ['1e400', '-1e400', '9007199254740993', '1e-400', '123456789012345678901234567890', '-0', '1E+308', '0.1e1'];

/** One hostile case: which device, which event type on the topic, which bytes. */
interface Case {
  label: string;
  kind: DeviceKind;
  type: string;
  bytes: Buffer;
  [fc.toStringMethod]?: () => string;
}

const text = (o: unknown) => Buffer.from(JSON.stringify(o), 'utf8');

const hostileCase: fc.Arbitrary<Case> = fc.constantFrom(...pairs).chain(([kind, type]) => {
  const sample = SAMPLES[kind][type];
  const keys = Object.keys(sample);
  const c = (label: string, bytes: Buffer, t = type): Case => ({
    label,
    kind,
    type: t,
    bytes,
    // A shrunk counterexample prints as something a person can paste into a regression test.
    [fc.toStringMethod]: () => `${label} on ${kind}/${t}: ${bytes.length <= 300 ? JSON.stringify(bytes.toString('latin1')) : `${bytes.length} bytes starting ${JSON.stringify(bytes.subarray(0, 120).toString('latin1'))}`}`,
  });
  return fc.oneof(
    fc.constant(c('valid sample', text(sample))),
    fc.string({ unit: 'binary', maxLength: 200 }).map((s) => c('valid + arbitrary unicode note', text({ ...sample, note: s }))),
    // Text that means something to a string replacement, an SQL literal or a C string.
    fc.array(fc.constantFrom('$&', "$'", '$`', '$$', '$1', "'", "''", '"', '\\', '\u0000', '\u2028', '🛒', 'é', ' ', 'x'), { maxLength: 12 }).map((p) => c('valid + special text', text({ ...sample, note: p.join('') }))),
    fc.constantFrom(...keys).map((k) => {
      const o: Record<string, unknown> = { ...sample };
      delete o[k];
      return c('missing field', text(o));
    }),
    fc.tuple(fc.constantFrom(...keys), fc.jsonValue({ maxDepth: 3 })).map(([k, v]) => c('wrong type', text({ ...sample, [k]: v }))),
    fc.tuple(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 3 })).map(([k, v]) => c('extra field', text({ ...sample, [k]: v }))),
    fc.tuple(fc.constantFrom(...keys), fc.constantFrom(...HUGE)).map(([k, n]) => c('huge number', Buffer.from(JSON.stringify({ ...sample, [k]: '@@' }).replace('"@@"', n)))),
    // Deep, but under mqtt.maxPacketBytes (64 KiB): an oversized packet closes the connection by design.
    fc.tuple(fc.integer({ min: 50, max: 9_000 }), fc.constantFrom('[', '{"a":')).map(([d, open]) => {
      const close = open === '[' ? ']' : '}';
      return c('deep nesting', Buffer.from(JSON.stringify({ ...sample, deep: '@@' }).replace('"@@"', open.repeat(d) + '1' + close.repeat(d))));
    }),
    fc.constantFrom([0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xfe, 0xfe], [0xe2, 0x82]).map((bad) => {
      const t = JSON.stringify({ ...sample, note: '@@' });
      const at = t.indexOf('@@');
      return c('non-UTF-8 bytes', Buffer.concat([Buffer.from(t.slice(0, at)), Buffer.from(bad), Buffer.from(t.slice(at + 2))]));
    }),
    fc.constant(c('empty payload', Buffer.alloc(0))),
    fc.json({ maxDepth: 4 }).map((j) => c('arbitrary JSON', Buffer.from(j))),
    fc.constantFrom('[]', 'null', '1', '"s"', 'true', '{', '{"ts":', '\u0000').map((j) => c('not an object', Buffer.from(j))),
    fc.stringMatching(/^[a-z][a-zA-Z0-9]{0,20}$/).filter((t) => !(t in CATALOGUE[kind].events)).map((t) => c('unknown event type', text(sample), t)),
  );
});

let gw: HostileGateway;
let bystander: Bystander;
let reader: OutboxStore;
const devices = new Map<DeviceKind, { client: MqttClient; rej: { reason: string; code: string; topic: string }[] }>();
const tally = new Tally('device-payloads');
/** seq → the JSON the device sent, for the final export comparison. */
const stored = new Map<number, string>();
let lastSeq = 0;
let rejected = 0;
/** Gateway record types a device tried to write (refused by type, counted apart). */
let forged = 0;

async function connectKind(kind: DeviceKind): Promise<void> {
  const client = await connectDevice(gw.mqttUrl, `${kind}/${deviceId(kind)}`, TEST_SECRET);
  const rej: { reason: string; code: string; topic: string }[] = [];
  client.on('message', (_t, p) => rej.push(JSON.parse(p.toString()) as { reason: string; code: string; topic: string }));
  await client.subscribeAsync(`store/v1/dev/${kind}/${deviceId(kind)}/rej`, { qos: 1 });
  devices.set(kind, { client, rej });
}

/** The device of a kind, connected again if an earlier (failing) case lost its connection, so shrinking replays cleanly. */
async function device(kind: DeviceKind): Promise<{ client: MqttClient; rej: { reason: string; code: string; topic: string }[] }> {
  if (!devices.get(kind)!.client.connected) {
    devices.get(kind)!.client.end(true);
    await connectKind(kind);
  }
  return devices.get(kind)!;
}

beforeAll(async () => {
  gw = await startHostileGateway({ devices: [...DEVICE_KINDS.map((kind) => ({ kind, id: deviceId(kind) })), { kind: 'footfall', id: 'door-2' }] });
  reader = new OutboxStore(path.join(gw.dataDir, 'outbox.db'), { readonly: true });
  await reader.start();
  bystander = await Bystander.connect(gw);
  for (const kind of DEVICE_KINDS) await connectKind(kind);
}, 60_000);

afterAll(async () => {
  tally.print();
  for (const d of devices.values()) await d.client.endAsync().catch(() => undefined);
  await bystander?.end();
  await reader?.stop().catch(() => undefined);
  await gw?.stop();
});

/** A field path at the start of the reason: `data: …`, `data.lines[0].qty: …`, `topic.type: …`. */
const NAMES_FIELD = /^(data|topic)(\.[A-Za-z0-9_$-]+|\[\d+\])*: /;

/** QoS 1 publish: 'acked' on PUBACK, 'dropped' when the gateway closes the connection first (mqtt.js would wait forever). */
function publishOrDrop(client: MqttClient, topic: string, bytes: Buffer): Promise<'acked' | 'dropped'> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const onClose = () => resolve('dropped');
      client.once('close', onClose);
      client.publish(topic, bytes, { qos: 1 }, (err) => {
        client.off('close', onClose);
        if (err) reject(err);
        else resolve('acked');
      });
    }),
    15_000,
    'PUBACK or close',
  );
}

async function waitRej(list: unknown[], n: number): Promise<void> {
  await withTimeout(
    (async () => {
      while (list.length < n) await new Promise((r) => setTimeout(r, 2));
    })(),
    15_000,
    'a rej notice',
  );
}

describe('device payloads, every kind and event type', () => {
  it('the samples are valid, so the mutations start from the accepted shape', () => {
    for (const [kind, type] of pairs) expect(shouldStore(kind, type, text(SAMPLES[kind][type])), `${kind}/${type}`).toBe(true);
  });

  it('each PUBACKed payload is stored identical or refused with a reason naming the field', async () => {
    await fc.assert(
      fc.asyncProperty(hostileCase, async (k) => {
        tally.add('cases');
        tally.add(`case: ${k.label}`);
        const dev = await device(k.kind);
        const id = deviceId(k.kind);
        const rejBefore = dev.rej.length;
        const valid = shouldStore(k.kind, k.type, k.bytes);
        const answer = await publishOrDrop(dev.client, `store/v1/dev/${k.kind}/${id}/evt/${k.type}`, k.bytes);
        expect(gw.alive()).toBe(true);
        // A payload is answered with PUBACK (+ rej), never with a dropped connection.
        expect(answer, `connection dropped instead of PUBACK: ${JSON.stringify(gw.logs((l) => l.deviceId === id && /dropped|failed/.test(String(l.msg))).slice(-1))}`).toBe('acked');
        // The gateway's own records (a FORGED_RECORD alert after a refused gateway record type) are not the case's.
        const fresh = (await reader.read(lastSeq + 1, 1000)).filter((r) => r.deviceId !== 'door-2' && r.deviceId !== SELF_DEVICE_ID);
        if (fresh.length > 0) lastSeq = fresh[fresh.length - 1].seq;
        if (valid && fresh.length === 1) {
          // Stored: exactly what was sent, field for field and in order.
          // Compared as text: vitest's deep equality recurses and a 9,000-level payload would overflow it.
          expect({ kind: fresh[0].kind, deviceId: fresh[0].deviceId, type: fresh[0].type }).toEqual({ kind: k.kind, deviceId: id, type: k.type });
          expect(JSON.stringify(fresh[0].data)).toBe(JSON.stringify(JSON.parse(k.bytes.toString('utf8'))));
          stored.set(fresh[0].seq, JSON.stringify(fresh[0].data));
          tally.add('stored exactly');
          return;
        }
        expect(fresh.map((r) => r.seq), `${k.label}: nothing may be stored for a refused payload`).toEqual([]);
        if (valid) expect(GATEWAY_RECORDS.has(`${k.kind}/${k.type}`), `a valid ${k.kind}/${k.type} was acknowledged and lost`).toBe(true);
        await waitRej(dev.rej, rejBefore + 1);
        const notice = dev.rej[rejBefore];
        expect(notice.reason).toMatch(NAMES_FIELD);
        expect(notice.topic).toBe(`store/v1/dev/${k.kind}/${id}/evt/${k.type}`);
        if (GATEWAY_RECORDS.has(`${k.kind}/${k.type}`)) {
          // Refused by type before any validation: a rej and a FORGED_RECORD alert, no dead letter.
          expect(notice.code).toBe('SGW_ERR_GATEWAY_RECORD');
          forged++;
          tally.add(`refused: ${notice.code}`);
          return;
        }
        const [dead] = await reader.recentDeadLetters(id, 1);
        expect(dead.reason).toBe(notice.reason);
        expect(dead.code).toBe(notice.code);
        if (isUtf8(k.bytes) && k.bytes.length <= 4096) expect(dead.payload).toBe(k.bytes.toString('utf8'));
        rejected++;
        tally.add(`refused: ${notice.code}`);
      }),
      { seed: SEED, numRuns: 400 },
    );
  }, 180_000);

  it('birth and state: any payload is PUBACKed, a bad one answered with a rej naming birth.* or state', async () => {
    const birthOk = createAjv().compile(Birth);
    const payload = fc.oneof(
      fc.constantFrom('online', 'offline', ' online\n', 'ONLINE', '', 'null', '{}'),
      fc.json({ maxDepth: 3 }),
      fc.record({ model: fc.string({ maxLength: 130 }), firmware: fc.string({ maxLength: 70 }), capabilities: fc.array(fc.string({ maxLength: 70 }), { maxLength: 70 }) }, { requiredKeys: [] }).map((o) => JSON.stringify(o)),
      fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...DEVICE_KINDS), fc.constantFrom('birth', 'state'), payload, async (kind, channel, text) => {
        tally.add(`cases: ${channel}`);
        const dev = await device(kind);
        const before = dev.rej.length;
        const answer = await publishOrDrop(dev.client, `store/v1/dev/${kind}/${deviceId(kind)}/${channel}`, Buffer.from(text, 'utf8'));
        expect(answer).toBe('acked');
        expect(gw.alive()).toBe(true);
        let valid: boolean;
        if (channel === 'state') valid = text.trim() === 'online' || text.trim() === 'offline';
        else {
          try {
            valid = birthOk(JSON.parse(text)) as boolean;
          } catch {
            valid = false;
          }
        }
        if (valid) return;
        await waitRej(dev.rej, before + 1);
        expect(dev.rej[before].reason).toMatch(channel === 'state' ? /^state: / : /^birth(\.[A-Za-z0-9_$-]+|\[\d+\])*: /);
        tally.add(`refused: ${channel}`);
      }),
      { seed: SEED, numRuns: 120 },
    );
    // A device's last word stands: every device says it is online again for the cases after this.
    for (const kind of DEVICE_KINDS) await (await device(kind)).client.publishAsync(`store/v1/dev/${kind}/${deviceId(kind)}/state`, 'online', { qos: 1 });
  }, 120_000);

  it('regression: bytes that are not UTF-8 are refused naming data, not stored with U+FFFD in their place', async () => {
    // Shrunk from the property above: the gateway decoded 0xFF as U+FFFD, found valid JSON and
    // acknowledged an event whose stored text differs from what the device sent (RFC 8259 §8.1:
    // JSON exchanged between systems is UTF-8).
    const dev = await device('esl');
    const before = dev.rej.length;
    const bytes = Buffer.concat([Buffer.from('{"ts":"2026-12-05T10:00:00.000Z","uptimeS":5,"note":"'), Buffer.from([0xff]), Buffer.from('"}')]);
    await dev.client.publishAsync('store/v1/dev/esl/esl-1/evt/heartbeat', bytes, { qos: 1 });
    const fresh = (await reader.read(lastSeq + 1, 1000)).filter((r) => r.deviceId !== 'door-2');
    expect(fresh.map((r) => r.seq)).toEqual([]);
    await waitRej(dev.rej, before + 1);
    expect(dev.rej[before]).toMatchObject({ code: 'SGW_ERR_BAD_JSON', reason: expect.stringMatching(/^data: is not valid UTF-8/) });
    rejected++;
  });

  it('regression: a payload nested thousands of levels deep is refused naming the field, so `outbox export` keeps working', async () => {
    // Shrunk from the property above: a valid payment/ack with 4,150 nested arrays in an extra
    // field was PUBACKed and stored; `storegw outbox export` then died (Maximum call stack size
    // exceeded) on it, and the uplink's JSON.stringify of the batch would too.
    const dev = await device('payment');
    const before = dev.rej.length;
    const bytes = Buffer.from(`{"ts":"2026-12-05T10:00:00.000Z","cmdId":"c-1","ok":true,"deep":${'['.repeat(4150)}1${']'.repeat(4150)}}`);
    await dev.client.publishAsync('store/v1/dev/payment/payment-1/evt/ack', bytes, { qos: 1 });
    expect((await reader.read(lastSeq + 1, 1000)).filter((r) => r.deviceId !== 'door-2').map((r) => r.seq)).toEqual([]);
    await waitRej(dev.rej, before + 1);
    expect(dev.rej[before]).toMatchObject({ code: 'SGW_ERR_SCHEMA', reason: expect.stringMatching(/^data\.deep(\[0\])+…?: is nested deeper than 32 levels$/) });
    rejected++;
  });

  it('afterwards: counters add up, the bystander is served, and `outbox export` gives every stored event back identical', async () => {
    let counted = 0;
    for (const code of ['SGW_ERR_BAD_JSON', 'SGW_ERR_SCHEMA', 'SGW_ERR_UNKNOWN_TYPE', 'SGW_ERR_FORBIDDEN']) counted += await metric(gw.httpUrl, `storegw_rejects_total{code="${code}"}`);
    expect(counted).toBe(rejected);
    expect(await metric(gw.httpUrl, 'storegw_mqtt_refused_total{reason="gateway_record"}')).toBe(forged);
    // Each forged record type per device raised at least one exact FORGED_RECORD alert (one a minute per type).
    if (forged > 0) expect((await gw.exportRecords()).some((r) => r.deviceId === SELF_DEVICE_ID && (r.data as { code?: string }).code === 'FORGED_RECORD')).toBe(true);
    await bystander.check();
    const exported = await gw.exportRecords();
    const mine = new Map(exported.filter((r) => r.deviceId !== 'door-2' && r.deviceId !== SELF_DEVICE_ID).map((r) => [r.seq as number, JSON.stringify(r.data)]));
    expect(mine).toEqual(stored);
    expect(gw.crashLines()).toEqual([]);
    tally.add('exported records compared', mine.size);
  }, 60_000);
});
