/**
 * A kiosk store with a produce counter: the kiosk fixture's catalog plus weighed fruit and
 * vegetables with PLUs and Chinese names, one real gateway, HQ's signed feeds, the kiosk's
 * peripherals and an approving terminal. Shared by the produce, accessibility and sound suites.
 */
import type { Browser, Page } from 'playwright-core';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { DEFAULT_DEVICES, startGateway, TEST_SECRET, type ConfigOptions, type RunningGateway } from '../helpers/gatewayHarness.js';
import { tempDir } from '../helpers/tmp.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import { PaymentSim } from '../sim/paymentSim.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, Peripherals, PRICES, TOKENS } from './kioskFixture.js';

/** Weighed produce: GTIN, English and Chinese name, PLU (IFPS numbers), price per kg in cents. */
export const PRODUCE = [
  { gtin: '2000000000015', name: 'Bananas', zh: '香蕉', plu: '4011', price: 199 },
  { gtin: '2000000000022', name: 'Carrots', zh: '胡萝卜', plu: '4562', price: 129 },
  { gtin: '2000000000039', name: 'Tomatoes', zh: '西红柿', plu: '4664', price: 349 },
  { gtin: '2000000000046', name: 'Lemons', zh: '柠檬', plu: '4053', price: 279 },
  { gtin: '2000000000053', name: 'Broccoli', zh: '西兰花', plu: '3082', price: 259 },
] as const;

export interface ProduceStore {
  hq: Mosquitto;
  gw: RunningGateway;
  dev: Peripherals;
  pay: PaymentSim;
  /** The gateway's options, for a restart on the same data folder. */
  opts: Partial<ConfigOptions>;
  tmp: { dir: string; remove: () => void };
}

const signer = createHqSigner({ kid: 'hq-produce' });

export async function startProduceStore(more: Record<string, unknown> = {}): Promise<ProduceStore> {
  const hq = await startMosquitto();
  const tmp = tempDir('sgw-produce-');
  const opts = { dataDir: tmp.dir, devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid, more) };
  const gw = await startGateway(opts);
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  const svc = gw.gw.prices!;
  const items = [...CATALOG.items, ...PRODUCE.map((p) => ({ gtin: p.gtin, name: p.name, unit: 'kg', fields: { plu: p.plu, name_zh: p.zh }, vatRateBp: 700 }))];
  await feeds.publish('catalog', 'store', 1, { mode: 'snapshot', items });
  await feeds.publish('prices', 'store', 1, { ...PRICES, prices: [...PRICES.prices, ...PRODUCE.map((p) => ({ gtin: p.gtin, price: p.price }))] });
  await until(svc.changes, 'change', () => svc.sync().feeds.applied >= 2 && svc.priceAt(PRODUCE[0].gtin) !== null && svc.priceAt(G.milk) !== null, 10_000, 'feeds applied', () => svc.sync().feeds);
  await feeds.close();
  const dev = await Peripherals.connect(gw.mqttUrl, KIOSK_DEVICES);
  const pay = new PaymentSim({ url: gw.mqttUrl, id: 'pay-1', password: TEST_SECRET });
  await pay.start();
  return { hq, gw, dev, pay, opts, tmp };
}

/** Stops the gateway and starts it again on the same data folder (catalog, sessions and ledger kept). */
export async function restartGateway(s: ProduceStore): Promise<void> {
  await s.gw.stop();
  s.gw = await startGateway(s.opts);
}

export async function stopProduceStore(s: ProduceStore | undefined): Promise<void> {
  await s?.pay.stop();
  await s?.dev.close();
  await s?.gw.stop();
  await s?.hq.stop();
  s?.tmp.remove();
}

export async function openKioskPage(browser: Browser, s: ProduceStore, viewport = { width: 1280, height: 800 }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  page.setDefaultTimeout(8000);
  await page.goto(`${s.gw.httpUrl}/kiosk/#k=k1&t=${TOKENS.k1}`);
  await page.locator('[data-conn="online"]').waitFor();
  return page;
}

/** Waits until the gateway shows k1 in `phase` with a new session after a sale or cancel. */
export async function waitIdle(s: ProduceStore, page: Page, before: string): Promise<void> {
  await until(s.gw.gw.kiosk.changes, 'view', () => s.gw.gw.kiosk.view('k1')!.sessionId !== before && s.gw.gw.kiosk.view('k1')!.phase === 'idle', 10_000, 'a new session');
  await page.locator('[data-phase="idle"]').waitFor();
}
