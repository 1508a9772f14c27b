/**
 * Money and language, in real Chromium against real gateways: a store selling in KWD
 * (3 minor digits) and one in JPY (none) show cart, receipt and charge right; the kiosk page goes
 * back to the store's language when a session ends and when an idle page is left; gateway notices
 * show in Chinese on the Chinese page; the ops page switches to Chinese and remembers it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { DEFAULT_DEVICES, startGateway, TEST_PASSWORDS, TEST_SECRET, type RunningGateway } from '../helpers/gatewayHarness.js';
import { launchBrowser, openOps, screenshot } from '../helpers/browser.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import { PaymentSim } from '../sim/paymentSim.js';
import { gtinCheckDigit } from '../../gateway/kiosk/barcodes.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, Peripherals, TOKENS } from './kioskFixture.js';

interface Store {
  hq: Mosquitto;
  gw: RunningGateway;
  dev: Peripherals;
  pay: PaymentSim;
}

const signer = createHqSigner({ kid: 'hq-lang' });
let browser: Browser;

async function startStore(currency: string, prices: Record<string, number>, more: Record<string, unknown> = {}): Promise<Store> {
  const hq = await startMosquitto();
  const gw = await startGateway({ devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid, { currency, ...more }) });
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  const svc = gw.gw.prices!;
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, { mode: 'snapshot', currency, prices: Object.entries(prices).map(([gtin, price]) => ({ gtin, price })), promotions: [] });
  await until(svc.changes, 'change', () => svc.sync().feeds.applied >= 2 && svc.priceAt(G.milk) !== null, 10_000, 'feeds applied', () => svc.sync().feeds);
  await feeds.close();
  const dev = await Peripherals.connect(gw.mqttUrl, KIOSK_DEVICES);
  const pay = new PaymentSim({ url: gw.mqttUrl, id: 'pay-1', password: TEST_SECRET });
  await pay.start();
  return { hq, gw, dev, pay };
}

async function stopStore(s: Store | undefined): Promise<void> {
  await s?.pay.stop();
  await s?.dev.close();
  await s?.gw.stop();
  await s?.hq.stop();
}

async function openKiosk(s: Store): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${s.gw.httpUrl}/kiosk/#k=k1&t=${TOKENS.k1}`);
  await page.locator('[data-conn="online"]').waitFor();
  return page;
}

const text = async (page: Page, testId: string) => ((await page.getByTestId(testId).first().textContent()) ?? '').replace(/\s/g, ' ');

/** A GTIN-13 with a right check digit that no catalog item has. */
const UNKNOWN = (() => {
  const body = '400000000999';
  return body + String(gtinCheckDigit(body));
})();

let kwd: Store;
let jpy: Store;

// The browser and both stores start at once: they share nothing.
beforeAll(async () => {
  const started = await Promise.allSettled([
    launchBrowser().then((b) => (browser = b)),
    // milk 1.250 KWD, bread 2.505 KWD
    startStore('KWD', { [G.milk]: 1250, [G.bread]: 2505, [G.wine]: 899, [G.apples]: 299, [G.cheese]: 1490, [G.shirt]: 1500 }, { language: 'en', languageIdleMs: 1500 }).then((s) => (kwd = s)),
    // milk ¥150, bread ¥1,500: minor units are yen.
    startStore('JPY', { [G.milk]: 150, [G.bread]: 1500, [G.wine]: 2000, [G.apples]: 400, [G.cheese]: 3000, [G.shirt]: 2500 }).then((s) => (jpy = s)),
  ]);
  for (const r of started) if (r.status === 'rejected') throw r.reason;
});

afterAll(async () => {
  await stopStore(kwd);
  await stopStore(jpy);
  await browser?.close();
});

describe('a KWD store (3 minor digits), default language English', () => {
  let s: Store;
  beforeAll(() => {
    s = kwd;
  });

  it('cart, receipt and charge carry three decimals (5.005, not 50.05)', async () => {
    const page = await openKiosk(s);
    await s.dev.scan('sc-1', G.milk);
    await s.dev.scan('sc-1', G.milk);
    await s.dev.scan('sc-1', G.bread);
    await page.locator(`[data-testid="line"][data-gtin="${G.bread}"]`).waitFor();
    await page.getByTestId('total').filter({ hasText: '5.005' }).waitFor();
    expect(await text(page, 'total')).toMatch(/^KWD 5\.005$/);
    expect(await page.getByTestId('line-price').allTextContents()).toEqual(['KWD\u00a02.500', 'KWD\u00a02.505']);
    await page.getByTestId('pay').click();
    await page.getByTestId('thanks').waitFor();
    expect(await text(page, 'receipt-total')).toMatch(/KWD 5\.005$/);
    expect(s.pay.charges.at(-1)).toMatchObject({ amount: 5005, currency: 'KWD' });
    await screenshot(page, 'lang-kwd-receipt');
    await page.getByTestId('new-customer').click();
    await page.getByTestId('welcome').waitFor();
    await page.close();
  });

  it('a shopper\'s Chinese ends with their session: the next shopper sees English', async () => {
    const page = await openKiosk(s);
    await s.dev.scan('sc-1', G.milk);
    await page.locator(`[data-testid="line"][data-gtin="${G.milk}"]`).waitFor();
    await page.getByTestId('lang').click();
    await page.locator('.k-app[lang="zh-CN"]').waitFor();
    expect(await page.locator('h1').textContent()).toContain('自助结账');
    await page.getByTestId('pay').click();
    await page.getByTestId('thanks').waitFor();
    expect(await page.getByTestId('thanks').locator('h2').textContent()).toBe('谢谢惠顾！');
    const before = s.gw.gw.kiosk.view('k1')!.sessionId;
    await page.getByTestId('new-customer').click();
    // A new session: the store's default language again (the old page kept the last shopper's).
    await page.locator('.k-app[lang="en"]').waitFor();
    expect(s.gw.gw.kiosk.view('k1')!.sessionId).not.toBe(before);
    expect(await text(page, 'welcome')).toBe('Welcome! Scan your first item to start');
    // A reload does not bring the old shopper's language back.
    await page.reload();
    await page.locator('[data-conn="online"]').waitFor();
    expect(await page.locator('.k-app').getAttribute('lang')).toBe('en');
    await page.close();
  });

  it('a language picked on an idle page and left alone goes back to the default', async () => {
    const page = await openKiosk(s);
    await page.getByTestId('welcome').waitFor();
    await page.getByTestId('lang').click();
    await page.locator('.k-app[lang="zh-CN"]').waitFor();
    expect(await text(page, 'welcome')).toBe('欢迎！请扫描第一件商品开始');
    // languageIdleMs is 1.5 s in this store: waits for the page to switch, not for a clock.
    await page.locator('.k-app[lang="en"]').waitFor({ timeout: 15_000 });
    expect(await text(page, 'welcome')).toBe('Welcome! Scan your first item to start');
    await page.close();
  });

  it('gateway notices show in Chinese on the Chinese page (unknown item, a price label in euros)', async () => {
    const page = await openKiosk(s);
    await s.dev.scan('sc-1', G.milk);
    await page.locator(`[data-testid="line"][data-gtin="${G.milk}"]`).waitFor();
    await page.getByTestId('lang').click();
    await page.locator('.k-app[lang="zh-CN"]').waitFor();
    await s.dev.scan('sc-1', UNKNOWN);
    await page.locator('[data-testid="notice"][data-code="unknownItem"]').waitFor();
    expect(await text(page, 'notice')).toBe('未找到该商品，已呼叫帮助。');
    // GS1 (01) + (3932) in euros (978) at a KWD store: refused, said in Chinese, nothing added.
    const gtin14 = '0' + G.cheese;
    await s.dev.scan('sc-1', `]C101${gtin14}3932978${'0299'}`);
    await page.locator('[data-testid="notice"][data-code="wrongCurrency"]').waitFor();
    const notice = await text(page, 'notice');
    expect(notice).toContain('EUR');
    expect(notice).toMatch(/[\u4e00-\u9fff]/);
    expect(s.gw.gw.kiosk.view('k1')!.lines.map((l) => l.gtin)).toEqual([G.milk]);
    // Counted: one refusal for the currency.
    expect(await s.gw.gw.metrics.registry.getSingleMetricAsString('storegw_kiosk_scans_refused_total')).toMatch(/reason="currency"\} 1/);
    await screenshot(page, 'lang-zh-notice');
    await page.getByTestId('cancel').click();
    await page.getByTestId('new-customer').click();
    await page.locator('.k-app[lang="en"]').waitFor();
    await page.close();
  });

  it('the ops page switches to Chinese, formats the kiosk total in KWD, and remembers the choice', async () => {
    const kiosk = await openKiosk(s);
    await s.dev.scan('sc-1', G.milk);
    await kiosk.locator(`[data-testid="line"][data-gtin="${G.milk}"]`).waitFor();
    const { ctx, page } = await openOps(browser, s.gw.httpUrl, 'attendant', TEST_PASSWORDS.attendant, { hash: '#/checkout' });
    await page.locator('tr[data-kiosk="k1"][data-phase="shopping"]').waitFor();
    expect(await page.locator('nav').textContent()).toContain('Checkout');
    await page.getByTestId('ops-lang').click();
    await page.locator('[data-testid="ops-lang"][data-lang="zh"]').waitFor();
    expect(await page.locator('nav').textContent()).toContain('收银');
    expect(await page.locator('html').getAttribute('lang')).toBe('zh-CN');
    expect(await page.locator('tr[data-kiosk="k1"] td').nth(2).textContent()).toBe('购物中');
    expect((await page.locator('tr[data-kiosk="k1"] td[data-col="total"]').textContent())?.replace(/\s/g, ' ')).toMatch(/KWD 1\.250$/);
    await screenshot(page, 'lang-ops-zh');
    await page.reload();
    await page.locator('[data-testid="ops-lang"][data-lang="zh"]').waitFor();
    expect(await page.locator('h2').first().textContent()).toBe('收银');
    await page.getByTestId('ops-lang').click();
    await page.locator('nav a:has-text("Checkout")').waitFor();
    await ctx.close();
    await kiosk.getByTestId('cancel').click();
    await kiosk.getByTestId('new-customer').click();
    await kiosk.close();
  });
});

describe('a JPY store (no minor digits)', () => {
  let s: Store;
  beforeAll(() => {
    s = jpy;
  });

  it('cart, receipt and charge in whole yen (¥1,650, not ¥16.50)', async () => {
    const page = await openKiosk(s);
    await s.dev.scan('sc-1', G.milk);
    await s.dev.scan('sc-1', G.bread);
    await page.locator(`[data-testid="line"][data-gtin="${G.bread}"]`).waitFor();
    await page.getByTestId('total').filter({ hasText: '1,650' }).waitFor();
    expect(await text(page, 'total')).toMatch(/^(JP)?¥1,650$/);
    expect(await page.getByTestId('line-price').allTextContents()).toEqual([expect.stringMatching(/¥150$/), expect.stringMatching(/¥1,500$/)]);
    await page.getByTestId('pay').click();
    await page.getByTestId('thanks').waitFor();
    expect(await text(page, 'receipt-total')).toMatch(/¥1,650$/);
    expect(s.pay.charges.at(-1)).toMatchObject({ amount: 1650, currency: 'JPY' });
    await screenshot(page, 'lang-jpy-receipt');
    await page.close();
  });
});
