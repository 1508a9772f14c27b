/** The browser tooling itself: Debian's Chromium starts headless and renders a page. */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser, screenshot } from '../helpers/browser.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => browser?.close());

describe('headless Chromium', () => {
  it('renders a page and saves a screenshot artifact', async () => {
    const page = await browser.newPage();
    await page.setContent('<main><h1>storegw</h1><button>Pay</button></main>');
    expect(await page.getByRole('button', { name: 'Pay' }).isVisible()).toBe(true);
    const file = await screenshot(page, 'browser-smoke');
    expect(existsSync(file)).toBe(true);
    await page.close();
  });
});
