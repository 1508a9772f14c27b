/**
 * The terminal's connection lost in the middle of a payment at kiosk k1 (ZVT simulator rules 92 and
 * 93), in real Chromium: the page never thanks the shopper unless the terminal committed the
 * payment; what the bridge learns from the terminal after it reconnects (Repeat Receipt) settles
 * it. 92: the Status-Information was on its way and never acknowledged, so the terminal reversed
 * it. It is the first charge on this connection, so the bridge has no earlier transaction of the
 * terminal to tell an older payment from this one, and reports a recovered timeout rather than guess
 * (it reverses nothing itself; the terminal already did): payable again, no sale. 93: the connection died right after the register's ack, so
 * the payment stands: thanks, and the sale with the terminal's receipt number. 91: dropped before
 * the terminal decided: it has no such payment, so the charge timed out; payable again, no sale.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataOf, ITEMS, salesOf, scanAndPay, seenOnPage, startCardKiosk, type CardKiosk } from './cardKioskFixture.js';

let k: CardKiosk;

beforeAll(async () => {
  k = await startCardKiosk({ zvtThinkMs: 50 }); // no prompts asserted here: a quick terminal
}, 30_000);

afterAll(async () => {
  await k?.stop();
});

const resultFor = (amount: number) => k.event((e) => e.kind === 'payment' && e.type === 'result' && dataOf(e).amount === amount, `the result of ${amount}`).then(dataOf);

describe('kiosk k1: the terminal connection drops mid-payment', () => {
  it('not committed (dropped with the Status-Information on its way): never paid on the page; a recovered timeout after the reconnect; no sale', async () => {
    const page = await k.openKiosk();
    await scanAndPay(k, page, ITEMS.honey.gtin);
    const result = await resultFor(ITEMS.honey.price);
    expect(result).toMatchObject({ status: 'timeout', recovered: true });
    await page.locator('[data-testid="notice"][data-code="payment_timeout"]').waitFor();
    await page.locator(`[data-testid="line"][data-gtin="${ITEMS.honey.gtin}"]`).waitFor();
    expect(await page.getByTestId('pay').isEnabled()).toBe(true);
    expect((await seenOnPage(page)).thanks).toBe(0);
    expect(salesOf(k)).toEqual([]);
    expect(k.zvt.books.transactions.find((t) => t.kind === 'payment' && t.info.amount === ITEMS.honey.price)).toMatchObject({ committed: false, reversed: true });
    await page.close();
  });

  it('committed (dropped right after the register’s ack): thanks once the reconnect confirms it; the sale has the receipt number', async () => {
    // The same cart, paid again with one more item: €5.93 ends in 93.
    const page = await k.openKiosk();
    await page.locator(`[data-testid="line"][data-gtin="${ITEMS.honey.gtin}"]`).waitFor();
    await scanAndPay(k, page, ITEMS.jam.gtin);
    const result = await resultFor(ITEMS.honey.price + ITEMS.jam.price);
    expect(result).toMatchObject({ status: 'approved', recovered: true, amount: ITEMS.honey.price + ITEMS.jam.price });
    await page.getByTestId('thanks').waitFor();
    const sale = await k.event((e) => e.kind === 'kiosk' && e.type === 'transaction', 'the sale').then(dataOf);
    const terminalTx = k.zvt.books.transactions.find((t) => t.kind === 'payment' && t.info.amount === ITEMS.honey.price + ITEMS.jam.price);
    expect(terminalTx).toMatchObject({ committed: true, reversed: false });
    expect(sale).toMatchObject({ total: ITEMS.honey.price + ITEMS.jam.price, payment: { receiptNo: terminalTx!.info.receiptNo, requestId: result.requestId } });
    expect(salesOf(k)).toHaveLength(1);
    await page.getByTestId('new-customer').click();
    await page.getByTestId('welcome').waitFor();
    await page.close();
  });

  it('dropped before the terminal decided: the reconnect finds no such payment; timed out, payable, no sale', async () => {
    const page = await k.openKiosk();
    await scanAndPay(k, page, ITEMS.nuts.gtin);
    expect(await resultFor(ITEMS.nuts.price)).toMatchObject({ status: 'timeout', recovered: true });
    await page.locator('[data-testid="notice"][data-code="payment_timeout"]').waitFor();
    expect(await page.getByTestId('pay').isEnabled()).toBe(true);
    expect((await seenOnPage(page)).thanks).toBe(0);
    expect(salesOf(k)).toHaveLength(1);
    expect(k.zvt.books.transactions.filter((t) => t.kind === 'payment' && t.info.amount === ITEMS.nuts.price)).toEqual([]);
    await page.close();
  });
});
