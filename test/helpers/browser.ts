/**
 * Real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core: no browser
 * download. Screenshots go to test-artifacts/screenshots/ (kept as CI artifacts).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.resolve('test-artifacts/screenshots');

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
}

/** Saves a full-page screenshot as test-artifacts/screenshots/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * The ops page in its own browser context (one person's browser), logged in as `username`; `hash`
 * picks the view (`#/checkout`). Resolves once the page is logged in and its live feed is up.
 */
export async function openOps(browser: Browser, baseUrl: string, username: string, password: string, o: { hash?: string; viewport?: { width: number; height: number }; timeoutMs?: number } = {}): Promise<{ ctx: BrowserContext; page: Page }> {
  const ctx = await browser.newContext({ viewport: o.viewport ?? { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  page.setDefaultTimeout(o.timeoutMs ?? 10_000);
  await page.goto(`${baseUrl}/ops/${o.hash ?? ''}`);
  await page.fill('input[name=username]', username);
  await page.fill('input[name=password]', password);
  await page.click('button[type=submit]');
  await page.waitForSelector('[data-live="up"]');
  return { ctx, page };
}
