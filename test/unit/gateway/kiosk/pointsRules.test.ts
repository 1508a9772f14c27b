import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { checkSpend, earnedPoints, lineMultiplierBp, maxPointsFor, offlineBalance, pointsValue, type EarnRulesT, type SpendRulesT } from '../../../../gateway/kiosk/pointsRules.js';

const MILK = '4000000000017';
const TOBACCO = '4000000000099';
const WINE = '4000000000024';
const BREAD = '4000000000048';

/** One point per euro, ×2 on milk, ×1.5 on the "bakery" category, tobacco earns nothing, gold ×1.25, at most 500 per sale. */
const EARN: EarnRulesT = {
  pointsPerUnit: 1,
  perMinor: 100,
  gtinMultipliers: { [MILK]: 20_000 },
  categories: [{ id: 'bakery', multiplierBp: 15_000, gtins: [BREAD, MILK] }],
  tierMultipliers: { gold: 12_500 },
  excluded: [TOBACCO],
  capPerTransaction: 500,
};
/** A point is worth a cent; at least 100 points; at most half the basket. */
const SPEND: SpendRulesT = { valuePoints: 1, valueMinor: 1, minPoints: 100, maxShareBp: 5000 };

describe('points: earning', () => {
  it('one point per full euro, rounded down once for the whole sale (not per line)', () => {
    expect(earnedPoints(EARN, [{ gtin: WINE, price: 899 }], null)).toBe(8);
    // Two lines of 0.99 € earn one point together, where per-line rounding would give none.
    expect(earnedPoints(EARN, [{ gtin: WINE, price: 99 }, { gtin: WINE, price: 99 }], null)).toBe(1);
  });

  it('an item multiplier wins over its category; a category applies to its items; excluded items earn nothing', () => {
    expect(lineMultiplierBp(EARN, MILK)).toBe(20_000);
    expect(lineMultiplierBp(EARN, BREAD)).toBe(15_000);
    expect(lineMultiplierBp(EARN, TOBACCO)).toBe(0);
    expect(lineMultiplierBp(EARN, WINE)).toBe(10_000);
    expect(earnedPoints(EARN, [{ gtin: MILK, price: 1000 }, { gtin: BREAD, price: 1000 }, { gtin: TOBACCO, price: 5000 }], null)).toBe(20 + 15);
  });

  it('the tier multiplies the sale; an unknown tier earns ×1', () => {
    expect(earnedPoints(EARN, [{ gtin: WINE, price: 1000 }], 'gold')).toBe(12);
    expect(earnedPoints(EARN, [{ gtin: WINE, price: 1000 }], 'tin')).toBe(10);
  });

  it('the cap per transaction holds', () => {
    expect(earnedPoints(EARN, [{ gtin: MILK, price: 1_000_000 }], 'gold')).toBe(500);
  });

  it('the part paid with points earns nothing', () => {
    expect(earnedPoints(EARN, [{ gtin: WINE, price: 1000 }], null, 500)).toBe(5);
    expect(earnedPoints(EARN, [{ gtin: WINE, price: 1000 }], null, 5000)).toBe(0);
  });

  it('no rules, or zero points per unit, earn nothing', () => {
    expect(earnedPoints(null, [{ gtin: WINE, price: 1000 }], null)).toBe(0);
    expect(earnedPoints({ ...EARN, pointsPerUnit: 0 }, [{ gtin: WINE, price: 1000 }], null)).toBe(0);
  });

  it('huge prices and multipliers stay exact (no float rounding past 2^53)', () => {
    const r: EarnRulesT = { pointsPerUnit: 10_000, perMinor: 1, tierMultipliers: { x: 100_000 }, gtinMultipliers: { [MILK]: 100_000 } };
    expect(earnedPoints(r, [{ gtin: MILK, price: 1_000_000_000 }], 'x')).toBe(1_000_000_000 * 10 * 10 * 10_000);
  });

  it('property (seeded): earned points are a non-negative integer, never over the cap', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ gtin: fc.constantFrom(MILK, TOBACCO, WINE, BREAD), price: fc.integer({ min: -10, max: 1_000_000_000 }) }), { maxLength: 30 }),
        fc.option(fc.constantFrom('gold', 'silver'), { nil: null }),
        fc.integer({ min: -10, max: 2_000_000_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        (lines, tier, discount, cap) => {
          const p = earnedPoints({ ...EARN, capPerTransaction: cap }, lines, tier, discount);
          expect(Number.isSafeInteger(p)).toBe(true);
          expect(p).toBeGreaterThanOrEqual(0);
          expect(p).toBeLessThanOrEqual(cap);
        },
      ),
      { seed: 1802, numRuns: 500 },
    );
  });
});

describe('points: spending', () => {
  it('points are worth their value, rounded down', () => {
    expect(pointsValue(SPEND, 250)).toBe(250);
    expect(pointsValue({ ...SPEND, valuePoints: 3, valueMinor: 1 }, 10)).toBe(3);
  });

  it('at most the payable share of the basket, in whole points', () => {
    expect(maxPointsFor(SPEND, 1001)).toBe(500);
    expect(maxPointsFor({ ...SPEND, valuePoints: 100, valueMinor: 50 }, 1000)).toBe(1000);
  });

  it('refuses below the minimum, over the balance and over the basket share, each by name with its limit', () => {
    expect(checkSpend(SPEND, 50, 10_000, 1000)).toEqual({ ok: false, reason: 'pointsBelowMinimum', max: 100 });
    expect(checkSpend(SPEND, 2000, 10_000, 1000)).toEqual({ ok: false, reason: 'pointsOverBalance', max: 1000 });
    expect(checkSpend(SPEND, 800, 1000, 1000)).toEqual({ ok: false, reason: 'pointsOverBasket', max: 500 });
    expect(checkSpend(null, 800, 1000, 1000)).toEqual({ ok: false, reason: 'pointsNotOffered', max: 0 });
    expect(checkSpend(SPEND, 300, 1000, 1000)).toEqual({ ok: true, points: 300, discount: 300 });
    expect(checkSpend(SPEND, 0, 1000, 0)).toEqual({ ok: true, points: 0, discount: 0 });
  });
});

describe('points: the offline balance', () => {
  const asOf = Date.parse('2026-12-05T08:00:00Z');
  it("HQ's balance plus this store's changes after HQ's asOf, less what other carts hold", () => {
    const changes = [
      { memberId: 'M1', delta: 40, at: asOf - 1000 }, // HQ has it already
      { memberId: 'M1', delta: 25, at: asOf + 1000 },
      { memberId: 'M1', delta: -100, at: asOf + 2000 },
      { memberId: 'M2', delta: 999, at: asOf + 2000 },
    ];
    expect(offlineBalance({ points: 500, asOfMs: asOf }, changes, 'M1')).toBe(425);
    expect(offlineBalance({ points: 500, asOfMs: asOf }, changes, 'M1', 400)).toBe(25);
    expect(offlineBalance(null, changes, 'M2')).toBe(999);
    expect(offlineBalance({ points: 10, asOfMs: asOf }, changes, 'M1')).toBe(0);
  });

  it('property (seeded): spending only what checkSpend allows never takes the balance below zero', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -1000, max: 100_000 }),
        fc.array(fc.oneof(fc.record({ spend: fc.integer({ min: 0, max: 200_000 }), total: fc.integer({ min: 0, max: 1_000_000 }) }), fc.record({ earn: fc.integer({ min: 0, max: 5000 }) })), { maxLength: 40 }),
        (start, ops) => {
          const asOfMs = 0;
          const changes: { memberId: string; delta: number; at: number }[] = [];
          let t = 1;
          for (const op of ops) {
            const available = offlineBalance({ points: start, asOfMs }, changes, 'M');
            if ('earn' in op) changes.push({ memberId: 'M', delta: op.earn, at: t++ });
            else {
              const c = checkSpend(SPEND, op.spend, op.total, available);
              if (c.ok && c.points > 0) changes.push({ memberId: 'M', delta: -c.points, at: t++ });
            }
            // A balance HQ let go negative is never made more negative here; a positive one never goes below 0.
            expect(start + changes.reduce((n, c) => n + c.delta, 0)).toBeGreaterThanOrEqual(Math.min(0, start));
            expect(offlineBalance({ points: start, asOfMs }, changes, 'M')).toBeGreaterThanOrEqual(0);
          }
        },
      ),
      { seed: 1803, numRuns: 300 },
    );
  });
});
