/**
 * Issue 14 through the real gateway process: RFID reads published by a basket reader over MQTT,
 * intents over the kiosk WebSocket, a payment terminal that approves, a SIGKILL and a restart.
 * - an item is its GTIN and its serial (two products with one serial are both charged, a pair read
 *   again once);
 * - `pickProduce` of a per-item GTIN is refused with a notice naming the field, counted and logged;
 * - an RFID line is removed and its tag, still read, is not charged again;
 * - the next shopper: the paid basket's tags keep being read after the sale and the next session
 *   stays idle and empty; a new tag starts a cart; the same after a restart (kiosk.db keeps it).
 * Every wait ends on a cart view (device reads of one reader are handled in order, so a cart that
 * shows a later "sentinel" tag has handled every read before it).
 */
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DEVICES, metric, spawnGateway, startGateway, TEST_SECRET, writeConfigFile, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, until } from '../../sim/hqFeeds.js';
import { PaymentSim } from '../../sim/paymentSim.js';
import { encodeSgtin96 } from '../../../gateway/kiosk/sgtin.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, MEMBERS, Peripherals, PRICES, TOKENS } from '../../e2e/kioskFixture.js';

/** An SGTIN-96 of company 0614141: item 812345 is the T-shirt (GTIN 80614141123458), 812346 a cap. */
function epc(itemReference: '812345' | '812346', serial: number): string {
  const r = encodeSgtin96({ filter: 3, companyPrefix: '0614141', itemReference, serial });
  if (!r.ok) throw new Error(r.reason);
  return r.hex;
}
const CAP = '80614141123465';
const shirt = (n: number) => epc('812345', n);
const cap = (n: number) => epc('812346', n);

const signer = createHqSigner({ kid: 'hq-rfid' });
const tmp = tempDir('sgw-kiosk-rfid-');
let hq: Mosquitto;
let configFile: string;
let gw: GatewayProcess | null = null;
let dev: Peripherals;
let pay: PaymentSim;
let k: Kiosk;

interface Cart {
  type: 'cart';
  sessionId: string;
  version: number;
  phase: string;
  lines: { lineId: string; gtin: string; qty: number; price: number; serials?: string[]; grams?: number }[];
  total: number;
  notice: { code: string; detail?: string } | null;
  produceWeight: { grams: number; stable: boolean } | null;
}

/** The kiosk page's socket: every cart the gateway pushes, and a wait for one that matches. */
class Kiosk {
  readonly carts: Cart[] = [];
  private waiters: { pred: (c: Cart) => boolean; resolve: (c: Cart) => void }[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as Cart;
      if (m.type !== 'cart') return;
      this.carts.push(m);
      this.waiters = this.waiters.filter((w) => (w.pred(m) ? (w.resolve(m), false) : true));
    });
  }
  static async open(httpPort: number): Promise<Kiosk> {
    const base = `http://127.0.0.1:${httpPort}`;
    const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws/kiosk`, { origin: base });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const kiosk = new Kiosk(ws);
    const first = kiosk.next(() => true);
    ws.send(JSON.stringify({ type: 'hello', kioskId: 'k1', token: TOKENS.k1 }));
    await first;
    return kiosk;
  }
  get last(): Cart {
    return this.carts[this.carts.length - 1];
  }
  send(m: object): void {
    this.ws.send(JSON.stringify(m));
  }
  /** The first cart from now on (or the current one) that matches; fails after 10 s with the last cart. */
  next(pred: (c: Cart) => boolean, what = 'a cart'): Promise<Cart> {
    if (this.carts.length > 0 && pred(this.last)) return Promise.resolve(this.last);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; last cart: ${JSON.stringify(this.last)}`)), 10_000);
      this.waiters.push({ pred, resolve: (c) => (clearTimeout(t), resolve(c)) });
    });
  }
}

const serialsOf = (c: Cart, gtin: string) => c.lines.find((l) => l.gtin === gtin)?.serials ?? [];

async function start(): Promise<void> {
  gw = await spawnGateway(configFile);
  const url = `mqtt://127.0.0.1:${gw.mqttPort}`;
  dev = await Peripherals.connect(url, KIOSK_DEVICES.filter((d) => d.id.endsWith('-1')));
  pay = new PaymentSim({ url, id: 'pay-1', password: TEST_SECRET });
  await pay.start();
  k = await Kiosk.open(gw.httpPort);
}

async function stop(): Promise<void> {
  k?.ws.close();
  await dev?.close().catch(() => undefined);
  await pay?.stop().catch(() => undefined);
  await gw?.kill('SIGKILL');
}

beforeAll(async () => {
  hq = await startMosquitto();
  const catalog = { ...CATALOG, items: [...CATALOG.items, { gtin: CAP, name: 'Cap', unit: 'each', vatRateBp: 1900 }] };
  const prices = { ...PRICES, prices: [...PRICES.prices, { gtin: CAP, price: 900 }] };
  const opts = { dataDir: path.join(tmp.dir, 'data'), devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) };
  // The feeds arrive once, in-process (so the test can wait on them); the child finds them in prices.db.
  const seed = await startGateway(opts);
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, catalog);
  await feeds.publish('prices', 'store', 1, prices);
  await feeds.publish('members', 'store', 1, MEMBERS);
  const p = seed.gw.prices!;
  await until(p.changes, 'change', () => p.sync().feeds.applied >= 3 && p.priceAt(CAP) !== null, 10_000, 'feeds applied');
  await feeds.close();
  await seed.stop();
  configFile = await writeConfigFile(tmp.dir, opts);
  await start();
});

afterAll(async () => {
  await stop();
  await hq?.stop();
  tmp.remove();
});

describe('kiosk RFID and produce through the real gateway', () => {
  it('two products carrying one serial are both charged; the same (GTIN, serial) read again is counted once', async () => {
    for (const e of [shirt(6789), cap(6789), shirt(6789), cap(6789), shirt(6789)]) await dev.rfid('rf-1', e);
    await dev.rfid('rf-1', shirt(6790)); // sentinel
    const c = await k.next((x) => serialsOf(x, G.shirt).includes('6790'), 'the sentinel tag');
    expect(c.lines.map((l) => [l.gtin, l.qty, l.serials, l.price])).toEqual([
      [G.shirt, 2, ['6789', '6790'], 3000],
      [CAP, 1, ['6789'], 900],
    ]);
    expect(c.total).toBe(3900);
  });

  it('pickProduce of a per-item GTIN is refused with a notice naming the field, counted and logged; a weighed item still is priced', async () => {
    await dev.weight('ps-1', 100);
    await k.next((x) => x.produceWeight?.grams === 100 && x.produceWeight.stable, 'the produce weight');
    k.send({ type: 'pickProduce', gtin: G.shirt });
    const c = await k.next((x) => x.notice !== null, 'a notice');
    expect(c.notice).toEqual({ code: 'notSoldByWeight', detail: `gtin: ${G.shirt} is sold per item, not by weight` });
    expect(c.total).toBe(3900);
    expect(c.lines.find((l) => l.grams !== undefined)).toBeUndefined();
    expect(await metric(`http://127.0.0.1:${gw!.httpPort}`, 'storegw_kiosk_intents_refused_total{code="notSoldByWeight"}')).toBe(1);
    const logged = gw!.output.map((l) => (l.startsWith('{') ? (JSON.parse(l) as Record<string, unknown>) : {})).filter((l) => l.msg === 'kiosk intent refused');
    expect(logged).toEqual([expect.objectContaining({ deviceId: 'k1', intent: 'pickProduce', code: 'notSoldByWeight', reason: `gtin: ${G.shirt} is sold per item, not by weight` })]);
    k.send({ type: 'pickProduce', gtin: G.apples });
    const apples = await k.next((x) => x.lines.some((l) => l.gtin === G.apples), 'the apples line');
    expect(apples.lines.find((l) => l.gtin === G.apples)).toMatchObject({ grams: 100, price: 30 }); // 2.99/kg × 0.1 kg
  });

  it('an RFID line can be removed; its tag, still read, is not added back or charged again', async () => {
    const capLine = k.last.lines.find((l) => l.gtin === CAP)!;
    k.send({ type: 'remove', lineId: capLine.lineId });
    const removed = await k.next((x) => !x.lines.some((l) => l.gtin === CAP), 'the cap line gone');
    expect(removed.total).toBe(3000 + 30);
    await dev.rfid('rf-1', cap(6789));
    const told = await k.next((x) => x.notice?.code === 'removedTagRead', 'the removed-tag notice');
    expect(told.lines.some((l) => l.gtin === CAP)).toBe(false);
    for (let i = 0; i < 3; i++) await dev.rfid('rf-1', cap(6789));
    await dev.rfid('rf-1', shirt(6791)); // sentinel
    const c = await k.next((x) => serialsOf(x, G.shirt).includes('6791'), 'the sentinel tag');
    expect(c.lines.map((l) => [l.gtin, l.serials ?? null])).toEqual([[G.shirt, ['6789', '6790', '6791']], [G.apples, null]]);
    expect(c.total).toBe(4500 + 30);
  });

  it("the next shopper: the paid basket's tags, still read after the sale, leave the next session idle and empty; a new tag starts a cart; also after a SIGKILL", async () => {
    k.send({ type: 'pay' });
    const done = await k.next((x) => x.phase === 'done', 'the thank-you screen');
    expect(pay.charges.map((c) => c.amount)).toEqual([4530]);
    k.send({ type: 'cancel' }); // "Done": the next customer
    const idle = await k.next((x) => x.phase === 'idle' && x.sessionId !== done.sessionId, 'a new idle session');
    const from = k.carts.length;
    // The paid basket is still at the reader: its three shirts are read again and again.
    for (let round = 0; round < 3; round++) for (const n of [6789, 6790, 6791]) await dev.rfid('rf-1', shirt(n));
    await dev.rfid('rf-1', shirt(6792)); // a new tag: the next shopper's
    const next = await k.next((x) => serialsOf(x, G.shirt).includes('6792'), 'the new tag');
    expect(next.sessionId).toBe(idle.sessionId);
    expect(next.lines.map((l) => [l.gtin, l.serials])).toEqual([[G.shirt, ['6792']]]);
    expect(next.total).toBe(1500);
    // No cart pushed in between held a sold tag: the kiosk stayed idle until the new tag.
    expect(k.carts.slice(from, -1).every((x) => x.phase === 'idle' && x.lines.length === 0)).toBe(true);

    // Killed and restarted: the sold tags are still ignored (kept in kiosk.db with the session).
    await stop();
    await start();
    expect(k.last.lines.map((l) => [l.gtin, l.serials])).toEqual([[G.shirt, ['6792']]]);
    for (const n of [6789, 6790, 6791]) await dev.rfid('rf-1', shirt(n));
    await dev.rfid('rf-1', cap(6789)); // removed from the last cart, never sold: counts in this one
    await dev.rfid('rf-1', shirt(6793)); // sentinel
    const after = await k.next((x) => serialsOf(x, G.shirt).includes('6793'), 'the sentinel after the restart');
    expect(after.lines.map((l) => [l.gtin, l.serials])).toEqual([[G.shirt, ['6792', '6793']], [CAP, ['6789']]]);
    expect(after.total).toBe(3900);
  });
});
