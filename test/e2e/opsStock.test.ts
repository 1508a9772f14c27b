/**
 * The Stock view in real Chromium against a real gateway (catalog from a signed HQ feed on a real
 * Mosquitto): an attendant finds an item by part of its name, scans two cases and books them as a
 * receipt, then adjusts with a reason; the page shows on hand after each, the movements table
 * names who did it, and the gateway's ledger holds exactly those movements.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { startGateway, TEST_PASSWORDS, type RunningGateway } from '../helpers/gatewayHarness.js';
import { launchBrowser, openOps, screenshot } from '../helpers/browser.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import { CATALOG, G, PRICES } from './kioskFixture.js';
import { ensureBuilt } from './opsBuild.js';

const signer = createHqSigner({ kid: 'hq-stock-view' });
let hq: Mosquitto;
let g: RunningGateway;
let browser: Browser;

beforeAll(async () => {
  // Chromium starts while the store sets up: nothing below needs it before the end.
  const launching = launchBrowser().then((b) => (browser = b));
  ensureBuilt();
  hq = await startMosquitto({ persistence: false });
  g = await startGateway({ extra: { hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] }, stock: { lowBelow: 5 } } });
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  const p = g.gw.prices!;
  await until(p.changes, 'change', () => p.sync().feeds.applied >= 2 && p.priceAt(G.milk) !== null, 10_000, 'feeds applied');
  await feeds.close();
  await launching;
}, 20_000);

afterAll(async () => {
  await browser?.close();
  await g?.stop();
  await hq?.stop();
});

describe('stock view', () => {
  it('find by name, receive two scanned cases, adjust with a reason: on hand and movements on the page, exact movements in the ledger', async () => {
    const { ctx, page } = await openOps(browser, g.httpUrl, 'attendant', TEST_PASSWORDS.attendant, { hash: '#/stock' });
    await page.fill('[data-testid=stock-q]', 'milk');
    await page.click('form[aria-label="Find"] button[type=submit]');
    await page.waitForSelector(`[data-testid=stock-item][data-gtin="${G.milk}"]`);
    expect(await page.textContent('[data-testid=stock-on-hand]')).toBe('0');
    expect(await page.textContent('[data-testid=stock-state]')).toBe('out of stock');

    // Two cases of 6 scanned (the case GTIN field starts with the item's), then booked together.
    await page.fill('[data-testid=stock-receive] input[name=perCase]', '6');
    await page.click('[data-testid=stock-receive] button[type=submit]');
    await page.click('[data-testid=stock-receive] button[type=submit]');
    await page.waitForSelector('[data-testid=stock-cases]:text("2 case(s), 12 unit(s)")');
    await page.click('[data-testid=stock-receive] button.primary');
    await page.waitForSelector('[data-testid=stock-on-hand]:text("12")');

    await page.fill('[data-testid=stock-adjust] input[name=adjQty]', '-2');
    await page.selectOption('[data-testid=stock-adjust] select[name=reason]', 'damaged');
    await page.click('[data-testid=stock-adjust] button[type=submit]');
    await page.waitForSelector('[data-testid=stock-on-hand]:text("10")');
    await page.waitForSelector('[data-testid=stock-movements] tr[data-kind=adjustment]');
    const rows = await page.$$eval('[data-testid=stock-movements] tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].slice(1).map((td) => td.textContent)));
    expect(rows).toEqual([
      ['adjustment', '-2', 'damaged', 'attendant'],
      ['received', '+6', '', 'attendant'],
      ['received', '+6', '', 'attendant'],
    ]);
    await screenshot(page, 'ops-stock');

    const ledger = await g.gw.stock!.store.movements(G.milk, 10);
    expect(ledger.map((m) => [m.kind, m.qty, m.reason, m.actor]).sort()).toEqual([
      ['adjustment', -2, 'damaged', 'attendant'],
      ['receipt', 6, null, 'attendant'],
      ['receipt', 6, null, 'attendant'],
    ]);
    await ctx.close();
  }, 25_000);
});
