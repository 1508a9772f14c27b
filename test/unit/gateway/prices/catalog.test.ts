import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { buildCatalog, contentHashOf, labelContentAt, nextChangeAfter, priceAt, type ScopedRows } from '../../../../gateway/prices/catalog.js';

const G = '2000000000017';
const T0 = Date.parse('2026-11-25T09:00:00.000Z');
const iso = (t: number) => new Date(t).toISOString();

function rows(over: Partial<ScopedRows> = {}): ScopedRows {
  return {
    items: [{ scope: 'all', item: { gtin: G, name: 'Milk', unit: 'each', expectedWeightG: 1030, weightToleranceG: 20, ageRestriction: 0 } }],
    prices: [{ scope: 'all', row: { gtin: G, price: 129, currency: 'EUR', memberPrices: { gold: 110 } } }],
    promotions: [
      { scope: 'all', promo: { id: 'p1', gtin: G, price: 99, start: iso(T0), end: iso(T0 + 3600_000), text: '-23%' } },
      { scope: 'all', promo: { id: 'p2', gtin: G, price: 89, start: iso(T0), end: iso(T0 + 3600_000), tier: 'gold' } },
    ],
    members: [{ scope: 'all', code: 'M1', tier: 'gold' }, { scope: 'all', code: 'M2', tier: 'silver' }],
    bindings: [{ scope: 'store', labelId: 'L1', gtin: G, ap: 'ap-1' }],
    ...over,
  };
}

describe('priceAt', () => {
  const cat = buildCatalog(rows());
  it('base before a promotion, promo on [start, end), base again at end', () => {
    expect(priceAt(cat, G, T0 - 1)).toMatchObject({ price: 129, source: 'base', promo: null });
    expect(priceAt(cat, G, T0)).toMatchObject({ price: 99, source: 'promo', promo: { id: 'p1', price: 99, until: iso(T0 + 3600_000), text: '-23%' } });
    expect(priceAt(cat, G, T0 + 3600_000)).toMatchObject({ price: 129, source: 'base', promo: null });
  });
  it('member prices by tier: the lowest of base, promo, tier price and tier promo', () => {
    expect(priceAt(cat, G, T0 - 1, 'M1')).toMatchObject({ price: 110, source: 'member' });
    expect(priceAt(cat, G, T0, 'M1')).toMatchObject({ price: 89, source: 'member' });
    expect(priceAt(cat, G, T0, 'M2')).toMatchObject({ price: 99, source: 'promo' });
    expect(priceAt(cat, G, T0, 'unknown')).toMatchObject({ price: 99, source: 'promo' });
  });
  it('carries name, unit, expected weight, tolerance and age restriction; null for an unknown GTIN', () => {
    expect(priceAt(cat, G, T0)).toMatchObject({ name: 'Milk', unit: 'each', currency: 'EUR', base: 129, expectedWeightG: 1030, weightToleranceG: 20, ageRestriction: 0 });
    expect(priceAt(cat, '2000000000024', T0)).toBeNull();
  });
  it("a member the feed does not list is priced at the member QR credential's tier; the feed's tier wins over it", () => {
    expect(priceAt(cat, G, T0 - 1, 'M9', 'gold')).toMatchObject({ price: 110, source: 'member' });
    expect(priceAt(cat, G, T0 - 1, 'M9')).toMatchObject({ price: 129, source: 'base' });
    expect(priceAt(cat, G, T0 - 1, 'M2', 'gold')).toMatchObject({ price: 129, source: 'base' }); // M2 is silver in the feed
  });
  it('keeps a member status and revoked credentials only for members that have them', () => {
    const c = buildCatalog(rows({ members: [{ scope: 'all', code: 'M1', tier: 'gold', revoked: ['00000000000000aa'] }, { scope: 'store', code: 'M2', tier: 'silver', status: 'suspended' }, { scope: 'all', code: 'M3', tier: 'gold' }] }));
    expect([...c.memberStates]).toEqual([['M1', { revoked: ['00000000000000aa'] }], ['M2', { status: 'suspended' }]]);
  });
  it('a store row overrides the all-stores row', () => {
    const c = buildCatalog(rows({ prices: [...rows().prices, { scope: 'store', row: { gtin: G, price: 139, currency: 'EUR' } }] }));
    expect(priceAt(c, G, T0 - 1)?.price).toBe(139);
  });
});

describe('labelContentAt / nextChangeAfter', () => {
  const cat = buildCatalog(rows());
  it('the content changes with the promo, and its hash with it', () => {
    const before = labelContentAt(cat, 'L1', T0 - 1)!;
    const during = labelContentAt(cat, 'L1', T0)!;
    expect(before).toMatchObject({ labelId: 'L1', price: 129, unit: 'each' });
    expect(before.promo).toBeUndefined();
    expect(during.promo).toEqual({ price: 99, until: iso(T0 + 3600_000), text: '-23%' });
    expect(during.contentHash).not.toBe(before.contentHash);
    expect(labelContentAt(cat, 'L1', T0 + 10)!.contentHash).toBe(during.contentHash);
    expect(labelContentAt(cat, 'nope', T0)).toBeNull();
  });
  it('next effective time: the start, then the end, then none', () => {
    expect(nextChangeAfter(cat, T0 - 5)).toBe(T0);
    expect(nextChangeAfter(cat, T0)).toBe(T0 + 3600_000);
    expect(nextChangeAfter(cat, T0 + 3600_000)).toBeNull();
  });
  it('the hash is a function of what the label shows (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 1e6 }), fc.string({ maxLength: 20 }), (a, b, name) => {
        const base = { labelId: 'L', gtin: G, name, price: a, currency: 'EUR', unit: 'each' as const };
        const h = contentHashOf(base);
        expect(h).toMatch(/^[0-9a-f]{16}$/);
        expect(contentHashOf({ ...base }) === h).toBe(true);
        expect(contentHashOf({ ...base, price: b }) === h).toBe(a === b);
      }),
    );
  });
});
