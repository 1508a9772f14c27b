/**
 * The Stock view's shelf parts in real Chromium against a real gateway (catalog from a signed HQ
 * feed on a real Mosquitto, a shelf reader publishing SGTIN-96 reads over MQTT): an attendant
 * finds the T-shirt, sees its on-hand chart and the units on the shelf of its zone, starts an
 * RFID cycle count of the zone (after two units read onto the shelf left the open page's refill
 * list by themselves), the reader reads two units, the count is closed and its
 * difference against on hand shown, and only the confirmation applies it: on hand on the page and
 * an exact `count` movement (reason rfid) in the ledger.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { connectDevice, DEFAULT_DEVICES, startGateway, TEST_PASSWORDS, TEST_SECRET, type RunningGateway } from '../helpers/gatewayHarness.js';
import { launchBrowser, openOps, screenshot } from '../helpers/browser.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import { encodeSgtin96 } from '../../gateway/kiosk/sgtin.js';
import { topics } from '../../gateway/protocol/topics.js';
import { CATALOG, G, PRICES } from './kioskFixture.js';
import { ensureBuilt } from './opsBuild.js';
import { api, login } from '../integration/gateway/opsClient.js';

const signer = createHqSigner({ kid: 'hq-stock-shelf' });
let hq: Mosquitto;
let g: RunningGateway;
let browser: Browser;
let reader: MqttClient;

const shirt = (serial: number): string => {
  const r = encodeSgtin96({ filter: 1, companyPrefix: '0614141', itemReference: '812345', serial });
  if (!r.ok) throw new Error(r.reason);
  return r.hex;
};
const read = (serial: number) => reader.publishAsync(topics.evt('rfid', 'shelf-1', 'read'), JSON.stringify({ ts: new Date().toISOString(), epc: shirt(serial), antenna: 1, rssi: -52 }), { qos: 1 });

beforeAll(async () => {
  // Chromium starts while the store sets up: nothing below needs it before the end.
  const launching = launchBrowser().then((b) => (browser = b));
  ensureBuilt();
  hq = await startMosquitto({ persistence: false });
  g = await startGateway({
    devices: [...DEFAULT_DEVICES, { kind: 'rfid', id: 'shelf-1' }],
    extra: { hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] }, shelves: [{ reader: 'shelf-1', zone: 'tees', gtins: [G.shirt], minFacings: 2 }] },
  });
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  const p = g.gw.prices!;
  await until(p.changes, 'change', () => p.sync().feeds.applied >= 2 && p.priceAt(G.shirt) !== null, 10_000, 'feeds applied');
  await feeds.close();
  const cookie = await login(g.httpUrl, 'attendant');
  expect((await api(g.httpUrl, cookie, 'POST', '/api/stock/receive', { requestId: 'e2e-rcv-0001', lines: [{ gtin: G.shirt, qty: 5 }] })).status).toBe(200);
  reader = await connectDevice(g.mqttUrl, 'rfid/shelf-1', TEST_SECRET);
  await launching;
}, 30_000);

afterAll(async () => {
  await reader?.endAsync(true).catch(() => undefined);
  await browser?.close();
  await g?.stop();
  await hq?.stop();
});

describe('stock view: shelf, chart and RFID cycle count', () => {
  it('find → chart and on shelf visible → count started, read, closed, its difference reviewed, then confirmed', async () => {
    const { ctx, page } = await openOps(browser, g.httpUrl, 'attendant', TEST_PASSWORDS.attendant, { hash: '#/stock' });
    await page.fill('[data-testid=stock-q]', 'shirt');
    await page.click('form[aria-label="Find"] button[type=submit]');
    await page.waitForSelector(`[data-testid=stock-item][data-gtin="${G.shirt}"]`);
    expect(await page.textContent('[data-testid=stock-on-hand]')).toBe('5');
    await page.waitForSelector('[data-testid=stock-chart]');
    expect(Number(await page.getAttribute('[data-testid=stock-chart]', 'data-points'))).toBeGreaterThanOrEqual(2); // before the receipt, and now
    expect(await page.textContent('[data-testid=stock-on-shelf] [data-zone=tees]')).toBe('tees 0');
    await page.waitForSelector(`[data-stock-list=refill] tr[data-gtin="${G.shirt}"][data-zone=tees]`); // on hand, not on the shelf
    // Staff fill the shelf while the page stays open: the refill row goes without a reload.
    for (const s of [1, 2]) await read(s);
    await page.waitForSelector(`[data-stock-list=refill] tr[data-gtin="${G.shirt}"]`, { state: 'detached' });

    await page.selectOption('[data-testid=cycle-count] select[name=zone]', 'tees');
    await page.click('[data-testid=cycle-count] form button[type=submit]');
    await page.waitForSelector('[data-testid=cycle-count] [data-state=open]');
    for (const s of [1, 2, 1, 2, 1]) await read(s);
    await page.waitForSelector(`[data-testid=cycle-count-lines] tr[data-gtin="${G.shirt}"] td:nth-child(2):text("2")`);
    await page.click('[data-testid=cycle-count-close]');
    await page.waitForSelector('[data-testid=cycle-count] [data-state=closed]');
    expect(await page.getAttribute(`[data-testid=cycle-count-lines] tr[data-gtin="${G.shirt}"] td[data-difference]`, 'data-difference')).toBe('-3');
    expect(await g.gw.stock!.store.movements(G.shirt, 10)).toHaveLength(1); // nothing applied before the confirmation
    await screenshot(page, 'ops-stock-count');
    await page.click('[data-testid=cycle-count-apply]');
    await page.waitForSelector('[data-testid=cycle-count-note]:text("Count applied: 1 item(s) set.")');
    await page.waitForSelector('[data-testid=stock-on-hand]:text("2")');

    const [count] = (await g.gw.stock!.store.movements(G.shirt, 10)).filter((m) => m.kind === 'count');
    expect(count).toMatchObject({ kind: 'count', qty: 2, reason: 'rfid', actor: 'attendant' });
    await ctx.close();
  }, 20_000);
});
