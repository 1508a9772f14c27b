/**
 * The Shelf view in real Chromium while HQ reprices the store: a real Mosquitto as HQ, signed
 * feeds, two ESL access point simulators with a slow radio. The page shows every label current,
 * then the reprice makes them stale, and the stale count falls to zero as the acks come in —
 * watched on the page itself (a MutationObserver records every value it showed). Then a forged
 * feed is listed on the Uplink view, with the HQ link up.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { startGateway, TEST_PASSWORDS, TEST_SECRET, type RunningGateway } from '../helpers/gatewayHarness.js';
import { launchBrowser, openOps, screenshot } from '../helpers/browser.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, storeFeeds, until, type HqFeeds } from '../sim/hqFeeds.js';
import { EslApSim } from '../sim/eslSim.js';
import { ensureBuilt } from './opsBuild.js';

const signer = createHqSigner({ kid: 'hq-ops' });
const store = storeFeeds(60, 2);
let hq: Mosquitto;
let g: RunningGateway;
let feeds: HqFeeds;
let browser: Browser;
const sims: EslApSim[] = [];

beforeAll(async () => {
  ensureBuilt();
  // Chromium starts while the store sets up: nothing below needs it before the end.
  const launching = launchBrowser().then((b) => (browser = b));
  hq = await startMosquitto();
  g = await startGateway({
    devices: [{ kind: 'esl', id: 'ap-1' }, { kind: 'esl', id: 'ap-2' }],
    extra: { hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] }, esl: { tickMs: 50, ackTimeoutMs: 5000 } },
  });
  for (const ap of ['ap-1', 'ap-2']) {
    // A fast radio for the first fill; the test slows it before the reprice it watches.
    const s = new EslApSim({ url: g.mqttUrl, apId: ap, password: TEST_SECRET, labels: store.labelsByAp.get(ap)!, ackDelayMs: 5 });
    await s.connect();
    sims.push(s);
  }
  feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, store.catalog);
  await feeds.publish('labels', 'store', 1, store.labels);
  await feeds.publish('prices', 'store', 1, store.prices);
  const prices = g.gw.prices!;
  await until(prices.changes, 'change', () => prices.sync().labels.total === 60 && prices.sync().labels.stale === 0, 30_000, 'labels current', () => prices.sync().labels);
  await launching;
});

afterAll(async () => {
  await browser?.close();
  for (const s of sims) await s.disconnect();
  await feeds?.close();
  await g?.stop();
  await hq?.stop();
});

describe('shelf view', () => {
  it('shows a reprice making labels stale and the stale count falling to zero, per access point', async () => {
    const { ctx, page } = await openOps(browser, g.httpUrl, 'attendant', TEST_PASSWORDS.attendant, { hash: '#/shelf', timeoutMs: 15_000 });
    await page.waitForSelector('[data-labels="current"]:text("60 current")');
    expect(await page.textContent('tr[data-ap="ap-1"] td[data-state="current"]')).toBe('30');
    await page.evaluate(() => {
      const w = window as unknown as { staleSeen: number[] };
      w.staleSeen = [];
      const read = () => {
        const n = Number.parseInt(document.querySelector('[data-labels="stale"]')?.textContent ?? '', 10);
        if (Number.isFinite(n) && w.staleSeen.at(-1) !== n) w.staleSeen.push(n);
      };
      read();
      new MutationObserver(read).observe(document.body, { subtree: true, childList: true, characterData: true });
    });

    // 30 labels per AP at 10 transfers/s: the reprice takes ~2 s to reach every label, long
    // enough for the page to show the stale count falling step by step.
    for (const s of sims) s.setRadio({ radioRate: 10 });
    const repriced = { ...store.prices, prices: store.prices.prices.map((p) => ({ ...p, price: p.price + 10 })) };
    await feeds.publish('prices', 'store', 2, repriced);
    await page.waitForFunction(() => (window as unknown as { staleSeen: number[] }).staleSeen.some((n) => n > 0));
    // While stale: the labels are listed with flash and re-send for the attendant.
    await page.waitForSelector('tr[data-label] button:has-text("Re-send")');
    await screenshot(page, 'ops-shelf-stale');
    await page.waitForFunction(() => {
      const s = (window as unknown as { staleSeen: number[] }).staleSeen;
      return s.some((n) => n > 0) && s.at(-1) === 0;
    }, undefined, { timeout: 30_000 });
    const seen = await page.evaluate(() => (window as unknown as { staleSeen: number[] }).staleSeen);
    const peak = seen.indexOf(Math.max(...seen));
    expect(seen[peak]).toBeGreaterThan(0);
    // From its peak the count only falls, to zero.
    for (let i = peak + 1; i < seen.length; i++) expect(seen[i]).toBeLessThan(seen[i - 1]);
    expect(seen.at(-1)).toBe(0);
    await page.waitForSelector('[data-labels="current"]:text("60 current")');
    await screenshot(page, 'ops-shelf-current');

    // A forged feed (unknown key): the price service rejects it, the Uplink view lists it.
    await feeds.publishRaw('prices', 'store', JSON.stringify({ kid: 'not-hq', sig: 'AAAA', signed: '{}' }));
    await page.click('nav a:has-text("Uplink")');
    await page.waitForSelector('[data-wan="connected"]');
    const rej = await page.waitForSelector('tr[data-feed-reject]');
    expect(await rej.textContent()).toContain('prices');
    await screenshot(page, 'ops-uplink-feed-rejected');
    await ctx.close();
  });
});
