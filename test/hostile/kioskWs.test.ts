/**
 * Hostile kiosk WebSocket: arbitrary messages before and after the hello (JSON and not, binary,
 * wrong types, huge and negative numbers, unknown intents, prices and totals planted by the page)
 * against a real gateway process with a catalog from signed HQ feeds. Properties: the process
 * lives; every error names the field; every cart the gateway pushes is priced from the catalog
 * only (a planted price never appears, the total is the sum of catalog-priced lines).
 */
import fc from 'fast-check';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, DEFAULT_DEVICES, spawnGateway, TEST_PASSWORDS, TEST_SECRET, writeConfigFile, type GatewayProcess } from '../helpers/gatewayHarness.js';
import { topics } from '../../gateway/protocol/topics.js';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { tempDir } from '../helpers/tmp.js';
import { createHqSigner } from '../sim/hqSigner.js';
import { connectHqFeeds } from '../sim/hqFeeds.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, MEMBER, MEMBERS, PRICES, TOKENS } from '../e2e/kioskFixture.js';

const SEED = 1305;
/** A price the page plants in every field it may: it must never appear in a cart. */
const PLANTED = 31337;
const tmp = tempDir('sgw-hostile-kiosk-');
const signer = createHqSigner({ kid: 'hq-hostile' });
let hq: Mosquitto;
let gw: GatewayProcess;
let base: string;
const tried = { beforeHello: 0, sequences: 0, messages: 0, carts: 0, errors: 0 };

const CATALOG_PRICE = new Map<string, number[]>(PRICES.prices.map((p) => [p.gtin, [p.price, ...Object.values(p.memberPrices ?? {})]]));

beforeAll(async () => {
  hq = await startMosquitto();
  const extra = { ...(await kioskExtra(hq.url, signer.publicKeyPem, signer.kid)), demo: true };
  const file = await writeConfigFile(tmp.dir, { dataDir: tmp.dir, devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra });
  gw = await spawnGateway(file);
  base = `http://127.0.0.1:${gw.httpPort}`;
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('members', 'store', 1, MEMBERS);
  await feeds.close();
  // Wait until the three feeds are applied (the gateway says so on /api/prices/sync).
  const res = await fetch(`${base}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'viewer', password: TEST_PASSWORDS.viewer }) });
  const cookie = res.headers.getSetCookie()[0].split(';')[0];
  const deadline = Date.now() + 30_000;
  for (;;) {
    const sync = (await (await fetch(`${base}/api/prices/sync`, { headers: { cookie } })).json()) as { feeds?: { applied?: number } };
    if ((sync.feeds?.applied ?? 0) >= 3) break;
    if (Date.now() > deadline) throw new Error(`feeds not applied: ${JSON.stringify(sync)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
});
afterAll(async () => {
  await gw?.kill();
  await hq?.stop();
  tmp.remove();
  console.info(`hostile kiosk ws: cases tried ${JSON.stringify(tried)}`);
});

interface Conn {
  ws: WebSocket;
  msgs: any[];
  closed: Promise<{ code: number; reason: string }>;
  next(pred: (m: any) => boolean): Promise<any>;
}

async function open(): Promise<Conn> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/kiosk`, { origin: base });
  const msgs: any[] = [];
  const waiters: { pred: (m: any) => boolean; resolve: (m: any) => void }[] = [];
  const closed = new Promise<{ code: number; reason: string }>((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
  ws.on('message', (d) => {
    const m = JSON.parse(String(d));
    msgs.push(m);
    for (const w of waiters.splice(0)) if (w.pred(m)) w.resolve(m);
      else waiters.push(w);
  });
  ws.on('error', () => undefined);
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('unexpected-response', (_q, res) => j(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  return {
    ws,
    msgs,
    closed,
    next: (pred) => new Promise((resolve, reject) => {
      const seen = msgs.find(pred);
      if (seen) return resolve(seen);
      waiters.push({ pred, resolve });
      void closed.then((c) => reject(new Error(`closed ${c.code} ${c.reason} while waiting`)));
    }),
  };
}

async function hello(kioskId: 'k1' | 'k2'): Promise<Conn> {
  const c = await open();
  c.ws.send(JSON.stringify({ type: 'hello', kioskId, token: TOKENS[kioskId] }));
  await c.next((m) => m.type === 'welcome');
  return c;
}

const planted = fc.constantFrom({}, { price: PLANTED }, { total: PLANTED, amount: PLANTED }, { unitPrice: PLANTED, basePrice: PLANTED, saving: -PLANTED });
const anyValue = fc.oneof(fc.string({ maxLength: 30 }), fc.integer(), fc.double(), fc.constantFrom(1e308, -1e308, 2 ** 53 + 1, -1, -999999, 0, null, true, [], {}), fc.jsonValue({ maxDepth: 2 }));
const code = fc.oneof(fc.constantFrom(...Object.values(G), MEMBER, '2812347012503', '4000000000000', '', ' ', '\u0000'), fc.string({ maxLength: 40 }), fc.string({ minLength: 500, maxLength: 600 }));

const intent = fc.oneof(
  fc.record({ type: fc.constant('scan'), code, symbology: fc.oneof(fc.constant(undefined), fc.constantFrom('ean13', 'code128', 'qr'), anyValue) }, { requiredKeys: ['type', 'code'] }),
  fc.record({ type: fc.constant('setQty'), lineId: fc.oneof(fc.string({ maxLength: 40 }), anyValue), qty: fc.oneof(fc.integer({ min: -5, max: 5 }), anyValue) }),
  fc.record({ type: fc.constant('remove'), lineId: fc.oneof(fc.string({ maxLength: 40 }), anyValue), serial: fc.oneof(fc.constantFrom('6789', '6790'), fc.string({ maxLength: 25 }), anyValue) }, { requiredKeys: ['type', 'lineId'] }),
  fc.record({ type: fc.constant('member'), code: fc.oneof(code, anyValue) }),
  fc.record({ type: fc.constant('pickProduce'), gtin: fc.oneof(fc.constantFrom(G.apples, G.milk, G.shirt, G.wine, ''), anyValue) }),
  fc.record({ type: fc.constantFrom('pay', 'cancel', 'help', 'pickupConfirm', 'pickupClose', 'printReceipt', 'hello', 'attendant', 'paymentResult', 'produceWeight', '__proto__', 'constructor', 'toString') }),
  fc.record({ type: anyValue }),
);

/** Well-formed intents on the cart's real lines (filled in when sent), so quantities really change. */
const onLine = fc.record({ line: fc.nat(5), type: fc.constantFrom('setQty', 'remove'), qty: fc.oneof(fc.integer({ min: 0, max: 999 }), fc.integer({ min: -1000, max: -1 }), fc.constantFrom(1e9, 2 ** 53 + 1, 0.5)) });
const goodScan = fc.constantFrom(G.milk, G.bread, G.wine, G.shirt, '2812347012503').map((c) => ({ type: 'scan', code: c }));

/** A message as the page (or an attacker) could send it. */
const message = fc.oneof(
  { weight: 4, arbitrary: fc.tuple(intent, planted).map(([i, p]) => ({ text: JSON.stringify({ ...p, ...i }) })) },
  { weight: 3, arbitrary: fc.tuple(goodScan, planted).map(([i, p]) => ({ text: JSON.stringify({ ...p, ...i }) })) },
  { weight: 3, arbitrary: fc.tuple(onLine, planted).map(([l, p]) => ({ line: l, planted: p })) },
  { weight: 1, arbitrary: fc.string({ maxLength: 50 }).map((text) => ({ text })) },
  { weight: 1, arbitrary: fc.constantFrom('null', '5', '[]', '"scan"', 'true', '{"type":"scan","code":"' + 'x'.repeat(5000) + '"}', '{"__proto__":{"type":"pay"}}').map((text) => ({ text })) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 40 }).map((bytes) => ({ bytes })) },
);

function checkMessage(m: any): void {
  if (m.type === 'error') {
    tried.errors++;
    // The error names the field: `field: …` or `(root): …`.
    expect(m.message, JSON.stringify(m)).toMatch(/^(\(root\)|[a-zA-Z][a-zA-Z0-9]*): /);
    expect(m.code).toMatch(/^SGW_ERR_/);
  }
  if (m.type === 'cart') {
    tried.carts++;
    expect(JSON.stringify(m)).not.toContain(String(PLANTED));
    let sum = 0;
    for (const l of m.lines) {
      sum += l.price;
      const known = CATALOG_PRICE.get(l.gtin);
      expect(known, `a line of an unknown item ${l.gtin}`).toBeDefined();
      if (l.unit === 'each' && l.source !== 'embedded') expect(known).toContain(l.unitPrice);
      // Issue 14: a weight prices only an item sold by weight (a page's pickProduce of a per-item GTIN is refused).
      if (l.grams !== undefined && l.source !== 'embedded') expect(l.unit, `weight-priced line of a per-item GTIN ${l.gtin}`).toBe('kg');
      expect(Number.isInteger(l.qty) && l.qty >= 0 && l.qty <= 999).toBe(true);
    }
    expect(m.subtotal).toBe(sum + m.discounts);
    expect(m.total).toBe(sum);
  }
}

function alive(): void {
  expect(gw.proc.exitCode).toBeNull();
  expect(gw.proc.signalCode).toBeNull();
}

describe('hostile kiosk WebSocket', () => {
  // Found by this suite: `null` as the first message read `.type` of null inside the socket's
  // handler, an uncaught TypeError that ended the gateway (exit 1) for anyone on the LAN, no token needed.
  it('a JSON null, number or array as a message is answered, and the process lives', async () => {
    for (const text of ['null', '5', '[]', '"hello"']) {
      const c = await open();
      c.ws.send(text);
      expect(await c.next((x) => x.type === 'error')).toEqual({ type: 'error', code: 'SGW_ERR_BAD_MESSAGE', message: '(root): must be a JSON object' });
      c.ws.terminate();
    }
    const k = await hello('k2');
    k.ws.send('null');
    expect((await k.next((x) => x.type === 'error')).message).toBe('(root): must be a JSON object');
    k.ws.close();
    alive();
  });

  it('before the hello: anything but a good hello is closed 4401 or answered with an error naming the field', async () => {
    const first = fc.oneof(message, fc.record({ text: fc.record({ type: fc.constant('hello'), kioskId: anyValue, token: anyValue }).map((h) => JSON.stringify(h)) }));
    await fc.assert(
      fc.asyncProperty(first, async (m) => {
        tried.beforeHello++;
        const c = await open();
        if ('bytes' in m) c.ws.send(Buffer.from(m.bytes));
        else if ('line' in m) c.ws.send(JSON.stringify({ type: m.line.type, lineId: 'x', qty: m.line.qty }));
        else c.ws.send(m.text);
        // Ended by the gateway (4401, or 4429 once this address used up its hellos) or answered with an error.
        const r = await Promise.race([c.closed, c.next((x) => x.type === 'error')]);
        if ('code' in r && typeof r.code === 'number') expect([4401, 4429]).toContain(r.code);
        else checkMessage(r);
        c.ws.terminate();
      }),
      { seed: SEED, numRuns: 60, interruptAfterTimeLimit: 15_000 },
    );
    alive();
  }, 60_000);

  it('after the hello: arbitrary intents never crash it, errors name the field, carts are catalog-priced', async () => {
    let c = await hello('k1');
    // A steady weight on k1's produce scale, so every pickProduce the page sends has a weight to price.
    const scale = await connectDevice(`mqtt://127.0.0.1:${gw.mqttPort}`, 'scale/ps-1', TEST_SECRET);
    await scale.publishAsync(topics.evt('scale', 'ps-1', 'weight'), JSON.stringify({ ts: new Date().toISOString(), grams: 100, stable: true }), { qos: 1 });
    await c.next((x) => x.type === 'cart' && x.produceWeight?.grams === 100);
    await scale.endAsync();
    let n = 0;
    let lastCart: any = null;
    await fc.assert(
      fc.asyncProperty(fc.array(message, { minLength: 1, maxLength: 12 }), async (seq) => {
        tried.sequences++;
        if (c.ws.readyState !== WebSocket.OPEN) c = await hello('k1');
        for (const m of seq) {
          tried.messages++;
          if ('bytes' in m) c.ws.send(Buffer.from(m.bytes));
          else if ('line' in m) {
            const lines = (lastCart?.lines ?? []) as { lineId: string }[];
            const lineId = lines.length > 0 ? lines[m.line.line % lines.length].lineId : 'no-such-line';
            c.ws.send(JSON.stringify({ ...m.planted, type: m.line.type, lineId, qty: m.line.qty }));
          } else c.ws.send((m as { text: string }).text);
        }
        // Messages of one socket are handled in order: the sentinel's answer comes after all of them.
        const sentinel = `sentinel-${n++}`;
        c.ws.send(JSON.stringify({ type: sentinel }));
        await c.next((x) => x.type === 'error' && x.message.includes(sentinel));
        for (const m of c.msgs.splice(0)) {
          checkMessage(m);
          if (m.type === 'cart') lastCart = m;
        }
      }),
      { seed: SEED, numRuns: 300, interruptAfterTimeLimit: 30_000 },
    );
    alive();
    // The gateway still serves a fresh kiosk and prices a demo scan from the catalog.
    const k2 = await hello('k2');
    k2.ws.send(JSON.stringify({ type: 'scan', code: G.bread, price: PLANTED }));
    const cart = await k2.next((x) => x.type === 'cart' && x.lines.some((l: any) => l.gtin === G.bread));
    checkMessage(cart);
    expect(cart.lines.find((l: any) => l.gtin === G.bread).unitPrice).toBe(250);
    k2.ws.close();
    c.ws.close();
  }, 90_000);
});
