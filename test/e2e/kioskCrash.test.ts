/**
 * The gateway killed with SIGKILL: mid-cart, the page reconnects and the
 * cart is intact; between the terminal's approval and the receipt, the restarted gateway settles
 * the payment with the terminal and records the sale exactly once (counted over HQ's copy and
 * what is left in the outbox).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { DEFAULT_DEVICES, spawnGateway, TEST_SECRET, writeConfigFile, type ConfigOptions, type GatewayProcess } from '../helpers/gatewayHarness.js';
import { launchBrowser, screenshot } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { tempDir } from '../helpers/tmp.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { until } from '../sim/hqFeeds.js';
import { HqSim } from '../sim/hqSim.js';
import { PaymentSim } from '../sim/paymentSim.js';
import { G, KIOSK_DEVICES, kioskExtra, recordsEverywhere, seedCatalog, Peripherals, TOKENS } from './kioskFixture.js';

const signer = createHqSigner({ kid: 'hq-kiosk' });
const tmp = tempDir('sgw-kiosk-crash-');
let hq: Mosquitto;
let hqSim: HqSim;
let browser: Browser;
let opts: ConfigOptions;
let configFile: string;
let child: GatewayProcess | null = null;

async function restart(): Promise<{ dev: Peripherals; pay: PaymentSim }> {
  child = await spawnGateway(configFile);
  const url = `mqtt://127.0.0.1:${child.mqttPort}`;
  const dev = await Peripherals.connect(url, KIOSK_DEVICES.filter((d) => d.id.endsWith('-1')));
  const pay = new PaymentSim({ url, id: 'pay-1', password: TEST_SECRET });
  return { dev, pay };
}

beforeAll(async () => {
  // Chromium starts while the store sets up: nothing below needs it before the end.
  const launching = launchBrowser().then((b) => (browser = b));
  hq = await startMosquitto();
  hqSim = new HqSim({ url: hq.url });
  await hqSim.start();
  opts = { dataDir: path.join(tmp.dir, 'data'), devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], mqttPort: await freePort(), httpPort: await freePort(), extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) };
  await seedCatalog(opts, hq.url, signer); // the catalog once, in-process; the child finds it in prices.db
  configFile = await writeConfigFile(tmp.dir, opts);
  await launching;
});

afterAll(async () => {
  await child?.kill('SIGKILL');
  await browser?.close();
  await hqSim?.stop();
  await hq?.stop();
  tmp.remove();
});

describe('kiosk across a SIGKILL', () => {
  let page: Page;

  it('mid-cart: the page shows the lost connection, reconnects, and the cart is intact', async () => {
    let { dev, pay } = await restart();
    await pay.start();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`http://127.0.0.1:${opts.httpPort}/kiosk/#k=k1&t=${TOKENS.k1}`);
    await page.locator('[data-conn="online"]').waitFor();
    await dev.scan('sc-1', G.milk);
    await dev.scan('sc-1', G.bread);
    await page.locator(`[data-testid="line"][data-gtin="${G.bread}"]`).waitFor();
    const before = await page.getByTestId('total').textContent();
    await child!.kill('SIGKILL');
    await dev.close().catch(() => undefined);
    await pay.stop().catch(() => undefined);
    await page.getByTestId('offline').waitFor();
    expect(await page.locator('.k-app').getAttribute('class')).toContain('k-stale');
    expect(await page.getByTestId('pay').isDisabled()).toBe(true);
    await screenshot(page, 'kiosk-10-reconnecting');

    ({ dev, pay } = await restart());
    await page.locator('[data-conn="online"]').waitFor({ timeout: 15_000 });
    await page.getByTestId('offline').waitFor({ state: 'detached' });
    expect(await page.locator('[data-testid="line"]').count()).toBe(2);
    expect(await page.getByTestId('total').textContent()).toBe(before);
    await screenshot(page, 'kiosk-11-reconnected');
    await dev.close();
  });

  it('killed between the approval and the receipt: after restart the sale is recorded once', async () => {
    const pay = new PaymentSim({ url: `mqtt://127.0.0.1:${child!.mqttPort}`, id: 'pay-1', password: TEST_SECRET });
    pay.mode = 'silent';
    await pay.start();
    await page.getByTestId('pay').click();
    await until(pay.events, 'charge', () => pay.charges.length === 1, 10_000, 'the charge');
    await page.getByTestId('paying').waitFor();
    const { requestId, amount } = pay.charges[0];
    expect(amount).toBe(129 + 250);
    // The gateway dies; the terminal takes the money meanwhile (its result never reached the gateway).
    await child!.kill('SIGKILL');
    await pay.stop();
    await page.getByTestId('offline').waitFor();

    const next = await restart();
    const approved = new PaymentSim({ url: `mqtt://127.0.0.1:${child!.mqttPort}`, id: 'pay-1', password: TEST_SECRET });
    approved.markApproved(requestId, amount);
    // The gateway asks again on start-up (a cancel); the sim may connect just after it: a second ask comes from the timeout.
    await approved.start();
    await page.getByTestId('thanks').waitFor({ timeout: 20_000 });
    await screenshot(page, 'kiosk-12-thanks-after-crash');
    const txId = await page.getByTestId('transaction-id').textContent();
    await next.dev.close();
    await approved.stop();
    await child!.kill('SIGTERM');
    child = null;

    const sales = (await recordsEverywhere(opts.dataDir, hqSim)).filter((r) => r.kind === 'kiosk' && r.type === 'transaction' && r.data.transactionId === txId);
    expect(sales).toHaveLength(1);
    expect(sales[0].data).toMatchObject({ total: amount, payment: { requestId, amount } });
  });
});
