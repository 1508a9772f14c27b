/**
 * Serialised items at the kiosk: an item is its GTIN and its serial; the pairs a kiosk
 * just sold stay out of the next cart; RFID lines can be removed, whole or one tag, with the
 * bagging scale expecting the weight to go and a removed tag never coming back.
 */
import { describe, expect, it } from 'vitest';
import { newSession, step, type Action, type Ctx, type Session } from '../../../../gateway/kiosk/sessionMachine.js';
import { gtin14, isSoldHere, MAX_SOLD_TAGS, rememberSold } from '../../../../gateway/kiosk/rfidTags.js';
import type { PriceQuote } from '../../../../gateway/prices/catalog.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const QUIET = 30 * 60_000;
const SHIRT = '80614141123458';
const CAP = '80614141123465';
const MILK = '4000000000017';
const items: Record<string, { name: string; base: number; expectedWeightG?: number; weightToleranceG?: number }> = {
  [SHIRT]: { name: 'T-shirt', base: 1500 },
  [CAP]: { name: 'Cap', base: 900 },
  [MILK]: { name: 'Milk', base: 129, expectedWeightG: 1030, weightToleranceG: 20 },
};

function ctx(now = T0, rules: Partial<Ctx['rules']> = {}): Ctx {
  let n = 0;
  return {
    now,
    quote: (gtin) => {
      const i = items[gtin];
      return i ? ({ gtin, name: i.name, unit: 'each', currency: 'EUR', base: i.base, price: i.base, source: 'base', promo: null, ...(i.expectedWeightG ? { expectedWeightG: i.expectedWeightG, weightToleranceG: i.weightToleranceG } : {}) } as PriceQuote) : null;
    },
    rules: { removalNeedsAttendant: false, voidNeedsAttendant: false, bagToleranceG: 10, bagTolerancePct: 5, bagNoiseG: 5, soldTagQuietMs: QUIET, ...rules },
    newId: () => `id-${now}-${++n}`,
  };
}

function run(s: Session, actions: Action[], c = ctx()) {
  for (const a of actions) s = step(s, a, c).session;
  return s;
}

const read = (gtin: string, serial: number): Action => ({ type: 'addItem', gtin, serial: String(serial), via: 'rfid' });
const fresh = (bag = false) => newSession('k1', 'sess-1', 'EUR', T0, bag);

/** Scan, pay, approve, record: the session on its thank-you screen. */
function sell(s: Session, actions: Action[], c = ctx()): Session {
  s = run(s, [...actions, { type: 'pay' }], c);
  const requestId = s.payment!.requestId;
  s = run(s, [{ type: 'paymentResult', requestId, status: 'approved', amount: s.totals.total, currency: 'EUR', authCode: 'A1' }, { type: 'recorded', transactionId: s.sessionId }], c);
  expect(s.phase).toBe('done');
  return s;
}

describe('an item is its GTIN and its serial', () => {
  it('two products carrying one serial are both charged; the same pair read again is counted once', () => {
    const s = run(fresh(), [read(SHIRT, 6789), read(CAP, 6789), read(SHIRT, 6789), read(CAP, 6789), read(SHIRT, 6790)]);
    expect(s.lines.map((l) => [l.gtin, l.qty, l.serials, l.price])).toEqual([
      [SHIRT, 2, ['6789', '6790'], 3000],
      [CAP, 1, ['6789'], 900],
    ]);
    expect(s.totals.total).toBe(3900);
  });

  it('a GTIN written with or without its leading zero is one product', () => {
    expect(gtin14('4006381333931')).toBe('04006381333931');
    const sold = rememberSold([], [{ gtin: '4006381333931', serials: ['7'] }], T0, T0 + 1000);
    expect(isSoldHere(sold, '04006381333931', '7', T0)).toBe(true);
    expect(isSoldHere(sold, '04006381333931', '8', T0)).toBe(false);
    expect(isSoldHere(sold, '04006381333931', '7', T0 + 1000)).toBe(false); // quiet until, not through
  });
});

describe("a paid basket does not enter the next shopper's cart", () => {
  it('the pairs sold here are ignored by this kiosk for soldTagQuietMs, across sessions and a save/load; a new tag starts a cart', () => {
    let s = sell(fresh(), [read(SHIRT, 1), read(SHIRT, 2)]);
    s = run(s, [{ type: 'reset' }], ctx(T0 + 1000));
    // As kiosk.db keeps it: the saved JSON, read back after a restart.
    s = JSON.parse(JSON.stringify(s)) as Session;
    expect(s.phase).toBe('idle');
    const idle = s;
    // The paid basket is still at the reader: nothing changes (not even the version, so nothing is saved).
    expect(run(idle, [read(SHIRT, 1), read(SHIRT, 2), read(SHIRT, 1)], ctx(T0 + 60_000))).toBe(idle);
    // The same serial of another product was not sold: it starts a cart, as does a new tag.
    s = run(idle, [read(CAP, 1), read(SHIRT, 3), read(SHIRT, 2)], ctx(T0 + 60_000));
    expect(s.phase).toBe('shopping');
    expect(s.lines.map((l) => [l.gtin, l.serials])).toEqual([[CAP, ['1']], [SHIRT, ['3']]]);
    // The next sale adds its pairs; the first sale's stay quiet until their own time.
    s = sell(s, [], ctx(T0 + 120_000));
    s = run(s, [{ type: 'reset' }], ctx(T0 + 120_000));
    expect(s.soldTags?.map((t) => [t.gtin, t.serial, t.until])).toEqual([
      [SHIRT, '1', T0 + QUIET],
      [SHIRT, '2', T0 + QUIET],
      [CAP, '1', T0 + 120_000 + QUIET],
      [SHIRT, '3', T0 + 120_000 + QUIET],
    ]);
    // After the quiet time a sold tag counts again (an attendant handles a real re-sale).
    const later = run(s, [read(SHIRT, 1), read(CAP, 1)], ctx(T0 + QUIET + 1));
    expect(later.lines.map((l) => [l.gtin, l.serials])).toEqual([[SHIRT, ['1']]]);
    expect(run(later, [{ type: 'reset' }], ctx(T0 + 120_000 + QUIET)).soldTags).toBeUndefined();
  });

  it('only a recorded sale quiets its tags: a cancelled cart does not, and soldTagQuietMs 0 turns it off', () => {
    let s = run(fresh(), [read(SHIRT, 1), { type: 'cancel' }, { type: 'reset' }]);
    expect(run(s, [read(SHIRT, 1)]).lines).toHaveLength(1);
    const off = ctx(T0, { soldTagQuietMs: 0 });
    s = run(sell(fresh(), [read(SHIRT, 1)], off), [{ type: 'reset' }], off);
    expect(run(s, [read(SHIRT, 1)], off).lines).toHaveLength(1);
  });

  it('the memory is bounded: the oldest pairs go first', () => {
    const lines = [{ gtin: SHIRT, serials: Array.from({ length: MAX_SOLD_TAGS + 5 }, (_, i) => String(i)) }];
    const sold = rememberSold([], lines, T0, T0 + QUIET);
    expect(sold).toHaveLength(MAX_SOLD_TAGS);
    expect(sold[0].serial).toBe('5');
  });
});

describe('RFID lines can be removed', () => {
  it('one tag or the whole line; the bagging scale expects the weight to go; a removed tag read again is not added back and is told once', () => {
    let s = run(fresh(true), [{ type: 'bagWeight', grams: 0, stable: true }, read(MILK, 1), read(MILK, 2), { type: 'bagWeight', grams: 2062, stable: true }]);
    expect(s.bag.state).toBe('ok');
    expect(s.lines[0]).toMatchObject({ qty: 2, serials: ['1', '2'], price: 258, expectedG: 2060 });
    s = run(s, [{ type: 'remove', lineId: 'L1', serial: '1' }]);
    expect(s.notice).toBeNull();
    expect(s.lines[0]).toMatchObject({ qty: 1, serials: ['2'], price: 129, expectedG: 1030 });
    expect(s.totals.total).toBe(129);
    // The tag is taken out: the scale shows 1030 g less, which is what it expects (no security alert).
    s = run(s, [{ type: 'bagWeight', grams: 1031, stable: true }]);
    expect(s.bag.state).toBe('ok');
    expect(s.requests).toEqual([]);
    // Still in the reader's field: told once, never charged again.
    s = run(s, [read(MILK, 1)]);
    expect(s.notice).toEqual({ code: 'removedTagRead', detail: 'Milk' });
    expect(s.totals.total).toBe(129);
    const told = s;
    expect(run(told, [read(MILK, 1), read(MILK, 1)])).toBe(told);
    // A quantity change on an RFID line says what to do instead; removing the line takes its last tag.
    expect(run(s, [{ type: 'setQty', lineId: 'L1', qty: 5 }]).notice?.code).toBe('qtyFixed');
    s = run(s, [{ type: 'remove', lineId: 'L1' }]);
    expect(s.lines).toEqual([]);
    expect(run(s, [read(MILK, 2)]).notice?.code).toBe('removedTagRead');
    s = run(s, [{ type: 'bagWeight', grams: 2, stable: true }]);
    expect(s.bag.state).toBe('ok');
    // A tag that was never in the cart still is added.
    expect(run(s, [read(MILK, 3)]).lines[0].serials).toEqual(['3']);
    // Without the removal, the same weight drop is an alert.
    const kept = run(fresh(true), [{ type: 'bagWeight', grams: 0, stable: true }, read(MILK, 1), { type: 'bagWeight', grams: 1030, stable: true }, { type: 'bagWeight', grams: 0, stable: true }]);
    expect(kept.bag.state).toBe('removed');
  });

  it('with removalNeedsAttendant the attendant approves the removal of exactly that tag', () => {
    const c = ctx(T0, { removalNeedsAttendant: true });
    let s = run(fresh(), [read(SHIRT, 1), read(SHIRT, 2), { type: 'remove', lineId: 'L1', serial: '2' }], c);
    expect(s.phase).toBe('needsAttendant');
    expect(s.requests).toMatchObject([{ kind: 'removal', lineId: 'L1', qty: 1, serial: '2' }]);
    expect(s.lines[0].serials).toEqual(['1', '2']);
    s = run(s, [{ type: 'attendant', requestId: s.requests[0].requestId, decision: 'approved', by: 'anna' }], c);
    expect(s.lines[0].serials).toEqual(['1']);
    expect(s.totals.total).toBe(1500);
    expect(s.phase).toBe('shopping');
    // A serial the line does not hold changes nothing.
    expect(run(s, [{ type: 'remove', lineId: 'L1', serial: '9' }], c)).toBe(s);
  });
});
