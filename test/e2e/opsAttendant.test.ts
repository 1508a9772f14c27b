/**
 * The attendant console in real Chromium: a kiosk session (over the kiosk's own WebSocket, as the
 * kiosk page talks to the gateway) scans an age-restricted item and waits; the request shows on
 * the ops page's Checkout view; an attendant approves it there; the kiosk's session goes on and
 * the decision is committed as an exact `attendant` record with who and when. A real Mosquitto is
 * HQ (signed catalog and prices), the scanner is an MQTT peripheral.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { Browser } from 'playwright-core';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { startGateway, TEST_PASSWORDS, type RunningGateway } from '../helpers/gatewayHarness.js';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import type { CartView } from '../../gateway/protocol/schemas/kiosk.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, MEMBERS, Peripherals, PRICES, TOKENS } from './kioskFixture.js';
import { ensureBuilt } from './opsBuild.js';

const signer = createHqSigner({ kid: 'hq-ops-att' });
let hq: Mosquitto;
let g: RunningGateway;
let browser: Browser;
let dev: Peripherals;
const records: { type: string; data: Record<string, unknown> }[] = [];

beforeAll(async () => {
  ensureBuilt();
  hq = await startMosquitto();
  g = await startGateway({ devices: KIOSK_DEVICES, extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) });
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
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await dev?.close();
  await g?.stop();
  await hq?.stop();
});

/** The kiosk's side: its WebSocket, and the last cart view the gateway sent it. */
async function kioskSocket(kioskId: 'k1', token: string): Promise<{ ws: WebSocket; views: CartView[]; next: (pred: (v: CartView) => boolean) => Promise<CartView> }> {
  const ws = new WebSocket(`${g.httpUrl.replace('http', 'ws')}/ws/kiosk`);
  const views: CartView[] = [];
  const waiters: { pred: (v: CartView) => boolean; resolve: (v: CartView) => void }[] = [];
  ws.on('message', (raw) => {
    const m = JSON.parse(raw.toString()) as CartView | { type: string };
    if (m.type !== 'cart') return;
    const v = m as CartView;
    views.push(v);
    for (const w of waiters.splice(0)) if (w.pred(v)) w.resolve(v);
    else waiters.push(w);
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'hello', kioskId, token }));
  const next = (pred: (v: CartView) => boolean) => {
    const seen = views.at(-1);
    if (seen && pred(seen)) return Promise.resolve(seen);
    return new Promise<CartView>((resolve) => waiters.push({ pred, resolve }));
  };
  return { ws, views, next };
}

describe('attendant console', () => {
  it('an attendant approves an age check on the ops page and the kiosk session goes on', async () => {
    const kiosk = await kioskSocket('k1', TOKENS.k1);
    await kiosk.next(() => true);
    await dev.scan('sc-1', G.wine);
    const waiting = await kiosk.next((v) => v.requests.some((r) => r.kind === 'age'));
    const requestId = waiting.requests.find((r) => r.kind === 'age')!.requestId;

    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await ctx.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${g.httpUrl}/ops/#/checkout`);
    await page.fill('input[name=username]', 'attendant');
    await page.fill('input[name=password]', TEST_PASSWORDS.attendant);
    await page.click('button[type=submit]');
    const row = await page.waitForSelector(`tr[data-request="${requestId}"][data-kind="age"]`);
    expect(await row.textContent()).toContain('k1');
    await page.waitForSelector('tr[data-kiosk="k1"]');
    await screenshot(page, 'ops-checkout-age-request');
    await page.click(`tr[data-request="${requestId}"] button:has-text("Approve")`);

    // The kiosk hears it: the request is gone and the cart goes on with the wine in it.
    const after = await kiosk.next((v) => !v.requests.some((r) => r.requestId === requestId));
    expect(after.lines.map((l) => l.gtin)).toContain(G.wine);
    expect(after.phase).not.toBe('needsAttendant');
    await page.waitForSelector(`tr[data-request="${requestId}"]`, { state: 'detached' });
    await page.waitForSelector('[role=status]:text("Approved: age at k1")');
    await screenshot(page, 'ops-checkout-approved');
    const rec = records.find((r) => r.type === 'attendant' && r.data.requestId === requestId);
    expect(rec?.data).toMatchObject({ decision: 'approved', by: 'attendant', kioskId: 'k1' });
    kiosk.ws.close();
    await ctx.close();
  });
});
