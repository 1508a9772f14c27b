import { describe, expect, it } from 'vitest';
import { newSession, REFUSAL_NOTICES, step, type Action, type Ctx, type Session } from '../../../../gateway/kiosk/sessionMachine.js';
import { reservedBy, type PointsCtx } from '../../../../gateway/kiosk/pointsPricing.js';
import type { LoyaltyRules } from '../../../../gateway/kiosk/pointsRules.js';
import type { PriceQuote } from '../../../../gateway/prices/catalog.js';

const T0 = Date.parse('2026-12-05T10:00:00Z');
const WINE = '4000000000024';
const BREAD = '4000000000048';
const PRICES: Record<string, number> = { [WINE]: 1000, [BREAD]: 250 };
const RULES: LoyaltyRules = {
  program: 'club',
  earn: { pointsPerUnit: 1, perMinor: 100, tierMultipliers: { gold: 20_000 } },
  spend: { valuePoints: 1, valueMinor: 1, minPoints: 100, maxShareBp: 5000 },
};

function ctx(balance: number, rules: LoyaltyRules | null = RULES): Ctx {
  let n = 0;
  const points: PointsCtx = { rules, available: () => balance, tier: (m) => (m === 'GOLD1' ? 'gold' : null) };
  return {
    now: T0,
    quote: (gtin) => (PRICES[gtin] === undefined ? null : ({ gtin, name: gtin, unit: 'each', currency: 'EUR', base: PRICES[gtin], price: PRICES[gtin], source: 'base', promo: null } as PriceQuote)),
    rules: { removalNeedsAttendant: false, voidNeedsAttendant: false, bagToleranceG: 10, bagTolerancePct: 5, bagNoiseG: 5 },
    newId: () => `id-${++n}`,
    points,
  };
}

function run(actions: Action[], c: Ctx, s: Session = newSession('k1', 'sess-1', 'EUR', T0, false)) {
  const effects = [];
  for (const a of actions) {
    const r = step(s, a, c);
    s = r.session;
    effects.push(...r.effects);
  }
  return { s, effects };
}

const member = (code = 'M1'): Action => ({ type: 'member', code, known: true });

describe('points on the cart', () => {
  it('a member on the cart sees what the sale earns and what they may spend; no member, no points', () => {
    expect(run([{ type: 'addItem', gtin: WINE }], ctx(700)).s.points).toBeUndefined();
    const { s } = run([{ type: 'addItem', gtin: WINE }, member('GOLD1')], ctx(700));
    expect(s.points).toEqual({ memberId: 'GOLD1', program: 'club', earned: 20, spent: 0, discount: 0, as: 'discount', available: 700, spendable: 500 });
  });

  it('spending takes the points off the total as a discount; the rest earns', () => {
    const { s } = run([{ type: 'addItem', gtin: WINE }, member(), { type: 'spendPoints', points: 300 }], ctx(700));
    expect(s.notice).toEqual({ code: 'pointsApplied', detail: '300' });
    expect(s.totals).toEqual({ subtotal: 1000, discounts: 300, total: 700 });
    expect(s.points).toMatchObject({ spent: 300, discount: 300, earned: 7 });
  });

  it('refuses by name: no member, over the balance, over the basket share, below the minimum; the cart is unchanged', () => {
    expect(run([{ type: 'addItem', gtin: WINE }, { type: 'spendPoints', points: 300 }], ctx(700)).s.notice?.code).toBe('pointsNoMember');
    for (const [pts, code, max] of [[800, 'pointsOverBalance', '700'], [600, 'pointsOverBasket', '500'], [50, 'pointsBelowMinimum', '100']] as const) {
      const { s } = run([{ type: 'addItem', gtin: WINE }, member(), { type: 'spendPoints', points: pts }], ctx(700));
      expect(s.notice).toEqual({ code, detail: max });
      expect(s.totals.total).toBe(1000);
      expect(s.points?.spent).toBe(0);
    }
    expect(run([{ type: 'addItem', gtin: WINE }, member(), { type: 'spendPoints', points: 300 }], ctx(700, null)).s.notice?.code).toBe('pointsNotOffered');
    // Refusals of what the page asked: the shell counts and logs each.
    for (const code of ['pointsNoMember', 'pointsNotOffered', 'pointsBelowMinimum', 'pointsOverBalance', 'pointsOverBasket']) expect(REFUSAL_NOTICES.has(code)).toBe(true);
  });

  it('a spend the cart no longer allows is dropped with a notice when an item goes', () => {
    const { s } = run([{ type: 'addItem', gtin: WINE }, { type: 'addItem', gtin: BREAD }, member(), { type: 'spendPoints', points: 500 }, { type: 'remove', lineId: 'L1' }], ctx(700));
    expect(s.notice?.code).toBe('pointsDropped');
    expect(s.totals.total).toBe(250);
    expect(s.points?.spent).toBe(0);
  });

  it('pay checks the points again: a balance spent elsewhere meanwhile stops the charge', () => {
    const { s } = run([{ type: 'addItem', gtin: WINE }, member(), { type: 'spendPoints', points: 300 }], ctx(700));
    const later = step(s, { type: 'pay' }, ctx(100));
    expect(later.effects).toEqual([]);
    expect(later.session.notice?.code).toBe('pointsDropped');
    expect(later.session.phase).toBe('shopping');
  });

  it('the charge is the total after points, and the sale record carries the points', () => {
    const c = ctx(700);
    const { s, effects } = run([{ type: 'addItem', gtin: WINE }, member(), { type: 'spendPoints', points: 300 }, { type: 'pay' }], c);
    expect(effects[0]).toMatchObject({ type: 'charge', amount: 700 });
    const paid = step(s, { type: 'paymentResult', requestId: s.payment!.requestId, status: 'approved', amount: 700, currency: 'EUR', authCode: 'A1' }, c);
    const rec = paid.effects.find((e) => e.type === 'recordTransaction');
    expect(rec && rec.type === 'recordTransaction' && rec.data.points).toEqual({ memberId: 'M1', program: 'club', earned: 7, spent: 300, discount: 300, as: 'discount' });
    expect(rec && rec.type === 'recordTransaction' && rec.data.total).toBe(700);
    // As a discount (the feed's default) the points lower the line's VAT base: one line takes all 3.00.
    const data = rec && rec.type === 'recordTransaction' ? rec.data : null;
    expect(data?.lines.map((l) => l.pointsOff)).toEqual([300]);
  });

  it('an open cart holds its points; a voided or finished one gives them back', () => {
    const { s } = run([{ type: 'addItem', gtin: WINE }, member(), { type: 'spendPoints', points: 300 }], ctx(700));
    expect(reservedBy(s)).toEqual({ memberId: 'M1', points: 300 });
    const voided = run([{ type: 'attendantVoid', by: 'ann' }], ctx(700), s).s;
    expect(voided.phase).toBe('cancelled');
    expect(reservedBy(voided)).toBeNull();
    const released = run([{ type: 'spendPoints', points: 0 }], ctx(700), s).s;
    expect(released.notice?.code).toBe('pointsReleased');
    expect(reservedBy(released)).toBeNull();
    expect(released.totals.total).toBe(1000);
  });
});
