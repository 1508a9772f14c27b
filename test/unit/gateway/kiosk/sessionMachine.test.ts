import { describe, expect, it } from 'vitest';
import { lightFor, newSession, REFUSAL_NOTICES, step, type Action, type Ctx, type Session } from '../../../../gateway/kiosk/sessionMachine.js';
import type { PriceQuote } from '../../../../gateway/prices/catalog.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const items: Record<string, Partial<PriceQuote> & { name: string; base: number }> = {
  '4000000000017': { name: 'Milk', base: 129, expectedWeightG: 1030, weightToleranceG: 20 },
  '4000000000024': { name: 'Wine', base: 899, ageRestriction: 18, expectedWeightG: 1300, weightToleranceG: 30 },
  '4000000000031': { name: 'Apples', base: 299, unit: 'kg' },
  '4000000000048': { name: 'Bread', base: 250 },
};
const MEMBER_PRICE: Record<string, number> = { '4000000000017': 99 };

function ctx(overrides: Partial<Ctx['rules']> = {}): Ctx {
  let n = 0;
  return {
    now: T0,
    quote: (gtin, member) => {
      const i = items[gtin];
      if (!i) return null;
      const mp = member ? MEMBER_PRICE[gtin] : undefined;
      return { gtin, name: i.name, unit: i.unit ?? 'each', currency: 'EUR', base: i.base, price: mp ?? i.base, source: mp ? 'member' : 'base', promo: null, ...(i.expectedWeightG ? { expectedWeightG: i.expectedWeightG, weightToleranceG: i.weightToleranceG } : {}), ...(i.ageRestriction ? { ageRestriction: i.ageRestriction } : {}) } as PriceQuote;
    },
    rules: { removalNeedsAttendant: false, voidNeedsAttendant: false, bagToleranceG: 10, bagTolerancePct: 5, bagNoiseG: 5, ...overrides },
    newId: () => `id-${++n}`,
  };
}

function run(s: Session, actions: Action[], c = ctx()) {
  const effects = [];
  for (const a of actions) {
    const r = step(s, a, c);
    s = r.session;
    effects.push(...r.effects);
  }
  return { s, effects };
}

const fresh = (bag = false) => newSession('k1', 'sess-1', 'EUR', T0, bag);

describe('session machine', () => {
  it('starts idle and prices scans from the quote; repeated scans merge', () => {
    const { s } = run(fresh(), [{ type: 'addItem', gtin: '4000000000017' }, { type: 'addItem', gtin: '4000000000017' }, { type: 'addItem', gtin: '4000000000048' }]);
    expect(s.phase).toBe('shopping');
    expect(s.lines.map((l) => [l.name, l.qty, l.price])).toEqual([['Milk', 2, 258], ['Bread', 1, 250]]);
    expect(s.totals).toEqual({ subtotal: 508, discounts: 0, total: 508 });
    expect(s.version).toBe(3);
  });

  it('an unknown item leaves the cart unchanged, says so and calls for help', () => {
    const { s } = run(fresh(), [{ type: 'addItem', gtin: '4000000009999' }]);
    expect(s.lines).toHaveLength(0);
    expect(s.notice?.code).toBe('unknownItem');
    expect(s.helpCalled).toBe(true);
    expect(lightFor(s).mode).toBe('flash');
  });

  it('a member code re-prices the cart with member prices and shows the saving', () => {
    const { s } = run(fresh(), [{ type: 'addItem', gtin: '4000000000017' }, { type: 'member', code: 'M1', known: true }]);
    expect(s.lines[0].price).toBe(99);
    expect(s.totals).toEqual({ subtotal: 129, discounts: 30, total: 99 });
    const unknown = run(fresh(), [{ type: 'member', code: 'nope', known: false }]).s;
    expect(unknown.memberCode).toBeNull();
  });

  it('a refused member QR shows its notice and changes nothing else; a member already on the cart stays', () => {
    const refusal = { type: 'memberRefused' as const, notice: { code: 'memberQrReplayed', detail: 'replayed' } };
    const { s } = run(fresh(), [{ type: 'addItem', gtin: '4000000000017' }, { type: 'member', code: 'M1', known: true }, refusal]);
    expect(s.notice).toEqual({ code: 'memberQrReplayed', detail: 'replayed' });
    expect(s.memberCode).toBe('M1');
    expect(s.totals.total).toBe(99);
    const alone = run(fresh(), [refusal]).s;
    expect(alone.notice?.code).toBe('memberQrReplayed');
    expect(alone.memberCode).toBeNull();
  });

  it('weighed produce needs a stable weight and prices per kg, rounded half-up', () => {
    let { s } = run(fresh(), [{ type: 'pickProduce', gtin: '4000000000031' }]);
    expect(s.notice?.code).toBe('placeOnScale');
    ({ s } = run(s, [{ type: 'produceWeight', grams: 1234, stable: false }, { type: 'pickProduce', gtin: '4000000000031' }]));
    expect(s.lines).toHaveLength(0);
    ({ s } = run(s, [{ type: 'produceWeight', grams: 1234, stable: true }, { type: 'pickProduce', gtin: '4000000000031' }]));
    expect(s.lines[0]).toMatchObject({ grams: 1234, unitPrice: 299, price: 369 }); // 2.99 × 1.234 = 3.68966
  });

  it('pickProduce of a per-item GTIN is refused with a reason naming the field, whatever the scale shows', () => {
    const { s } = run(fresh(), [{ type: 'produceWeight', grams: 100, stable: true }, { type: 'pickProduce', gtin: '4000000000024' }]);
    expect(s.lines).toEqual([]);
    expect(s.totals.total).toBe(0);
    expect(s.notice).toEqual({ code: 'notSoldByWeight', detail: 'gtin: 4000000000024 is sold per item, not by weight' });
    expect(REFUSAL_NOTICES.has('notSoldByWeight')).toBe(true);
    // A weighed item is still priced from the same weight.
    expect(run(s, [{ type: 'pickProduce', gtin: '4000000000031' }]).s.lines[0]).toMatchObject({ gtin: '4000000000031', grams: 100, price: 30 });
  });

  it('an embedded price is taken from the code; an RFID serial counts once', () => {
    const { s } = run(fresh(), [
      { type: 'addItem', gtin: '4000000000048', embeddedPrice: 175 },
      { type: 'addItem', gtin: '4000000000017', serial: '6789' },
      { type: 'addItem', gtin: '4000000000017', serial: '6789' },
      { type: 'addItem', gtin: '4000000000017', serial: '6790' },
    ]);
    expect(s.lines.map((l) => [l.price, l.qty, l.serials])).toEqual([[175, 1, undefined], [258, 2, ['6789', '6790']]]);
  });

  it('an age-restricted item asks the attendant once and blocks payment until approved', () => {
    let { s, effects } = run(fresh(), [{ type: 'addItem', gtin: '4000000000024' }, { type: 'addItem', gtin: '4000000000024' }, { type: 'pay' }]);
    expect(s.requests.map((r) => r.kind)).toEqual(['age']);
    expect(s.phase).toBe('shopping');
    expect(lightFor(s).color).toBe('amber');
    expect(s.notice?.code).toBe('ageCheck');
    expect(effects).toEqual([]);
    ({ s, effects } = run(s, [{ type: 'attendant', requestId: s.requests[0].requestId, decision: 'approved', by: 'anna' }, { type: 'addItem', gtin: '4000000000024' }]));
    expect(s.requests).toEqual([]);
    expect(s.ageApproved).toBe(true);
    expect(effects[0]).toMatchObject({ type: 'recordAttendant', data: { kioskId: 'k1', decision: 'approved', by: 'anna', kind: 'age' } });
  });

  it('a rejected age check removes the restricted items', () => {
    let { s } = run(fresh(), [{ type: 'addItem', gtin: '4000000000017' }, { type: 'addItem', gtin: '4000000000024' }]);
    ({ s } = run(s, [{ type: 'attendant', requestId: s.requests[0].requestId, decision: 'rejected', by: 'anna' }]));
    expect(s.lines.map((l) => l.name)).toEqual(['Milk']);
  });

  it('bagging: expected weight accepted, an unexpected item blocks until removed, an override clears', () => {
    let { s } = run(fresh(true), [{ type: 'bagWeight', grams: 0, stable: true }, { type: 'addItem', gtin: '4000000000017' }]);
    ({ s } = run(s, [{ type: 'bagWeight', grams: 1040, stable: true }]));
    expect(s.bag.state).toBe('ok');
    ({ s } = run(s, [{ type: 'bagWeight', grams: 1600, stable: true }]));
    expect(s.phase).toBe('needsAttendant');
    expect(s.bag.state).toBe('unexpected');
    expect(lightFor(s).color).toBe('red');
    expect(s.requests.map((r) => r.kind)).toEqual(['security']);
    ({ s } = run(s, [{ type: 'addItem', gtin: '4000000000048' }, { type: 'pay' }]));
    expect(s.phase).toBe('needsAttendant');
    ({ s } = run(s, [{ type: 'bagWeight', grams: 1042, stable: true }]));
    expect(s.requests).toEqual([]);
    expect(s.phase).toBe('shopping');
    ({ s } = run(s, [{ type: 'bagWeight', grams: 700, stable: true }]));
    expect(s.bag.state).toBe('removed');
    ({ s } = run(s, [{ type: 'attendant', requestId: s.requests[0].requestId, decision: 'approved', by: 'anna' }]));
    expect(s.bag.state).toBe('ok');
    expect(s.phase).toBe('shopping');
  });

  it('removal needs the attendant when configured', () => {
    const c = ctx({ removalNeedsAttendant: true });
    let { s } = run(fresh(), [{ type: 'addItem', gtin: '4000000000017' }, { type: 'remove', lineId: 'L1' }], c);
    expect(s.lines).toHaveLength(1);
    expect(s.phase).toBe('needsAttendant');
    ({ s } = run(s, [{ type: 'attendant', requestId: s.requests[0].requestId, decision: 'approved', by: 'anna' }], c));
    expect(s.lines).toHaveLength(0);
  });

  it('pay → charge; approved → transaction record; recorded → done with receipt', () => {
    let { s, effects } = run(fresh(), [{ type: 'addItem', gtin: '4000000000017' }, { type: 'member', code: 'M1', known: true }, { type: 'pay' }]);
    expect(s.phase).toBe('paying');
    expect(effects).toEqual([{ type: 'charge', requestId: 'id-1', amount: 99, currency: 'EUR' }]);
    // Changes during payment are refused.
    expect(run(s, [{ type: 'addItem', gtin: '4000000000048' }]).s).toBe(s);
    ({ s, effects } = run(s, [{ type: 'paymentResult', requestId: 'id-1', status: 'approved', amount: 99, currency: 'EUR', authCode: 'A1' }]));
    expect(s.phase).toBe('paying');
    expect(effects[0]).toMatchObject({ type: 'recordTransaction', data: { transactionId: 'sess-1', total: 99, subtotal: 129, discounts: 30, memberCode: 'M1', payment: { requestId: 'id-1', authCode: 'A1', amount: 99 }, lines: [{ gtin: '4000000000017', qty: 1, unitPrice: 99, price: 99 }] } });
    ({ s } = run(s, [{ type: 'recorded', transactionId: 'sess-1' }]));
    expect(s.phase).toBe('done');
    expect(s.receipt).toEqual({ transactionId: 'sess-1', total: 99, authCode: 'A1', vat: [] }); // these test items carry no VAT rate
    // A duplicate result does nothing.
    expect(run(s, [{ type: 'paymentResult', requestId: 'id-1', status: 'approved', amount: 99, currency: 'EUR' }]).s).toBe(s);
  });

  it('declined returns to shopping; timeout cancels; unanswered → attendant; a late approval is never silent', () => {
    const c = ctx();
    let { s } = run(fresh(), [{ type: 'addItem', gtin: '4000000000017' }, { type: 'pay' }, { type: 'paymentResult', requestId: 'id-1', status: 'declined', amount: 129 }], c);
    expect(s.phase).toBe('shopping');
    expect(s.notice?.code).toBe('payment_declined');
    let effects;
    ({ s, effects } = run(s, [{ type: 'pay' }, { type: 'paymentTimeout', requestId: 'id-2' }], c));
    expect(effects.at(-1)).toEqual({ type: 'cancelCharge', requestId: 'id-2' });
    ({ s } = run(s, [{ type: 'paymentUnknown', requestId: 'id-2' }], c));
    expect(s.requests.map((r) => r.kind)).toEqual(['override']);
    ({ s } = run(s, [{ type: 'paymentResult', requestId: 'id-2', status: 'cancelled', amount: 129 }], c));
    expect(s.phase).toBe('shopping');
    expect(s.requests).toEqual([]);
    let late;
    ({ s, effects: late } = run(s, [{ type: 'paymentResult', requestId: 'old-request', status: 'approved', amount: 500, currency: 'EUR' }], c));
    expect(s.requests.map((r) => r.kind)).toEqual(['override']);
    // Issue 14: money taken for no sale goes back.
    expect(late).toEqual([{ type: 'reverseCharge', requestId: 'old-request', amount: 500, currency: 'EUR', reason: 'noSale' }]);
  });

  it('cancel ends the session; reset starts a new idle one', () => {
    let { s } = run(fresh(), [{ type: 'addItem', gtin: '4000000000017' }, { type: 'cancel' }]);
    expect(s.phase).toBe('cancelled');
    ({ s } = run(s, [{ type: 'reset' }]));
    expect(s.phase).toBe('idle');
    expect(s.lines).toEqual([]);
    expect(s.sessionId).not.toBe('sess-1');
  });

  it('with voidNeedsAttendant, cancelling a cart with items asks an attendant (once); approve ends it, reject goes on', () => {
    const c = ctx({ voidNeedsAttendant: true });
    let { s } = run(fresh(), [{ type: 'addItem', gtin: '4000000000017' }, { type: 'cancel' }, { type: 'cancel' }], c);
    expect(s.phase).toBe('needsAttendant');
    expect(s.requests.map((r) => [r.kind, r.item])).toEqual([['void', '1 item(s), €1.29']]);
    const rejected = run(s, [{ type: 'attendant', requestId: s.requests[0].requestId, decision: 'rejected', by: 'anna' }], c);
    expect(rejected.s.phase).toBe('shopping');
    expect(rejected.s.lines).toHaveLength(1);
    let effects;
    ({ s, effects } = run(s, [{ type: 'attendant', requestId: s.requests[0].requestId, decision: 'approved', by: 'anna' }], c));
    expect(s.phase).toBe('cancelled');
    expect(effects).toEqual([{ type: 'recordAttendant', data: expect.objectContaining({ kind: 'void', decision: 'approved', by: 'anna' }) }]);
    // An empty cart cancels at once, rule or not.
    expect(run(fresh(), [{ type: 'cancel' }], c).s.requests).toEqual([]);
  });

  it('an attendant void ends an open cart with an exact record; not an empty idle kiosk', () => {
    let { s, effects } = run(fresh(), [{ type: 'addItem', gtin: '4000000000024' }, { type: 'attendantVoid', by: 'anna' }]);
    expect(s.phase).toBe('cancelled');
    expect(s.requests).toEqual([]); // the open age check went with the cart
    expect(effects).toEqual([{ type: 'recordAttendant', data: { ts: '2026-03-02T10:00:00.000Z', requestId: 'id-2', kioskId: 'k1', kind: 'void', decision: 'approved', by: 'anna', at: '2026-03-02T10:00:00.000Z' } }]);
    const idle = fresh();
    expect(run(idle, [{ type: 'attendantVoid', by: 'anna' }]).s).toBe(idle);
  });

  describe('payment matched', () => {
    const paying = (c = ctx()) => run(fresh(), [{ type: 'addItem', gtin: '4000000000017' }, { type: 'addItem', gtin: '4000000000048' }, { type: 'pay' }], c);

    it('approved for exactly the charge, in the store currency: the sale is recorded', () => {
      const { s } = paying();
      const r = run(s, [{ type: 'paymentResult', requestId: 'id-1', status: 'approved', amount: 379, currency: 'EUR', authCode: 'A7' }]);
      expect(r.s.payment).toMatchObject({ status: 'approved', amount: 379 });
      expect(r.effects.map((e) => e.type)).toEqual(['recordTransaction']);
    });

    it.each<[string, { amount: number; currency?: string }]>([
      ['less than the charge (a partial approval)', { amount: 200, currency: 'EUR' }],
      ['more than the charge', { amount: 400, currency: 'EUR' }],
      ['another currency', { amount: 379, currency: 'USD' }],
      ['no currency', { amount: 379 }],
    ])('approved for %s counts as declined: reversed, an attendant asked, the shopper told, no sale', (_what, got) => {
      const c = ctx();
      const { s } = paying(c);
      const r = run(s, [{ type: 'paymentResult', requestId: 'id-1', status: 'approved', authCode: 'A8', ...got }], c);
      expect(r.s.phase).toBe('shopping');
      expect(r.s.payment).toBeNull();
      expect(r.s.notice).toEqual({ code: 'payment_mismatch' });
      expect(r.s.lines).toHaveLength(2); // the cart stays for another try once the attendant cleared it
      expect(r.s.requests).toEqual([expect.objectContaining({ kind: 'override', paymentRequestId: 'id-1', item: expect.stringMatching(/payment mismatch: approved .* for a charge of 379 EUR; reversed/) })]);
      expect(r.effects).toEqual([{ type: 'reverseCharge', requestId: 'id-1', amount: got.amount, currency: got.currency ?? 'EUR', reason: 'mismatch' }]);
      // Paying again waits for the attendant; the same result repeated changes nothing more.
      expect(run(r.s, [{ type: 'pay' }], c).s.notice).toEqual({ code: 'needsAttendant' });
      const again = run(r.s, [{ type: 'paymentResult', requestId: 'id-1', status: 'approved', ...got }], c);
      expect(again.effects).toEqual([]);
      expect(again.s.requests).toHaveLength(1);
    });

    it('a mismatched approval in answer to a cancel is reversed as well', () => {
      const c = ctx();
      const { s } = run(paying(c).s, [{ type: 'paymentTimeout', requestId: 'id-1' }], c);
      expect(s.payment?.status).toBe('cancelling');
      const r = run(s, [{ type: 'paymentResult', requestId: 'id-1', status: 'approved', amount: 100, currency: 'EUR' }], c);
      expect(r.effects).toEqual([expect.objectContaining({ type: 'reverseCharge', reason: 'mismatch' })]);
      expect(r.s.phase).toBe('shopping');
    });
  });

  describe('an attendant resolves a kiosk stuck in paying', () => {
    it('charge sent: the void cancels it and ends the transaction with an exact record', () => {
      const { s } = run(fresh(), [{ type: 'addItem', gtin: '4000000000017' }, { type: 'pay' }]);
      const r = run(s, [{ type: 'attendantVoid', by: 'anna' }]);
      expect(r.s.phase).toBe('cancelled');
      expect(r.s.payment).toBeNull();
      expect(r.effects).toEqual([{ type: 'cancelCharge', requestId: 'id-1' }, { type: 'recordAttendant', data: expect.objectContaining({ kind: 'void', by: 'anna' }) }]);
      // The terminal approves anyway: the money goes back.
      const late = run(r.s, [{ type: 'paymentResult', requestId: 'id-1', status: 'approved', amount: 129, currency: 'EUR' }]);
      expect(late.effects).toEqual([expect.objectContaining({ type: 'reverseCharge', requestId: 'id-1', reason: 'noSale' })]);
    });

    it('cancel already asked: the void does not ask again', () => {
      const { s } = run(fresh(), [{ type: 'addItem', gtin: '4000000000017' }, { type: 'pay' }, { type: 'paymentTimeout', requestId: 'id-1' }]);
      const r = run(s, [{ type: 'attendantVoid', by: 'anna' }]);
      expect(r.s.phase).toBe('cancelled');
      expect(r.effects.map((e) => e.type)).toEqual(['recordAttendant']);
    });

    it('approved (the sale is being written): no void', () => {
      const { s } = run(fresh(), [{ type: 'addItem', gtin: '4000000000017' }, { type: 'pay' }, { type: 'paymentResult', requestId: 'id-1', status: 'approved', amount: 129, currency: 'EUR' }]);
      expect(run(s, [{ type: 'attendantVoid', by: 'anna' }]).s).toBe(s);
    });
  });
});
