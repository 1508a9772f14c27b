/**
 * The card terminal's prompts in real Chromium: the paying screen shows "Insert card", then "Enter
 * PIN" as the terminal (the MQTT payment simulator) reports them, in Chinese on a Chinese page, and
 * thanks the shopper once the approval is recorded. On the ops page an admin runs the terminal's
 * end of day with two clicks and sees its totals. Real gateway, real Mosquitto as HQ.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { DEFAULT_DEVICES, startGateway, TEST_PASSWORDS, TEST_SECRET, type RunningGateway } from '../helpers/gatewayHarness.js';
import { launchBrowser, openOps, screenshot } from '../helpers/browser.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import { PaymentSim } from '../sim/paymentSim.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, MEMBERS, Peripherals, PRICES, TOKENS } from './kioskFixture.js';

const signer = createHqSigner({ kid: 'hq-prompts' });
let hq: Mosquitto;
let gw: RunningGateway;
let browser: Browser;
let dev: Peripherals;
let pay: PaymentSim;

const prompt = (page: Page) => page.getByTestId('pay-prompt');

/** Scans milk and presses Pay on the page; resolves with the charge the terminal got. */
async function payForMilk(page: Page): Promise<{ requestId: string; amount: number }> {
  await dev.scan('sc-1', G.milk);
  await page.locator(`[data-testid="line"][data-gtin="${G.milk}"]`).waitFor();
  const charge = new Promise<{ requestId: string; amount: number }>((resolve) => pay.events.once('charge', resolve));
  await page.getByTestId('pay').click();
  await page.getByTestId('paying').waitFor();
  return charge;
}

beforeAll(async () => {
  // Chromium starts while the store sets up: nothing below needs it before the end.
  const launching = launchBrowser().then((b) => (browser = b));
  hq = await startMosquitto();
  gw = await startGateway({ devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) });
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  const prices = gw.gw.prices!;
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('members', 'store', 1, MEMBERS);
  await until(prices.changes, 'change', () => prices.sync().feeds.applied >= 3 && prices.priceAt(G.milk) !== null, 10_000, 'feeds applied', () => prices.sync().feeds);
  await feeds.close();
  dev = await Peripherals.connect(gw.mqttUrl, KIOSK_DEVICES.filter((d) => d.id === 'sc-1'));
  pay = new PaymentSim({ url: gw.mqttUrl, id: 'pay-1', password: TEST_SECRET });
  pay.mode = 'silent'; // the test plays the terminal's steps
  await pay.start();
  await launching;
});

afterAll(async () => {
  await browser?.close();
  await pay?.stop();
  await dev?.close();
  await gw?.stop();
  await hq?.stop();
});

describe("the card terminal's prompts on the kiosk page", () => {
  it('the paying screen shows "Insert card", then "Enter PIN" from the terminal, then thanks the shopper', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${gw.httpUrl}/kiosk/#k=k1&t=${TOKENS.k1}`);
    await page.locator('[data-conn="online"]').waitFor();
    const c = await payForMilk(page);
    expect(await prompt(page).count()).toBe(0); // nothing from the terminal yet: the general hint only

    await pay.status(c.requestId, 'insertCard', 0x0a);
    await prompt(page).and(page.locator('[data-prompt="insertCard"]')).waitFor();
    expect(await prompt(page).textContent()).toBe('Insert card');
    await screenshot(page, 'kiosk-prompt-insert-card');
    // Another request's prompt (an earlier charge's late status) does not replace it.
    await pay.status('an-earlier-charge', 'removeCard', 0x0b);
    await pay.status(c.requestId, 'enterPin', 0x01);
    await prompt(page).and(page.locator('[data-prompt="enterPin"]')).waitFor();
    expect(await prompt(page).textContent()).toBe('Enter PIN');
    await screenshot(page, 'kiosk-prompt-enter-pin');

    await pay.result(c.requestId, 'approved', c.amount, 'EUR');
    await page.getByTestId('thanks').waitFor();
    expect(await prompt(page).count()).toBe(0);
    await page.getByTestId('new-customer').click();
    await page.getByTestId('welcome').waitFor();
    await page.close();
  });

  it('a Chinese page says the prompt in Chinese', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${gw.httpUrl}/kiosk/#k=k1&t=${TOKENS.k1}`);
    await page.locator('[data-conn="online"]').waitFor();
    await dev.scan('sc-1', G.bread);
    await page.locator(`[data-testid="line"][data-gtin="${G.bread}"]`).waitFor();
    await page.getByTestId('lang').click();
    await page.locator('.k-app[lang="zh-CN"]').waitFor();
    const c = await payForMilk(page);
    await pay.status(c.requestId, 'enterPin', 0x01);
    await prompt(page).waitFor();
    expect(await prompt(page).textContent()).toBe('请输入密码');
    await pay.result(c.requestId, 'approved', c.amount, 'EUR');
    await page.getByTestId('thanks').waitFor();
    await page.close();
  });

  it("an admin runs the terminal's end of day from the ops page with two clicks and sees its totals", async () => {
    const { ctx, page } = await openOps(browser, gw.httpUrl, 'admin', TEST_PASSWORDS.admin, { hash: '#/devices' });
    await page.click('tr[data-device="payment/pay-1"] a');
    const box = page.locator('[data-detail="payment/pay-1"] [data-testid="end-of-day"]');
    await box.locator('[data-testid="end-of-day-none"]').waitFor();
    const button = box.locator('[data-action="end-of-day"]');
    const answered = new Promise<Record<string, unknown>>((resolve) => pay.events.once('endOfDay', resolve));
    await button.click(); // arms only
    expect(await button.textContent()).toBe('Confirm: close the card batch now');
    expect(pay.endOfDays).toHaveLength(0);
    await button.click();
    await box.locator('[data-testid="end-of-day-result"]').waitFor();
    const sent = await answered;
    expect(sent).toMatchObject({ ok: true, count: 2, currency: 'EUR' });
    // The page shows the terminal's answer once the live feed carries it.
    const last = box.locator('[data-testid="end-of-day-last"][data-ok="true"]');
    await last.waitFor({ timeout: 20_000 });
    expect(await last.getAttribute('data-count')).toBe('2');
    expect(await last.getAttribute('data-total')).toBe(String(sent.totalAmount));
    await screenshot(page, 'ops-end-of-day');
    await ctx.close();
  });
});
