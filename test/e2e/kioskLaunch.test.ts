/**
 * A fresh kiosk box: the unit's launcher writes its launch page from the kiosk's id and
 * token, and real Chromium with an empty profile, opened on that page as the unit opens it, ends
 * on the checkout page connected as that kiosk, with no token left in its address. Before, the
 * unit opened http://…/kiosk/ bare and a fresh kiosk showed "no kiosk id and token".
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../gateway/scryptHash.js';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { startGateway, type RunningGateway } from '../helpers/gatewayHarness.js';
import { tempDir } from '../helpers/tmp.js';

const TOKEN = 'k7-tok+en&t=x#%"</script>';
let gw: RunningGateway;
let browser: Browser;
const tmp = tempDir('sgw-kiosk-launch-e2e-');

beforeAll(async () => {
  // Chromium starts while the store sets up: nothing below needs it before the end.
  const launching = launchBrowser().then((b) => (browser = b));
  gw = await startGateway({ extra: { kiosks: [{ id: 'k7', tokenHash: await hashSecret(TOKEN, 4) }] } });
  await launching;
});

afterAll(async () => {
  await browser?.close();
  await gw?.stop();
  tmp.remove();
});

/** The launcher as the unit runs it, with `printf` standing in for the browser: the page it would open. */
function launchPage(env: Record<string, string>): string {
  const r = spawnSync('/bin/sh', [path.resolve('systemd/storegw-kiosk-launch.sh'), 'printf', '%s', '--kiosk'], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', RUNTIME_DIRECTORY: tmp.dir, ...env },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`launcher exited ${r.status}: ${r.stderr}`);
  return r.stdout.replace(/^--kiosk/, '');
}

describe('kiosk browser unit on a fresh box', () => {
  it('opens the checkout page as its kiosk, from the id and token in the environment file', async () => {
    const page = launchPage({ KIOSK_ID: 'k7', KIOSK_TOKEN: TOKEN, KIOSK_URL: `${gw.httpUrl}/kiosk/` });
    expect(page).toMatch(/^file:\/\//);
    const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      const tab = await ctx.newPage();
      tab.setDefaultTimeout(10_000);
      await tab.goto(page, { waitUntil: 'commit' });
      await tab.locator('[data-conn="online"]').waitFor();
      await screenshot(tab, 'kiosk-launch-fresh-box');
      expect(await tab.locator('h1').textContent()).toContain('k7');
      // The fragment did its work and is gone from the address (and from history entries made later).
      expect(tab.url()).toBe(`${gw.httpUrl}/kiosk/`);
      expect(await tab.evaluate(() => [localStorage.getItem('kiosk.id'), localStorage.getItem('kiosk.token')])).toEqual(['k7', TOKEN]);
      expect(gw.gw.kiosk.view('k7')).toBeTruthy();
    } finally {
      await ctx.close();
    }
  });

  it('without an id and token the page opens bare and says so (what every fresh box showed before)', async () => {
    const page = launchPage({ KIOSK_URL: `${gw.httpUrl}/kiosk/` });
    const ctx = await browser.newContext();
    try {
      const tab = await ctx.newPage();
      tab.setDefaultTimeout(10_000);
      await tab.goto(page, { waitUntil: 'commit' });
      await tab.getByRole('alert').filter({ hasText: 'no kiosk id and token' }).waitFor();
      expect(tab.url()).toBe(`${gw.httpUrl}/kiosk/`);
    } finally {
      await ctx.close();
    }
  });
});
