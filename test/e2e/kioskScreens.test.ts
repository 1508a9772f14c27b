/**
 * Every phase of the kiosk page at the screen sizes kiosks come in (1024×768, 1280×800,
 * 1920×1080), in English and Chinese: a screenshot each into test-artifacts/screenshots/, no
 * horizontal scrolling, and no button whose words do not fit it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { G } from './kioskFixture.js';
import { openKioskPage, startProduceStore, stopProduceStore, waitIdle, type ProduceStore } from './produceFixture.js';

const SIZES = [
  { width: 1024, height: 768 },
  { width: 1280, height: 800 },
  { width: 1920, height: 1080 },
];

let browser: Browser;
let s: ProduceStore;
let page: Page;

/** What does not fit at this size: the page scrolling sideways, or a button narrower than its words. */
function overflow(p: Page): Promise<string[]> {
  return p.evaluate(() => {
    const out: string[] = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth) out.push(`page scrolls sideways: ${root.scrollWidth} > ${root.clientWidth}`);
    for (const b of document.querySelectorAll('button')) {
      if (b.scrollWidth > b.clientWidth + 1) out.push(`button "${(b.textContent ?? '').trim()}" cut: ${b.scrollWidth} > ${b.clientWidth}`);
    }
    return out;
  });
}

/** Shoots the current phase at every size in both languages; returns what overflowed, by shot. */
async function shoot(phase: string): Promise<Record<string, string[]>> {
  const found: Record<string, string[]> = {};
  for (const lang of ['en', 'zh'] as const) {
    if ((await page.locator('.k-app').getAttribute('lang')) !== (lang === 'zh' ? 'zh-CN' : 'en')) {
      await page.getByTestId('lang').click();
      await page.locator(`.k-app[lang="${lang === 'zh' ? 'zh-CN' : 'en'}"]`).waitFor();
    }
    for (const size of SIZES) {
      await page.setViewportSize(size);
      const name = `screens-${phase}-${lang}-${size.width}x${size.height}`;
      await screenshot(page, name);
      const o = await overflow(page);
      if (o.length > 0) found[name] = o;
    }
  }
  // Back to English for the next phase's steps.
  if ((await page.locator('.k-app').getAttribute('lang')) !== 'en') await page.getByTestId('lang').click();
  await page.setViewportSize(SIZES[1]!);
  return found;
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

describe('screens per phase, EN and ZH, three sizes', () => {
  it('attract, scanning, produce lookup, waiting for help, paying (with the terminal\'s prompt), thank-you: nothing overflows', async () => {
    const found: Record<string, string[]> = {};
    await page.locator('main[data-screen="attract"]').waitFor();
    Object.assign(found, await shoot('attract'));

    await s.dev.scan('sc-1', G.milk);
    await s.dev.scan('sc-1', G.bread);
    await page.locator('[data-testid="last-item"]').filter({ hasText: 'Bread' }).waitFor();
    Object.assign(found, await shoot('scanning'));

    await s.dev.weight('ps-1', 1234, true);
    await page.getByTestId('produce-open').click();
    await page.getByTestId('produce-step').waitFor();
    Object.assign(found, await shoot('produce'));
    await page.getByTestId('produce-close').click();

    await s.dev.scan('sc-1', G.wine);
    await page.locator('main[data-screen="help"]').getByTestId('request-age').waitFor();
    Object.assign(found, await shoot('help'));
    const before = s.gw.gw.kiosk.view('k1')!.sessionId;
    await page.getByTestId('cancel').click();
    await page.getByTestId('new-customer').click();
    await waitIdle(s, page, before);

    await s.dev.scan('sc-1', G.milk);
    await page.locator('[data-testid="last-item"]').waitFor();
    s.pay.mode = 'silent';
    await page.getByTestId('pay').click();
    await page.locator('main[data-screen="paying"]').waitFor();
    const p = s.gw.gw.kiosk.view('k1')!.payment!;
    await s.pay.status(p.requestId, 'insertCard', 0x0a);
    await page.locator('[data-testid="pay-prompt"][data-prompt="insertCard"]').waitFor();
    Object.assign(found, await shoot('paying'));
    await s.pay.result(p.requestId, 'approved', p.amount, 'EUR');
    await page.getByTestId('thanks').waitFor();
    Object.assign(found, await shoot('thanks'));
    expect(found).toEqual({});
  });
});
