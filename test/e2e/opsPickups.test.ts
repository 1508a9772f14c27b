/**
 * Click & collect tasks in real Chromium: the shopper confirms a pickup on the kiosk PAGE,
 * which then says someone is bringing the order; the order appears as a task on the ops page's
 * Checkout view in two open tabs (live, through the SSE feed); an attendant presses "Handed over" in
 * one, the task leaves both, and one exact `handover` record holds who and when. A real Mosquitto is
 * HQ (the signed orders feed), the scanner is an MQTT device.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { startGateway, TEST_PASSWORDS, type RunningGateway } from '../helpers/gatewayHarness.js';
import { launchBrowser, openOps, screenshot } from '../helpers/browser.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import { KIOSK_DEVICES, kioskExtra, Peripherals, TOKENS } from './kioskFixture.js';
import { ensureBuilt } from './opsBuild.js';

const signer = createHqSigner({ kid: 'hq-ops-pickups' });
let hq: Mosquitto;
let g: RunningGateway;
let browser: Browser;
let dev: Peripherals;
const handovers: Record<string, unknown>[] = [];

beforeAll(async () => {
  // Chromium starts while the store sets up: nothing below needs it before the end.
  const launching = launchBrowser().then((b) => (browser = b));
  ensureBuilt();
  hq = await startMosquitto();
  g = await startGateway({ devices: KIOSK_DEVICES, extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) });
  g.gw.onEvent((e) => {
    if (e.kind === 'kiosk' && e.type === 'handover') handovers.push(JSON.parse(e.data) as Record<string, unknown>);
  });
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('orders', 'store', 1, {
    mode: 'snapshot',
    orders: [{ orderId: 'WEB-3001', pickupCode: 'Q7X2K9', customer: 'Li Wei', lines: [{ name: 'Milk 1 L', qty: 2 }, { name: 'Bread', qty: 1 }], total: 508, currency: 'EUR', paidAt: '2026-11-24T18:00:00.000Z' }],
  });
  const of = g.gw.kiosk.orderFeed!;
  await until(g.gw.kiosk.changes, 'orders', () => of.applied >= 1, 10_000, 'orders applied', () => of.rejected);
  await feeds.close();
  dev = await Peripherals.connect(g.mqttUrl, KIOSK_DEVICES.filter((d) => d.kind === 'scanner'));
  await launching;
});

afterAll(async () => {
  await browser?.close();
  await dev?.close();
  await g?.stop();
  await hq?.stop();
});

async function openKiosk(): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${g.httpUrl}/kiosk/#k=k1&t=${TOKENS.k1}`);
  await page.locator('[data-conn="online"]').waitFor();
  return { ctx, page };
}

describe('click & collect tasks on the ops page', () => {
  it('appears when a kiosk confirms the pickup, and leaves every tab once handed over', async () => {
    const ops = await openOps(browser, g.httpUrl, 'attendant', TEST_PASSWORDS.attendant, { hash: '#/checkout' });
    const other = await openOps(browser, g.httpUrl, 'admin', TEST_PASSWORDS.admin, { hash: '#/checkout' });
    await ops.page.locator('[data-pickups="empty"]').waitFor();
    await other.page.locator('[data-pickups="empty"]').waitFor();

    const kiosk = await openKiosk();
    await dev.scan('sc-1', 'PICKUP:Q7X2K9');
    await kiosk.page.locator('[data-testid="pickup"][data-status="ready"]').waitFor();
    await kiosk.page.getByTestId('pickup-confirm').click();
    await kiosk.page.locator('[data-testid="pickup"][data-status="collected"]').waitFor();
    const notice = kiosk.page.locator('[data-testid="notice"][data-code="pickupBringing"]');
    await notice.waitFor();
    expect(await notice.textContent()).toContain('Someone from the store is bringing your order');
    await screenshot(kiosk.page, 'kiosk-pickup-bringing');

    // Live: neither ops page reloads or polls this panel.
    const row = ops.page.locator('tr[data-pickup="WEB-3001"]');
    await row.waitFor();
    await other.page.locator('tr[data-pickup="WEB-3001"]').waitFor();
    const cells = await row.locator('td').allTextContents();
    expect(cells.slice(0, 4)).toEqual(['WEB-3001', 'Li Wei', '3 (2 lines)', 'k1']);
    expect(cells[4]).toMatch(/\(\d+ s ago\)/);
    await screenshot(ops.page, 'ops-checkout-pickup-task');

    await row.locator('button[data-action="handover"]').click();
    await row.waitFor({ state: 'detached' });
    await other.page.locator('tr[data-pickup="WEB-3001"]').waitFor({ state: 'detached' });
    await ops.page.locator('[data-testid="pickup-note"]:text("Handed over: order WEB-3001 (kiosk k1)")').waitFor();
    await ops.page.locator('[data-pickups="empty"]').waitFor();
    await screenshot(ops.page, 'ops-checkout-pickup-handed-over');
    expect(handovers).toHaveLength(1);
    expect(handovers[0]).toMatchObject({ orderId: 'WEB-3001', kioskId: 'k1', by: 'attendant' });
    expect(Date.now() - Date.parse(String(handovers[0].at))).toBeLessThan(60_000);

    await kiosk.ctx.close();
    await other.ctx.close();
    await ops.ctx.close();
  });
});
