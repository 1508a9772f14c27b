/**
 * Accessibility of the kiosk page in real Chromium: axe-core (WCAG 2.0–2.2 A and AA rules and
 * best practices) on every phase a shopper meets — the attract screen, scanning, produce lookup,
 * bagging prompt, waiting for help, paying (with the terminal's prompt), thank-you — in English;
 * attract, produce and waiting for help in Chinese too; scanning and attract in high contrast:
 * no serious or critical violation. Each report is kept in test-artifacts/axe/.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { G, TOKENS } from './kioskFixture.js';
import { startProduceStore, stopProduceStore, waitIdle, type ProduceStore } from './produceFixture.js';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const REPORTS = path.resolve('test-artifacts/axe');

let browser: Browser;
let s: ProduceStore;

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** Runs axe on the page as it is now; writes the report; returns the serious and critical violations. */
async function axe(page: Page, name: string): Promise<string[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ path: AXE });
  const r = await page.evaluate(() =>
    (window as unknown as { axe: { run: (ctx: Document, o: object) => Promise<{ violations: Violation[]; passes: unknown[] }> } }).axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
      resultTypes: ['violations'],
    }),
  );
  mkdirSync(REPORTS, { recursive: true });
  writeFileSync(path.join(REPORTS, `${name}.json`), JSON.stringify({ violations: r.violations, passes: r.passes.length }, null, 2));
  return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

async function openPage(kioskId: 'k1' | 'k2'): Promise<Page> {
  // The page's CSP allows only its own scripts: axe is injected as the test's, not the page's.
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, bypassCSP: true });
  const page = await ctx.newPage();
  page.setDefaultTimeout(8000);
  await page.goto(`${s.gw.httpUrl}/kiosk/#k=${kioskId}&t=${TOKENS[kioskId]}`);
  await page.locator('[data-conn="online"]').waitFor();
  return page;
}

const view = (id: string) => s.gw.gw.kiosk.view(id)!;

beforeAll(async () => {
  [browser, s] = await Promise.all([launchBrowser(), startProduceStore()]);
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await stopProduceStore(s);
});

describe('axe-core: 0 serious or critical violations', () => {
  it('every phase of a purchase, in English, Chinese and high contrast', async () => {
    const page = await openPage('k1');
    const found: Record<string, string[]> = {};
    const check = async (name: string) => {
      found[name] = await axe(page, name);
    };
    await page.locator('main[data-screen="attract"]').waitFor();
    await check('attract-en');
    await page.getByTestId('attract-lang-zh').click();
    await page.locator('.k-app[lang="zh-CN"]').waitFor();
    await check('attract-zh');
    await page.getByTestId('attract-lang-en').click();
    await page.locator('.k-app[lang="en"]').waitFor();
    await page.getByTestId('mode-contrast').click();
    await page.locator('.k-app.k-hc').waitFor();
    await check('attract-contrast');
    await page.getByTestId('mode-contrast').click();

    await s.dev.scan('sc-1', G.milk);
    await page.locator(`[data-testid="line"][data-gtin="${G.milk}"]`).waitFor();
    await check('scanning-en');
    await page.getByTestId('mode-contrast').click();
    await page.locator('.k-app.k-hc').waitFor();
    await check('scanning-contrast');
    await screenshot(page, 'a11y-scanning-contrast');
    await page.getByTestId('mode-contrast').click();

    await s.dev.weight('ps-1', 640, true);
    await page.getByTestId('produce-open').click();
    await page.locator('[data-testid="produce-weight"][data-stable="true"]').waitFor();
    await check('produce-en');
    await page.getByTestId('lang').click();
    await page.locator('.k-app[lang="zh-CN"]').waitFor();
    await check('produce-zh');
    await screenshot(page, 'a11y-produce-zh');
    await page.getByTestId('lang').click();
    await page.getByTestId('produce-close').click();

    await s.dev.scan('sc-1', G.wine);
    await page.locator('main[data-screen="help"]').getByTestId('request-age').waitFor();
    await check('help-en');
    await page.getByTestId('lang').click();
    await page.locator('.k-app[lang="zh-CN"]').waitFor();
    await check('help-zh');
    await page.getByTestId('lang').click();
    await page.locator('.k-app[lang="en"]').waitFor();
    const before = view('k1').sessionId;
    await page.getByTestId('cancel').click();
    await page.getByTestId('new-customer').click();
    await waitIdle(s, page, before);

    await s.dev.scan('sc-1', G.bread);
    await page.locator(`[data-testid="line"][data-gtin="${G.bread}"]`).waitFor();
    s.pay.mode = 'silent';
    await page.getByTestId('pay').click();
    await page.locator('main[data-screen="paying"]').waitFor();
    await check('paying-en');
    const p = view('k1').payment!;
    await s.pay.status(p.requestId, 'enterPin', 0x01);
    await page.locator('[data-testid="pay-prompt"][data-prompt="enterPin"]').waitFor();
    await check('paying-prompt-en');
    await s.pay.result(p.requestId, 'approved', p.amount, 'EUR');
    s.pay.mode = 'approve';
    await page.getByTestId('thanks').waitFor();
    await check('thanks-en');
    await page.context().close();
    expect(found).toEqual(Object.fromEntries(Object.keys(found).map((k) => [k, []])));
  });

  it('the bagging prompt (a kiosk with a bagging scale)', async () => {
    const page = await openPage('k2');
    await s.dev.weight('bs-2', 0);
    await s.dev.scan('sc-2', G.milk);
    await page.locator('[data-testid="line"]').waitFor();
    await s.dev.weight('bs-2', 0); // nothing placed yet: the prompt
    await page.getByText(/place the item in the bagging area/).waitFor();
    const placeItem = await axe(page, 'bagging-place-en');
    await s.dev.weight('bs-2', 1035);
    await s.dev.weight('bs-2', 1735);
    await page.getByTestId('request-security').waitFor();
    const unexpected = await axe(page, 'bagging-unexpected-en');
    await screenshot(page, 'a11y-bagging-unexpected');
    await page.context().close();
    expect({ placeItem, unexpected }).toEqual({ placeItem: [], unexpected: [] });
  });
});
