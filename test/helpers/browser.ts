/**
 * Real headless Chromium (Debian's /usr/bin/chromium) driven by playwright-core: no browser
 * download. Screenshots go to test-artifacts/screenshots/ (kept as CI artifacts).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type LaunchOptions, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = path.resolve('test-artifacts/screenshots');

/** How every test Chromium starts, whether a file launches its own or the run shares one. */
export const CHROMIUM_LAUNCH: LaunchOptions = {
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
};

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL that answers with the run's shared Chromium's ws endpoint, starting it on first request. */
    browserServerUrl: string;
  }
}

/**
 * A Browser for one test file. Under vitest's system project this connects to the run's one shared
 * Chromium (test/helpers/browserGlobalSetup.ts): a launch and close, one to three seconds of wall
 * time, is paid once per run instead of once per file. Outside vitest (the bench) it launches its own.
 *
 * With a connected Browser, everything goes through the Playwright server in vitest's main process:
 * this file sees only its own contexts (`browser.contexts()`), and `browser.close()` closes them and
 * disconnects, leaving Chromium up for the other files (the server drops the contexts of a worker
 * that dies). Contexts stay isolated from each other's cookies, storage, cache and permissions as
 * before; what the files now share is the Chromium process tree: two files' pages render side by
 * side in it.
 */
export async function launchBrowser(): Promise<Browser> {
  const ws = await sharedBrowserEndpoint();
  if (!ws) return chromium.launch(CHROMIUM_LAUNCH);
  const browser = await chromium.connect(ws);
  // A connected close() only drops the WebSocket; the server closes this file's contexts after it
  // has returned. Close them first, so that, as with a browser of its own, no page of this file is
  // left to reconnect to a gateway the file is stopping, or to the next file's on the same port.
  const disconnect = browser.close.bind(browser);
  browser.close = async (options) => {
    await Promise.all(browser.contexts().map((ctx) => ctx.close().catch(() => undefined)));
    await disconnect(options);
  };
  return browser;
}

async function sharedBrowserEndpoint(): Promise<string | undefined> {
  if (!process.env.VITEST) return undefined;
  const { inject } = await import('vitest');
  const url = inject('browserServerUrl');
  if (!url) return undefined;
  const res = await fetch(url);
  if (!res.ok) throw new Error(`shared Chromium: ${res.status} ${await res.text()}`);
  return res.text();
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
