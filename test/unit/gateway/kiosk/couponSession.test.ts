/**
 * Coupons in a kiosk session and in kiosk.db: the machine puts a verified coupon on the cart,
 * prices it again on every change (member identified later, items removed), names refusals, and
 * the sale's record carries its coupons and each line's part; the store reserves a serial for one
 * cart only, marks it used in the sale's commit, releases only reservations, and the book lets go
 * at start of what no live cart holds (a crash between the cart and the release). Real SQLite.
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newSession, step, transactionOf, type Action, type Ctx, type Session } from '../../../../gateway/kiosk/sessionMachine.js';
import type { PriceQuote } from '../../../../gateway/prices/catalog.js';
import type { CouponDefT } from '../../../../gateway/protocol/schemas/feeds/coupons.js';
import type { CartCoupon } from '../../../../gateway/kiosk/coupons/couponPricing.js';
import { CouponStore } from '../../../../gateway/kiosk/coupons/couponStore.js';
import { CouponBook } from '../../../../gateway/kiosk/coupons/couponBook.js';
import { KioskStore } from '../../../../gateway/kiosk/store.js';
import { createLogger } from '../../../../gateway/log.js';
import { tempDir } from '../../../helpers/tmp.js';

const T0 = Date.parse('2026-12-05T10:00:00Z');
const ITEMS: Record<string, { name: string; base: number; vatRateBp: number }> = {
  '4000000000017': { name: 'Milk', base: 129, vatRateBp: 700 },
  '4000000000024': { name: 'Wine', base: 899, vatRateBp: 1900 },
};
const ctx: Ctx = {
  now: T0,
  quote: (gtin) => {
    const i = ITEMS[gtin];
    return i ? ({ gtin, name: i.name, unit: 'each', currency: 'EUR', base: i.base, price: i.base, source: 'base', promo: null, vatRateBp: i.vatRateBp } as PriceQuote) : null;
  },
  rules: { removalNeedsAttendant: false, voidNeedsAttendant: false, bagToleranceG: 10, bagTolerancePct: 5, bagNoiseG: 5 },
  newId: () => 'id',
  memberTier: (m) => (m === 'M-1' ? 'gold' : null),
};
const def = (over: Partial<CouponDefT> & { id: string }): CouponDefT => ({ label: { en: over.id }, target: { kind: 'basket' }, stacking: 'combinable', use: 'single', amountOff: 100, ...over });
const coupon = (d: CouponDefT, serial = 'S1'): CartCoupon => ({ couponId: d.id, serial, useKey: d.use === 'single' ? `${d.id}/${serial}` : null, def: d, via: 'signed' });
function run(s: Session, actions: Action[]): Session {
  for (const a of actions) s = step(s, a, ctx).session;
  return s;
}

describe('coupons in the session machine', () => {
  it('a member-only coupon waits on the cart and applies once the member is known; the sale record carries it', () => {
    let s = run(newSession('k1', 'sess-1', 'EUR', T0, false), [
      { type: 'addItem', gtin: '4000000000017' },
      { type: 'addItem', gtin: '4000000000024' },
      { type: 'couponAdd', coupon: coupon(def({ id: 'GOLD', memberOnly: true, tiers: ['gold'] })) },
    ]);
    expect(s.notice).toEqual({ code: 'couponNotApplied_memberOnly', detail: 'GOLD' });
    expect(s.totals.total).toBe(1028);
    s = run(s, [{ type: 'member', code: 'M-1', known: true }]);
    expect(s.coupons![0]).toMatchObject({ applied: true, amount: 100 });
    expect(s.totals).toEqual({ subtotal: 1028, discounts: 100, total: 928 });
    const rec = transactionOf({ ...s, payment: { requestId: 'r1', amount: 928, status: 'approved', authCode: 'A' } }, new Date(T0).toISOString());
    expect(rec.coupons).toEqual([{ couponId: 'GOLD', serial: 'S1', amount: 100, via: 'signed', single: true }]);
    // 100 split 129 : 899 → 12.5 → 13 (largest remainder), 87.
    expect(rec.lines.map((l) => [l.price, (l as { couponOff?: number }).couponOff])).toEqual([[116, 13], [812, 87]]);
    expect(rec.total).toBe(rec.lines.reduce((a, l) => a + l.price, 0));
  });

  it('removing the items a coupon needs leaves it not applied; removing the coupon prices without it; nothing while paying', () => {
    let s = run(newSession('k1', 'sess-1', 'EUR', T0, false), [
      { type: 'addItem', gtin: '4000000000017' },
      { type: 'couponAdd', coupon: coupon(def({ id: 'WINE', target: { kind: 'items', gtins: ['4000000000024'] } })) },
    ]);
    expect(s.coupons![0]).toMatchObject({ applied: false, reason: 'noItems' });
    s = run(s, [{ type: 'addItem', gtin: '4000000000024' }]);
    expect(s.coupons![0]).toMatchObject({ applied: true, amount: 100 });
    expect(run(s, [{ type: 'couponAdd', coupon: coupon(def({ id: 'WINE', target: { kind: 'items', gtins: ['4000000000024'] } })) }]).notice?.code).toBe('coupon_alreadyOnCart');
    const paying = run(s, [{ type: 'pay' }]);
    expect(paying.phase).toBe('paying');
    expect(step(paying, { type: 'couponRemove', couponId: 'WINE', serial: 'S1' }, ctx).session).toBe(paying);
    s = run(s, [{ type: 'couponRemove', couponId: 'WINE', serial: 'S1' }]);
    expect(s.coupons).toEqual([]);
    expect(s.totals.total).toBe(1028);
    expect(run(s, [{ type: 'couponRefused', reason: 'expired', detail: 'expires: …' }]).notice).toEqual({ code: 'coupon_expired', detail: 'expires: …' });
  });
});

describe('single-use serials in kiosk.db', () => {
  let tmp: ReturnType<typeof tempDir> | null = null;
  afterEach(() => tmp?.remove());

  it('reserved for one cart, used in the sale commit, released only while reserved; a restart lets go of what no cart holds', async () => {
    tmp = tempDir('sgw-coupon-store-');
    const file = path.join(tmp.dir, 'kiosk.db');
    let kiosk = new KioskStore(file);
    await kiosk.start();
    let store = new CouponStore(() => kiosk.connection);
    const u = (serial: string, sessionId: string) => ({ useKey: `TEN/${serial}`, couponId: 'TEN', serial, kioskId: 'k1', sessionId });
    expect(await store.reserve(u('A', 'sess-1'), T0)).toBe('reserved');
    expect(await store.reserve(u('A', 'sess-1'), T0)).toBe('sameCart');
    expect(await store.reserve(u('A', 'sess-2'), T0)).toBe('elsewhere');
    expect(await store.reserve(u('B', 'sess-1'), T0)).toBe('reserved');
    const book = new CouponBook({ store, keys: new Map(), now: () => T0, log: createLogger({ level: 'silent' }), memberTier: () => null });
    const sale = { ts: new Date(T0).toISOString(), transactionId: 'sess-1', kioskId: 'k1', lines: [], subtotal: 0, discounts: 0, total: 0, currency: 'EUR', payment: { requestId: 'r1', authCode: 'A', amount: 0 }, attendant: [], coupons: [{ couponId: 'TEN', serial: 'A', amount: 50, via: 'signed' as const, single: true }] };
    await kiosk.commitSale({ requestId: 'r1', transactionId: 'sess-1', kioskId: 'k1', record: sale, authCode: 'A' }, T0, book.saleSteps(sale));
    expect(await store.use('TEN/A')).toMatchObject({ status: 'used', transactionId: 'sess-1' });
    expect(await store.release(['TEN/A', 'TEN/B'], 'sess-1')).toBe(1); // B only: a used serial stays used
    expect(await store.reserve(u('A', 'sess-3'), T0)).toBe('used');
    expect(await store.reserve(u('C', 'sess-3'), T0)).toBe('reserved');
    await kiosk.stop();
    // Reopened: sess-3's cart was saved without C (a crash before the release): C is let go.
    kiosk = new KioskStore(file);
    await kiosk.start();
    store = new CouponStore(() => kiosk.connection);
    const book2 = new CouponBook({ store, keys: new Map(), now: () => T0, log: createLogger({ level: 'silent' }), memberTier: () => null });
    await book2.recover([{ ...newSession('k1', 'sess-3', 'EUR', T0, false), phase: 'shopping' }]);
    expect(await store.use('TEN/C')).toBeNull();
    expect(await store.use('TEN/A')).toMatchObject({ status: 'used' });
    await kiosk.stop();
  });
});
