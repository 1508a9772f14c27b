/**
 * Kiosk k1 with real terminal hardware, simulated at the byte level: a real gateway (in-process:
 * broker, ingest, SQLite, HTTP) whose k1 has a `payment` device pay-1 and a `printer` pr-1, both
 * published by an in-process Bridge (config parsed, drivers built by the factory, real
 * TcpTransport) that talks ZVT over TCP to the terminal simulator and ESC/POS over TCP to the
 * printer simulator. The scanner is an MQTT device; the page is real Chromium.
 *
 * Prices pick the terminal's outcome (firmware-bridge/devices/zvt/README.md §Simulator: the last two
 * digits of the amount in cents): one item per sale, so the total is the item's price.
 */
import path from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import type { Browser, Page } from 'playwright-core';
import { startGateway, TEST_SECRET, type RunningGateway } from '../helpers/gatewayHarness.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { launchBrowser } from '../helpers/browser.js';
import { tempDir } from '../helpers/tmp.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds, gtinOf, until } from '../sim/hqFeeds.js';
import type { NewEvent } from '../../gateway/outbox/store.js';
import { parseBridgeConfig } from '../../firmware-bridge/config.js';
import { createDrivers, type Transports } from '../../firmware-bridge/driverFactory.js';
import { Bridge } from '../../firmware-bridge/bridge.js';
import { TcpTransport } from '../../firmware-bridge/transports/tcp.js';
import { ZvtSim } from '../../firmware-bridge/devices/zvt/sim.js';
import { PrinterSim } from '../../firmware-bridge/devices/escpos/sim.js';
import { kioskExtra, Peripherals, TOKENS } from './kioskFixture.js';

/** Items by what the terminal simulator does with their price. */
export const ITEMS = {
  coffee: { gtin: gtinOf(101), name: 'Coffee 500 g', price: 649 }, // approved
  tea: { gtin: gtinOf(102), name: 'Green tea', price: 413 }, // ends in 13: declined
  honey: { gtin: gtinOf(103), name: 'Honey', price: 392 }, // 92: dropped with the Status-Information on its way (the terminal reverses it)
  // Added to a cart holding honey: 392 + 201 = 593, ends in 93: dropped right after the register's ack (the payment stands).
  jam: { gtin: gtinOf(104), name: 'Jam', price: 201 },
  nuts: { gtin: gtinOf(105), name: 'Walnuts', price: 291 }, // 91: dropped before the Status-Information (the terminal never decided)
} as const;

export const RECEIPT_QR = 'https://receipts.example/t/{transactionId}';

export interface CardKiosk {
  hq: Mosquitto;
  gw: RunningGateway;
  zvt: ZvtSim;
  printer: PrinterSim;
  bridge: Bridge;
  dev: Peripherals;
  browser: Browser;
  /** Every event the gateway committed, in order. */
  committed: NewEvent[];
  /** Resolves with the first committed event (already in, or to come) that matches. */
  event(match: (e: NewEvent) => boolean, what: string, timeoutMs?: number): Promise<NewEvent>;
  /** A kiosk page for k1 that records every terminal prompt it showed and whether it ever thanked the shopper. */
  openKiosk(): Promise<Page>;
  stop(): Promise<void>;
}

export const dataOf = (e: NewEvent) => JSON.parse(e.data) as Record<string, unknown>;

/**
 * Records in the page itself, from its first script on: every prompt shown (`data-prompt: text`) and whether the
 * thanks screen ever appeared, so a test can say "never" about a screen that may have flashed by.
 */
const WATCH_PAGE = `(() => {
  window.__seen = { prompts: [], thanks: 0, paying: 0 };
  let paying = false;
  const look = () => {
    for (const el of document.querySelectorAll('[data-prompt]')) {
      const p = el.getAttribute('data-prompt') + ': ' + el.textContent;
      if (window.__seen.prompts[window.__seen.prompts.length - 1] !== p) window.__seen.prompts.push(p);
    }
    if (document.querySelector('[data-testid="thanks"]')) window.__seen.thanks++;
    const now = document.querySelector('[data-testid="paying"]') !== null;
    if (now && !paying) window.__seen.paying++;
    paying = now;
  };
  new MutationObserver(look).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
})();`;

export async function seenOnPage(page: Page): Promise<{ prompts: string[]; thanks: number; paying: number }> {
  return page.evaluate(() => (window as unknown as { __seen: { prompts: string[]; thanks: number; paying: number } }).__seen);
}

export async function startCardKiosk(o: { zvtThinkMs?: number } = {}): Promise<CardKiosk> {
  // Chromium starts while the store, terminal and printer set up: nothing below needs it before the end.
  const launching = launchBrowser();
  launching.catch(() => undefined); // a failed launch is thrown where it is awaited
  const signer = createHqSigner({ kid: 'hq-card' });
  const tmp = tempDir('sgw-card-kiosk-');
  const hq = await startMosquitto();
  const extra = await kioskExtra(hq.url, signer.publicKeyPem, signer.kid);
  const kiosk = extra.kiosk as { devices: Record<string, Record<string, string>> } & Record<string, unknown>;
  kiosk.devices = { k1: { scanner: 'sc-1', payment: 'pay-1', printer: 'pr-1' } };
  // Printed after every sale, so the tests read each receipt off the printer simulator.
  kiosk.receipt = { storeName: 'Card Store', qrUrl: RECEIPT_QR, print: 'always' };
  // A terminal that waits for a card takes its time: the kiosk's payment timeout is the terminal's business here.
  kiosk.paymentTimeoutMs = 20_000;
  const gw = await startGateway({
    devices: [{ kind: 'scanner', id: 'sc-1' }, { kind: 'payment', id: 'pay-1', bridge: 'kb' }, { kind: 'printer', id: 'pr-1', bridge: 'kb' }],
    bridges: ['kb'],
    extra,
  });
  const committed: NewEvent[] = [];
  const listeners = new Set<(e: NewEvent) => void>();
  gw.gw.onEvent((e) => {
    committed.push(e);
    for (const l of [...listeners]) l(e);
  });
  const event = (match: (e: NewEvent) => boolean, what: string, timeoutMs = 15_000) =>
    new Promise<NewEvent>((resolve, reject) => {
      const found = committed.find(match);
      if (found) return resolve(found);
      const t = setTimeout(() => {
        listeners.delete(on);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const on = (e: NewEvent) => {
        if (!match(e)) return;
        clearTimeout(t);
        listeners.delete(on);
        resolve(e);
      };
      listeners.add(on);
    });

  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  const items = Object.values(ITEMS);
  await feeds.publish('catalog', 'store', 1, { mode: 'snapshot', items: items.map((i) => ({ gtin: i.gtin, name: i.name, unit: 'each', vatRateBp: 700 })) });
  await feeds.publish('prices', 'store', 1, { mode: 'snapshot', currency: 'EUR', prices: items.map((i) => ({ gtin: i.gtin, price: i.price })), promotions: [] });
  const p = gw.gw.prices!;
  await until(p.changes, 'change', () => items.every((i) => p.priceAt(i.gtin) !== null), 10_000, 'feeds applied');
  await feeds.close();

  const zvt = new ZvtSim({ thinkMs: o.zvtThinkMs ?? 300, seed: 7 });
  await zvt.start();
  const printer = new PrinterSim();
  const printerPort = await printer.listen();
  const parsed = parseBridgeConfig(
    stringify({
      log: { level: 'silent' },
      mqtt: { url: gw.mqttUrl, username: 'bridge/kb', password: TEST_SECRET, reconnect: { initialMs: 50, maxMs: 500 } },
      portBackoff: { initialMs: 50, maxMs: 300 },
      devices: [
        { kind: 'payment', id: 'pay-1', protocol: 'zvt', tcp: { host: '127.0.0.1', port: zvt.port }, options: { stateDir: path.join(tmp.dir, 'zvt'), currency: 'EUR', t3Ms: 2000, t4Ms: 5000 } },
        { kind: 'printer', id: 'pr-1', protocol: 'escpos', tcp: { host: '127.0.0.1', port: printerPort }, options: { width: 42, statusPollMs: 100, statusTimeoutMs: 500 } },
      ],
    }),
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  const none = (): never => {
    throw new Error('not used here');
  };
  const transports: Transports = { serial: none, hid: none, gpioIn: none, gpioOut: none, tcp: (t) => new TcpTransport(t) };
  const logger = pino({ level: 'silent' });
  const bridge = new Bridge({ url: gw.mqttUrl, username: 'bridge/kb', password: TEST_SECRET, drivers: createDrivers(parsed.config, { transports, logger }), logger, reconnect: parsed.config.mqtt.reconnect });
  await bridge.start();
  await event((e) => e.kind === 'printer' && e.type === 'status' && dataOf(e).paper === 'ok', 'the printer status');
  const online = () => gw.gw.registry.get('payment', 'pay-1')?.online === true;
  if (!online()) await new Promise<void>((resolve) => {
    const off = gw.gw.registry.onChange(() => online() && (off(), resolve()));
  });

  const dev = await Peripherals.connect(gw.mqttUrl, [{ kind: 'scanner', id: 'sc-1' }]);
  const browser = await launching;
  return {
    hq,
    gw,
    zvt,
    printer,
    bridge,
    dev,
    browser,
    committed,
    event,
    async openKiosk() {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      await page.addInitScript(WATCH_PAGE);
      await page.goto(`${gw.httpUrl}/kiosk/#k=k1&t=${TOKENS.k1}`);
      await page.locator('[data-conn="online"]').waitFor();
      return page;
    },
    async stop() {
      await browser.close().catch(() => undefined);
      await dev.close().catch(() => undefined);
      await bridge.stop().catch(() => undefined);
      await printer.stop();
      await zvt.stop();
      await gw.stop();
      await hq.stop();
      tmp.remove();
    },
  };
}

/** Scans one item at k1 and presses Pay; resolves once the page has shown its paying screen. */
export async function scanAndPay(k: CardKiosk, page: Page, gtin: string): Promise<void> {
  await k.dev.scan('sc-1', gtin);
  await page.locator(`[data-testid="line"][data-gtin="${gtin}"]`).waitFor();
  const before = (await seenOnPage(page)).paying;
  await page.getByTestId('pay').click();
  // With a terminal that drops the line at once, the paying screen can be gone again before a
  // waitFor would look (a busy box): wait for the page's own record of having shown it.
  await page.waitForFunction((n) => (window as unknown as { __seen: { paying: number } }).__seen.paying > n, before);
}

/** The kiosk sales the gateway committed, by the payment's requestId. */
export function salesOf(k: CardKiosk): Record<string, unknown>[] {
  return k.committed.filter((e) => e.kind === 'kiosk' && e.type === 'transaction').map(dataOf);
}
