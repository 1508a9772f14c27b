/**
 * A serial sold before (here or elsewhere) or blocked (stolen, recalled) is added to the cart with
 * an attendant request naming the item, the serial and the reason; payment waits for it. Approved:
 * the item is sold; rejected: that one item leaves the cart. A free serial sells as before.
 */
import { describe, expect, it } from 'vitest';
import { newSession, step, type Action, type Ctx, type Session } from '../../../../gateway/kiosk/sessionMachine.js';
import type { SerialState } from '../../../../gateway/kiosk/serialBook.js';
import { buildCatalog, type PriceQuote } from '../../../../gateway/prices/catalog.js';
import { createBarcodeParser } from '../../../../gateway/kiosk/barcodes.js';
import { resolveScan } from '../../../../gateway/kiosk/scanResolver.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const SHIRT = '80614141123458';

function ctx(states: Record<string, SerialState> = {}): Ctx {
  let n = 0;
  return {
    now: T0,
    quote: (gtin) => (gtin === SHIRT ? ({ gtin, name: 'T-shirt', unit: 'each', currency: 'EUR', base: 1500, price: 1500, source: 'base', promo: null } as PriceQuote) : null),
    rules: { removalNeedsAttendant: false, voidNeedsAttendant: false, bagToleranceG: 10, bagTolerancePct: 5, bagNoiseG: 5, soldTagQuietMs: 60_000 },
    newId: () => `id-${++n}`,
    serialState: (g, serial) => (g === SHIRT ? (states[serial] ?? null) : null),
  };
}
const read = (serial: number): Action => ({ type: 'addItem', gtin: SHIRT, serial: String(serial), via: 'rfid' });
function run(s: Session, actions: Action[], c: Ctx): Session {
  for (const a of actions) s = step(s, a, c).session;
  return s;
}
const fresh = () => newSession('k1', 'sess-1', 'EUR', T0, false);

describe('a serial sold before or blocked needs an attendant', () => {
  for (const [state, reason] of [
    ['soldHere', 'already sold in this store'],
    ['soldElsewhere', 'already sold in another store'],
    ['stolen', 'reported stolen'],
    ['recalled', 'recalled'],
  ] as const) {
    it(`${state}: the request names the item, the serial and "${reason}"; payment waits`, () => {
      const c = ctx({ '7': state });
      let s = run(fresh(), [read(6), read(7), read(7)], c);
      expect(s.lines.map((l) => l.serials)).toEqual([['6', '7']]);
      expect(s.requests).toEqual([expect.objectContaining({ kind: 'override', item: `T-shirt serial 7: ${reason}`, serial: '7', lineId: 'L1' })]);
      expect(s.phase).toBe('needsAttendant');
      s = run(s, [{ type: 'pay' }], c);
      expect(s.payment).toBeNull();
      expect(s.notice).toEqual({ code: 'needsAttendant' });
    });
  }

  it('approved: the item stays and payment goes ahead; rejected: that one item leaves the cart and is not added back', () => {
    const c = ctx({ '7': 'soldHere', '8': 'stolen' });
    let s = run(fresh(), [read(6), read(7), read(8)], c);
    const [r7, r8] = s.requests;
    s = run(s, [{ type: 'attendant', requestId: r7.requestId, decision: 'approved', by: 'ann' }], c);
    expect(s.lines[0].serials).toEqual(['6', '7', '8']);
    s = run(s, [{ type: 'attendant', requestId: r8.requestId, decision: 'rejected', by: 'ann' }], c);
    expect(s.lines[0].serials).toEqual(['6', '7']);
    expect(s.totals.total).toBe(3000);
    expect(s.phase).toBe('shopping');
    s = run(s, [read(8), read(8)], c);
    expect(s.lines[0].serials).toEqual(['6', '7']);
    s = run(s, [{ type: 'pay' }], c);
    expect(s.phase).toBe('paying');
    expect(s.attendant.map((a) => [a.kind, a.decision])).toEqual([
      ['override', 'approved'],
      ['override', 'rejected'],
    ]);
  });

  it('a free serial, and a scan without a serial, raise no request', () => {
    const c = ctx({ '7': 'soldHere' });
    const s = run(fresh(), [read(6), { type: 'addItem', gtin: SHIRT }], c);
    expect(s.requests).toEqual([]);
    expect(s.phase).toBe('shopping');
  });

  it('a GS1 code with AI (21) is a serialised item too: scanned twice it is one item; sold before, it needs an attendant', () => {
    const cat = buildCatalog({ items: [{ gtin: SHIRT, name: 'T-shirt', unit: 'each' }], prices: [], promotions: [], members: [], bindings: [] } as never);
    const parse = createBarcodeParser({ region: 'DE', currency: 'EUR' });
    const scan = (serial: string) => resolveScan(`]C1${'01' + SHIRT + '21' + serial}`, undefined, parse, cat);
    expect(scan('7')).toEqual({ type: 'addItem', gtin: SHIRT, serial: '7' });
    const c = ctx({ '7': 'soldHere' });
    const s = run(fresh(), [scan('6'), scan('6'), scan('7')], c);
    expect(s.lines.map((l) => [l.qty, l.serials])).toEqual([[2, ['6', '7']]]);
    expect(s.requests.map((r) => r.item)).toEqual(['T-shirt serial 7: already sold in this store']);
  });
});
