/**
 * The kiosk's screens per phase in Chromium: attract while nobody is at the kiosk, waiting for
 * help while an attendant is needed, paying while the terminal works. Each has one primary
 * action; a scan or an RFID basket leaves the attract screen by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { EPC_6789, G } from './kioskFixture.js';
import { openKioskPage, startProduceStore, stopProduceStore, waitIdle, type ProduceStore } from './produceFixture.js';

let browser: Browser;
let s: ProduceStore;
let page: Page;

const onScreen = (name: string) => page.locator(`main[data-screen="${name}"]`).waitFor();
const primaries = () => page.locator('main .ui-btn-primary').count();
const view = () => s.gw.gw.kiosk.view('k1')!;

/** Cancels the cart and presses Done: the next shopper's attract screen. */
async function nextShopper(): Promise<void> {
  const before = view().sessionId;
  await page.getByTestId('cancel').click();
  await page.getByTestId('new-customer').click();
  await waitIdle(s, page, before);
  await onScreen('attract');
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

describe('a screen per phase', () => {
  it('attract: one primary action, the language choice, fruit & veg; an RFID basket or a touch on Start leaves it', async () => {
    await onScreen('attract');
    expect(await page.getByTestId('welcome').textContent()).toBe('Welcome! Scan your first item to start');
    expect(await primaries()).toBe(1);
    expect(await page.getByTestId('attract-start').getAttribute('class')).toContain('ui-btn-primary');
    expect(await page.getByTestId('produce-open').isVisible()).toBe(true);
    await page.getByTestId('attract-lang-zh').click();
    await page.locator('.k-app[lang="zh-CN"]').waitFor();
    expect(await page.getByTestId('welcome').textContent()).toBe('欢迎！请扫描第一件商品开始');
    expect(await page.getByTestId('attract-lang-zh').getAttribute('aria-pressed')).toBe('true');
    await page.getByTestId('attract-lang-en').click();
    await page.locator('.k-app[lang="en"]').waitFor();
    await screenshot(page, 'phase-attract');

    // An RFID basket put down starts the cart: the scanning screen with the shirt.
    await s.dev.rfid('rf-1', EPC_6789);
    await onScreen('scanning');
    await page.locator(`[data-testid="line"][data-gtin="${G.shirt}"]`).waitFor();
    await nextShopper();

    // Touching Start shows the empty scanning screen; a scan then fills it.
    await page.getByTestId('attract-start').click();
    await onScreen('scanning');
    expect(await page.getByTestId('pay').isDisabled()).toBe(true);
    await s.dev.scan('sc-1', G.milk);
    await page.locator(`[data-testid="last-item"][data-gtin="${G.milk}"]`).waitFor();
  });

  it('waiting for help: who comes, why and what to do meanwhile, with the cart; "Keep scanning" steps back from this wait only', async () => {
    await s.dev.scan('sc-1', G.wine);
    await onScreen('help');
    const age = page.getByTestId('request-age');
    expect(await age.textContent()).toBe('Age check for an age-restricted item — Red wineHave your ID ready. You can keep scanning your other items.');
    expect(await page.locator('#help-title').textContent()).toBe('An attendant is on the way');
    // The cart summary stays: both lines and the gateway's total.
    expect(await page.locator('[data-testid="line"]').count()).toBe(2);
    expect(await page.getByTestId('total').textContent()).toBe('€10.28');
    expect(await primaries()).toBe(1);
    await screenshot(page, 'phase-help-age');
    await page.getByTestId('lang').click();
    await page.locator('.k-app[lang="zh-CN"]').waitFor();
    expect(await page.locator('#help-title').textContent()).toBe('工作人员马上就到');
    expect(await age.textContent()).toContain('核实年龄');
    await page.getByTestId('lang').click();
    await page.locator('.k-app[lang="en"]').waitFor();

    // Paying is refused with the reason, on this screen.
    await page.getByTestId('pay').click();
    await page.locator('[data-testid="notice"][data-code="ageCheck"]').waitFor();
    await onScreen('help');

    // Back to the cart (the request still shows there as a banner); the shopper's own call brings the screen back.
    await page.getByTestId('help-back').click();
    await onScreen('scanning');
    await page.getByTestId('request-age').waitFor();
    await page.getByTestId('help').click();
    await onScreen('help');
    expect(await page.locator('main').getAttribute('data-reasons')).toBe('age');
    await page.getByTestId('help').click(); // the call withdrawn
    await page.locator('[data-testid="help"].ui-btn-plain').waitFor();
    await nextShopper();
  });

  it('paying: the amount and the terminal\'s prompt large with its picture; cancel while the terminal allows it', async () => {
    await s.dev.scan('sc-1', G.bread);
    await page.locator(`[data-testid="line"][data-gtin="${G.bread}"]`).waitFor();
    s.pay.mode = 'silent';
    await page.getByTestId('pay').click();
    await onScreen('paying');
    expect(await page.getByTestId('pay-amount').textContent()).toBe('€2.50');
    expect(await page.getByTestId('pay-prompt').count()).toBe(0); // the general hint until the terminal speaks
    expect(await page.locator('[data-picture]').getAttribute('data-picture')).toBe('any');
    const p = view().payment!;
    await s.pay.status(p.requestId, 'insertCard', 0x0a);
    await page.locator('[data-testid="pay-prompt"][data-prompt="insertCard"]').waitFor();
    expect(await page.getByTestId('pay-prompt').textContent()).toBe('Insert card');
    await page.locator('[data-picture="insert"]').waitFor();
    await s.pay.status(p.requestId, 'presentCard', 0x0a);
    await page.locator('[data-picture="tap"]').waitFor();
    expect(await page.locator('main .ui-btn-primary').count()).toBeLessThanOrEqual(1);
    await screenshot(page, 'phase-paying-tap');

    // Cancel while the terminal still allows it: the terminal answers cancelled, the cart stays.
    expect(await page.getByTestId('pay-cancel').isEnabled()).toBe(true);
    await page.getByTestId('pay-cancel').click();
    await page.locator('[data-testid="notice"][data-code="payment_cancelled"]').waitFor();
    await onScreen('scanning');
    expect(view().lines).toHaveLength(1);
    s.pay.mode = 'approve';
    await nextShopper();
  });
});
