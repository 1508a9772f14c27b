/**
 * The produce lookup, gateway side, through a real gateway and the kiosk WebSocket:
 * - the page never sets a price: a `pickProduce` carrying a price, a total, a weight or a unit
 *   price gets the catalog's price per kg × the produce scale's steady weight, and nothing of the
 *   page's numbers reaches the line or the sale record;
 * - the list offers weighed items only, with their PLU, Chinese name and picture path;
 * - `/kiosk-images/:gtin` serves the store's photo when it has one, else a generated picture, and
 *   404 for a GTIN not in the catalog;
 * - after a restart the most-sold order comes from the sales ledger in kiosk.db; any path segment (seeded property) is a 200 picture, a 400
 *   naming the field or a 404, never a 500 or a file outside the photo folder.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { G, TOKENS } from '../../e2e/kioskFixture.js';
import { PRODUCE, restartGateway, startProduceStore, stopProduceStore, type ProduceStore } from '../../e2e/produceFixture.js';

interface Cart {
  type: 'cart';
  sessionId: string;
  phase: string;
  lines: { gtin: string; grams?: number; unitPrice: number; price: number }[];
  total: number;
  produce: { gtin: string; name: string; nameZh?: string; plu?: string; price: number; image?: string }[];
  produceWeight: { grams: number; stable: boolean } | null;
}

let s: ProduceStore;
let ws: WebSocket;
const carts: Cart[] = [];
let waiters: { pred: (c: Cart) => boolean; resolve: (c: Cart) => void }[] = [];

function next(pred: (c: Cart) => boolean, what: string): Promise<Cart> {
  const last = carts.at(-1);
  if (last && pred(last)) return Promise.resolve(last);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; last cart: ${JSON.stringify(carts.at(-1))}`)), 10_000);
    waiters.push({ pred, resolve: (c) => (clearTimeout(t), resolve(c)) });
  });
}

beforeAll(async () => {
  s = await startProduceStore();
  const base = s.gw.httpUrl;
  ws = new WebSocket(`${base.replace('http', 'ws')}/ws/kiosk`, { origin: base });
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as Cart;
    if (m.type !== 'cart') return;
    carts.push(m);
    waiters = waiters.filter((w) => (w.pred(m) ? (w.resolve(m), false) : true));
  });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  ws.send(JSON.stringify({ type: 'hello', kioskId: 'k1', token: TOKENS.k1 }));
  await next(() => true, 'the first cart');
}, 30_000);

afterAll(async () => {
  ws?.close();
  await stopProduceStore(s);
});

describe('produce lookup (gateway)', () => {
  it('offers weighed items only, with PLU, Chinese name and picture', () => {
    const list = carts.at(-1)!.produce;
    expect(list.map((p) => p.gtin).sort()).toEqual([G.apples, G.cheese, ...PRODUCE.map((p) => p.gtin)].sort());
    expect(list.find((p) => p.gtin === PRODUCE[0].gtin)).toEqual({ gtin: PRODUCE[0].gtin, name: 'Bananas', nameZh: '香蕉', plu: '4011', price: 199, image: `/kiosk-images/${PRODUCE[0].gtin}` });
  });

  it('never lets the page set a price: the line is catalog price per kg × the steady weight', async () => {
    await s.dev.weight('ps-1', 2000, true);
    await next((c) => c.produceWeight?.grams === 2000 && c.produceWeight.stable, 'the steady weight');
    ws.send(JSON.stringify({ type: 'pickProduce', gtin: PRODUCE[1].gtin, price: 1, unitPrice: 1, total: 1, grams: 99_999, amount: 1 }));
    const c = await next((x) => x.lines.some((l) => l.gtin === PRODUCE[1].gtin), 'the carrots line');
    // 2.000 kg × €1.29/kg
    expect(c.lines.find((l) => l.gtin === PRODUCE[1].gtin)).toMatchObject({ grams: 2000, unitPrice: 129, price: 258 });
    expect(c.total).toBe(258);
    // The exact record as committed to the outbox, seen at its commit: the store's uplink may
    // deliver it to HQ and delete it from the outbox before the test could read it there.
    const committed: string[] = [];
    s.gw.gw.onEvent((e) => void (e.kind === 'kiosk' && e.type === 'transaction' && committed.push(e.data)));
    ws.send(JSON.stringify({ type: 'pay', total: 1, amount: 1 }));
    const done = await next((x) => x.phase === 'done', 'the sale');
    expect(done.total).toBe(258);
    expect(s.pay.charges.at(-1)).toMatchObject({ amount: 258 });
    expect(committed).toHaveLength(1);
    expect(JSON.parse(committed[0])).toMatchObject({ total: 258, lines: [expect.objectContaining({ gtin: PRODUCE[1].gtin, grams: 2000, unitPrice: 129, price: 258 })] });
  });

  it('serves a generated picture, the store\'s photo when it has one, 404 off the catalog', async () => {
    const gen = await fetch(`${s.gw.httpUrl}/kiosk-images/${PRODUCE[2].gtin}`);
    expect(gen.status).toBe(200);
    expect(gen.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    const svg = await gen.text();
    expect(svg).toContain('aria-label="Tomatoes"');
    expect(svg).toMatch(/>T<\/text>/);
    const dir = path.join(s.gw.dataDir, 'produce-images');
    mkdirSync(dir, { recursive: true });
    const png = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
    writeFileSync(path.join(dir, `${PRODUCE[3].gtin}.png`), png);
    const photo = await fetch(`${s.gw.httpUrl}/kiosk-images/${PRODUCE[3].gtin}`);
    expect(photo.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await photo.arrayBuffer())).toEqual(png);
    expect((await fetch(`${s.gw.httpUrl}/kiosk-images/4000000000017`)).status).toBe(404);
    expect((await fetch(`${s.gw.httpUrl}/kiosk-images/..%2Fkiosk.db`)).status).toBe(400);
  });

  it('any path segment: a picture, a 400 naming the field or a 404; never a 500', async () => {
    const segment = fc.oneof(
      fc.string({ maxLength: 40 }),
      fc.stringMatching(/^[0-9]{6,16}$/),
      fc.constantFrom(PRODUCE[0].gtin, G.milk, G.apples, '..%2Fkiosk.db', '%00', '%E0%A4%A', `${PRODUCE[0].gtin}.svg`, `${PRODUCE[0].gtin}%2F..%2F..%2Fgateway.log`),
    );
    await fc.assert(
      fc.asyncProperty(segment, async (seg) => {
        const raw = /%/.test(seg) ? seg : encodeURIComponent(seg);
        const r = await fetch(`${s.gw.httpUrl}/kiosk-images/${raw}`);
        const body = Buffer.from(await r.arrayBuffer());
        expect([200, 400, 404]).toContain(r.status);
        if (r.status === 200) expect(r.headers.get('content-type')).toMatch(/^image\//);
        // A GTIN of the wrong shape is named; a path that is not valid percent-encoding is refused before routing.
        if (r.status === 400) expect(body.toString('utf8')).toMatch(/gtin|not a valid url component/);
      }),
      { seed: 17, numRuns: 150 },
    );
    expect((await fetch(`${s.gw.httpUrl}/kiosk-images/${PRODUCE[0].gtin}`)).status).toBe(200);
  });

  it('after a restart, the most-sold produce comes first from the sales ledger', async () => {
    const names = () => s.gw.gw.kiosk.view('k1')!.produce.map((p) => p.name);
    expect(names()[0]).toBe('Carrots'); // sold once above; by name it would be Apples
    ws.close();
    await restartGateway(s);
    expect(names().slice(0, 2)).toEqual(['Carrots', 'Apples']);
  });
});
