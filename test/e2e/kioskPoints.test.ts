/**
 * Points on the kiosk page, in real Chromium against the real gateway: the member's points show on
 * the cart; "Use points" spends what the gateway offers and the total drops by their value; the
 * terminal is charged the rest; the thank-you screen shows the points earned; the Chinese page
 * says the same in Chinese.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { DEFAULT_DEVICES, startGateway, TEST_SECRET, type RunningGateway } from '../helpers/gatewayHarness.js';
import { launchBrowser } from '../helpers/browser.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import { PaymentSim } from '../sim/paymentSim.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, MEMBER, MEMBERS, Peripherals, PRICES, TOKENS } from './kioskFixture.js';

const signer = createHqSigner({ kid: 'hq-points-page' });
let browser: Browser;
let hq: Mosquitto;
let gw: RunningGateway;
let dev: Peripherals;
let pay: PaymentSim;

beforeAll(async () => {
  hq = await startMosquitto({ persistence: false });
  gw = await startGateway({ devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) });
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('members', 'store', 1, MEMBERS);
  await feeds.publish('loyalty', 'store', 1, { mode: 'snapshot', program: 'club', earn: { pointsPerUnit: 1, perMinor: 100 }, spend: { valuePoints: 1, valueMinor: 1, minPoints: 100, maxShareBp: 5000 }, balances: [{ memberId: MEMBER, points: 600, asOf: new Date(Date.now() - 60_000).toISOString() }] });
  const p = gw.gw.prices!;
  await until(p.changes, 'change', () => p.sync().feeds.applied >= 3 && p.currentCatalog().members.has(MEMBER), 10_000, 'price feeds applied');
  await until(gw.gw.kiosk.changes, 'loyalty', () => (gw.gw.kiosk.points.loyaltyFeed?.applied ?? 0) >= 1, 10_000, 'loyalty applied');
  await feeds.close();
  await hq.kill(); // offline from here on
  dev = await Peripherals.connect(gw.mqttUrl, KIOSK_DEVICES);
  pay = new PaymentSim({ url: gw.mqttUrl, id: 'pay-1', password: TEST_SECRET });
  await pay.start();
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await pay?.stop();
  await dev?.close();
  await gw?.stop();
  await hq?.stop();
});

describe('points on the kiosk page', () => {
  it('member card → points shown → Use points → the total drops, the charge is the rest → points earned on the thank-you screen', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${gw.httpUrl}/kiosk/#k=k1&t=${TOKENS.k1}`);
    await page.locator('[data-conn="online"]').waitFor();
    await dev.scan('sc-1', G.shirt);
    await page.locator(`[data-testid="line"][data-gtin="${G.shirt}"]`).waitFor();
    await page.getByTestId('member-open').click();
    await page.getByTestId('member-input').fill(MEMBER);
    await page.getByTestId('member-input').press('Enter');
    await page.getByTestId('points').waitFor();
    expect(await page.getByTestId('points-available').textContent()).toBe('600');
    expect(await page.getByTestId('points-earned').textContent()).toBe('15');
    // Half of 15.00 at most: 750 points would do, the member has 600.
    const use = page.getByTestId('points-use');
    expect(await use.textContent()).toContain('600');
    await use.click();
    await page.locator('[data-testid="notice"][data-code="pointsApplied"]').waitFor();
    await page.getByTestId('total').filter({ hasText: '9.00' }).waitFor();
    expect(await page.getByTestId('points-discount').textContent()).toContain('6.00');
    expect(await page.getByTestId('points-earned').textContent()).toBe('9');

    // The Chinese page offers taking the points back, in Chinese.
    await page.getByTestId('lang').click();
    expect(await page.getByTestId('points-undo').textContent()).toBe('不使用积分');
    await page.getByTestId('lang').click();

    const charged = pay.charges.length;
    await page.getByTestId('pay').click();
    await page.getByTestId('thanks').waitFor();
    expect(pay.charges[charged]!.amount).toBe(900);
    expect(await page.getByTestId('receipt-points').textContent()).toMatch(/: 9$/);
    expect(gw.gw.kiosk.points.available(MEMBER, 'k2')).toBe(9);
    await page.close();
  });
});
