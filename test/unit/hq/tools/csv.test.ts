/**
 * HQ's CSV reading (hq/tools/csv.ts) and CSV → feed body (hq/tools/feedCsv.ts): RFC 4180 quoting,
 * exact decimal money, and errors that name the file, line and column; arbitrary text never throws.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseCsv } from '../../../../hq/tools/csv.js';
import { csvToBody, decimalToMinor } from '../../../../hq/tools/feedCsv.js';
import { STORE_FEEDS, type StoreFeedName } from '../../../../gateway/protocol/schemas/feeds/index.js';

describe('parseCsv', () => {
  it('reads quoted commas, doubled quotes, line breaks in quotes, CRLF and a BOM, with the line each row starts on', () => {
    const r = parseCsv('\ufeffa,b\r\n"x, y","say ""hi"""\r\n"two\nlines",z\n\n1,2\n');
    expect(r.errors).toEqual([]);
    expect(r.header).toEqual(['a', 'b']);
    expect(r.rows).toEqual([
      { line: 2, cells: ['x, y', 'say "hi"'] },
      { line: 3, cells: ['two\nlines', 'z'] },
      { line: 6, cells: ['1', '2'] },
    ]);
  });

  it('names the line of an unclosed quote, a stray quote, a short row and a duplicate column', () => {
    expect(parseCsv('a,b\n1,"2\n').errors).toEqual([{ line: 2, message: 'a quoted field is never closed (a " is missing)' }]);
    expect(parseCsv('a,b\n1,2"x\n').errors[0]!.line).toBe(2);
    expect(parseCsv('a,b\n1,2\n3\n').errors).toEqual([{ line: 3, message: '1 fields, the header has 2' }]);
    expect(parseCsv('a,a\n').errors).toEqual([{ line: 1, message: 'column a: named twice' }]);
  });
});

describe('decimalToMinor', () => {
  it('converts by the currency digits exactly and refuses more digits than the currency has', () => {
    expect(decimalToMinor('1.99', 'EUR')).toBe(199);
    expect(decimalToMinor('0.1', 'EUR')).toBe(10);
    expect(decimalToMinor('1500', 'JPY')).toBe(1500);
    expect(decimalToMinor('1.5', 'JPY')).toMatch(/JPY has 0 decimal digits/);
    expect(decimalToMinor('12.345', 'KWD')).toBe(12345);
    expect(decimalToMinor('1,99', 'EUR')).toMatch(/must be a decimal/);
    expect(decimalToMinor('1.99', 'XYZ')).toMatch(/not an ISO 4217 code/);
  });
});

describe('csvToBody', () => {
  it('names the row and the column of each bad cell, in file order', () => {
    const r = csvToBody('gtin,price,memberPrices.gold\n4006381333931,"1,99",\n4006381333931,-5,\n123,5,x\n', { feed: 'prices', file: 'prices.csv', mode: 'snapshot', currency: 'EUR' });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.errors).toEqual([
      'prices.csv:2: column price: must be an integer ≥ 0 (got "1,99")',
      'prices.csv:3: column price: must be >= 0 (got -5)',
      'prices.csv:4: column memberPrices.gold: must be an integer ≥ 0 (got "x")',
    ]);
  });

  it('refuses a column that is no field of the feed, on the header line', () => {
    const r = csvToBody('gtin,priceMinor\n4006381333931,5\n', { feed: 'prices', file: 'p.csv', mode: 'snapshot', currency: 'EUR' });
    expect(!r.ok && r.errors[0]).toMatch(/^p\.csv:1: column priceMinor: is not a field \(fields: gtin, price, currency, memberPrices\)$/);
  });

  it('groups order lines by orderId and refuses an order whose own columns differ between its rows', () => {
    const head = 'orderId,pickupCode,total,currency,paidAt,lines.name,lines.qty\n';
    const ok = csvToBody(`${head}W1,ABCDEF,100,EUR,2026-12-05T10:00:00Z,Water,2\nW1,ABCDEF,100,EUR,2026-12-05T10:00:00Z,Wine,1\n`, { feed: 'orders', file: 'o.csv', mode: 'snapshot' });
    expect(ok.ok && ok.body).toEqual({ mode: 'snapshot', orders: [{ orderId: 'W1', pickupCode: 'ABCDEF', total: 100, currency: 'EUR', paidAt: '2026-12-05T10:00:00Z', lines: [{ name: 'Water', qty: 2 }, { name: 'Wine', qty: 1 }] }] });
    const bad = csvToBody(`${head}W1,ABCDEF,100,EUR,2026-12-05T10:00:00Z,Water,2\nW1,ABCDEF,200,EUR,2026-12-05T10:00:00Z,Wine,0\n`, { feed: 'orders', file: 'o.csv', mode: 'snapshot' });
    expect(!bad.ok && bad.errors).toEqual(['o.csv:3: column total: "200" differs from "100" on an earlier row of orderId W1']);
    const zero = csvToBody(`${head}W1,ABCDEF,100,EUR,2026-12-05T10:00:00Z,Water,2\nW1,ABCDEF,100,EUR,2026-12-05T10:00:00Z,Wine,0\n`, { feed: 'orders', file: 'o.csv', mode: 'snapshot' });
    // A line's error names the row of that line, not the order's first row.
    expect(!zero.ok && zero.errors).toEqual(['o.csv:3: column lines.qty: must be >= 1 (got 0)']);
  });

  it('property: any text, as any feed, gives a body or errors that each name the file and a line, never an exception', () => {
    const feeds = Object.keys(STORE_FEEDS) as StoreFeedName[];
    const cell = fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('"', '""', ',', '\n', '\r\n', '1.99', '-1', '4006381333931', 'gtin', 'price', 'price:decimal', 'name', 'lines.qty'));
    const text = fc.oneof(fc.string({ maxLength: 200 }), fc.array(cell, { maxLength: 40 }).map((a) => a.join('')));
    fc.assert(
      fc.property(text, fc.constantFrom(...feeds), (t, feed) => {
        const csv = parseCsv(t);
        for (const e of csv.errors) expect(e.line).toBeGreaterThanOrEqual(1);
        const r = csvToBody(t, { feed, file: 'in.csv', mode: 'snapshot', currency: 'EUR' });
        if (!r.ok) for (const e of r.errors) expect(e).toMatch(/^in\.csv(:\d+)?: /);
      }),
      { seed: 20_2026, numRuns: 400 },
    );
  });
});
