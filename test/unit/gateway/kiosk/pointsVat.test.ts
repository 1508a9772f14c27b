/**
 * Points spent and the VAT: as a discount their value is split over the lines (largest remainder)
 * and lowers each rate's taxable amount; as tender the VAT stays on the line prices and the
 * receipt lists the points as a payment. Worked examples to the cent, and a seeded property.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { pointsShares, vatWithPoints } from '../../../../gateway/kiosk/pointsVat.js';
import { saleVat } from '../../../../gateway/kiosk/pointsPricing.js';
import { buildReceiptModel } from '../../../../gateway/kiosk/receiptModel.js';
import { printedReceipt } from '../../../../gateway/kiosk/receipt.js';
import { SpendRules } from '../../../../gateway/kiosk/pointsRules.js';
import { KioskTransaction, type KioskTransactionRec } from '../../../../gateway/protocol/schemas/kiosk.js';
import { ReceiptModelSchema } from '../../../../gateway/protocol/schemas/receipt.js';
import { compile } from '../../../../gateway/protocol/validate.js';

// Milk 1.29 at 7 %, a T-shirt 15.00 at 19 %; 300 points worth 3.00.
const LINES = [
  { price: 129, vatRateBp: 700 },
  { price: 1500, vatRateBp: 1900 },
];

describe('points as a discount', () => {
  it('splits 3.00 over 1.29 and 15.00 by the largest remainder: 0.24 and 2.76 (exactly 3.00)', () => {
    // 300·129/1629 = 23.76 → 23 (+1: the larger remainder), 300·1500/1629 = 276.24 → 276.
    expect(pointsShares(LINES, 300, 'discount')).toEqual([24, 276]);
  });

  it('takes each rate’s VAT from its lines less their points part', () => {
    // 7 %: 1.05 gross → 0.07 VAT (105·7/107 = 6.87); 19 %: 12.24 gross → 1.95 VAT (1224·19/119 = 195.43).
    expect(vatWithPoints(LINES, 300, 'discount')).toEqual([
      { rateBp: 1900, gross: 1224, net: 1029, vat: 195 },
      { rateBp: 700, gross: 105, net: 98, vat: 7 },
    ]);
  });

  it('a cart’s VAT follows its points: discount by default (a feed without `as`), tender when the feed says', () => {
    const lines = LINES.map((l) => ({ ...l }));
    expect(saleVat({ lines, points: undefined } as never)).toEqual(vatWithPoints(LINES, 0, 'discount'));
    expect(saleVat({ lines, points: { discount: 300 } } as never)).toEqual(vatWithPoints(LINES, 300, 'discount'));
    expect(saleVat({ lines, points: { discount: 300, as: 'tender' } } as never)).toEqual(vatWithPoints(LINES, 0, 'discount'));
  });

  it('property (seeded): the parts add up to the value exactly, none above its line, none on a free line', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 30 }), fc.integer({ min: 0, max: 10_000 }), (prices, share) => {
        const total = prices.reduce((a, b) => a + b, 0);
        fc.pre(total > 0);
        const value = Math.floor((total * share) / 10_000);
        const parts = pointsShares(prices.map((price) => ({ price })), value, 'discount');
        expect(parts.reduce((a, b) => a + b, 0)).toBe(value);
        parts.forEach((p, i) => {
          expect(p).toBeGreaterThanOrEqual(0);
          expect(p).toBeLessThanOrEqual(prices[i]!);
          if (prices[i] === 0) expect(p).toBe(0);
        });
      }),
      { seed: 1805, numRuns: 300 },
    );
  });
});

describe('points as tender', () => {
  it('leaves the VAT on the full line prices', () => {
    expect(pointsShares(LINES, 300, 'tender')).toEqual([0, 0]);
    // 7 %: 129·7/107 = 8.44 → 0.08; 19 %: 1500·19/119 = 239.50 → 2.39 (half-up of 239.496).
    expect(vatWithPoints(LINES, 300, 'tender')).toEqual([
      { rateBp: 1900, gross: 1500, net: 1261, vat: 239 },
      { rateBp: 700, gross: 129, net: 121, vat: 8 },
    ]);
  });

  it('the loyalty feed’s spend rule takes `as: discount | tender` and nothing else', () => {
    const check = compile(SpendRules);
    const rule = { valuePoints: 1, valueMinor: 1, minPoints: 100, maxShareBp: 5000 };
    expect(check({ ...rule, as: 'tender' })).toBe(true);
    expect(check({ ...rule, as: 'discount' })).toBe(true);
    expect(check(rule)).toBe(true);
    expect(check({ ...rule, as: 'voucher' })).toBe(false);
  });
});

describe('the receipt shows how the points counted', () => {
  const sale = (as: 'discount' | 'tender'): KioskTransactionRec => ({
    ts: '2026-12-05T10:15:00.000Z',
    transactionId: 't-points-1',
    kioskId: 'k1',
    lines: [
      { gtin: '4006381333931', name: 'Milk 1 L', qty: 1, unitPrice: 129, price: 129, vatRateBp: 700, ...(as === 'discount' ? { pointsOff: 24 } : {}) },
      { gtin: '80614141123458', name: 'T-shirt', qty: 1, unitPrice: 1500, price: 1500, vatRateBp: 1900, ...(as === 'discount' ? { pointsOff: 276 } : {}) },
    ],
    subtotal: 1629,
    discounts: 300,
    total: 1329,
    currency: 'EUR',
    vat: vatWithPoints(LINES, 300, as),
    memberCode: 'M-1001',
    payment: { requestId: 'r-1', authCode: 'A1', amount: 1329 },
    attendant: [],
    points: { memberId: 'M-1001', program: 'club', earned: 13, spent: 300, discount: 300, as },
  });
  const opts = { storeId: 's1', storeName: 'Store', header: [], language: 'en' as const };

  it('as a discount: listed before the total, which is what the card paid; the VAT on the lowered base', () => {
    expect(compile(KioskTransaction)(sale('discount'))).toBe(true);
    const m = buildReceiptModel(sale('discount'), opts);
    expect(compile(ReceiptModelSchema)(m)).toBe(true);
    expect(m.points).toEqual({ earned: 13, spent: 300, value: 300, as: 'discount' });
    expect(m.total).toBe(1329);
    expect(m.vat.map((v) => v.vat)).toEqual([195, 7]);
    const totals = printedReceipt(m).totals;
    expect(totals.slice(-2)).toEqual([
      { label: 'Points redeemed (300)', amount: -300 },
      { label: 'TOTAL', amount: 1329, bold: true },
    ]);
  });

  it('as tender: the total is the price, the points a payment after it; the VAT on the full prices', () => {
    const m = buildReceiptModel(sale('tender'), opts);
    expect(compile(ReceiptModelSchema)(m)).toBe(true);
    expect(m.points).toEqual({ earned: 13, spent: 300, value: 300, as: 'tender' });
    expect(m.total).toBe(1629);
    expect(m.payment.amount).toBe(1329);
    expect(m.vat.map((v) => v.vat)).toEqual([239, 8]);
    expect(printedReceipt(m).totals.slice(-2)).toEqual([
      { label: 'TOTAL', amount: 1629, bold: true },
      { label: 'Paid with points (300)', amount: -300 },
    ]);
  });
});
