/**
 * Click & collect in real Chromium: HQ (a real Mosquitto) pushes a signed `orders`
 * feed, the WAN goes down, the shopper's pickup code is scanned at the kiosk, the page shows the
 * order, the shopper confirms on the touch screen → one exact `pickup` record; the same code
 * scanned again is refused on screen. Screens are saved under test-artifacts/screenshots/.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { DEFAULT_DEVICES, startGateway, type RunningGateway } from '../helpers/gatewayHarness.js';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, Peripherals, PRICES, TOKENS } from './kioskFixture.js';

const signer = createHqSigner({ kid: 'hq-pickup' });
let hq: Mosquitto;
let gw: RunningGateway;
let browser: Browser;
let dev: Peripherals;
const pickups: Record<string, unknown>[] = [];

beforeAll(async () => {
  // Chromium starts while the store sets up: nothing below needs it before the end.
  const launching = launchBrowser().then((b) => (browser = b));
  hq = await startMosquitto();
  gw = await startGateway({ devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) });
  gw.gw.onEvent((e) => {
    if (e.kind === 'kiosk' && e.type === 'pickup') pickups.push(JSON.parse(e.data) as Record<string, unknown>);
  });
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('orders', 'store', 1, {
    mode: 'snapshot',
    orders: [{ orderId: 'WEB-2001', pickupCode: 'Q7X2K9', customer: 'Li Wei', lines: [{ gtin: G.milk, name: 'Milk 1 L', qty: 2 }, { gtin: G.bread, name: 'Bread', qty: 1 }], total: 508, currency: 'EUR', paidAt: '2026-11-24T18:00:00.000Z' }],
  });
  const of = gw.gw.kiosk.orderFeed!;
  await until(gw.gw.kiosk.changes, 'orders', () => of.applied >= 1, 10_000, 'orders applied', () => of.rejected);
  await feeds.close();
  await hq.kill(); // WAN down: the pickup below is served from kiosk.db
  dev = await Peripherals.connect(gw.mqttUrl, KIOSK_DEVICES);
  await launching;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await dev?.close();
  await gw?.stop();
  await hq?.stop();
});

async function openKiosk(k: 'k1' | 'k2'): Promise<Page> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await page.goto(`${gw.httpUrl}/kiosk/#k=${k}&t=${TOKENS[k]}`);
  await page.locator('[data-conn="online"]').waitFor();
  return page;
}

describe('click & collect in Chromium', () => {
  it('scan the pickup code → the order on screen → confirm → one exact record; used twice → refused on screen', async () => {
    const page = await openKiosk('k1');
    await dev.scan('sc-1', 'PICKUP:Q7X2K9');
    await page.locator('[data-testid="pickup"][data-status="ready"]').waitFor();
    expect(await page.getByTestId('pickup-order').textContent()).toBe('WEB-2001');
    expect(await page.getByTestId('pickup-line').count()).toBe(2);
    expect(await page.getByTestId('pickup-total').textContent()).toContain('5.08');
    await screenshot(page, 'kiosk-pickup-01-order');

    await page.getByTestId('pickup-confirm').click();
    await page.locator('[data-testid="pickup"][data-status="collected"]').waitFor();
    await screenshot(page, 'kiosk-pickup-02-collected');
    expect(pickups).toHaveLength(1);
    expect(pickups[0]).toMatchObject({ kioskId: 'k1', orderId: 'WEB-2001', pickupCode: 'Q7X2K9', total: 508 });

    await page.getByTestId('pickup-close').click();
    await page.getByTestId('welcome').waitFor();

    // The same code again, on the other kiosk: refused with the reason, nothing recorded.
    const page2 = await openKiosk('k2');
    await dev.scan('sc-2', 'PICKUP:Q7X2K9');
    await page2.locator('[data-testid="notice"][data-code="pickupUsed"]').waitFor();
    expect(await page2.getByTestId('notice').textContent()).toMatch(/already used.*WEB-2001/);
    expect(await page2.getByTestId('pickup').count()).toBe(0);
    await screenshot(page2, 'kiosk-pickup-03-used-twice');
    expect(pickups).toHaveLength(1);
  });
});
