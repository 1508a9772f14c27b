/**
 * The thank-you screen in real Chromium against a real gateway: after a paid sale it shows the
 * total of the recorded sale and the QR of the digital receipt. The QR is checked by its content:
 * the page's SVG modules equal what qrcode-generator draws for the e-receipt URL of the transaction
 * the gateway committed (to the outbox, what HQ gets), and that matrix is read back module by
 * module from the SVG path. "Print receipt" is offered (a printer, `print: ask`) and answered; axe
 * finds no serious or critical violation on the screen.
 */
import { createRequire } from 'node:module';
import qrcode from 'qrcode-generator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { G, TOKENS } from './kioskFixture.js';
import { startProduceStore, stopProduceStore, type ProduceStore } from './produceFixture.js';
import type { NewEvent } from '../../gateway/outbox/store.js';
import { darkModules, modulesOfPath } from './receiptQr.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const QR_URL = 'https://receipts.example/r/{transactionId}';

let browser: Browser;
let s: ProduceStore;
let page: Page;
const committed: NewEvent[] = [];

/** axe-core on the page as it is now: its serious and critical violations. */
async function runAxe(): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const r = await (window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<{ violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[] }> } }).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    });
    return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}

beforeAll(async () => {
  const devices = {
    k1: { scanner: 'sc-1', produceScale: 'ps-1', rfid: 'rf-1', light: 'lt-1', payment: 'pay-1', printer: 'pr-1' },
    k2: { scanner: 'sc-2', baggingScale: 'bs-2', light: 'lt-2', payment: 'pay-2' },
  };
  [browser, s] = await Promise.all([launchBrowser(), startProduceStore({ devices, receipt: { print: 'ask', qrUrl: QR_URL } })]);
  s.gw.gw.onEvent((e) => void committed.push(e));
  // The page's CSP allows only its own scripts: axe is injected as the test's, not the page's.
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
  page = await ctx.newPage();
  page.setDefaultTimeout(8000);
  await page.goto(`${s.gw.httpUrl}/kiosk/#k=k1&t=${TOKENS.k1}`);
  await page.locator('[data-conn="online"]').waitFor();
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await stopProduceStore(s);
});

describe('the thank-you screen', () => {
  it('shows the recorded total and the QR of this transaction\'s digital receipt; Print receipt once; axe clean', async () => {
    await s.dev.scan('sc-1', G.milk);
    await s.dev.scan('sc-1', G.bread);
    await page.locator('[data-testid="line"]').nth(1).waitFor();
    await page.getByTestId('pay').click();
    await page.getByTestId('thanks').waitFor();
    await page.getByTestId('receipt-qr').waitFor();

    // The sale the gateway committed (the outbox's record) names the transaction.
    const txId = (await page.getByTestId('transaction-id').textContent())!;
    const recs = committed.filter((e) => e.kind === 'kiosk' && e.type === 'transaction').map((e) => JSON.parse(e.data) as { transactionId: string; total: number });
    expect(recs).toHaveLength(1);
    expect(recs[0].transactionId).toBe(txId);
    expect(await page.getByTestId('receipt-total').textContent()).toBe(`Total: €${(recs[0].total / 100).toFixed(2)}`);
    expect(recs[0].total).toBe(129 + 250);

    const expectedUrl = QR_URL.replace('{transactionId}', encodeURIComponent(recs[0].transactionId));
    expect(expectedUrl).toContain(recs[0].transactionId);
    expect(await page.getByTestId('receipt-qr').getAttribute('data-url')).toBe(expectedUrl);

    // qrcode-generator's drawing of the expected URL, and the page's SVG, compared module by module.
    const qr = qrcode(0, 'M');
    qr.addData(expectedUrl, 'Byte');
    qr.make();
    const svg = qr.createSvgTag({ cellSize: 4, margin: 16, scalable: true });
    const expectedPath = /<path d="([^"]+)"/.exec(svg)![1];
    const pagePath = (await page.locator('[data-testid="receipt-qr"] svg path').getAttribute('d'))!;
    expect(pagePath).toBe(expectedPath);
    const pageViewBox = await page.locator('[data-testid="receipt-qr"] svg').getAttribute('viewBox');
    expect(pageViewBox).toBe(/viewBox="([^"]+)"/.exec(svg)![1]);
    expect(modulesOfPath(pagePath, 4, 16)).toEqual(darkModules(expectedUrl));

    // No UUID as the headline: the short number is shown, the full id only in small print.
    expect(await page.locator('[data-testid="thanks"] h2').textContent()).toBe('Thank you!');
    expect(await page.getByTestId('receipt-no').textContent()).toMatch(/^Receipt no\. [0-9A-Z]{1,8}$/);
    expect(await page.getByTestId('receipt-card').textContent()).toMatch(/^Paid by card: .+\*+\d{4}$/);

    expect(await runAxe()).toEqual([]);
    await screenshot(page, 'receipt-thanks-en');

    await page.getByTestId('print-receipt').click();
    await page.getByTestId('receipt-printed').waitFor();
    expect(await page.getByTestId('print-receipt').count()).toBe(0);

    // The same screen in Chinese: its words, the same QR, and still nothing serious for axe.
    await page.getByTestId('lang').click();
    await page.locator('.k-app[lang="zh-CN"]').waitFor();
    expect(await page.getByTestId('receipt-no').textContent()).toMatch(/^收据号 [0-9A-Z]{1,8}$/);
    expect(await page.getByTestId('receipt-qr').locator('figcaption').textContent()).toBe('扫码获取电子收据');
    expect(await page.locator('[data-testid="receipt-qr"] svg path').getAttribute('d')).toBe(expectedPath);
    expect(await runAxe()).toEqual([]);
    await screenshot(page, 'receipt-thanks-zh');
  });
});
