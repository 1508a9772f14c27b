/**
 * Coupons that target a category: the catalog feed's items may carry a `category`, a line priced
 * from such an item carries it, and a coupon with target `{ kind: 'category' }` takes its discount
 * only from the lines of those categories (split by the largest remainder, like an item coupon).
 */
import { describe, expect, it } from 'vitest';
import { applyCoupons, type CartCoupon, type PricedLine } from '../../../../gateway/kiosk/coupons/couponPricing.js';
import { CouponDef, type CouponDefT } from '../../../../gateway/protocol/schemas/feeds/coupons.js';
import { priceLine, type Line } from '../../../../gateway/kiosk/cartPricing.js';
import { CatalogItem } from '../../../../gateway/protocol/schemas/feeds/priceFeeds.js';
import { compile } from '../../../../gateway/protocol/validate.js';

const NOW = Date.parse('2026-12-05T10:00:00.000Z');
const dairy10: CouponDefT = { id: 'DAIRY10', label: { en: 'Dairy 10 % off' }, target: { kind: 'category', categories: ['dairy'] }, percentOffBp: 1000, stacking: 'combinable', use: 'multi', code: 'DAIRY10' };
const cc = (d: CouponDefT): CartCoupon => ({ couponId: d.id, serial: '', useKey: null, def: d, via: 'plain' });
const L = (lineId: string, price: number, category?: string): PricedLine => ({ lineId, gtin: '4006381333931', price, ...(category !== undefined ? { category } : {}) });

describe('category targets', () => {
  it('the catalog item and the coupon definition take a category; a malformed one is refused', () => {
    const item = compile(CatalogItem);
    expect(item({ gtin: '4006381333931', name: 'Milk', unit: 'each', category: 'dairy' })).toBe(true);
    expect(item({ gtin: '4006381333931', name: 'Milk', unit: 'each', category: 'dairy products!' })).toBe(false);
    const def = compile(CouponDef);
    expect(def(dairy10)).toBe(true);
    expect(def({ ...dairy10, target: { kind: 'category', categories: [] } })).toBe(false);
    expect(def({ ...dairy10, target: { kind: 'category' } })).toBe(false);
  });

  it('a line priced from an item with a category carries it', () => {
    const line = { lineId: 'L1', gtin: '4006381333931', name: 'Milk', unit: 'each', qty: 2, unitPrice: 0, basePrice: 0, price: 0, source: 'base', ageRestricted: false, expectedG: null, toleranceG: 0 } as Line;
    const q = { gtin: '4006381333931', name: 'Milk', unit: 'each' as const, currency: 'EUR', base: 129, price: 129, source: 'base' as const, promo: null, category: 'dairy' };
    expect(priceLine(line, () => q, null)).toMatchObject({ category: 'dairy', price: 258 });
  });

  it('takes 10 % of the dairy lines only, split over them exactly; without dairy it is not applied (noItems)', () => {
    const r = applyCoupons([L('L1', 258, 'dairy'), L('L2', 1500, 'clothing'), L('L3', 1490, 'dairy'), L('L4', 250)], [cc(dairy10)], NOW, null);
    // 10 % of 2.58 + 14.90 = 1.748 → 1.75 (half-up); 175·258/1748 = 25.83 → 26, 175·1490/1748 = 149.17 → 149.
    expect(r.outcomes[0]).toMatchObject({ applied: true, amount: 175 });
    expect(r.lines.map((l) => l.couponOff ?? 0)).toEqual([26, 0, 149, 0]);
    expect(r.lines.map((l) => l.price)).toEqual([232, 1500, 1341, 250]);
    expect(applyCoupons([L('L2', 1500, 'clothing'), L('L4', 250)], [cc(dairy10)], NOW, null).outcomes[0]).toMatchObject({ applied: false, reason: 'noItems' });
  });
});
