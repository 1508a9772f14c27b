import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { vatBreakdown } from '../../../../gateway/kiosk/vat.js';

describe('vatBreakdown', () => {
  it('takes each rate out of its gross sum once, highest rate first, no rate last', () => {
    expect(vatBreakdown([{ price: 11900, vatRateBp: 1900 }, { price: 107, vatRateBp: 700 }, { price: 500 }, { price: 93, vatRateBp: 700 }])).toEqual([
      { rateBp: 1900, gross: 11900, net: 10000, vat: 1900 },
      { rateBp: 700, gross: 200, net: 187, vat: 13 }, // 200 × 7/107 = 13.08
      { rateBp: null, gross: 500, net: 500, vat: 0 },
    ]);
    expect(vatBreakdown([])).toEqual([]);
    expect(vatBreakdown([{ price: 500 }, { price: 20 }])).toEqual([]); // a catalog without rates: no VAT lines
  });

  it('rounds half up, per rate and not per line', () => {
    expect(vatBreakdown([{ price: 1, vatRateBp: 10_000 }])[0].vat).toBe(1); // 0.5 → 1
    expect(vatBreakdown([{ price: 199, vatRateBp: 1900 }])[0].vat).toBe(32); // 31.77
    // Ten lines of 0.10 at 19 %: per line 0.016 would round to 0.02 each (0.20); once on 1.00 it is 0.16.
    expect(vatBreakdown(Array.from({ length: 10 }, () => ({ price: 10, vatRateBp: 1900 })))[0].vat).toBe(16);
  });

  it('property: net + vat = gross, sums kept, vat within half a cent of the exact value', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ price: fc.integer({ min: 0, max: 1_000_000 }), vatRateBp: fc.option(fc.constantFrom(0, 550, 700, 1000, 1900, 2000, 2500), { nil: undefined }) }), { maxLength: 50 }), (lines) => {
        const out = vatBreakdown(lines.map((l) => (l.vatRateBp === undefined ? { price: l.price } : l)));
        const rated = lines.some((l) => l.vatRateBp !== undefined);
        expect(out.reduce((a, v) => a + v.gross, 0)).toBe(rated ? lines.reduce((a, l) => a + l.price, 0) : 0);
        for (const v of out) {
          expect(v.net + v.vat).toBe(v.gross);
          const exact = v.rateBp === null ? 0 : (v.gross * v.rateBp) / (10_000 + v.rateBp);
          expect(Math.abs(v.vat - exact)).toBeLessThanOrEqual(0.5);
        }
      }),
    );
  });
});
