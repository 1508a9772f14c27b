/**
 * A coupon on the kiosk page, in real Chromium against a real gateway: the shopper types a
 * coupon code behind the "Coupon" button, the cart shows it with what it takes off (the gateway's
 * number), a second coupon with a minimum spend shows what is missing until the basket reaches
 * it, a refused code is named in the page's language, and paying charges the gateway's total.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { DEFAULT_DEVICES, startGateway, TEST_SECRET, type RunningGateway } from '../helpers/gatewayHarness.js';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import { PaymentSim } from '../sim/paymentSim.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, Peripherals, PRICES, TOKENS } from './kioskFixture.js';

const signer = createHqSigner({ kid: 'hq-coupon-page' });
let browser: Browser;
let hq: Mosquitto;
let gw: RunningGateway;
let dev: Peripherals;
let pay: PaymentSim;
let page: Page;

beforeAll(async () => {
  browser = await launchBrowser();
  hq = await startMosquitto();
  gw = await startGateway({ devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid, { language: 'en' }) });
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  const svc = gw.gw.prices!;
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('coupons', 'all', 1, {
    mode: 'snapshot',
    coupons: [
      { id: 'BREAD', label: { en: 'Bread 50 ct off', zh: '面包减 0.50' }, target: { kind: 'items', gtins: [G.bread] }, amountOff: 50, stacking: 'combinable', use: 'single', codePrefix: 'BR-' },
      { id: 'MIN5', label: { en: '1 € off from 5 €', zh: '满 5 欧减 1 欧' }, target: { kind: 'basket' }, amountOff: 100, minSpend: 500, stacking: 'combinable', use: 'multi', code: 'SPEND5' },
    ],
    revoked: [],
  });
  const coupons = () => gw.gw.kiosk.coupons.feed!;
  await until(svc.changes, 'change', () => svc.priceAt(G.milk) !== null, 10_000, 'catalog applied');
  await until(gw.gw.kiosk.changes, 'coupons', () => coupons().applied >= 1, 10_000, 'coupons applied', () => coupons().rejected);
  await feeds.close();
  dev = await Peripherals.connect(gw.mqttUrl, KIOSK_DEVICES);
  pay = new PaymentSim({ url: gw.mqttUrl, id: 'pay-1', password: TEST_SECRET });
  await pay.start();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${gw.httpUrl}/kiosk/#k=k1&t=${TOKENS.k1}`);
  await page.locator('[data-conn="online"]').waitFor();
}, 60_000);

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await pay?.stop();
  await dev?.close();
  await gw?.stop();
  await hq?.stop();
});

async function typeCoupon(code: string): Promise<void> {
  await page.getByTestId('coupon-open').click();
  await page.getByTestId('coupon-input').fill(code);
  await page.getByTestId('coupon-input').press('Enter');
}

const text = async (testId: string) => ((await page.getByTestId(testId).first().textContent()) ?? '').replace(/\s/g, ' ');

describe('a coupon on the kiosk page', () => {
  it('typed behind the Coupon button, shown with its amount; a minimum spend shows what is missing until reached', async () => {
    await dev.scan('sc-1', G.bread);
    await page.locator('[data-testid="line"]').first().waitFor();
    await typeCoupon('br-0042');
    await page.locator('[data-testid="coupon"][data-coupon="BREAD"][data-applied="true"]').waitFor();
    expect(await text('coupon-amount')).toContain('0.50');
    expect(await text('total')).toContain('2.00');
    await typeCoupon('SPEND5');
    const min5 = page.locator('[data-testid="coupon"][data-coupon="MIN5"]');
    await min5.and(page.locator('[data-applied="false"]')).waitFor();
    expect(await page.getByTestId('notice').getAttribute('data-code')).toBe('couponNotApplied_minSpend');
    // 5.00 needed, 2.50 in the basket (before coupons).
    expect(((await min5.getByTestId('coupon-reason').textContent()) ?? '').replace(/\s/g, ' ')).toMatch(/minimum spend.*2\.50 more to go/);
    await dev.scan('sc-1', G.bread);
    await min5.and(page.locator('[data-applied="true"]')).waitFor();
    expect(await text('total')).toContain('3.50');
    await screenshot(page, 'kiosk-coupons');
  });

  it('a code not known is named on the page', async () => {
    await typeCoupon('NOSUCH1');
    await page.locator('[data-testid="notice"][data-code="coupon_unknown"]').waitFor();
    expect(await text('notice')).toBe('This coupon is not known.');
  });

  it('paying charges the gateway total with the coupons off', async () => {
    await page.getByTestId('pay').click();
    await until(gw.gw.kiosk.changes, 'view', () => gw.gw.kiosk.view('k1')!.phase === 'done', 10_000, 'the sale');
    expect(gw.gw.kiosk.view('k1')!.receipt?.total).toBe(350);
    expect(pay.charges.at(-1)?.amount).toBe(350);
  });
});
