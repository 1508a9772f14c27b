/**
 * Kiosk k1's receipt printer runs out of paper (the ESC/POS simulator reports it in its real-time
 * status), in real Chromium: a card sale on the ZVT terminal still completes and is recorded, the
 * print is refused ("paper out"), and the attendant sees the printer's alert on the ops page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_PASSWORDS } from '../helpers/gatewayHarness.js';
import { openOps, screenshot } from '../helpers/browser.js';
import { dataOf, ITEMS, salesOf, scanAndPay, startCardKiosk, type CardKiosk } from './cardKioskFixture.js';

let k: CardKiosk;

beforeAll(async () => {
  k = await startCardKiosk({ zvtThinkMs: 50 });
}, 30_000);

afterAll(async () => {
  await k?.stop();
});

describe('kiosk k1 with its receipt printer out of paper', () => {
  it('the sale still completes; the print is refused; the ops page shows the attendant the alert', async () => {
    k.printer.setPaper('out');
    await k.event((e) => e.kind === 'printer' && e.type === 'alert' && dataOf(e).code === 'PRINTER_PAPER_OUT', 'the paper-out alert');

    const page = await k.openKiosk();
    await scanAndPay(k, page, ITEMS.coffee.gtin);
    await page.getByTestId('thanks').waitFor();
    const sale = await k.event((e) => e.kind === 'kiosk' && e.type === 'transaction', 'the sale').then(dataOf);
    expect(sale).toMatchObject({ total: ITEMS.coffee.price, payment: { amount: ITEMS.coffee.price, receiptNo: expect.stringMatching(/^[0-9]+$/) } });
    expect(salesOf(k)).toHaveLength(1);
    const nack = await k.event((e) => e.kind === 'printer' && e.type === 'ack' && dataOf(e).ok === false, 'the refused print').then(dataOf);
    expect(nack).toMatchObject({ ok: false, error: 'paper out' });
    // Nothing reached the paper.
    expect(k.printer.receipts.flatMap((r) => r.lines)).toEqual([]);
    await page.close();

    const { ctx, page: ops } = await openOps(k.browser, k.gw.httpUrl, 'attendant', TEST_PASSWORDS.attendant, { hash: '#/checkout' });
    const badge = ops.locator('tr[data-kiosk="k1"] [data-peripheral="pr-1"]');
    await badge.locator('[data-paper="out"]').waitFor();
    expect(await badge.textContent()).toContain('out of paper');
    await ops.goto(`${k.gw.httpUrl}/ops/#/uplink`);
    const row = ops.locator('tr[data-code="PRINTER_PAPER_OUT"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('printer/pr-1');
    await screenshot(ops, 'ops-zvt-kiosk-printer-out');
    await ctx.close();
  });
});
