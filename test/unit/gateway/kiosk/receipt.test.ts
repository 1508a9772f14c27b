import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildReceipt, rateText } from '../../../../gateway/kiosk/receipt.js';
import { ReceiptLanguages } from '../../../../gateway/kiosk/receiptPrint.js';
import { Receipt } from '../../../../gateway/protocol/schemas/printer.js';
import { checkCommand } from '../../../../gateway/protocol/validate.js';
import type { KioskTransactionRec } from '../../../../gateway/protocol/schemas/kiosk.js';

const SALE: KioskTransactionRec = {
  ts: '2026-12-05T10:15:00.000Z',
  transactionId: 'tx-42',
  kioskId: 'k1',
  lines: [
    { gtin: '4006381333931', name: 'Milk 1 L', qty: 2, unitPrice: 129, price: 258, vatRateBp: 700 },
    { gtin: '2000000000008', name: 'Apples', qty: 1, unitPrice: 299, grams: 512, price: 153, vatRateBp: 700 },
    { gtin: '9501101531000', name: 'Red wine', qty: 1, unitPrice: 899, price: 899, vatRateBp: 1900 },
  ],
  subtotal: 1310,
  discounts: 60,
  total: 1250,
  currency: 'EUR',
  vat: [
    { rateBp: 1900, gross: 899, net: 755, vat: 144 },
    { rateBp: 700, gross: 351, net: 328, vat: 23 },
  ],
  payment: { requestId: 'r-1', authCode: 'A77', amount: 1250 },
  attendant: [],
};
const OPTS = { storeName: 'Demo Store', header: ['Main Street 1'], language: 'en' as const, timeZone: 'Europe/Berlin' };

describe('buildReceipt', () => {
  it('turns a sale into the printer receipt: lines with quantities, totals with the discount, VAT per rate', () => {
    const r = buildReceipt(SALE, { ...OPTS, qrUrl: 'https://r.example/{transactionId}' });
    expect(r.header).toEqual(['Main Street 1', 'Self-checkout k1', '12/5/26, 11:15 AM']);
    expect(r.lines).toEqual([
      { text: 'Milk 1 L', qty: '2 x €1.29', amount: 258 },
      { text: 'Apples', qty: '0.512 kg x €2.99/kg', amount: 153 },
      { text: 'Red wine', amount: 899 },
    ]);
    expect(r.totals).toEqual([
      { label: 'Subtotal', amount: 1310 },
      { label: 'Discounts', amount: -60 },
      { label: 'TOTAL', amount: 1250, bold: true },
    ]);
    expect(r.vat).toEqual([
      { label: 'VAT 19% (net, tax)', net: 755, tax: 144 },
      { label: 'VAT 7% (net, tax)', net: 328, tax: 23 },
    ]);
    expect(r.payment).toEqual(['Approval code A77']);
    expect(r.qr).toBe('https://r.example/tx-42');
    expect(checkCommand('printer', 'print', { cmdId: 'c-1', receipt: r })).toEqual([]);
  });

  it('prints what the terminal result carried into the sale, and guesses nothing it did not', () => {
    const payment = { ...SALE.payment, cardType: 'Debit Mastercard', maskedPan: '************4771', receiptNo: '0815', terminalId: '29001006', receipt: ['KUNDENBELEG', 'Betrag EUR 12,50'] };
    expect(buildReceipt({ ...SALE, payment }, OPTS).payment).toEqual(['Card: Debit Mastercard ************4771', 'Receipt no. 0815', 'Approval code A77', 'Terminal 29001006', '', 'KUNDENBELEG', 'Betrag EUR 12,50']);
    expect(buildReceipt({ ...SALE, payment: { requestId: 'r-1', authCode: '', amount: 1250 } }, OPTS).payment).toEqual([]);
  });

  it('speaks Chinese when asked, and leaves the QR out without a URL', () => {
    const r = buildReceipt({ ...SALE, discounts: 0, vat: [{ rateBp: null, gross: 1310, net: 1310, vat: 0 }] }, { ...OPTS, language: 'zh' });
    expect(r.totals).toEqual([{ label: '合计', amount: 1250, bold: true }]);
    expect(r.vat[0].label).toBe('未标明税率（净额，税额）');
    expect(r.footer).toEqual(['交易号 TX42', '谢谢惠顾']);
    expect(r.qr).toBeUndefined();
    expect(r.language).toBe('zh');
  });

  it('writes rates from basis points without floats', () => {
    expect([1900, 700, 550, 1, 0, 10_000].map(rateText)).toEqual(['19', '7', '5.5', '0.01', '0', '100']);
  });

  it('the receipt schema refuses a float amount and an unknown language, naming the field', () => {
    const r = buildReceipt(SALE, OPTS);
    expect(checkCommand('printer', 'print', { cmdId: 'c-1', receipt: { ...r, lines: [{ text: 'x', amount: 1.5 }] } })).toEqual(['cmd.receipt.lines[0].amount: must be integer']);
    expect(checkCommand('printer', 'print', { cmdId: 'c-1', receipt: { ...r, language: 'de' } })).toEqual(['cmd.receipt.language: must be one of "en", "zh"']);
    expect(Receipt.properties.lines.maxItems).toBe(1000);
  });
});

describe('ReceiptLanguages', () => {
  it("keeps the language a kiosk's shopper paid in for that session's sale only, and ignores anything but en/zh", () => {
    const l = new ReceiptLanguages();
    l.remember('k1', 's-1', 'zh');
    l.remember('k2', 's-9', 'de');
    l.remember('k2', undefined, 'zh');
    expect(l.of('k1', 's-1')).toBe('zh');
    expect(l.of('k1', 's-2')).toBeUndefined();
    expect(l.of('k2', 's-9')).toBeUndefined();
  });
});

describe('buildReceipt within the print schema', () => {
  it('any sale the kiosk can record gives a receipt the print command accepts (seeded)', () => {
    const text = (max: number) => fc.string({ maxLength: max, unit: fc.constantFrom('a', 'Z', ' ', '€', '牛', 'ä', '9') });
    const line = fc.record({ gtin: fc.constant('4006381333931'), name: text(128), qty: fc.integer({ min: 1, max: 10_000 }), unitPrice: fc.nat(1_000_000), price: fc.nat(1_000_000), grams: fc.option(fc.integer({ min: 1, max: 1_000_000 }), { nil: undefined }) });
    const payment = fc.record({ requestId: fc.constant('r-1'), authCode: text(32), amount: fc.nat(), cardType: text(40), maskedPan: fc.constant('************4771'), receiptNo: fc.constant('12345678'), terminalId: fc.constant('29001006'), receipt: fc.array(text(80), { maxLength: 200 }) });
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 30 }), payment, fc.nat(1_000_000), fc.constantFrom('en' as const, 'zh' as const), fc.array(text(120), { maxLength: 10 }), (lines, pay, discounts, language, header) => {
        const sale = { ...SALE, lines: lines.map((l) => (l.grams === undefined ? { ...l, grams: undefined } : l)).map(({ grams, ...l }) => (grams === undefined ? l : { ...l, grams })), discounts, payment: pay, transactionId: ':'.repeat(64) }; // each ':' is 3 characters in the URL
        const r = buildReceipt(sale, { ...OPTS, header, language, storeName: 'S'.repeat(60), qrUrl: `https://r.example/${'p'.repeat(365)}/{transactionId}` /* the longest qrUrl the config takes */ });
        expect(checkCommand('printer', 'print', { cmdId: 'c-1', receipt: r })).toEqual([]);
      }),
      { seed: 1612, numRuns: 100 },
    );
  });
});
