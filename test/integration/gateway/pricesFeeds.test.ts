/**
 * HQ feed intake against a real Mosquitto as HQ and a real in-process gateway: every kind of bad feed is rejected with its reason and nothing is applied; a device
 * credential (an ESL AP included) can neither publish an HQ feed nor change a price.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { connectDevice, metric, startGateway, TEST_PASSWORDS, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, gtinOf, login, until, type HqFeeds } from '../../sim/hqFeeds.js';
import type { PriceService } from '../../../gateway/prices/prices.js';
import type { NewEvent } from '../../../gateway/outbox/store.js';

const signer = createHqSigner({ kid: 'hq-2026' });
const rogue = createHqSigner({ kid: 'hq-2026' }); // same kid, another key: a forged signature
const stranger = createHqSigner({ kid: 'hq-unknown' });
const G1 = gtinOf(1);

let hq: Mosquitto;
let gw: RunningGateway;
let feeds: HqFeeds;
let prices: PriceService;

function pricesBody(price: number) {
  return { mode: 'snapshot', currency: 'EUR', prices: [{ gtin: G1, price }], promotions: [] };
}

/** Waits until the gateway has handled `n` more feed messages (applied or rejected). */
async function handled(before: { applied: number; rejected: number }, n = 1): Promise<void> {
  const done = () => {
    const s = prices.sync();
    // Handled, and the catalog in use is built from every applied version (evaluation finished).
    return s.feeds.applied + s.feeds.rejected >= before.applied + before.rejected + n && sameVersions(s.versions, s.appliedVersions);
  };
  await until(prices.changes, 'change', done, 10_000, 'feed handled', () => prices.sync().feeds);
}
function sameVersions(a: Record<string, number>, b: Record<string, number>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
function mark() {
  return { ...prices.sync().feeds };
}
function appliedCount(): number {
  return prices.sync().feeds.applied;
}

/** Committed FEED_REJECTED alert records, seen as ingest commits them (the uplink may ship them away). */
const alerts: NewEvent[] = [];
const alertWaiters: (() => void)[] = [];
function committedAlert(code: string): Promise<NewEvent> {
  const find = () => alerts.find((e) => (JSON.parse(e.data) as { feedRejected?: { code?: string } }).feedRejected?.code === code);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no FEED_REJECTED record for ${code}`)), 10_000);
    const check = () => {
      const e = find();
      if (!e) return alertWaiters.push(check);
      clearTimeout(t);
      resolve(e);
    };
    check();
  });
}

beforeAll(async () => {
  hq = await startMosquitto();
  gw = await startGateway({ extra: { hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] } } });
  gw.gw.onEvent((e) => {
    if (e.type !== 'alert' || !e.data.includes('FEED_REJECTED')) return;
    alerts.push(e);
    for (const w of alertWaiters.splice(0)) w();
  });
  prices = gw.gw.prices!;
  feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  const m = mark();
  await feeds.publish('catalog', 'store', 1, { mode: 'snapshot', items: [{ gtin: G1, name: 'Milk 1 L', unit: 'each' }] });
  await feeds.publish('prices', 'store', 10, pricesBody(129));
  await handled(m, 2);
});

afterAll(async () => {
  await feeds?.close();
  await gw?.stop();
  await hq?.stop();
});

describe('feed intake', () => {
  it('applies a valid feed atomically and prices from it', () => {
    expect(prices.priceAt(G1)?.price).toBe(129);
    expect(prices.sync().versions).toMatchObject({ 'catalog/store': 1, 'prices/store': 10 });
  });

  const cases: { name: string; code: string; reason: RegExp; send: () => Promise<unknown> }[] = [
    { name: 'unsigned (no envelope)', code: 'SGW_ERR_FEED_ENVELOPE', reason: /envelope/, send: () => feeds.publishRaw('prices', 'store', JSON.stringify({ feed: 'prices', scope: 'store:test-store', version: 99, issuedAt: new Date().toISOString(), body: pricesBody(1) })) },
    {
      name: 'badly signed (another key, same kid)',
      code: 'SGW_ERR_FEED_BAD_SIGNATURE',
      reason: /does not verify/,
      send: () => feeds.publishRaw('prices', 'store', rogue.sign({ feed: 'prices', scope: 'store:test-store', version: 99, issuedAt: new Date().toISOString(), body: pricesBody(1) })),
    },
    {
      name: 'tampered after signing',
      code: 'SGW_ERR_FEED_BAD_SIGNATURE',
      reason: /does not verify/,
      send: () => {
        const env = JSON.parse(signer.sign({ feed: 'prices', scope: 'store:test-store', version: 99, issuedAt: new Date().toISOString(), body: pricesBody(129) })) as { signed: string };
        env.signed = env.signed.replace('129', '1');
        return feeds.publishRaw('prices', 'store', JSON.stringify(env));
      },
    },
    {
      name: 'unknown kid',
      code: 'SGW_ERR_FEED_UNKNOWN_KID',
      reason: /hq-unknown/,
      send: () => feeds.publishRaw('prices', 'store', stranger.sign({ feed: 'prices', scope: 'store:test-store', version: 99, issuedAt: new Date().toISOString(), body: pricesBody(1) })),
    },
    {
      name: 'wrong scope (another store)',
      code: 'SGW_ERR_FEED_WRONG_SCOPE',
      reason: /store:other-store/,
      send: () => feeds.publishRaw('prices', 'store', signer.sign({ feed: 'prices', scope: 'store:other-store', version: 99, issuedAt: new Date().toISOString(), body: pricesBody(1) })),
    },
    {
      name: 'wrong scope (store feed on the all topic)',
      code: 'SGW_ERR_FEED_WRONG_SCOPE',
      reason: /expected "all"/,
      send: () => feeds.publishRaw('prices', 'all', signer.sign({ feed: 'prices', scope: 'store:test-store', version: 99, issuedAt: new Date().toISOString(), body: pricesBody(1) })),
    },
    { name: 'older version', code: 'SGW_ERR_FEED_STALE_VERSION', reason: /9 is not greater than the applied version 10/, send: () => feeds.publish('prices', 'store', 9, pricesBody(1)) },
    { name: 'equal version (a replay)', code: 'SGW_ERR_FEED_STALE_VERSION', reason: /10 is not greater/, send: () => feeds.publish('prices', 'store', 10, pricesBody(1)) },
    {
      name: 'malformed body (a float price)',
      code: 'SGW_ERR_FEED_BAD_BODY',
      reason: /signed\.body\.prices\[0\]\.price/,
      send: () => feeds.publish('prices', 'store', 11, { mode: 'snapshot', currency: 'EUR', prices: [{ gtin: G1, price: 1.5 }], promotions: [] }),
    },
    { name: 'malformed body (no mode)', code: 'SGW_ERR_FEED_BAD_BODY', reason: /mode/, send: () => feeds.publish('catalog', 'store', 2, { items: [] }) },
    { name: 'not JSON', code: 'SGW_ERR_FEED_NOT_JSON', reason: /not valid JSON/, send: () => feeds.publishRaw('prices', 'store', '{"kid":') },
  ];

  for (const c of cases) {
    it(`rejects ${c.name} with its reason; nothing applied`, async () => {
      const before = mark();
      const counter = await metric(gw.httpUrl, `storegw_feed_rejects_total{feed="${c.name.includes('no mode') ? 'catalog' : 'prices'}",code="${c.code}"}`);
      await c.send();
      await handled(before);
      const alert = prices.sync().alerts.at(-1)!;
      expect(alert.code).toBe(c.code);
      expect(alert.reason).toMatch(c.reason);
      expect(appliedCount()).toBe(before.applied);
      expect(prices.priceAt(G1)?.price).toBe(129);
      expect(prices.sync().versions).toMatchObject({ 'catalog/store': 1, 'prices/store': 10 });
      expect(await metric(gw.httpUrl, `storegw_feed_rejects_total{feed="${c.name.includes('no mode') ? 'catalog' : 'prices'}",code="${c.code}"}`)).toBe(counter + 1);
      expect(gw.logs.some((l) => l.msg === 'feed rejected' && l.code === c.code)).toBe(true);
      // …and an exact alert record, committed in seq order, for HQ and the ops alert book.
      const record = await committedAlert(c.code);
      expect(record.cls).toBe('exact');
      expect(record.seq).toBeGreaterThan(0);
    });
  }

  it('lists rejections on GET /api/prices/sync for a viewer', async () => {
    const cookie = await login(gw.httpUrl, 'viewer', TEST_PASSWORDS.viewer);
    const res = await fetch(`${gw.httpUrl}/api/prices/sync`, { headers: { cookie } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { alerts: { code: string }[]; versions: Record<string, number> };
    expect(body.alerts.map((a) => a.code)).toContain('SGW_ERR_FEED_UNKNOWN_KID');
    expect(body.versions['prices/store']).toBe(10);
    expect((await fetch(`${gw.httpUrl}/api/prices/sync`)).status).toBe(401);
  });

  it('a store row overrides the all-stores row, and a delta applies on top', async () => {
    const m = mark();
    await feeds.publish('prices', 'all', 1, { mode: 'snapshot', currency: 'EUR', prices: [{ gtin: G1, price: 999 }], promotions: [] });
    await feeds.publish('prices', 'store', 12, { mode: 'delta', baseVersion: 10, currency: 'EUR', prices: [{ gtin: G1, price: 119, memberPrices: { gold: 99 } }], promotions: [] });
    await feeds.publish('members', 'store', 1, { mode: 'snapshot', members: [{ code: 'M-1', tier: 'gold' }] });
    await handled(m, 3);
    expect(prices.priceAt(G1)?.price).toBe(119);
    expect(prices.priceAt(G1, undefined, 'M-1')).toMatchObject({ price: 99, source: 'member', base: 119 });
  });
});

describe('trust: a device cannot change a price', () => {
  let ap: MqttClient;
  beforeAll(async () => {
    ap = await connectDevice(gw.mqttUrl, 'esl/ap-1', TEST_SECRET);
  });
  afterAll(() => {
    ap?.end(true);
  });

  it('an ESL AP publishing a validly signed HQ feed on the store broker is disconnected; nothing applied', async () => {
    const price = prices.priceAt(G1)!.price;
    const closed = new Promise<void>((r) => ap.once('close', () => r()));
    ap.publish('hq/v1/store/test-store/prices', signer.sign({ feed: 'prices', scope: 'store:test-store', version: 1000, issuedAt: new Date().toISOString(), body: pricesBody(1) }), { qos: 1 });
    await closed;
    expect(await metric(gw.httpUrl, 'storegw_acl_denied_total{action="publish"}')).toBeGreaterThanOrEqual(1);
    expect(prices.priceAt(G1)!.price).toBe(price);
    expect(prices.sync().versions['prices/store']).toBe(12);
  });

  it('an AP may not publish commands (cmd/show) to itself or another AP, nor acks for another AP', async () => {
    for (const topic of ['store/v1/dev/esl/ap-1/cmd/show', 'store/v1/dev/esl/ap-2/evt/ack']) {
      const c = await connectDevice(gw.mqttUrl, 'esl/ap-1', TEST_SECRET);
      const closed = new Promise<void>((r) => c.once('close', () => r()));
      c.publish(topic, JSON.stringify({ cmdId: 'x1', labels: [] }), { qos: 1 });
      await closed;
      c.end(true);
    }
    expect(prices.priceAt(G1)!.price).toBe(119);
  });

  it('a device password is not an ops login, and label actions need a session with the attendant role', async () => {
    const bad = await fetch(`${gw.httpUrl}/api/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'esl/ap-1', password: TEST_SECRET }) });
    expect(bad.status).toBe(401);
    expect((await fetch(`${gw.httpUrl}/api/labels/L1/resend`, { method: 'POST' })).status).toBe(401);
    const viewer = await login(gw.httpUrl, 'viewer', TEST_PASSWORDS.viewer);
    const r = await fetch(`${gw.httpUrl}/api/labels/L1/flash`, { method: 'POST', headers: { cookie: viewer, 'content-type': 'application/json' }, body: '{}' });
    expect(r.status).toBe(403);
    // There is no HTTP route that writes a price: the only way in is a signed HQ feed.
    const put = await fetch(`${gw.httpUrl}/api/prices/${G1}`, { method: 'PUT', headers: { cookie: viewer, 'content-type': 'application/json' }, body: '{"price":1}' });
    expect(put.status).toBe(404);
  });
});
