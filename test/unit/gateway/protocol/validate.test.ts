import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { CATALOGUE } from '../../../../gateway/protocol/schemas/index.js';
import { DEVICE_KINDS, type DeviceKind } from '../../../../gateway/protocol/topics.js';
import { checkBirth, checkCommand, checkEvent, compile, eventClassOf, formatErrors, pathOf } from '../../../../gateway/protocol/validate.js';

const TS = '2026-11-25T09:00:00.000Z';

/** For every kind and every event of the catalogue: one valid payload, one invalid one and the line it must give. */
const common = {
  heartbeat: { valid: { ts: TS, uptimeS: 1234 }, invalid: { ts: TS, uptimeS: 1.5 }, reason: 'data.uptimeS: must be integer' },
  alert: {
    valid: { ts: TS, code: 'DOOR_AJAR', severity: 'warning', message: '…' },
    invalid: { ts: TS, code: 'DOOR_AJAR', severity: 'loud', message: 'x' },
    reason: 'data.severity: must be one of "info", "warning", "critical"',
  },
  ack: { valid: { cmdId: 'c-1', ok: true }, invalid: { ok: true }, reason: 'data.cmdId: is required' },
};
const SAMPLES: Record<DeviceKind, Record<string, { valid: object; invalid: object; reason: string }>> = {
  esl: {
    ...common,
    status: {
      valid: { ts: TS, labels: [{ labelId: '4006381333931', batteryMv: 2900, rssi: -61.5, temperatureC: 21, shownHash: 'abc' }] },
      invalid: { ts: TS, labels: [{ labelId: 'L1' }, { labelId: 'L2', batteryMv: 2900.5 }] },
      reason: 'data.labels[1].batteryMv: must be integer',
    },
    ack: { valid: { cmdId: 'c-1', ok: true, labelId: 'L1', shownHash: 'h' }, invalid: { cmdId: 'c-1', ok: 'yes' }, reason: 'data.ok: must be boolean' },
  },
  scale: {
    ...common,
    weight: { valid: { ts: TS, grams: 1250, stable: true, tareGrams: 0, range: 'ok' }, invalid: { ts: TS, grams: 12.5, stable: true }, reason: 'data.grams: must be integer' },
  },
  scanner: { ...common, scan: { valid: { ts: TS, code: '4006381333931', symbology: ']E0' }, invalid: { ts: TS, code: '' }, reason: 'data.code: must NOT have fewer than 1 characters' } },
  rfid: {
    ...common,
    read: { valid: { ts: TS, epc: '3034257BF7194E4000001A85', antenna: 1, rssi: -55 }, invalid: { ts: TS, epc: 'xyz!', antenna: 1, rssi: -55 }, reason: 'data.epc: must match pattern "^[0-9A-Fa-f]{4,124}$"' },
    exitAlarm: {
      valid: { ts: TS, alarmId: 'gate-1:80614141123458:6789:1', reader: 'gate-1', alarm: 'alarm-1', zone: 'front door', gtin: '80614141123458', serial: '6789', epc: '3034257BF7194E4000001A85', name: 'T-shirt', latencyMs: 12 },
      invalid: { ts: TS, alarmId: 'a', reader: 'gate-1', alarm: 'alarm-1', gtin: '80614141123458', serial: '6789', epc: '3034257BF7194E4000001A85', name: 'T-shirt', latencyMs: -1 },
      reason: 'data.latencyMs: must be >= 0',
    },
  },
  footfall: {
    ...common,
    count: { valid: { ts: TS, in: 3, out: 1 }, invalid: { ts: TS, in: -1, out: 1 }, reason: 'data.in: must be >= 0' },
    cross: { valid: { ts: TS, direction: 'in' }, invalid: { ts: TS, direction: 'up' }, reason: 'data.direction: must be one of "in", "out"' },
  },
  light: {
    ...common,
    // the stock ledger's own movements (filed as light/storegw)
    stockMove: {
      valid: { ts: TS, movementId: 'rcv:r-1', gtin: '4006381333931', kind: 'receipt', qty: 12, uom: 'unit', eventTime: TS, recordTime: TS, actor: 'anna' },
      invalid: { ts: TS, movementId: 'rcv:r-1', gtin: '4006381333931', kind: 'gift', qty: 12, uom: 'unit', eventTime: TS, recordTime: TS, actor: 'anna' },
      reason: 'data.kind: must be one of "sale", "return", "receipt", "adjustment", "pickup", "count"',
    },
  },
  printer: {
    ...common,
    status: { valid: { ts: TS, online: false, paper: 'out', coverOpen: true, error: 'autocutter error' }, invalid: { ts: TS, online: true, paper: 'empty', coverOpen: false }, reason: 'data.paper: must be one of "ok", "nearEnd", "out"' },
  },
  payment: {
    ...common,
    result: {
      valid: { ts: TS, requestId: 'r-1', status: 'approved', amount: 1299, currency: 'EUR', authCode: 'A1' },
      invalid: { ts: TS, requestId: 'r-1', status: 'approved', amount: 12.99 },
      reason: 'data.amount: must be integer',
    },
    status: {
      valid: { ts: TS, requestId: 'r-1', prompt: 'enterPin', code: 0x0b, text: 'PIN eingeben' },
      invalid: { ts: TS, requestId: 'r-1', prompt: 'enterPin', code: 256 },
      reason: 'data.code: must be <= 255',
    },
    endOfDay: {
      valid: { ts: TS, cmdId: 'c-1', ok: true, resultCode: 0, totalAmount: 123456, currency: 'EUR', count: 12 },
      invalid: { ts: TS, cmdId: 'c-1', ok: true, totalAmount: -1 },
      reason: 'data.totalAmount: must be >= 0',
    },
  },
  kiosk: {
    ...common,
    // kiosk: the sale, an attendant's decision, a click & collect pickup
    transaction: {
      valid: { ts: TS, transactionId: 't-1', kioskId: 'k1', lines: [{ gtin: '4006381333931', name: 'Milk', qty: 1, unitPrice: 129, price: 129 }], subtotal: 129, discounts: 0, total: 129, currency: 'EUR', payment: { requestId: 'r-1', authCode: 'A1', amount: 129 }, attendant: [] },
      invalid: { ts: TS, transactionId: 't-1', kioskId: 'k1', lines: [], subtotal: 129, discounts: 0, total: 129, currency: 'EUR', payment: { requestId: 'r-1', authCode: 'A1', amount: 129 }, attendant: [] },
      reason: 'data.lines: must NOT have fewer than 1 items',
    },
    attendant: {
      valid: { ts: TS, requestId: 'q-1', kioskId: 'k1', kind: 'age', decision: 'approved', by: 'anna', at: TS },
      invalid: { ts: TS, requestId: 'q-1', kioskId: 'k1', decision: 'maybe', by: 'anna', at: TS },
      reason: 'data.decision: must be one of "approved", "rejected"',
    },
    pickup: { valid: { ts: TS, kioskId: 'k1', orderId: 'o-1' }, invalid: { ts: TS, kioskId: 'k1' }, reason: 'data.orderId: is required' },
    // click & collect: a person handed a collected order over
    handover: { valid: { ts: TS, kioskId: 'k1', orderId: 'o-1', by: 'anna', at: TS, collectedAt: TS }, invalid: { ts: TS, kioskId: 'k1', orderId: 'o-1', at: TS, collectedAt: TS }, reason: 'data.by: is required' },
    // loyalty: one points change of a sale, keyed for HQ by entryId
    pointsChange: {
      valid: { ts: TS, entryId: 's1:t-1:spend', transactionId: 't-1', kioskId: 'k1', kind: 'spend', memberId: 'M1', delta: -300, program: 'club' },
      invalid: { ts: TS, entryId: 's1:t-1:spend', transactionId: 't-1', kioskId: 'k1', kind: 'refund', memberId: 'M1', delta: -300, program: 'club' },
      reason: 'data.kind: must be one of "earn", "spend", "earnReversal", "spendReversal"',
    },
    // coupons: one coupon used in a sale
    couponRedeemed: {
      valid: { ts: TS, transactionId: 't-1', kioskId: 'k1', couponId: 'C1', serial: '000123', single: true, via: 'signed', amount: 200, currency: 'EUR' },
      invalid: { ts: TS, transactionId: 't-1', kioskId: 'k1', couponId: 'C1', serial: '000123', single: true, via: 'signed', amount: -200, currency: 'EUR' },
      reason: 'data.amount: must be >= 0',
    },
    // coupons: one coupon given back by a post-sale void (the reverse of its couponRedeemed)
    couponReleased: {
      valid: { ts: TS, transactionId: 't-1', kioskId: 'k1', couponId: 'C1', serial: '000123', single: true, via: 'signed', amount: 200, currency: 'EUR' },
      invalid: { ts: TS, transactionId: 't-1', kioskId: 'k1', couponId: 'C1', serial: '000123', single: true, via: 'signed', amount: 200 },
      reason: 'data.currency: is required',
    },
    // a completed sale voided on the ops page: how the money goes back, what was given back
    saleVoided: {
      valid: { ts: TS, transactionId: 't-1', kioskId: 'k1', saleTs: TS, total: 1500, currency: 'EUR', by: 'anna', role: 'attendant', reason: 'charged twice', refund: { kind: 'reversed', paymentRequestId: 'p-1', amount: 1500, receiptNo: '0042' }, movements: ['void:t-1:0'], serials: [{ gtin: '80614141123458', serial: '7' }] },
      invalid: { ts: TS, transactionId: 't-1', kioskId: 'k1', saleTs: TS, total: 1500, currency: 'EUR', by: 'anna', role: 'viewer', reason: 'charged twice', refund: { kind: 'owed', amount: 1500, why: 'not the last payment' }, movements: [], serials: [] },
      reason: 'data.role: must be one of "attendant", "admin"',
    },
    // shelf = till: a sale line charged at a price its label does not show
    priceMismatch: {
      valid: { ts: TS, mismatchId: 't-1:0:L1', kioskId: 'k1', transactionId: 't-1', line: 0, gtin: '4006381333931', name: 'Milk', catalogVersions: { 'prices/store': 2 }, currency: 'EUR', tillPrice: 149, charged: 149, labelId: 'L1', labelState: 'pending', labelHash: 'abcd', labelPrice: 129, labelCurrency: 'EUR', paid: 'till' },
      invalid: { ts: TS, mismatchId: 't-1:0:L1', kioskId: 'k1', transactionId: 't-1', line: 0, gtin: '4006381333931', name: 'Milk', currency: 'EUR', tillPrice: 149, charged: 149, labelId: 'L1', labelState: 'none', labelHash: 'abcd', labelPrice: 129, labelCurrency: 'EUR', paid: 'till' },
      reason: 'data.labelState: must be one of "current", "pending", "stale"',
    },
  },
};

describe('checkEvent, every kind and every event', () => {
  it('the samples cover the whole catalogue', () => {
    for (const kind of DEVICE_KINDS) expect(Object.keys(SAMPLES[kind]).sort()).toEqual(Object.keys(CATALOGUE[kind].events).sort());
  });

  const rows = DEVICE_KINDS.flatMap((kind) => Object.entries(SAMPLES[kind]).map(([type, s]) => [kind, type, s] as const));
  it.each(rows)('%s/%s: valid passes with its class, invalid names the field', (kind, type, s) => {
    const ok = checkEvent(kind, type, JSON.stringify(s.valid));
    expect(ok).toEqual({ ok: true, cls: CATALOGUE[kind].events[type].cls, data: s.valid });
    const bad = checkEvent(kind, type, Buffer.from(JSON.stringify(s.invalid)));
    expect(bad).toEqual({ ok: false, code: 'SGW_ERR_SCHEMA', reason: s.reason });
  });

  it('accepts the contract\'s example payloads as they stand', () => {
    expect(checkEvent('kiosk', 'heartbeat', '{"ts":"2026-11-25T09:00:00.000Z","uptimeS":1234}').ok).toBe(true);
    expect(checkEvent('footfall', 'alert', '{"ts":"2026-11-25T09:00:00.000Z","code":"DOOR_AJAR","severity":"warning","message":"…"}').ok).toBe(true);
    expect(checkEvent('footfall', 'count', '{"ts":"2026-11-25T09:00:00.000Z","in":3,"out":1}').ok).toBe(true);
  });

  it('classes follow the event-class table', () => {
    expect(eventClassOf('footfall', 'count')).toBe('aggregate');
    expect(eventClassOf('rfid', 'read')).toBe('presence');
    expect(eventClassOf('scale', 'weight')).toBe('sampled');
    expect(eventClassOf('esl', 'status')).toBe('latest');
    expect(eventClassOf('payment', 'result')).toBe('exact');
    expect(eventClassOf('kiosk', 'alert')).toBe('exact');
    expect(eventClassOf('kiosk', 'nope')).toBeUndefined();
  });

  it('reports every problem of one payload, each with its path', () => {
    const r = checkEvent('scale', 'weight', JSON.stringify({ ts: 'yesterday', grams: 'heavy' }));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason.split('; ').sort()).toEqual(['data.grams: must be integer', 'data.stable: is required', 'data.ts: must match format "date-time"'].sort());
    }
  });

  it('an unknown type names the known ones', () => {
    expect(checkEvent('footfall', 'teleport', '{}')).toEqual({
      ok: false,
      code: 'SGW_ERR_UNKNOWN_TYPE',
      reason: 'topic.type: footfall has no event "teleport" (known: heartbeat, alert, ack, count, cross)',
    });
  });

  it('bad JSON and non-objects are refused, never thrown', () => {
    const j = checkEvent('footfall', 'count', '{"in":');
    expect(j).toMatchObject({ ok: false, code: 'SGW_ERR_BAD_JSON' });
    if (!j.ok) expect(j.reason).toMatch(/^data: is not valid JSON \(/);
    for (const p of ['null', '[]', '42', '"x"', 'true']) expect(checkEvent('footfall', 'count', p)).toEqual({ ok: false, code: 'SGW_ERR_SCHEMA', reason: 'data: must be a JSON object' });
    expect(checkEvent('footfall', 'count', Buffer.from([0xff, 0xfe, 0x00]))).toMatchObject({ ok: false, code: 'SGW_ERR_BAD_JSON' });
  });
});

describe('checkCommand', () => {
  it('accepts a valid command and names what is wrong in a bad one', () => {
    expect(checkCommand('light', 'set', { cmdId: 'c1', color: 'red', mode: 'flash' })).toEqual([]);
    expect(checkCommand('light', 'set', { cmdId: 'c1', color: 'pink', mode: 'flash' })).toEqual(['cmd.color: must be one of "off", "green", "amber", "red"']);
    expect(checkCommand('light', 'set', { color: 'red', mode: 'flash', extra: 1 }).sort()).toEqual(['cmd.cmdId: is required', 'cmd.extra: is not allowed']);
    expect(checkCommand('footfall', 'set', {})).toEqual(['cmd.type: footfall has no command "set"']);
  });
});

describe('checkBirth', () => {
  it('accepts {model, firmware, capabilities} and names a missing field', () => {
    expect(checkBirth(Buffer.from('{"model":"M","firmware":"1.0","capabilities":[]}'))).toMatchObject({ ok: true, data: { model: 'M' } });
    expect(checkBirth(Buffer.from('{"model":"M","capabilities":[]}'))).toEqual({ ok: false, reason: 'birth.firmware: is required' });
    expect(checkBirth(Buffer.from('not json'))).toMatchObject({ ok: false, reason: expect.stringMatching(/^birth: is not valid JSON/) });
  });
});

describe('formatErrors and pathOf', () => {
  it('pathOf turns JSON pointers into dotted paths with [index]', () => {
    expect(pathOf('', '/devices/3/kind')).toBe('devices[3].kind');
    expect(pathOf('data', '/labels/0/batteryMv')).toBe('data.labels[0].batteryMv');
    expect(pathOf('', '', 'storeId')).toBe('storeId');
    expect(pathOf('', '')).toBe('(root)');
    expect(pathOf('data', '/a~1b/c~0d')).toBe('data.a/b.c~d');
  });

  it('a union of literals in an array element reads "must be one of …" at devices[3].kind', () => {
    const Schema = Type.Object({
      devices: Type.Array(Type.Object({ kind: Type.Union(['esl', 'scale', 'footfall'].map((k) => Type.Literal(k))) })),
    });
    const v = compile(Schema);
    expect(v({ devices: [{ kind: 'esl' }, { kind: 'scale' }, { kind: 'footfall' }, { kind: 'toaster' }] })).toBe(false);
    expect(formatErrors(v.errors, '')).toEqual(['devices[3].kind: must be one of "esl", "scale", "footfall"']);
  });

  it('a union of object shapes without literals keeps the deeper reason', () => {
    const v = compile(Type.Object({ x: Type.Union([Type.Object({ a: Type.Integer() }), Type.Object({ b: Type.String() })]) }));
    expect(v({ x: 5 })).toBe(false);
    expect(formatErrors(v.errors)).toEqual(['data.x: must be object']);
    expect(formatErrors(null)).toEqual([]);
    expect(formatErrors([])).toEqual([]);
  });
});
