/**
 * The kiosk page's intents against their TypeBox schemas: every intent of the union is reachable
 * by its `type`, a bad one is refused with the field named, extra fields (a planted price) pass
 * and are never part of the action, lengths count code points.
 */
import { describe, expect, it } from 'vitest';
import { checkIntent, intentAction, isHello } from '../../../../gateway/kiosk/intentCheck.js';
import { KIOSK_INTENT_SCHEMAS, KioskSessionIntentSchema } from '../../../../gateway/protocol/schemas/api/kioskIntents.js';
import type { Action } from '../../../../gateway/kiosk/sessionMachine.js';

const problem = (m: unknown) => {
  const r = checkIntent(m);
  return r.ok ? null : r.problem;
};

describe('checkIntent', () => {
  it('knows every branch of the union by its type', () => {
    expect([...KIOSK_INTENT_SCHEMAS.keys()]).toEqual(['scan', 'setQty', 'remove', 'member', 'pay', 'cancel', 'help', 'pickProduce', 'pickupConfirm', 'pickupClose', 'printReceipt', 'spendPoints', 'coupon', 'couponRemove']);
    expect(KIOSK_INTENT_SCHEMAS.size).toBe(KioskSessionIntentSchema.anyOf.length);
  });

  it('accepts well-formed intents, with extra fields', () => {
    for (const m of [
      { type: 'scan', code: '4006381333931' },
      { type: 'scan', code: 'x', symbology: 'ean13' },
      { type: 'setQty', lineId: 'l1', qty: 0 },
      { type: 'setQty', lineId: 'l1', qty: 999, price: 1 },
      { type: 'remove', lineId: 'l1', serial: '6789' },
      { type: 'member', code: 'M-1' },
      { type: 'pay', total: 0 },
      { type: 'cancel' },
      { type: 'help' },
      { type: 'pickProduce', gtin: '2000000000001' },
      { type: 'pickupConfirm' },
      { type: 'pickupClose' },
      { type: 'spendPoints', points: 0 },
      { type: 'spendPoints', points: 500, discount: 9999 },
    ]) expect(checkIntent(m), JSON.stringify(m)).toEqual({ ok: true, intent: m });
  });

  it('names the field of each problem', () => {
    expect(problem(null)).toBe('(root): must be a JSON object');
    expect(problem([])).toBe('(root): must be a JSON object');
    expect(problem({ type: 5 })).toBe('type: must be a string');
    expect(problem({})).toBe('type: must be a string');
    expect(problem({ type: 'hello', kioskId: 'k1', token: 't' })).toBe('type: unknown intent "hello"');
    for (const t of ['__proto__', 'constructor', 'toString']) expect(problem({ type: t })).toBe(`type: unknown intent "${t}"`);
    expect(problem({ type: 'x'.repeat(100) })).toBe(`type: unknown intent "${'x'.repeat(32)}"`);
    expect(problem({ type: 'setQty', lineId: 'l1', qty: 1000 })).toBe('qty: must be <= 999');
    expect(problem({ type: 'setQty', lineId: 'l1', qty: 0.5 })).toBe('qty: must be integer');
    expect(problem({ type: 'setQty', lineId: '', qty: '1' })).toBe('lineId: must NOT have fewer than 1 characters; qty: must be integer');
    expect(problem({ type: 'scan' })).toBe('code: is required');
    expect(problem({ type: 'scan', code: 'x', symbology: null })).toBe('symbology: must be string');
    expect(problem({ type: 'remove', lineId: 'l1', serial: 'x'.repeat(21) })).toBe('serial: must NOT have more than 20 characters');
    expect(problem({ type: 'member', code: 7 })).toBe('code: must be string');
    expect(problem({ type: 'pickProduce', gtin: '123456789012345' })).toBe('gtin: must NOT have more than 14 characters');
    expect(problem({ type: 'spendPoints', points: -1 })).toBe('points: must be >= 0');
    expect(problem({ type: 'spendPoints', points: 1.5 })).toBe('points: must be integer');
  });

  it('counts lengths in code points (JSON Schema), so an emoji is one character', () => {
    expect(problem({ type: 'remove', lineId: 'l1', serial: '😀'.repeat(20) })).toBeNull();
    expect(problem({ type: 'remove', lineId: 'l1', serial: '😀'.repeat(21) })).toBe('serial: must NOT have more than 20 characters');
  });
});

describe('isHello', () => {
  it('needs a string kiosk id and token', () => {
    expect(isHello({ type: 'hello', kioskId: 'k1', token: 't', extra: 1 })).toBe(true);
    expect(isHello({ type: 'hello', kioskId: 'k1' })).toBe(false);
    expect(isHello({ type: 'hello', kioskId: 1, token: 't' })).toBe(false);
    expect(isHello({ type: 'scan', code: 'x' })).toBe(false);
  });
});

describe('intentAction', () => {
  const scanned: Action = { type: 'scanUnknown', code: 'x' } as unknown as Action;
  const k = (demo: boolean) => ({ demo, scan: () => scanned, knownMember: (c: string) => c === 'M-1' });
  it('reads only the fields of the intent', () => {
    expect(intentAction({ type: 'setQty', lineId: 'l1', qty: 2, price: 1 } as never, k(false))).toEqual({ type: 'setQty', lineId: 'l1', qty: 2 });
    expect(intentAction({ type: 'remove', lineId: 'l1' }, k(false))).toEqual({ type: 'remove', lineId: 'l1' });
    expect(intentAction({ type: 'member', code: 'M-1' }, k(false))).toEqual({ type: 'member', code: 'M-1', known: true });
    expect(intentAction({ type: 'pay' }, k(false))).toEqual({ type: 'pay' });
    expect(intentAction({ type: 'spendPoints', points: 300, discount: 5 } as never, k(false))).toEqual({ type: 'spendPoints', points: 300 });
    expect(intentAction({ type: 'pickupClose' }, k(false))).toBeNull();
  });
  it('takes a typed scan only in the demo', () => {
    expect(intentAction({ type: 'scan', code: 'x' }, k(false))).toBeNull();
    expect(intentAction({ type: 'scan', code: 'x' }, k(true))).toBe(scanned);
  });
});
