/**
 * Shelf = till: the mismatch decision (pure), the line stamps it relies on (catalog
 * versions and the shelf price from cartPricing), and what a label shows across a catalog switch
 * and a restart (EslFanout's kept prices, read through ShelfView the way a sale reads them).
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../../gateway/log.js';
import { buildCatalog, type Catalog, type PriceQuote, type ScopedRows } from '../../../../gateway/prices/catalog.js';
import { EslFanout } from '../../../../gateway/prices/fanout.js';
import { ShelfView } from '../../../../gateway/prices/shelfView.js';
import { checkSale, decideLine, isMismatch, shelfPriceOf, type LabelAtSale } from '../../../../gateway/prices/shelfTill.js';
import { priceLine, type Line } from '../../../../gateway/kiosk/cartPricing.js';
import type { KioskTransactionRec } from '../../../../gateway/protocol/schemas/kiosk.js';
import { createAjv } from '../../../../gateway/protocol/validate.js';
import { KioskTransaction, PriceMismatch } from '../../../../gateway/protocol/schemas/index.js';
import type { NewEvent } from '../../../../gateway/outbox/store.js';

const label = (over: Partial<LabelAtSale> = {}): LabelAtSale => ({ labelId: 'L1', state: 'current', hash: 'h1', shows: { hash: 'h1', price: 129, promoPrice: null, currency: 'EUR' }, ...over });

describe('the mismatch decision', () => {
  it('a label shows the lower of its regular price and its promotion', () => {
    expect(shelfPriceOf(129, null)).toBe(129);
    expect(shelfPriceOf(129, 99)).toBe(99);
    expect(shelfPriceOf(129, 149)).toBe(129); // a "promotion" above the price is not what one pays
  });

  it('same price, same currency: no mismatch, whatever the state', () => {
    for (const state of ['current', 'pending', 'stale'] as const) expect(isMismatch(129, 'EUR', label({ state }))).toBe(false);
  });

  it('a pending label still showing the old price is a mismatch; a promotion the label shows counts', () => {
    expect(isMismatch(149, 'EUR', label({ state: 'pending' }))).toBe(true);
    expect(isMismatch(99, 'EUR', label({ shows: { hash: 'h1', price: 129, promoPrice: 99, currency: 'EUR' } }))).toBe(false);
    expect(isMismatch(129, 'EUR', label({ shows: { hash: 'h1', price: 129, promoPrice: 99, currency: 'EUR' } }))).toBe(true);
  });

  it('another currency on the label is a mismatch even at the same number', () => {
    expect(isMismatch(129, 'EUR', label({ shows: { hash: 'h1', price: 129, promoPrice: null, currency: 'CHF' } }))).toBe(true);
  });

  it('a label whose content is not known (blank, unknown hash) shows nothing to contradict', () => {
    expect(isMismatch(149, 'EUR', label({ state: 'pending', hash: null, shows: null }))).toBe(false);
    expect(decideLine(149, 'EUR', [label({ state: 'pending', hash: null, shows: null })]).label).toEqual({ state: 'pending', labelId: 'L1', hash: null, shows: null });
  });

  it('no label bound: state none, nothing compared', () => {
    expect(decideLine(149, 'EUR', [])).toEqual({ label: { state: 'none' }, mismatched: [] });
  });

  it('a line without a till shelf price (price-embedded code) is never compared', () => {
    expect(decideLine(undefined, 'EUR', [label({ state: 'pending' })]).mismatched).toEqual([]);
  });

  it('several labels: the line records a mismatching one (else the worst state) and how many there are', () => {
    const a = label({ labelId: 'A', state: 'current', hash: 'ha', shows: { hash: 'ha', price: 149, promoPrice: null, currency: 'EUR' } });
    const b = label({ labelId: 'B', state: 'pending', hash: 'hb', shows: { hash: 'hb', price: 129, promoPrice: null, currency: 'EUR' } });
    const c = label({ labelId: 'C', state: 'stale', hash: 'hc', shows: { hash: 'hc', price: 149, promoPrice: null, currency: 'EUR' } });
    expect(decideLine(149, 'EUR', [a, b, c])).toEqual({ label: { state: 'pending', labelId: 'B', hash: 'hb', shows: 129, labels: 3 }, mismatched: [b] });
    expect(decideLine(149, 'EUR', [a, c]).label).toEqual({ state: 'stale', labelId: 'C', hash: 'hc', shows: 149, labels: 2 });
  });
});

const SALE: KioskTransactionRec = {
  ts: '2026-03-01T08:00:00.000Z',
  transactionId: 'tx-1',
  kioskId: 'k1',
  lines: [
    { gtin: '4006381333931', name: 'Milk 1 L', qty: 2, unitPrice: 149, price: 298, catalogVersions: { 'prices/store': 2, 'catalog/store': 1 }, shelfPrice: 149 },
    { gtin: '5901234123457', name: 'Bread', qty: 1, unitPrice: 250, price: 250, catalogVersions: { 'prices/store': 2, 'catalog/store': 1 }, shelfPrice: 250 },
    // A member price: charged less than the shelf shows; the label is right.
    { gtin: '9501101531000', name: 'Wine', qty: 1, unitPrice: 799, price: 799, shelfPrice: 899 },
  ],
  subtotal: 1347,
  discounts: 0,
  total: 1347,
  currency: 'EUR',
  payment: { requestId: 'r-1', authCode: 'A1', amount: 1347 },
  attendant: [],
};

describe('checkSale', () => {
  const labels: Record<string, LabelAtSale[]> = {
    '4006381333931': [label({ labelId: 'L-MILK', state: 'pending', hash: 'old', shows: { hash: 'old', price: 129, promoPrice: null, currency: 'EUR' } })],
    '5901234123457': [label({ labelId: 'L-BREAD', hash: 'hb', shows: { hash: 'hb', price: 250, promoPrice: null, currency: 'EUR' } })],
    '9501101531000': [label({ labelId: 'L-WINE', hash: 'hw', shows: { hash: 'hw', price: 899, promoPrice: null, currency: 'EUR' } })],
  };
  const { record, mismatches } = checkSale(SALE, (g) => labels[g] ?? []);

  it('fills in every line\'s label and leaves every price as charged', () => {
    expect(record.lines.map((l) => l.label)).toEqual([
      { state: 'pending', labelId: 'L-MILK', hash: 'old', shows: 129 },
      { state: 'current', labelId: 'L-BREAD', hash: 'hb', shows: 250 },
      { state: 'current', labelId: 'L-WINE', hash: 'hw', shows: 899 },
    ]);
    expect(record.lines.map((l) => [l.unitPrice, l.price])).toEqual(SALE.lines.map((l) => [l.unitPrice, l.price]));
    expect(record.total).toBe(SALE.total);
  });

  it('gives exactly one priceMismatch record, for the line whose label shows another price', () => {
    expect(mismatches).toEqual([
      {
        ts: SALE.ts,
        mismatchId: 'tx-1:0:L-MILK',
        kioskId: 'k1',
        transactionId: 'tx-1',
        line: 0,
        gtin: '4006381333931',
        name: 'Milk 1 L',
        catalogVersions: { 'prices/store': 2, 'catalog/store': 1 },
        currency: 'EUR',
        tillPrice: 149,
        charged: 149,
        labelId: 'L-MILK',
        labelState: 'pending',
        labelHash: 'old',
        labelPrice: 129,
        labelCurrency: 'EUR',
        paid: 'till',
      },
    ]);
  });

  it('both records pass the schemas ingest checks them with', () => {
    const ajv = createAjv();
    const tx = ajv.compile(KioskTransaction);
    const pm = ajv.compile(PriceMismatch);
    expect(tx(record), JSON.stringify(tx.errors)).toBe(true);
    expect(pm(mismatches[0]), JSON.stringify(pm.errors)).toBe(true);
  });

  it('no label showing another price: no record', () => {
    const ok = checkSale(SALE, (g) => (g === '4006381333931' ? [label({ labelId: 'L-MILK', hash: 'new', shows: { hash: 'new', price: 149, promoPrice: null, currency: 'EUR' } })] : labels[g]));
    expect(ok.mismatches).toEqual([]);
  });
});

describe('line stamps (cartPricing)', () => {
  const quote = (q: Partial<PriceQuote>) => () => ({ gtin: '1', name: 'X', unit: 'each' as const, currency: 'EUR', base: 129, price: 129, source: 'base' as const, promo: null, ...q });
  const line: Line = { lineId: 'L1', gtin: '1', name: 'X', unit: 'each', qty: 2, unitPrice: 0, basePrice: 0, price: 0, source: 'base', ageRestricted: false, expectedG: null, toleranceG: 0 };

  it('a priced line carries the catalog versions of its quote and the public shelf price', () => {
    const versions = { 'prices/store': 4 };
    expect(priceLine(line, quote({ versions }), null)).toMatchObject({ catalogVersions: versions, shelfPrice: 129, price: 258 });
    // A member price: charged 99, the shelf price stays the public one.
    expect(priceLine(line, quote({ price: 99, source: 'member' }), 'M1')).toMatchObject({ unitPrice: 99, shelfPrice: 129 });
    expect(priceLine(line, quote({ price: 99, source: 'promo', promo: { id: 'p', price: 99, until: '2026-04-01T00:00:00Z' } }), null)).toMatchObject({ shelfPrice: 99 });
  });

  it('a price-embedded line has no shelf price', () => {
    expect(priceLine({ ...line, qty: 1, embeddedPrice: 420 }, quote({}), null).shelfPrice).toBeUndefined();
  });
});

describe('what a label shows, from memory (EslFanout + ShelfView)', () => {
  const NOW = Date.parse('2026-03-01T08:00:00Z');
  const GTIN = '4006381333931';
  function cat(price: number): Catalog {
    const rows: ScopedRows = {
      items: [{ scope: 'store', item: { gtin: GTIN, name: 'Milk', unit: 'each' } }],
      prices: [{ scope: 'store', row: { gtin: GTIN, price, currency: 'EUR' } }],
      promotions: [],
      members: [],
      bindings: [{ scope: 'store', labelId: 'L-MILK', gtin: GTIN, ap: 'ap-1' }],
    };
    return buildCatalog(rows);
  }
  const sent: { ap: string; payload: { cmdId: string; labels: { labelId: string; contentHash: string }[] } }[] = [];
  function fanout(): EslFanout {
    return new EslFanout({
      tracker: { ackTimeoutMs: 1000, maxAttempts: 3, backoff: { initialMs: 100, maxMs: 1000, jitter: 0 }, random: () => 0 },
      maxLabelsPerCommand: 100,
      publish: async (ap, payload) => void sent.push({ ap, payload: JSON.parse(payload) }),
      online: () => true,
      log: createLogger({ level: 'silent' }),
      cmdPrefix: 't',
    });
  }
  const ack = (cmdId: string, labelId: string, hash: string): NewEvent => ({ seq: 1, cls: 'exact', kind: 'esl', deviceId: 'ap-1', type: 'ack', ts: '', recvTs: NOW, monoMs: 0, data: JSON.stringify({ cmdId, ok: true, acks: [{ labelId, ok: true, shownHash: hash }] }) });

  it('a label not yet acked for the new price is pending and shows the old price, also after a restart', async () => {
    const f = fanout();
    const view = new ShelfView(f);
    const v1 = cat(129);
    await f.evaluate(v1, NOW);
    await f.dispatch(NOW);
    const h1 = sent[0].payload.labels[0].contentHash;
    f.onEvent(ack(sent[0].payload.cmdId, 'L-MILK', h1));
    expect(view.labelsAt(v1, GTIN)).toEqual([{ labelId: 'L-MILK', state: 'current', hash: h1, shows: { hash: h1, price: 129, promoPrice: null, currency: 'EUR' } }]);

    const v2 = cat(149);
    await f.evaluate(v2, NOW);
    await f.dispatch(NOW); // sent, never acked
    expect(view.labelsAt(v2, GTIN)).toEqual([{ labelId: 'L-MILK', state: 'pending', hash: h1, shows: { hash: h1, price: 129, promoPrice: null, currency: 'EUR' } }]);
    expect(checkSale({ ...SALE, lines: [SALE.lines[0]] }, (g) => view.labelsAt(v2, g)).mismatches).toHaveLength(1);

    // A restart: the tracking rows and the kept prices are all the new process has.
    await f.keepShown();
    const kept = f.takeShownDirty();
    expect(kept).toEqual([{ labelId: 'L-MILK', hash: h1, price: 129, promoPrice: null, currency: 'EUR' }]);
    const rows = f.tracker.takeDirty().rows;
    const g = fanout();
    for (const r of rows) g.tracker.restore(r);
    g.restoreShown(kept);
    await g.evaluate(v2, NOW);
    expect(new ShelfView(g).labelsAt(v2, GTIN)).toEqual([{ labelId: 'L-MILK', state: 'pending', hash: h1, shows: { hash: h1, price: 129, promoPrice: null, currency: 'EUR' } }]);
  });

  it('the label acks the new content: current, showing the new price, no mismatch', async () => {
    sent.length = 0;
    const f = fanout();
    const view = new ShelfView(f);
    await f.evaluate(cat(129), NOW);
    await f.dispatch(NOW);
    f.onEvent(ack(sent[0].payload.cmdId, 'L-MILK', sent[0].payload.labels[0].contentHash));
    const v2 = cat(149);
    await f.evaluate(v2, NOW);
    await f.dispatch(NOW);
    const h2 = sent[1].payload.labels[0].contentHash;
    f.onEvent(ack(sent[1].payload.cmdId, 'L-MILK', h2));
    expect(view.labelsAt(v2, GTIN)).toEqual([{ labelId: 'L-MILK', state: 'current', hash: h2, shows: { hash: h2, price: 149, promoPrice: null, currency: 'EUR' } }]);
    expect(checkSale({ ...SALE, lines: [SALE.lines[0]] }, (g) => view.labelsAt(v2, g)).mismatches).toEqual([]);
    expect(view.labelsAt(v2, '0000000000000')).toEqual([]);
  });
});
