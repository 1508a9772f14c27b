/**
 * The shopper's receipt through a real gateway: kiosk k1 with a receipt printer (pr-1, an MQTT
 * device here, answering its commands as a bridge would) in `print: ask` mode, the kiosk page's
 * WebSocket, its scanner, and the payment terminal simulator.
 * - The thank-you cart carries the receipt model, built from the committed sale record: the
 *   terminal's receipt number, card and its own lines, the member masked with their tier, the
 *   e-receipt URL with the transaction id; nothing is printed until the shopper asks.
 * - "Print receipt" pressed twice prints once, and what the printer gets is the page's model laid
 *   out for paper (the same lines, totals, VAT, payment and QR).
 */
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { connectDevice, startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, until } from '../../sim/hqFeeds.js';
import { PaymentSim } from '../../sim/paymentSim.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, MEMBER, MEMBERS, Peripherals, PRICES, TOKENS } from '../../e2e/kioskFixture.js';
import { topics } from '../../../gateway/protocol/topics.js';
import type { NewEvent } from '../../../gateway/outbox/store.js';
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';
import type { ReceiptDoc } from '../../../gateway/protocol/schemas/printer.js';
import { printedReceipt } from '../../../gateway/kiosk/receipt.js';

const signer = createHqSigner({ kid: 'hq-receipt' });
const QR_URL = 'https://receipts.example/r/{transactionId}';
let hq: Mosquitto;
let gw: RunningGateway;
let dev: Peripherals;
let printerDev: MqttClient;
let pay: PaymentSim;
let ws: WebSocket;
let cart: CartView | null = null;
const carts = new EventEmitter();
const committed: NewEvent[] = [];
/** Every print command the printer got, in order. */
const prints: { cmdId: string; receipt: ReceiptDoc }[] = [];
const printed = new EventEmitter();

const send = (m: object) => ws.send(JSON.stringify(m));

async function sale(codes: string[], member?: string): Promise<CartView> {
  if (cart?.phase === 'done') {
    send({ type: 'cancel' });
    await until(carts, 'cart', () => cart?.phase === 'idle', 10_000, 'a new session', () => cart?.phase);
  }
  for (const [i, code] of codes.entries()) {
    await dev.scan('sc-1', code);
    await until(carts, 'cart', () => cart!.lines.reduce((n, l) => n + l.qty, 0) === i + 1, 10_000, `item ${i + 1}`, () => cart?.lines);
  }
  if (member) {
    send({ type: 'member', code: member });
    await until(carts, 'cart', () => cart?.memberCode === member, 10_000, 'the member', () => cart?.notice);
  }
  send({ type: 'pay', lang: 'en' });
  await until(carts, 'cart', () => cart?.phase === 'done' && cart.receipt?.model !== undefined, 15_000, 'the receipt', () => ({ phase: cart?.phase, notice: cart?.notice, requests: cart?.requests, receipt: cart?.receipt }));
  return cart!;
}

beforeAll(async () => {
  hq = await startMosquitto();
  const extra = await kioskExtra(hq.url, signer.publicKeyPem, signer.kid);
  const kiosk = extra.kiosk as { devices: Record<string, Record<string, string>> } & Record<string, unknown>;
  kiosk.devices.k1.printer = 'pr-1';
  kiosk.receipt = { print: 'ask', storeName: 'Demo Store', header: ['Main Street 1'], qrUrl: QR_URL };
  gw = await startGateway({ devices: [...KIOSK_DEVICES, { kind: 'printer', id: 'pr-1' }], extra });
  gw.gw.onEvent((e) => void committed.push(e));
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('members', 'store', 1, MEMBERS);
  const p = gw.gw.prices!;
  await until(p.changes, 'change', () => p.priceAt(G.bread) !== null && p.currentCatalog().members.has(MEMBER), 10_000, 'feeds applied');
  await feeds.close();

  dev = await Peripherals.connect(gw.mqttUrl, KIOSK_DEVICES.filter((d) => d.id === 'sc-1'));
  // The printer acks each print, as the bridge does once the bytes are out.
  printerDev = await connectDevice(gw.mqttUrl, 'printer/pr-1', TEST_SECRET);
  printerDev.on('message', (_t, payload) => {
    const cmd = JSON.parse(payload.toString('utf8')) as { cmdId: string; receipt: ReceiptDoc };
    prints.push(cmd);
    printed.emit('print');
    void printerDev.publishAsync(topics.evt('printer', 'pr-1', 'ack'), JSON.stringify({ ts: new Date().toISOString(), cmdId: cmd.cmdId, ok: true }), { qos: 1 });
  });
  await printerDev.subscribeAsync(topics.cmd('printer', 'pr-1', 'print'), { qos: 1 });
  pay = new PaymentSim({ url: gw.mqttUrl, id: 'pay-1', password: TEST_SECRET });
  await pay.start();
  ws = new WebSocket(`${gw.httpUrl.replace('http', 'ws')}/ws/kiosk`, { origin: gw.httpUrl });
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as { type: string };
    if (m.type !== 'cart') return;
    cart = m as CartView;
    carts.emit('cart');
  });
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  send({ type: 'hello', kioskId: 'k1', token: TOKENS.k1 });
  await until(carts, 'cart', () => cart !== null, 10_000, 'the first cart');
}, 60_000);

afterAll(async () => {
  ws?.close();
  await dev?.close().catch(() => undefined);
  await printerDev?.endAsync().catch(() => undefined);
  await pay?.stop().catch(() => undefined);
  await gw?.stop();
  await hq?.stop();
});

describe('the kiosk receipt', () => {
  it('the thank-you cart carries the receipt model of the committed sale; nothing printed until asked', async () => {
    const c = await sale([G.milk, G.bread], MEMBER);
    const r = c.receipt!;
    const m = r.model!;
    const tx = committed.find((e) => e.kind === 'kiosk' && e.type === 'transaction' && (JSON.parse(e.data) as { transactionId: string }).transactionId === r.transactionId);
    expect(tx).toBeDefined();
    const rec = JSON.parse(tx!.data) as { total: number; payment: { requestId: string }; lines: { saving?: number }[] };
    const refs = pay.refsOf(rec.payment.requestId)!;
    expect(m.transactionId).toBe(r.transactionId);
    expect(m.total).toBe(rec.total);
    expect(m.lines.map((l) => [l.name, l.amount, l.saving])).toEqual([
      ['Milk 1 L', 99, 30],
      ['Bread', 250, 0],
    ]);
    expect(m.savings).toBe(30);
    expect(m.vat.reduce((a, v) => a + v.gross, 0)).toBe(m.total);
    expect(m.payment).toMatchObject({ method: 'card', amount: rec.total, cardName: refs.cardType, maskedPan: refs.maskedPan, receiptNo: refs.receiptNo, terminalLines: refs.receipt });
    expect(m.member).toEqual({ id: '****001', tier: 'gold' });
    expect(JSON.stringify(r)).not.toContain(MEMBER);
    expect(m.url).toBe(QR_URL.replace('{transactionId}', r.transactionId));
    expect(m.store).toEqual({ id: 'test-store', name: 'Demo Store', header: ['Main Street 1'] });
    expect(r.print).toEqual({ offer: true, printed: false });
    expect(prints).toEqual([]);
  });

  it('"Print receipt" twice prints once: the printer gets the page\'s receipt laid out for paper', async () => {
    const shown = cart!.receipt!;
    send({ type: 'printReceipt' });
    send({ type: 'printReceipt' });
    await until(printed, 'print', () => prints.length >= 1, 10_000, 'the print command');
    await until(carts, 'cart', () => cart?.receipt?.print?.printed === true, 10_000, 'printed on the page', () => cart?.receipt?.print);
    expect(cart!.receipt!.print).toEqual({ offer: false, printed: true });
    const doc = prints[0].receipt;
    expect(doc).toEqual(printedReceipt(shown.model!, gw.config.ops.timezone));
    expect(doc.transactionId).toBe(shown.transactionId);
    expect(doc.qr).toBe(shown.model!.url);
    expect(doc.lines.map((l) => l.amount)).toEqual(shown.model!.lines.map((l) => l.amount));
    expect(doc.payment).toContain(`Receipt no. ${shown.model!.payment.receiptNo}`);

    // The next sale's print comes after any second print of the first one would have (one MQTT
    // session, in order): exactly one print per sale.
    const next = await sale([G.bread]);
    send({ type: 'printReceipt' });
    await until(printed, 'print', () => prints.length >= 2, 10_000, 'the second sale\'s print');
    expect(prints.map((p) => p.receipt.transactionId)).toEqual([shown.transactionId, next.receipt!.transactionId]);
  });
});
