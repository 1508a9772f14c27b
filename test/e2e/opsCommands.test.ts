/**
 * The ops page's Commands section in real headless Chromium: an attendant sets an offline light
 * from the device detail → the command is listed pending → the light connects, gets it, acks →
 * the page lists it acked. A viewer sees the lists but no form.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { connectDevice, startGateway, TEST_PASSWORDS, TEST_SECRET, type RunningGateway } from '../helpers/gatewayHarness.js';
import { launchBrowser, openOps, screenshot } from '../helpers/browser.js';
import { ensureBuilt } from './opsBuild.js';

let g: RunningGateway;
let browser: Browser;

beforeAll(async () => {
  // Chromium starts while the store sets up: nothing below needs it before the end.
  const launching = launchBrowser().then((b) => (browser = b));
  ensureBuilt();
  g = await startGateway({ devices: [{ kind: 'light', id: 'lt-1' }, { kind: 'scale', id: 'sc-1' }], extra: { ops: { healthEveryMs: 200 } } });
  await launching;
});
afterAll(async () => {
  await browser?.close();
  await g?.stop();
});

async function detail(user: keyof typeof TEST_PASSWORDS, device: string): Promise<Page> {
  const { page } = await openOps(browser, g.httpUrl, user, TEST_PASSWORDS[user], { viewport: { width: 1280, height: 900 } });
  await page.click(`tr[data-device="${device}"] a`);
  await page.waitForSelector(`[data-detail="${device}"] [data-testid="commands"]`);
  return page;
}

describe('ops page: device commands', () => {
  it('an attendant sets an offline light; it shows pending, then acked once the light answers', async () => {
    const page = await detail('attendant', 'light/lt-1');
    await page.waitForSelector('[data-testid="commands-pending-none"]');
    expect(await page.locator('[data-testid="command-type"] option').allTextContents()).toEqual(['set']);
    await page.selectOption('[data-testid="command-field-color"]', 'red');
    await page.selectOption('[data-testid="command-field-mode"]', 'flash');
    await page.click('[data-testid="command-send"]');
    const note = await (await page.waitForSelector('[data-testid="command-result"]')).textContent();
    const cmdId = /\(([^)]+)\)/.exec(note ?? '')?.[1];
    expect(note).toMatch(/^set sent \(/);
    const row = await page.waitForSelector(`[data-testid="command-pending"][data-cmd="${cmdId}"]`);
    expect(await row.textContent()).toContain('not sent yet');
    await screenshot(page, 'ops-commands-pending');

    const dev = await connectDevice(g.mqttUrl, 'light/lt-1', TEST_SECRET);
    const got = new Promise<Record<string, unknown>>((resolve) => dev.on('message', (_t, p) => resolve(JSON.parse(p.toString('utf8')) as Record<string, unknown>)));
    await dev.subscribeAsync('store/v1/dev/light/lt-1/cmd/#', { qos: 1 });
    await dev.publishAsync('store/v1/dev/light/lt-1/birth', JSON.stringify({ model: 'test', firmware: '1', capabilities: [] }), { qos: 1, retain: true });
    expect(await got).toEqual({ cmdId, color: 'red', mode: 'flash' });
    await dev.publishAsync('store/v1/dev/light/lt-1/evt/ack', JSON.stringify({ ts: new Date().toISOString(), cmdId, ok: true }), { qos: 1 });
    await page.waitForSelector(`[data-testid="command-recent"][data-cmd="${cmdId}"][data-state="acked"]`);
    // The recent list and the pending list are two renders: wait for the pending row to go.
    await page.waitForSelector(`[data-testid="command-pending"][data-cmd="${cmdId}"]`, { state: 'detached' });
    expect(await page.locator('[data-testid="command-pending"]').count()).toBe(0);
    await screenshot(page, 'ops-commands-acked');
    await dev.endAsync();
    await page.context().close();
  });

  it('a viewer sees the command lists but no form', async () => {
    const page = await detail('viewer', 'scale/sc-1');
    await page.waitForSelector('[data-testid="commands"][data-role="viewer"] [data-testid="commands-pending-none"]');
    expect(await page.locator('[data-testid="command-form"]').count()).toBe(0);
    await page.context().close();
  });
});
