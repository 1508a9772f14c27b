/**
 * GS1 amounts and the store currency. 392n is in the store currency, with its ISO 4217
 * exponent; 393n carries its own currency, and one that is not the store's is refused (a notice,
 * help called, the cart unchanged) rather than charged as if it were.
 */
import { describe, expect, it } from 'vitest';
import { createBarcodeParser, type Gs1Scan, type ScanResult } from '../../../../gateway/kiosk/barcodes.js';
import { resolveScan } from '../../../../gateway/kiosk/scanResolver.js';
import { newSession, step, type Ctx } from '../../../../gateway/kiosk/sessionMachine.js';
import { cartView } from '../../../../gateway/kiosk/cartView.js';
import { buildCatalog } from '../../../../gateway/prices/catalog.js';
import type { PriceQuote } from '../../../../gateway/prices/catalog.js';

const GTIN = '99501234543218';
const gs1 = (r: ScanResult): Gs1Scan => {
  if (!r.ok || r.kind !== 'gs1') throw new Error(`expected GS1, got ${JSON.stringify(r)}`);
  return r;
};
const code = (...ais: string[]) => ']C1' + ais.join('\u001d');

describe('392n: the store currency and its exponent', () => {
  it('KWD (3 digits): 3922 12.50 is 12500 fils, 3923 12.345 is 12345', () => {
    const p = createBarcodeParser({ currency: 'KWD' });
    expect(gs1(p(code('01' + GTIN + '3922' + '1250')))).toMatchObject({ priceMinor: 12500, currency: 'KWD' });
    expect(gs1(p(code('01' + GTIN + '3923' + '12345')))).toMatchObject({ priceMinor: 12345, currency: 'KWD' });
    // 4 decimals: exact when the last is 0, refused otherwise (never rounded).
    expect(gs1(p(code('01' + GTIN + '3924' + '123450')))).toMatchObject({ priceMinor: 12345 });
    expect(p(code('01' + GTIN + '3924' + '123455'))).toMatchObject({ ok: false, code: 'SGW_ERR_BAD_VALUE' });
  });

  it('JPY (0 digits): 3920 1500 is 1500 yen; 3922 15.00 is too', () => {
    const p = createBarcodeParser({ currency: 'JPY' });
    expect(gs1(p(code('01' + GTIN + '3920' + '1500')))).toMatchObject({ priceMinor: 1500, currency: 'JPY' });
    expect(gs1(p(code('01' + GTIN + '3922' + '150000')))).toMatchObject({ priceMinor: 1500, currency: 'JPY' });
  });
});

describe('393n: the currency is honoured', () => {
  it('an amount in the store currency is read with that currency\'s exponent', () => {
    expect(gs1(createBarcodeParser({ currency: 'EUR' })(code('01' + GTIN + '3932' + '978' + '0299')))).toMatchObject({ priceMinor: 299, currency: 'EUR' });
    expect(gs1(createBarcodeParser({ currency: 'KWD' })(code('01' + GTIN + '3932' + '414' + '1250')))).toMatchObject({ priceMinor: 12500, currency: 'KWD' });
    expect(gs1(createBarcodeParser({ currency: 'JPY' })(code('01' + GTIN + '3930' + '392' + '1500')))).toMatchObject({ priceMinor: 1500, currency: 'JPY' });
  });

  it.each([
    ['EUR', '840', 'USD'],
    ['EUR', '392', 'JPY'],
    ['JPY', '978', 'EUR'],
    ['KWD', '048', 'BHD'],
  ])('at a %s store, 393n with %s (%s) is refused naming the field', (store, numeric, alpha) => {
    const r = createBarcodeParser({ currency: store })(code('01' + GTIN + '3932' + numeric + '0299'));
    expect(r).toMatchObject({ ok: false, code: 'SGW_ERR_WRONG_CURRENCY', currency: alpha });
    if (!r.ok) expect(r.reason).toBe(`ai(3932).currency: ${alpha} (${numeric}) is not the store currency ${store}`);
  });

  it('a refused 393n becomes a wrongCurrency notice: nothing added, help called', () => {
    const cat = buildCatalog({ items: [{ gtin: GTIN, name: 'Cheese', unit: 'kg' }], prices: [], promotions: [], members: [], bindings: [] } as never);
    const action = resolveScan(code('01' + GTIN + '3932' + '840' + '0299'), undefined, createBarcodeParser({ region: 'DE', currency: 'EUR' }), cat);
    expect(action).toMatchObject({ type: 'badCode', currency: 'USD' });
    const quote = (gtin: string): PriceQuote | null => (gtin === GTIN ? ({ gtin, name: 'Cheese', unit: 'kg', currency: 'EUR', base: 1490, price: 1490, source: 'base', promo: null } as PriceQuote) : null);
    const ctx: Ctx = { now: 0, quote, rules: { removalNeedsAttendant: false, voidNeedsAttendant: false, bagToleranceG: 10, bagTolerancePct: 5, bagNoiseG: 5 }, newId: () => 'id' };
    const s = step(newSession('k1', 's1', 'EUR', 0, false), action, ctx).session;
    expect(s.lines).toHaveLength(0);
    expect(s.notice).toEqual({ code: 'wrongCurrency', detail: 'USD' });
    expect(s.helpCalled).toBe(true);
    // The same label in euros is sold at its printed price.
    const ok = resolveScan(code('01' + GTIN + '3932' + '978' + '0299'), undefined, createBarcodeParser({ region: 'DE', currency: 'EUR' }), cat);
    expect(ok).toEqual({ type: 'addItem', gtin: GTIN, embeddedPrice: 299 });
  });
});

describe('the void request carries its amount as minor units and currency', () => {
  it('a KWD cart of 12.500 is "12.500", not 12500 and not 125.00', () => {
    const quote = (gtin: string): PriceQuote | null => ({ gtin, name: 'Dates', unit: 'each', currency: 'KWD', base: 6250, price: 6250, source: 'base', promo: null }) as PriceQuote;
    const ctx: Ctx = { now: 0, quote, rules: { removalNeedsAttendant: false, voidNeedsAttendant: true, bagToleranceG: 10, bagTolerancePct: 5, bagNoiseG: 5 }, newId: () => 'r1' };
    let s = newSession('k1', 's1', 'KWD', 0, false);
    for (const a of [{ type: 'addItem', gtin: '4000000000017' }, { type: 'addItem', gtin: '4000000000017' }, { type: 'cancel' }] as const) s = step(s, a, ctx).session;
    const v = cartView(s, [], false).requests[0];
    expect(v).toMatchObject({ kind: 'void', count: 2, amount: 12500, currency: 'KWD' });
    expect(v.item).toMatch(/^2 item\(s\), KWD\s12\.500$/);
  });
});
