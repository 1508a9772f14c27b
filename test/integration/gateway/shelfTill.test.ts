/**
 * Shelf = till through a real gateway process (dist/storegw.js), a real Mosquitto as HQ
 * and a real kiosk WebSocket: HQ changes the price of milk; its label's access point takes the
 * command and never acknowledges it; a shopper buys milk and bread at kiosk k1.
 * - The sale's lines carry the catalog versions they were priced from and their label's state:
 *   milk `pending` with the hash of what the label still shows (the old price), bread `current`.
 * - Exactly one `priceMismatch` record (milk), in `storegw outbox export`, right after its sale.
 * - A PRICE_MISMATCH alert on the ops live feed and in `GET /api/alerts` (the ops page's list).
 * - A line in the `report/prices` sync report HQ receives.
 * - After a SIGKILL, the restarted gateway still knows what the pending label shows (prices.db).
 * - The sale before the price change (every label current) produces none of these.
 * HQ refuses the store's batches (Mosquitto dynamic security), so every record stays in the outbox
 * for the export; feeds and reports flow as usual.
 */
import { execFile } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { promisify } from 'node:util';
import path from 'node:path';
import WebSocket from 'ws';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, GATEWAY_BIN, spawnGateway, TEST_SECRET, writeConfigFile, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, until, type HqFeeds } from '../../sim/hqFeeds.js';
import { HqSim, hqBrokerSecurity } from '../../sim/hqSim.js';
import { EslApSim } from '../../sim/eslSim.js';
import { PaymentSim } from '../../sim/paymentSim.js';
import { topics } from '../../../gateway/protocol/topics.js';
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, Peripherals, PRICES, TOKENS } from '../../e2e/kioskFixture.js';
import { login, SseReader } from './opsClient.js';

const STORE = 'test-store';
const signer = createHqSigner({ kid: 'hq-shelf' });
const tmp = tempDir('sgw-shelf-');
const LABELS = { mode: 'snapshot', bindings: [{ labelId: 'L-MILK', gtin: G.milk, ap: 'ap-1' }, { labelId: 'L-BREAD', gtin: G.bread, ap: 'ap-1' }] };
const DEVICES = [...KIOSK_DEVICES, { kind: 'esl' as const, id: 'ap-1' }];

interface Report {
  versions: Record<string, number>;
  labels: { total: number; acked: number; stale: number; pending: number };
  priceMismatches?: { total: number; recent: { transactionId: string; gtin: string; labelId: string; labelState: string; labelHash: string; tillPrice: number; labelPrice: number }[] };
}

let hq: Mosquitto;
let hqSim: HqSim;
let hqWatch: MqttClient;
const reports: Report[] = [];
const hqEvents = new EventEmitter();
let configFile: string;
let gw: GatewayProcess;
let base: string;
let feeds: HqFeeds;
let esl: EslApSim;
let dev: Peripherals;
let pay: PaymentSim;
let sse: SseReader;
let ws: WebSocket;
let cart: CartView | null = null;
const wsEvents = new EventEmitter();
/** The hash of what L-MILK shows at the old price (acked by the AP before the change). */
let oldMilkHash: string;
const sales: string[] = [];

async function buy(codes: string[]): Promise<string> {
  if (cart?.phase === 'done') {
    ws.send(JSON.stringify({ type: 'cancel' })); // "Done": the next shopper
    await until(wsEvents, 'cart', () => cart?.phase === 'idle', 10_000, 'a new session', () => cart?.phase);
  }
  for (const [i, code] of codes.entries()) {
    await dev.scan('sc-1', code);
    await until(wsEvents, 'cart', () => cart!.lines.length === i + 1, 10_000, `line ${i + 1}`, () => cart?.lines);
  }
  ws.send(JSON.stringify({ type: 'pay' }));
  await until(wsEvents, 'cart', () => cart?.phase === 'done' && cart.receipt !== null, 15_000, 'the receipt', () => ({ phase: cart?.phase, notice: cart?.notice }));
  sales.push(cart!.receipt!.transactionId);
  return cart!.receipt!.transactionId;
}

beforeAll(async () => {
  const security = hqBrokerSecurity(tmp.dir);
  hq = await startMosquitto({ extraConfig: security.extraConfig });
  hqSim = new HqSim({ url: hq.url, admin: security.admin });
  await hqSim.start();
  await hqSim.refuse(STORE); // the outbox keeps every record (see the header)
  hqWatch = await mqtt.connectAsync(hq.url, { reconnectPeriod: 0 });
  hqWatch.on('message', (_t, p) => {
    reports.push(JSON.parse(p.toString('utf8')) as Report);
    hqEvents.emit('report');
  });
  await hqWatch.subscribeAsync(topics.hqReport(STORE, 'prices'), { qos: 1 });

  const extra = { ...(await kioskExtra(hq.url, signer.publicKeyPem, signer.kid)), esl: { tickMs: 50, ackTimeoutMs: 120_000 } };
  configFile = await writeConfigFile(tmp.dir, { dataDir: path.join(tmp.dir, 'data'), devices: DEVICES, extra });
  gw = await spawnGateway(configFile);
  base = `http://127.0.0.1:${gw.httpPort}`;
  const url = `mqtt://127.0.0.1:${gw.mqttPort}`;

  esl = new EslApSim({ url, apId: 'ap-1', password: TEST_SECRET, labels: ['L-MILK', 'L-BREAD'], radioRate: 1000, ackDelayMs: 0 });
  await esl.connect();
  feeds = await connectHqFeeds(hq.url, STORE, signer);
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('labels', 'store', 1, LABELS);
  await until(hqEvents, 'report', () => reports.some((r) => r.versions['prices/store'] === 1 && r.versions['labels/store'] === 1 && r.labels.acked === 2 && r.labels.stale === 0), 20_000, 'both labels current at HQ', () => reports.at(-1));
  oldMilkHash = esl.shown.get('L-MILK')!;
  expect(oldMilkHash).toMatch(/^[0-9a-f]{16}$/);

  await connectKiosk();
}, 90_000);

/** Kiosk k1's page (WebSocket), scanner and terminal, and the ops live feed, on the running gateway. */
async function connectKiosk(): Promise<void> {
  const url = `mqtt://127.0.0.1:${gw.mqttPort}`;
  dev = await Peripherals.connect(url, KIOSK_DEVICES.filter((d) => d.kind === 'scanner' && d.id === 'sc-1'));
  pay = new PaymentSim({ url, id: 'pay-1', password: TEST_SECRET });
  await pay.start();
  sse = await SseReader.open(base, await login(base, 'viewer'));
  cart = null;
  ws = new WebSocket(`${base.replace('http', 'ws')}/ws/kiosk`, { origin: base });
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as { type: string };
    if (m.type === 'cart') {
      cart = m as CartView;
      wsEvents.emit('cart');
    }
  });
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'hello', kioskId: 'k1', token: TOKENS.k1 }));
  await until(wsEvents, 'cart', () => cart !== null, 10_000, 'the first cart');
}

async function disconnectKiosk(): Promise<void> {
  ws.close();
  sse.close();
  await dev.close();
  await pay.stop();
}

afterAll(async () => {
  ws?.close();
  sse?.close();
  await dev?.close().catch(() => undefined);
  await pay?.stop().catch(() => undefined);

  await esl?.disconnect().catch(() => undefined);
  await feeds?.close().catch(() => undefined);
  await gw?.kill('SIGKILL');
  await hqWatch?.endAsync();
  await hqSim?.stop();
  await hq?.stop();
  tmp.remove();
});

/** `p`, or a clear failure after `ms` (instead of the test's own timeout). */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_r, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)))]).finally(() => clearTimeout(timer));
}

/** `storegw outbox export` of the stopped gateway, one record a line. */
async function exportOutbox(): Promise<{ seq: number; kind: string; type: string; deviceId: string; class: string; data: any }[]> {
  const { stdout } = await promisify(execFile)(process.execPath, [GATEWAY_BIN, 'outbox', 'export', '--config', configFile], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim().split('\n').map((l) => JSON.parse(l));
}

describe('shelf = till', () => {
  it('a sale while every label shows its price: lines current, no mismatch anywhere', async () => {
    await buy([G.milk, G.bread]);
    expect(cart!.receipt!.total).toBe(129 + 250);
  });

  it('HQ changes the price, the label never acks it, milk is sold: pending with the old hash, a mismatch record, an alert, a report line', async () => {
    // The AP goes; one that takes commands and never acknowledges them comes in its place.
    await esl.disconnect();
    const deaf = await connectDevice(`mqtt://127.0.0.1:${gw.mqttPort}`, 'esl/ap-1', TEST_SECRET, { clientId: 'esl-deaf' });
    const shows: { labelId: string; price: number }[] = [];
    const apEvents = new EventEmitter();
    deaf.on('message', (_t, p) => {
      for (const l of (JSON.parse(p.toString('utf8')) as { labels: { labelId: string; price: number }[] }).labels) shows.push(l);
      apEvents.emit('show');
    });
    await deaf.subscribeAsync(topics.cmd('esl', 'ap-1', 'show'), { qos: 1 });
    try {
      const since = Date.now();
      await feeds.publish('prices', 'store', 2, { ...PRICES, prices: PRICES.prices.map((p) => (p.gtin === G.milk ? { ...p, price: 149 } : p)) });
      await until(apEvents, 'show', () => shows.some((l) => l.labelId === 'L-MILK' && l.price === 149), 15_000, 'the new milk price sent to the AP', () => shows);

      const tx = await buy([G.milk, G.bread]);
      expect(cart!.receipt!.total).toBe(149 + 250); // the till's price is what the shopper pays

      const alert = await within(sse.next((f) => f.event === 'alert' && f.data.code === 'PRICE_MISMATCH', since), 15_000, 'the PRICE_MISMATCH alert on the live feed');
      expect(alert.data.message).toContain('L-MILK');
      expect(alert.data.message).toContain(tx);
      const listed = (await (await fetch(`${base}/api/alerts`, { headers: { cookie: await login(base, 'viewer') } })).json()) as { alerts: { code: string; message: string }[] };
      expect(listed.alerts.filter((a) => a.code === 'PRICE_MISMATCH')).toHaveLength(1);

      await until(hqEvents, 'report', () => (reports.at(-1)?.priceMismatches?.total ?? 0) >= 1, 15_000, 'the mismatch in the sync report', () => reports.at(-1));
      expect(reports.at(-1)!.priceMismatches!.recent).toEqual([
        expect.objectContaining({ transactionId: tx, gtin: G.milk, labelId: 'L-MILK', labelState: 'pending', labelHash: oldMilkHash, tillPrice: 149, labelPrice: 129 }),
      ]);
      expect(reports.at(-1)!.versions['prices/store']).toBe(2);
    } finally {
      await deaf.endAsync(true);
    }
  });

  it('killed (SIGKILL) and restarted: the label is still pending with the old hash, and a milk sale is flagged again', async () => {
    await disconnectKiosk();
    await gw.kill('SIGKILL');
    gw = await spawnGateway(configFile);
    base = `http://127.0.0.1:${gw.httpPort}`;
    await connectKiosk();
    const since = Date.now();
    const tx = await buy([G.milk]);
    expect(cart!.receipt!.total).toBe(149);
    const alert = await within(sse.next((f) => f.event === 'alert' && f.data.code === 'PRICE_MISMATCH', since), 15_000, 'the PRICE_MISMATCH alert after the restart');
    expect(alert.data.message).toContain(tx);
  });

  it('outbox export: every line carries its catalog version and label state; one priceMismatch per flagged sale, right after it', async () => {
    await disconnectKiosk();
    await gw.kill('SIGTERM');
    const recs = await exportOutbox();
    const sale = (id: string) => recs.find((r) => r.kind === 'kiosk' && r.type === 'transaction' && r.data.transactionId === id)!;
    const [before, after, restarted] = sales.map(sale);

    expect(before.data.lines.map((l: any) => [l.gtin, l.catalogVersions['prices/store'], l.shelfPrice, l.label.state, l.label.labelId, l.label.shows])).toEqual([
      [G.milk, 1, 129, 'current', 'L-MILK', 129],
      [G.bread, 1, 250, 'current', 'L-BREAD', 250],
    ]);
    expect(before.data.lines[0].label.hash).toBe(oldMilkHash);
    expect(after.data.lines.map((l: any) => [l.gtin, l.catalogVersions['prices/store'], l.unitPrice, l.label.state, l.label.shows])).toEqual([
      [G.milk, 2, 149, 'pending', 129],
      [G.bread, 2, 250, 'current', 250],
    ]);
    expect(after.data.lines[0].label.hash).toBe(oldMilkHash);
    expect(after.data.lines[0].catalogVersions).toMatchObject({ 'catalog/store': 1, 'prices/store': 2, 'labels/store': 1 });

    expect(restarted.data.lines.map((l: any) => [l.gtin, l.catalogVersions['prices/store'], l.unitPrice, l.label.state, l.label.hash, l.label.shows])).toEqual([[G.milk, 2, 149, 'pending', oldMilkHash, 129]]);

    const mismatches = recs.filter((r) => r.type === 'priceMismatch');
    expect(mismatches.map((r) => r.data.transactionId)).toEqual([sales[1], sales[2]]);
    expect(mismatches[1]).toMatchObject({ seq: restarted.seq + 1, data: { labelState: 'pending', labelHash: oldMilkHash, tillPrice: 149, labelPrice: 129 } });
    const m = mismatches[0];
    expect(m).toMatchObject({ kind: 'kiosk', deviceId: 'k1', class: 'exact', seq: after.seq + 1 });
    expect(m.data).toEqual({
      ts: after.data.ts,
      mismatchId: `${sales[1]}:0:L-MILK`,
      kioskId: 'k1',
      transactionId: sales[1],
      line: 0,
      gtin: G.milk,
      name: 'Milk 1 L',
      catalogVersions: after.data.lines[0].catalogVersions,
      currency: 'EUR',
      tillPrice: 149,
      charged: 149,
      labelId: 'L-MILK',
      labelState: 'pending',
      labelHash: oldMilkHash,
      labelPrice: 129,
      labelCurrency: 'EUR',
      paid: 'till',
    });
  });
});
