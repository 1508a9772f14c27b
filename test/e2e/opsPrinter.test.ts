/**
 * A kiosk's receipt printer on the ops page, in real Chromium: the printer (an MQTT device here,
 * publishing the exact `status` and `alert` events the escpos bridge driver sends) runs out of
 * paper; the Checkout view's badge of kiosk k1's printer says so, and the alert book (Uplink &
 * alerts) lists PRINTER_PAPER_OUT, which the attendant acknowledges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import type { MqttClient } from 'mqtt';
import { connectDevice, startGateway, TEST_PASSWORDS, TEST_SECRET, type RunningGateway } from '../helpers/gatewayHarness.js';
import { launchBrowser, openOps } from '../helpers/browser.js';
import { hashSecret } from '../../gateway/scryptHash.js';
import { topics } from '../../gateway/protocol/topics.js';
import { ensureBuilt } from './opsBuild.js';

let g: RunningGateway;
let browser: Browser;
let printer: MqttClient;

beforeAll(async () => {
  ensureBuilt();
  g = await startGateway({
    devices: [{ kind: 'scanner', id: 'sc-1' }, { kind: 'printer', id: 'pr-1' }],
    extra: { kiosks: [{ id: 'k1', tokenHash: await hashSecret('kiosk-one-token-123456', 4) }], kiosk: { devices: { k1: { scanner: 'sc-1', printer: 'pr-1' } } } },
  });
  printer = await connectDevice(g.mqttUrl, 'printer/pr-1', TEST_SECRET);
  const ts = new Date().toISOString();
  const alerted = new Promise<void>((resolve) => g.gw.onEvent((e) => e.kind === 'printer' && e.type === 'alert' && resolve()));
  await printer.publishAsync(topics.evt('printer', 'pr-1', 'status'), JSON.stringify({ ts, online: false, paper: 'out', coverOpen: false }), { qos: 1 });
  await printer.publishAsync(topics.evt('printer', 'pr-1', 'alert'), JSON.stringify({ ts, code: 'PRINTER_PAPER_OUT', severity: 'critical', message: 'pr-1: the receipt printer is out of paper' }), { qos: 1 });
  await alerted;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await printer?.endAsync();
  await g?.stop();
});

describe('receipt printer on the ops page', () => {
  it('the checkout view shows the printer out of paper; the alert book lists it and the attendant acknowledges it', async () => {
    const { ctx, page } = await openOps(browser, g.httpUrl, 'attendant', TEST_PASSWORDS.attendant, { hash: '#/checkout' });
    const badge = page.locator('tr[data-kiosk="k1"] [data-peripheral="pr-1"]');
    await badge.locator('[data-paper="out"]').waitFor();
    expect(await badge.textContent()).toContain('receipt printer');
    expect(await badge.textContent()).toContain('out of paper');

    await page.goto(`${g.httpUrl}/ops/#/uplink`);
    const row = page.locator('tr[data-code="PRINTER_PAPER_OUT"]');
    await row.waitFor();
    expect(await row.textContent()).toContain('printer/pr-1');
    await row.locator('button').click();
    await page.locator('tr.acked[data-code="PRINTER_PAPER_OUT"]').waitFor();
    await ctx.close();
  });
});
