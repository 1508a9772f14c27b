/**
 * A card payment at kiosk k1 through the ZVT bridge driver and the terminal simulator, in real
 * Chromium (cardKioskFixture.ts): the page shows the terminal's own prompts, then thanks; the sale
 * the gateway records carries the terminal's receipt number; the printer simulator decodes the
 * receipt with the total and the QR from the bytes. And a decline (a total ending in 13): the page
 * says so, the cart stays payable, and no sale exists.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { screenshot } from '../helpers/browser.js';
import { dataOf, ITEMS, RECEIPT_QR, salesOf, scanAndPay, seenOnPage, startCardKiosk, type CardKiosk } from './cardKioskFixture.js';

let k: CardKiosk;

beforeAll(async () => {
  k = await startCardKiosk();
}, 30_000);

afterAll(async () => {
  await k?.stop();
});

describe('kiosk k1 pays on a ZVT terminal through the bridge', () => {
  it('shows the terminal’s prompts, then thanks; the sale has the terminal’s receipt number; the printer prints total and QR', async () => {
    const page = await k.openKiosk();
    const printed = k.printer.nextReceipt();
    await scanAndPay(k, page, ITEMS.coffee.gtin);
    await page.locator('[data-testid="pay-prompt"][data-prompt="insertCard"]').waitFor();
    await page.getByTestId('thanks').waitFor();
    await screenshot(page, 'kiosk-zvt-thanks');
    // The terminal's own steps (its 04 FF intermediate status), in order, as the page showed them.
    expect((await seenOnPage(page)).prompts).toEqual(['insertCard: Insert card', 'pleaseWait: Please wait…']);

    const result = dataOf(await k.event((e) => e.kind === 'payment' && e.type === 'result' && dataOf(e).status === 'approved', 'the approval'));
    expect(result).toMatchObject({ amount: ITEMS.coffee.price, currency: 'EUR', terminalId: '29001006', receiptNo: expect.stringMatching(/^[0-9]{4}$/) });
    const terminalTx = k.zvt.books.transactions.find((t) => t.kind === 'payment' && t.info.amount === ITEMS.coffee.price);
    expect(terminalTx).toMatchObject({ committed: true, reversed: false });
    expect(result.receiptNo).toBe(terminalTx!.info.receiptNo);

    await k.event((e) => e.kind === 'kiosk' && e.type === 'transaction', 'the sale');
    const sales = salesOf(k);
    expect(sales).toHaveLength(1);
    expect(sales[0]).toMatchObject({ total: ITEMS.coffee.price, currency: 'EUR', payment: { requestId: result.requestId, amount: ITEMS.coffee.price, receiptNo: result.receiptNo, terminalId: '29001006' } });

    const receipt = await printed;
    const text = receipt.lines.map((l) => l.text);
    const tx = sales[0]!.transactionId as string;
    expect(text.find((l) => l.startsWith('TOTAL'))).toMatch(/€6\.49$/);
    expect(text.some((l) => l.includes(ITEMS.coffee.name))).toBe(true);
    expect(receipt.qr).toEqual([RECEIPT_QR.replace('{transactionId}', tx)]);
    await k.event((e) => e.kind === 'printer' && e.type === 'ack' && dataOf(e).ok === true, 'the print ack');
    await page.getByTestId('new-customer').click();
    await page.getByTestId('welcome').waitFor();
    await page.close();
  });

  it('a decline (total ending in 13): the page says declined, the cart stays payable, no sale', async () => {
    const page = await k.openKiosk();
    const salesBefore = salesOf(k).length;
    await scanAndPay(k, page, ITEMS.tea.gtin);
    const result = dataOf(await k.event((e) => e.kind === 'payment' && e.type === 'result' && dataOf(e).amount === ITEMS.tea.price, 'the decline'));
    expect(result).toMatchObject({ status: 'declined', resultCode: 5 });
    await page.locator('[data-testid="notice"][data-code="payment_declined"]').waitFor();
    expect(await page.getByTestId('notice').textContent()).toBe('Payment declined. Try another card.');
    await screenshot(page, 'kiosk-zvt-declined');
    // Still the shopping cart with its line and a Pay button that works.
    await page.locator(`[data-testid="line"][data-gtin="${ITEMS.tea.gtin}"]`).waitFor();
    expect(await page.getByTestId('pay').isEnabled()).toBe(true);
    expect((await seenOnPage(page)).thanks).toBe(0);
    expect(salesOf(k)).toHaveLength(salesBefore);
    expect(k.zvt.books.transactions.filter((t) => t.kind === 'payment' && t.info.amount === ITEMS.tea.price && t.committed)).toEqual([]);
    await page.close();
  });
});
