/**
 * Receipts end to end, real parts only: the gateway (in-process, real broker, ingest, SQLite, HTTP)
 * with kiosk k1 whose `printer` is pr-1; an in-process Bridge with the escpos driver on a real TCP
 * connection to the printer simulator; the kiosk page's WebSocket, its scanner and terminal over MQTT.
 * - A sale prints: the simulator decodes the lines, the total, VAT and the QR with the sale's
 *   transaction id from the bytes; the gateway sees the printer's ack ok.
 * - The shopper's language (sent with `pay`) is the receipt's: Chinese in GB18030.
 * - Paper out: a `status` event and a PRINTER_PAPER_OUT alert in the ops alert book (GET
 *   /api/alerts); the next sale still completes, and its print is acked ok:false "paper out".
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, until } from '../../sim/hqFeeds.js';
import { PaymentSim } from '../../sim/paymentSim.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, Peripherals, PRICES, TOKENS } from '../../e2e/kioskFixture.js';
import { login } from '../gateway/opsClient.js';
import type { NewEvent } from '../../../gateway/outbox/store.js';
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';
import { parseBridgeConfig } from '../../../firmware-bridge/config.js';
import { createDrivers, type Transports } from '../../../firmware-bridge/driverFactory.js';
import { Bridge } from '../../../firmware-bridge/bridge.js';
import { TcpTransport } from '../../../firmware-bridge/transports/tcp.js';
import { PrinterSim } from '../../../firmware-bridge/devices/escpos/sim.js';

const signer = createHqSigner({ kid: 'hq-printer' });
let hq: Mosquitto;
let gw: RunningGateway;
let base: string;
let printer: PrinterSim;
let bridge: Bridge;
let dev: Peripherals;
let pay: PaymentSim;
let ws: WebSocket;
let cart: CartView | null = null;
const carts = new EventEmitter();
const committed: NewEvent[] = [];
const seen = new EventEmitter();

/** The first committed event (from now or already in) that matches. */
function event(match: (e: NewEvent) => boolean, what: string): Promise<NewEvent> {
  return new Promise((resolve, reject) => {
    const found = committed.find(match);
    if (found) return resolve(found);
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 10_000);
    const on = (e: NewEvent) => {
      if (!match(e)) return;
      clearTimeout(t);
      seen.off('event', on);
      resolve(e);
    };
    seen.on('event', on);
  });
}
const data = (e: NewEvent) => JSON.parse(e.data) as Record<string, unknown>;

async function sale(codes: string[], lang?: 'en' | 'zh'): Promise<string> {
  if (cart?.phase === 'done') {
    ws.send(JSON.stringify({ type: 'cancel' }));
    await until(carts, 'cart', () => cart?.phase === 'idle', 10_000, 'a new session', () => cart?.phase);
  }
  for (const [i, code] of codes.entries()) {
    await dev.scan('sc-1', code);
    await until(carts, 'cart', () => cart!.lines.reduce((n, l) => n + l.qty, 0) === i + 1, 10_000, `item ${i + 1}`, () => cart?.lines);
  }
  ws.send(JSON.stringify({ type: 'pay', ...(lang ? { lang } : {}) }));
  await until(carts, 'cart', () => cart?.phase === 'done' && cart.receipt !== null, 15_000, 'the sale', () => ({ phase: cart?.phase, notice: cart?.notice }));
  return cart!.receipt!.transactionId;
}

beforeAll(async () => {
  hq = await startMosquitto();
  const extra = await kioskExtra(hq.url, signer.publicKeyPem, signer.kid);
  const kiosk = extra.kiosk as { devices: Record<string, Record<string, string>> } & Record<string, unknown>;
  kiosk.devices.k1.printer = 'pr-1';
  kiosk.receipt = { print: 'always', storeName: 'Demo Store', header: ['Main Street 1'], qrUrl: 'https://r.example/{transactionId}' };
  gw = await startGateway({ devices: [...KIOSK_DEVICES, { kind: 'printer', id: 'pr-1', bridge: 'kb' }], bridges: ['kb'], extra });
  base = gw.httpUrl;
  gw.gw.onEvent((e) => {
    committed.push(e);
    seen.emit('event', e);
  });
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  const p = gw.gw.prices!;
  await until(p.changes, 'change', () => p.priceAt(G.bread) !== null, 10_000, 'feeds applied');
  await feeds.close();

  printer = new PrinterSim({ cjkAtPowerOn: true });
  const port = await printer.listen();
  const parsed = parseBridgeConfig(
    stringify({
      log: { level: 'silent' },
      mqtt: { url: gw.mqttUrl, username: 'bridge/kb', password: TEST_SECRET, reconnect: { initialMs: 50, maxMs: 500 } },
      devices: [{ kind: 'printer', id: 'pr-1', protocol: 'escpos', tcp: { host: '127.0.0.1', port }, options: { width: 42, cjk: true, statusPollMs: 100, statusTimeoutMs: 500 } }],
    }),
  );
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  const none = () => {
    throw new Error('not used');
  };
  const transports: Transports = { serial: none, hid: none, gpioIn: none, gpioOut: none, tcp: (o) => new TcpTransport(o) };
  const logger = pino({ level: 'silent' });
  bridge = new Bridge({ url: gw.mqttUrl, username: 'bridge/kb', password: TEST_SECRET, drivers: createDrivers(parsed.config, { transports, logger }), logger, reconnect: parsed.config.mqtt.reconnect });
  await bridge.start();
  await event((e) => e.kind === 'printer' && e.type === 'status' && data(e).paper === 'ok', 'the printer status');

  dev = await Peripherals.connect(gw.mqttUrl, KIOSK_DEVICES.filter((d) => d.id === 'sc-1'));
  pay = new PaymentSim({ url: gw.mqttUrl, id: 'pay-1', password: TEST_SECRET });
  await pay.start();
  ws = new WebSocket(`${base.replace('http', 'ws')}/ws/kiosk`, { origin: base });
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as { type: string };
    if (m.type === 'cart') {
      cart = m as CartView;
      carts.emit('cart');
    }
  });
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  ws.send(JSON.stringify({ type: 'hello', kioskId: 'k1', token: TOKENS.k1 }));
  await until(carts, 'cart', () => cart !== null, 10_000, 'the first cart');
}, 60_000);

afterAll(async () => {
  ws?.close();
  await dev?.close().catch(() => undefined);
  await pay?.stop().catch(() => undefined);
  await bridge?.stop().catch(() => undefined);
  await printer?.stop();
  await gw?.stop();
  await hq?.stop();
});

describe('kiosk receipts on an ESC/POS printer', () => {
  it('prints the sale: lines, total, VAT and the QR of the digital receipt, decoded from the bytes; acked ok', async () => {
    const printed = printer.nextReceipt();
    const tx = await sale([G.milk, G.bread, G.milk]);
    const r = await printed;
    const text = r.lines.map((l) => l.text);
    expect(r.lines[0]).toMatchObject({ text: 'Demo Store', align: 'center', width: 2 });
    expect(text).toContain('Main Street 1');
    expect(text).toContain(`Milk 1 L${' '.repeat(29)}€2.58`);
    expect(text).toContain('  2 x €1.29');
    expect(text).toContain(`Bread${' '.repeat(32)}€2.50`);
    expect(r.lines.find((l) => l.text.startsWith('TOTAL'))).toMatchObject({ text: `TOTAL${' '.repeat(32)}€5.08`, bold: true });
    // 7 % VAT taken out of €5.08: tax 33 cents, net €4.75.
    expect(text).toContain(`VAT 7% (net, tax)${' '.repeat(13)}€4.75  €0.33`);
    expect(r.qr).toEqual([`https://r.example/${tx}`]);
    expect(text).toContain(tx);
    const ack = await event((e) => e.kind === 'printer' && e.type === 'ack' && data(e).ok === true, 'the print ack');
    expect(data(ack)).toMatchObject({ ok: true });
  });

  it('prints in the language the shopper paid in (Chinese, GB18030 on a CJK printer)', async () => {
    const printed = printer.nextReceipt();
    const tx = await sale([G.bread], 'zh');
    const text = (await printed).lines.map((l) => l.text);
    expect(text).toContain('自助收银 k1');
    expect(text).toContain(`合计${' '.repeat(33)}€2.50`);
    expect(text).toContain('谢谢惠顾');
    expect(text).toContain(tx);
  });

  it('paper out: status and an attendant alert on the ops side; the sale still completes, its print acked ok:false', async () => {
    printer.setPaper('out');
    const st = await event((e) => e.kind === 'printer' && e.type === 'status' && data(e).paper === 'out', 'the paper-out status');
    expect(data(st)).toMatchObject({ online: false, paper: 'out', coverOpen: false });
    await event((e) => e.kind === 'printer' && e.type === 'alert' && data(e).code === 'PRINTER_PAPER_OUT', 'the alert');
    const cookie = await login(base, 'viewer');
    const listed = (await (await fetch(`${base}/api/alerts`, { headers: { cookie } })).json()) as { alerts: { code: string; source: string; severity: string }[] };
    expect(listed.alerts.filter((a) => a.code === 'PRINTER_PAPER_OUT')).toEqual([expect.objectContaining({ source: 'printer/pr-1', severity: 'critical' })]);

    const tx = await sale([G.bread]);
    expect(tx).toMatch(/.+/);
    const nack = await event((e) => e.kind === 'printer' && e.type === 'ack' && data(e).ok === false, 'the refused print');
    expect(data(nack)).toMatchObject({ ok: false, error: 'paper out' });
    printer.setPaper('ok');
  });
});
