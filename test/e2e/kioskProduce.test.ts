/**
 * The produce lookup in real Chromium against a real gateway: the step opens from "No barcode?
 * Fruit & veg"; an item is found by its first letter or by its PLU in at most two touches after
 * that, with its picture and the live weight; the line's price is the gateway's (price per kg ×
 * the scale's steady weight); the store's most-sold produce comes first; the display modes and
 * the step end with the shopper; sound cues follow scans, errors and help.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { G } from './kioskFixture.js';
import { openKioskPage, PRODUCE, startProduceStore, stopProduceStore, waitIdle, type ProduceStore } from './produceFixture.js';

let browser: Browser;
let s: ProduceStore;
let page: Page;
const [BANANAS, CARROTS, TOMATOES] = PRODUCE;

/** Every tap on the page from now on, counted in the page (pointer events, as a shopper's touch). */
async function countTouches(p: Page): Promise<() => Promise<number>> {
  await p.evaluate(() => {
    const w = window as unknown as { touches: number; counting?: boolean };
    w.touches = 0;
    if (!w.counting) addEventListener('pointerdown', () => w.touches++, true);
    w.counting = true;
  });
  return () => p.evaluate(() => (window as unknown as { touches: number }).touches);
}

const lineOf = (gtin: string) => s.gw.gw.kiosk.view('k1')!.lines.find((l) => l.gtin === gtin);

async function finishSale(): Promise<void> {
  const before = s.gw.gw.kiosk.view('k1')!.sessionId;
  await page.getByTestId('pay').click();
  await page.getByTestId('thanks').waitFor();
  await page.getByTestId('new-customer').click();
  await waitIdle(s, page, before);
}

beforeAll(async () => {
  [browser, s] = await Promise.all([launchBrowser(), startProduceStore()]);
  page = await openKioskPage(browser, s);
}, 30_000);

afterAll(async () => {
  await page?.close();
  await browser?.close();
  await stopProduceStore(s);
});

describe('produce lookup', () => {
  it('by first letter: two touches after the step opens, priced by the gateway from the steady weight', async () => {
    await s.dev.scan('sc-1', G.milk);
    await page.locator(`[data-testid="line"][data-gtin="${G.milk}"]`).waitFor();
    await page.getByTestId('produce-open').click();
    await page.getByTestId('produce-step').waitFor();
    // Only weighed items are offered: milk and bread (sold per piece) are not in the step.
    expect(await page.getByTestId(`produce-${G.milk}`).count()).toBe(0);
    expect(await page.locator('[data-testid^="produce-2"]').count()).toBe(PRODUCE.length + 2); // + apples, Gouda
    await s.dev.weight('ps-1', 1234, false);
    await page.locator('[data-testid="produce-weight"][data-stable="false"]').filter({ hasText: '1.234 kg' }).waitFor();
    await s.dev.weight('ps-1', 1234, true);
    await page.locator('[data-testid="produce-weight"][data-stable="true"]').waitFor();
    // The picture is the gateway's (a generated one: this store has no photos).
    const img = page.getByTestId(`produce-${BANANAS.gtin}`).locator('img');
    expect(await img.getAttribute('src')).toBe(`/kiosk-images/${BANANAS.gtin}`);
    expect(await img.evaluate((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0)).toBe(true);
    await screenshot(page, 'kiosk-produce-step');

    const touches = await countTouches(page);
    await page.getByTestId('letter-B').click();
    expect(await page.locator('[data-testid^="produce-2"]').count()).toBe(2); // Bananas, Broccoli
    await page.getByTestId(`produce-${BANANAS.gtin}`).click();
    await page.locator(`[data-testid="line"][data-gtin="${BANANAS.gtin}"]`).waitFor();
    expect(await touches()).toBe(2);
    // Back on the cart, with the gateway's line: 1.234 kg × €1.99/kg = €2.46 (rounded half up: 245.566).
    expect(lineOf(BANANAS.gtin)).toMatchObject({ grams: 1234, unitPrice: 199, price: 246 });
    expect(await page.locator(`[data-testid="line"][data-gtin="${BANANAS.gtin}"] [data-testid="line-price"]`).textContent()).toBe('€2.46');
  });

  it('by PLU: typed in the search field (no touch) or narrowed on the digit keys, then one touch', async () => {
    await page.getByTestId('produce-open').click();
    const touches = await countTouches(page);
    // The search field has the focus when the step opens: a PLU typed there narrows at once.
    await page.keyboard.type(TOMATOES.plu);
    expect(await page.locator('[data-testid^="produce-2"]').count()).toBe(1);
    await page.getByTestId(`produce-${TOMATOES.gtin}`).click();
    await page.locator(`[data-testid="line"][data-gtin="${TOMATOES.gtin}"]`).waitFor();
    expect(await touches()).toBe(1);
    expect(lineOf(TOMATOES.gtin)).toMatchObject({ grams: 1234, price: Math.round((349 * 1234) / 1000) });

    // On the digit keys: "3" leaves only Broccoli (PLU 3082): two touches.
    await page.getByTestId('produce-open').click();
    const touches2 = await countTouches(page);
    await page.getByTestId('plu-3').click();
    expect(await page.locator('[data-testid^="produce-2"]').allTextContents()).toEqual([expect.stringContaining('Broccoli')]);
    await page.getByTestId(`produce-${PRODUCE[4].gtin}`).click();
    await page.locator(`[data-testid="line"][data-gtin="${PRODUCE[4].gtin}"]`).waitFor();
    expect(await touches2()).toBe(2);
  });

  it('without a steady weight the step stays and says to wait; a name search finds the Chinese name too', async () => {
    await s.dev.weight('ps-1', 800, false);
    await page.getByTestId('produce-open').click();
    await page.locator('[data-testid="produce-weight"][data-stable="false"]').waitFor();
    await page.getByTestId(`produce-${CARROTS.gtin}`).click();
    await page.locator('[data-testid="notice"][data-code="placeOnScale"]').waitFor();
    expect(await page.getByTestId('produce-step').count()).toBe(1);
    expect(lineOf(CARROTS.gtin)).toBeUndefined();
    await page.getByTestId('produce-search').fill('萝卜');
    expect(await page.locator('[data-testid^="produce-2"]').count()).toBe(1);
    await page.getByTestId('produce-close').click();
    await page.getByTestId('produce-step').waitFor({ state: 'detached' });
  });

  it('the most-sold produce comes first after sales', async () => {
    await finishSale(); // bananas, tomatoes, broccoli sold once each
    await s.dev.weight('ps-1', 500, true);
    await s.dev.scan('sc-1', G.milk);
    await page.getByTestId('produce-open').click();
    const first3 = (await page.locator('[data-testid^="produce-2"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-testid')))).slice(0, 3);
    expect(first3.sort()).toEqual([BANANAS, TOMATOES, PRODUCE[4]].map((p) => `produce-${p.gtin}`).sort());
    await page.getByTestId(`produce-${CARROTS.gtin}`).click();
    await page.locator(`[data-testid="line"][data-gtin="${CARROTS.gtin}"]`).waitFor();
  });
});

describe('the shopper\'s modes and sounds', () => {
  it('high contrast and low reach switch with one button each and reset for the next shopper', async () => {
    await page.getByTestId('mode-contrast').click();
    await page.getByTestId('mode-reach').click();
    await page.locator('.k-app.k-hc.k-reach').waitFor();
    expect(await page.getByTestId('mode-contrast').getAttribute('aria-pressed')).toBe('true');
    // Low reach: the pay button sits in the lower part of the screen.
    for (const id of ['pay', 'produce-open', 'mode-reach']) expect((await page.getByTestId(id).boundingBox())!.y, id).toBeGreaterThan(800 / 2);
    const fontSize = await page.locator('.k-app').evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
    expect(fontSize).toBeGreaterThan(20);
    await screenshot(page, 'kiosk-modes-contrast-reach');
    await finishSale();
    expect(await page.locator('.k-app.k-hc').count()).toBe(0);
    expect(await page.locator('.k-app.k-reach').count()).toBe(0);
    expect(await page.getByTestId('mode-contrast').getAttribute('aria-pressed')).toBe('false');
  });

  it('a cue for a scan accepted, an error and help', async () => {
    await s.dev.scan('sc-1', G.bread);
    await page.locator('[data-cue^="accept:"]').waitFor();
    await s.dev.scan('sc-1', '4000000000000');
    await page.locator('[data-cue^="error:"]').waitFor();
    // The unknown item called help already: the shopper's own call is the next one.
    if (s.gw.gw.kiosk.view('k1')!.helpCalled) {
      await page.getByTestId('help').click();
      await page.locator('[data-testid="help"].ui-btn-plain').waitFor();
    }
    await page.getByTestId('help').click();
    await page.locator('[data-cue^="help:"]').waitFor();
  });
});
