/**
 * The attendant console in real Chromium, both screens at once: the kiosk PAGE (as a shopper sees
 * it) scans an age-restricted item and shows that it waits for an attendant; the request shows on
 * the ops page's Checkout view; an attendant approves it there; the kiosk page goes on (the wine
 * stays in the cart, the shopper scans the next item). A second case: a bagging-area mismatch on
 * kiosk 2 is overridden from the ops page and the kiosk page clears; a rejected age check takes the
 * item off the kiosk's cart. Each decision is committed as an exact `attendant` record with who and
 * when. A completed card sale is voided from the Checkout view (two clicks, a reason): the
 * terminal reverses it and an exact `saleVoided` record names who and why. A real Mosquitto is HQ
 * (signed catalog and prices), the peripherals are MQTT devices.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { startGateway, TEST_PASSWORDS, TEST_SECRET, type RunningGateway } from '../helpers/gatewayHarness.js';
import { PaymentSim } from '../sim/paymentSim.js';
import { launchBrowser, openOps, screenshot } from '../helpers/browser.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, MEMBERS, Peripherals, PRICES, TOKENS } from './kioskFixture.js';
import { ensureBuilt } from './opsBuild.js';

const signer = createHqSigner({ kid: 'hq-ops-att' });
let hq: Mosquitto;
let g: RunningGateway;
let browser: Browser;
let dev: Peripherals;
let ops: { ctx: BrowserContext; page: Page };
const records: { type: string; data: Record<string, unknown> }[] = [];

beforeAll(async () => {
  // Chromium starts while the store sets up: nothing below needs it before the end.
  const launching = launchBrowser().then((b) => (browser = b));
  ensureBuilt();
  hq = await startMosquitto();
  g = await startGateway({ devices: KIOSK_DEVICES, extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid, { voidNeedsAttendant: true }) });
  g.gw.onEvent((e) => {
    if (e.kind === 'kiosk') records.push({ type: e.type, data: JSON.parse(e.data) as Record<string, unknown> });
  });
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  const prices = g.gw.prices!;
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('members', 'store', 1, MEMBERS);
  await until(prices.changes, 'change', () => prices.sync().feeds.applied >= 3 && prices.priceAt(G.wine) !== null, 10_000, 'feeds applied', () => prices.sync().feeds);
  await feeds.close();
  dev = await Peripherals.connect(g.mqttUrl, KIOSK_DEVICES);
  await launching;
  // The attendant's console stays open for every case, as at a real attendant station.
  ops = await openOps(browser, g.httpUrl, 'attendant', TEST_PASSWORDS.attendant, { hash: '#/checkout' });
  await ops.page.waitForSelector('tr[data-kiosk="k1"]');
});

afterAll(async () => {
  await ops?.ctx.close();
  await browser?.close();
  await dev?.close();
  await g?.stop();
  await hq?.stop();
});

/** The kiosk page of `k` in its own browser context (a kiosk is its own machine). */
async function openKiosk(k: 'k1' | 'k2'): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(10_000);
  await page.goto(`${g.httpUrl}/kiosk/#k=${k}&t=${TOKENS[k]}`);
  await page.locator('[data-conn="online"]').waitFor();
  return { ctx, page };
}

/** The id of the one open request of `kind` at kiosk `k`, as the ops page lists it. */
async function opsRequest(k: string, kind: string): Promise<string> {
  const row = ops.page.locator(`tr[data-kind="${kind}"]`).filter({ hasText: k });
  await row.waitFor();
  return (await row.getAttribute('data-request'))!;
}

const decision = (requestId: string) => records.find((r) => r.type === 'attendant' && r.data.requestId === requestId)?.data;

describe('attendant console', () => {
  it('an attendant approves an age check on the ops page and the kiosk page goes on', async () => {
    const kiosk = await openKiosk('k1');
    await dev.scan('sc-1', G.wine);
    // The shopper's screen says it waits for an attendant; pressing pay explains why it cannot yet.
    await kiosk.page.getByTestId('request-age').waitFor();
    await kiosk.page.getByTestId('pay').click();
    await kiosk.page.locator('[data-testid="notice"][data-code="ageCheck"]').waitFor();
    expect(g.gw.kiosk.view('k1')!.phase).not.toBe('paying');
    await screenshot(kiosk.page, 'kiosk-k1-waits-for-attendant');

    const requestId = await opsRequest('k1', 'age');
    await screenshot(ops.page, 'ops-checkout-age-request');
    await ops.page.click(`tr[data-request="${requestId}"] button:has-text("Approve")`);

    // The kiosk page hears it: the request is gone, the wine is in the cart, the shopper goes on.
    await kiosk.page.getByTestId('request-age').waitFor({ state: 'detached' });
    await kiosk.page.locator(`[data-testid="line"][data-gtin="${G.wine}"]`).waitFor();
    await dev.scan('sc-1', G.bread);
    await kiosk.page.locator(`[data-testid="line"][data-gtin="${G.bread}"]`).waitFor();
    expect(await kiosk.page.getByTestId('total').textContent()).toContain('11.49'); // 8.99 + 2.50
    await screenshot(kiosk.page, 'kiosk-k1-after-approval');

    await ops.page.waitForSelector(`tr[data-request="${requestId}"]`, { state: 'detached' });
    await ops.page.waitForSelector('[role=status]:text("Approved: age at k1")');
    await screenshot(ops.page, 'ops-checkout-approved');
    expect(decision(requestId)).toMatchObject({ decision: 'approved', by: 'attendant', kioskId: 'k1', kind: 'age' });
    expect(Date.parse(String(decision(requestId)!.at))).not.toBeNaN();
    // The shopper changes their mind: a cart with items is voided only with an attendant.
    await kiosk.page.getByTestId('cancel').click();
    await kiosk.page.getByTestId('request-void').waitFor();
    const voidId = await opsRequest('k1', 'void');
    await ops.page.click(`tr[data-request="${voidId}"] button:has-text("Approve")`);
    await kiosk.page.getByTestId('new-customer').click();
    await kiosk.page.locator('.k-app[data-phase="idle"]').waitFor();
    expect(decision(voidId)).toMatchObject({ decision: 'approved', by: 'attendant', kioskId: 'k1', kind: 'void' });
    await kiosk.ctx.close();
  });

  it('a rejected age check takes the item off the kiosk page', async () => {
    const kiosk = await openKiosk('k1');
    await dev.scan('sc-1', G.wine);
    await kiosk.page.getByTestId('request-age').waitFor();
    const requestId = await opsRequest('k1', 'age');
    await ops.page.click(`tr[data-request="${requestId}"] button:has-text("Reject")`);
    await kiosk.page.getByTestId('request-age').waitFor({ state: 'detached' });
    await kiosk.page.locator(`[data-testid="line"][data-gtin="${G.wine}"]`).waitFor({ state: 'detached' });
    await screenshot(kiosk.page, 'kiosk-k1-age-rejected');
    expect(decision(requestId)).toMatchObject({ decision: 'rejected', by: 'attendant', kioskId: 'k1' });
    await kiosk.ctx.close();
  });

  it('a bagging-area mismatch is overridden from the ops page and the kiosk page clears', async () => {
    const kiosk = await openKiosk('k2');
    await dev.weight('bs-2', 0);
    await dev.scan('sc-2', G.milk);
    await kiosk.page.locator(`[data-testid="line"][data-gtin="${G.milk}"]`).waitFor();
    await dev.weight('bs-2', 1035);
    await dev.weight('bs-2', 1800); // something unscanned in the bagging area
    await kiosk.page.getByTestId('request-security').waitFor();
    await kiosk.page.getByTestId('pay').click();
    await kiosk.page.locator('[data-testid="notice"][data-code="needsAttendant"]').waitFor();
    const requestId = await opsRequest('k2', 'security');
    await screenshot(ops.page, 'ops-checkout-security-request');
    await ops.page.click(`tr[data-request="${requestId}"] button:has-text("Approve")`);
    await kiosk.page.getByTestId('request-security').waitFor({ state: 'detached' });
    expect(g.gw.kiosk.view('k2')!.phase).toBe('shopping');
    await screenshot(kiosk.page, 'kiosk-k2-after-override');
    expect(decision(requestId)).toMatchObject({ decision: 'approved', by: 'attendant', kioskId: 'k2', kind: 'security' });
    await kiosk.ctx.close();
  });

  it('an attendant voids a walked-away cart from the kiosk row; the kiosk page shows it ended', async () => {
    const kiosk = await openKiosk('k1');
    await dev.scan('sc-1', G.bread);
    await kiosk.page.locator(`[data-testid="line"][data-gtin="${G.bread}"]`).waitFor();
    const voidButton = ops.page.locator('tr[data-kiosk="k1"] button[data-action="void"]');
    await voidButton.click();
    await expect.poll(() => voidButton.textContent()).toBe('Confirm void'); // one click alone does nothing
    expect(g.gw.kiosk.view('k1')!.phase).toBe('shopping');
    await voidButton.click();
    await kiosk.page.getByTestId('new-customer').waitFor();
    await ops.page.waitForSelector('[role=status]:text("Voided: the transaction at k1")');
    await screenshot(ops.page, 'ops-checkout-voided');
    const rec = records.filter((r) => r.type === 'attendant' && r.data.kind === 'void').at(-1)?.data;
    expect(rec).toMatchObject({ decision: 'approved', by: 'attendant', kioskId: 'k1' });
    // Nothing left to void: the API says why.
    const res = await ops.page.request.post(`${g.httpUrl}/api/attendant/kiosks/k1/void`, { data: {} });
    expect(res.status()).toBe(409);
    expect(((await res.json()) as { message: string }).message).toContain('no open transaction');
    await kiosk.ctx.close();
  });

  it('an attendant voids a completed card sale on the ops page by its receipt number: two clicks, the terminal reverses it', async () => {
    const pay = new PaymentSim({ url: g.mqttUrl, id: 'pay-1', password: TEST_SECRET });
    await pay.start();
    const kiosk = await openKiosk('k1');
    try {
      if (await kiosk.page.getByTestId('new-customer').isVisible()) await kiosk.page.getByTestId('new-customer').click();
      await dev.scan('sc-1', G.bread);
      await kiosk.page.locator(`[data-testid="line"][data-gtin="${G.bread}"]`).waitFor();
      await kiosk.page.getByTestId('pay').click();
      await until(pay.events, 'charge', () => pay.charges.length > 0, 10_000, 'the charge at the terminal');
      await expect.poll(() => records.some((r) => r.type === 'transaction'), { timeout: 10_000 }).toBe(true);
      const sale = records.find((r) => r.type === 'transaction')!.data;
      const form = ops.page.getByTestId('sale-void');
      // The shopper holds the receipt's short number (the thank-you screen shows it): the form finds the sale by it.
      const shortNo = /no\. ([A-Z0-9]+)/.exec((await kiosk.page.getByTestId('receipt-no').textContent()) ?? '')![1]!;
      expect(String(sale.transactionId).replace(/[^A-Za-z0-9]/g, '').toUpperCase().endsWith(shortNo)).toBe(true);
      await form.locator('[data-field="transactionId"]').fill(shortNo.toLowerCase());
      await form.locator('[data-field="reason"]').fill('charged twice');
      const button = form.locator('button[data-action="void-sale"]');
      await button.click();
      await expect.poll(() => button.textContent()).toBe('Confirm void'); // one click alone does nothing
      await button.click();
      await ops.page.getByTestId('sale-void-result').filter({ hasText: 'reversed on the card terminal' }).waitFor();
      await screenshot(ops.page, 'ops-checkout-sale-voided');
      expect(records.filter((r) => r.type === 'saleVoided').map((r) => r.data)).toMatchObject([{ transactionId: sale.transactionId, by: 'attendant', reason: 'charged twice', refund: { kind: 'reversed' } }]);
      await until(pay.events, 'reverse', () => pay.reversals.length === 1, 10_000, 'the reversal at the terminal');
    } finally {
      await kiosk.ctx.close();
      await pay.stop();
    }
  });
});
