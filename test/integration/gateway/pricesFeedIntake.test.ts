/**
 * How the HQ feed connection treats what HQ sends, against a real Mosquitto as HQ and a real
 * in-process gateway:
 * - it subscribes to its feeds by name, so none of the gateway's own uploads (batch, status)
 *   come back over the WAN;
 * - a feed that could not be stored (a real SQLITE_BUSY: the test holds prices.db's write lock
 *   from a second connection) is not acknowledged: an alert record is committed, the connection
 *   is re-opened and HQ's re-delivery [MQTT-4.4.0-1] applies it once the lock is gone;
 * - a feed over `prices.maxFeedBytes` is refused unparsed with a FEED_REJECTED record naming its
 *   size;
 * - a delta names the version it applies to: a gap is refused, reported to HQ, nothing applied.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type MqttClient, type IPublishPacket, type Packet } from 'mqtt';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { metric, startGateway, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, gtinOf, until, type HqFeeds } from '../../sim/hqFeeds.js';
import { openDb } from '../../../gateway/db/sqlite.js';
import type { PriceService } from '../../../gateway/prices/prices.js';
import type { NewEvent } from '../../../gateway/outbox/store.js';

const signer = createHqSigner({ kid: 'hq-2026' });
const G1 = gtinOf(1);
const MAX_FEED = 64 * 1024;

let hq: Mosquitto;
let gw: RunningGateway;
let feeds: HqFeeds;
let prices: PriceService;
/** An HQ-side observer: what the store uploads and reports. */
let observer: MqttClient;
const uploads: { topic: string; payload: Buffer }[] = [];
const hqSeen = new EventEmitter();
/** Every PUBLISH the gateway's feed connection received from HQ. */
const received: IPublishPacket[] = [];
const alerts: NewEvent[] = [];

function pricesBody(price: number, extra: Record<string, unknown> = {}) {
  return { mode: 'snapshot', currency: 'EUR', prices: [{ gtin: G1, price }], promotions: [], ...extra };
}
function feedClient(): MqttClient {
  return (prices.feeds as unknown as { sub: { client: MqttClient } }).sub.client;
}
function alertWith(pred: (d: Record<string, unknown>) => boolean): NewEvent | undefined {
  return alerts.find((e) => pred(JSON.parse(e.data) as Record<string, unknown>));
}
function waitChange(pred: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  return until(prices.changes, 'change', pred, timeoutMs, what, () => prices.sync().feeds);
}
function waitAlert(pred: (d: Record<string, unknown>) => boolean, what: string): Promise<NewEvent> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no alert record: ${what}`)), 20_000);
    const check = () => {
      const e = alertWith(pred);
      if (!e) return;
      waiters.splice(waiters.indexOf(check), 1);
      clearTimeout(t);
      resolve(e);
    };
    waiters.push(check);
    check();
  });
}
const waiters: (() => void)[] = [];

beforeAll(async () => {
  hq = await startMosquitto();
  observer = await mqtt.connectAsync(hq.url, { clientId: 'hq-observer', reconnectPeriod: 0 });
  observer.on('message', (topic, payload) => {
    uploads.push({ topic, payload });
    hqSeen.emit('upload');
  });
  await observer.subscribeAsync('hq/v1/store/test-store/#', { qos: 1 });
  gw = await startGateway({ extra: { hq: { url: hq.url, publicKeys: [{ kid: signer.kid, pem: signer.publicKeyPem }] }, prices: { maxFeedBytes: MAX_FEED, feedRetryInitialMs: 200, feedRetryMaxMs: 1000 } } });
  gw.gw.onEvent((e) => {
    if (e.type !== 'alert') return;
    alerts.push(e);
    for (const w of waiters) w();
  });
  prices = gw.gw.prices!;
  feedClient().on('packetreceive', (p: Packet) => {
    if (p.cmd === 'publish') received.push(p);
  });
  feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await until(prices.changes, 'change', () => prices.sync().hqConnected, 20_000, 'HQ feed connection');
  await feeds.publish('catalog', 'store', 1, { mode: 'snapshot', items: [{ gtin: G1, name: 'Milk 1 L', unit: 'each' }] });
  await feeds.publish('prices', 'store', 10, pricesBody(129));
  await waitChange(() => prices.sync().feeds.applied >= 2 && prices.priceAt(G1)?.price === 129, 'first feeds applied');
}, 60_000);

afterAll(async () => {
  observer?.end(true);
  await feeds?.close();
  await gw?.stop();
  await hq?.stop();
});

describe('the HQ feed connection subscribes to feeds by name', () => {
  it("receives none of the gateway's own batches or status", async () => {
    // A rejected feed makes a FEED_REJECTED record, which the uplink ships to HQ as a batch.
    await feeds.publishRaw('prices', 'store', 'not json at all');
    await until(hqSeen, 'upload', () => uploads.some((u) => u.topic.endsWith('/batch')), 20_000, 'a batch at HQ');
    // A feed published after the batch reached HQ: once it is applied, the batch would have arrived too.
    await feeds.publish('prices', 'store', 11, pricesBody(130));
    await waitChange(() => prices.priceAt(G1)?.price === 130, 'prices v11 applied');
    const own = received.filter((p) => /\/(batch|status)$/.test(p.topic));
    expect(own.map((p) => p.topic)).toEqual([]);
    expect(received.every((p) => /^hq\/v1\/(store\/test-store|all)\/(catalog|prices|members|labels)$/.test(p.topic))).toBe(true);
  }, 60_000);
});

describe('a feed that could not be stored', () => {
  it('is not acknowledged, raises an alert, and is applied from HQ re-delivery once storage works', async () => {
    const failures = await metric(gw.httpUrl, 'storegw_feed_store_failures_total{feed="prices"}');
    // Another connection holds prices.db's write lock: the gateway's BEGIN IMMEDIATE gets SQLITE_BUSY.
    const locker = await openDb(path.join(gw.dataDir, 'prices.db'));
    await locker.exec('PRAGMA busy_timeout = 0');
    await locker.exec('BEGIN IMMEDIATE');
    let locked = true;
    const unlock = async () => {
      if (!locked) return;
      locked = false;
      await locker.exec('ROLLBACK');
      await locker.close();
    };
    try {
    const firstCopies = received.filter((p) => p.topic.endsWith('/prices')).length;
    const price = prices.priceAt(G1)?.price;
    await feeds.publish('prices', 'store', 20, pricesBody(555));
    const alert = await waitAlert((d) => d.code === 'FEED_STORE_FAILED', 'FEED_STORE_FAILED');
    const data = JSON.parse(alert.data) as { feedStoreFailed: { feed: string; version: number; error: string } };
    expect(data.feedStoreFailed).toMatchObject({ feed: 'prices', version: 20 });
    expect(data.feedStoreFailed.error).toMatch(/SQLITE_BUSY/);
    expect(alert.cls).toBe('exact');
    expect(await metric(gw.httpUrl, 'storegw_feed_store_failures_total{feed="prices"}')).toBeGreaterThan(failures);
    expect(prices.priceAt(G1)?.price).toBe(price);
    // Not a rejection: the feed waits for re-delivery.
    expect(prices.sync().alerts.some((a) => a.code === 'SGW_ERR_FEED_APPLY')).toBe(false);

    await unlock();
    await waitChange(() => prices.priceAt(G1)?.price === 555, 'prices v20 applied after re-delivery', 30_000);
    const copies = received.filter((p) => p.topic.endsWith('/prices')).slice(firstCopies);
    // HQ sent it again (DUP set on the re-delivery [MQTT-3.3.1-1]): the gateway never acked the failed copy.
    expect(copies.length).toBeGreaterThanOrEqual(2);
    expect(copies.at(-1)!.dup).toBe(true);
    expect(prices.sync().versions['prices/store']).toBe(20);
    } finally {
      await unlock();
    }
  }, 90_000);
});

describe('the size cap', () => {
  it('refuses a feed over prices.maxFeedBytes unparsed, with a FEED_REJECTED record naming its size', async () => {
    const rejects = await metric(gw.httpUrl, 'storegw_feed_rejects_total{feed="prices",code="SGW_ERR_FEED_TOO_LARGE"}');
    const big = pricesBody(1, { promotions: [], pad: 'x'.repeat(MAX_FEED) });
    const payload = await feeds.publish('prices', 'store', 30, big);
    const size = Buffer.byteLength(payload);
    const alert = await waitAlert((d) => (d.feedRejected as { code?: string } | undefined)?.code === 'SGW_ERR_FEED_TOO_LARGE', 'TOO_LARGE');
    const data = JSON.parse(alert.data) as { message: string; feedRejected: { feed: string } };
    expect(data.feedRejected.feed).toBe('prices');
    expect(data.message).toContain(`${size} bytes`);
    expect(data.message).toContain(`${MAX_FEED}`);
    expect(await metric(gw.httpUrl, 'storegw_feed_rejects_total{feed="prices",code="SGW_ERR_FEED_TOO_LARGE"}')).toBe(rejects + 1);
    expect(prices.priceAt(G1)?.price).toBe(555);
    // The connection asked HQ for nothing over twice the cap (MQTT 5 Maximum Packet Size): a
    // bigger one never reaches the gateway, and the next feed still applies.
    await feeds.publishRaw('prices', 'store', 'y'.repeat(3 * MAX_FEED));
    await feeds.publish('prices', 'store', 31, pricesBody(556));
    await waitChange(() => prices.priceAt(G1)?.price === 556, 'prices v31 applied');
    expect(received.every((p) => p.payload.length <= 2 * MAX_FEED)).toBe(true);
  }, 60_000);
});

describe('delta feeds name their base version', () => {
  it('refuses a delta whose base is not the applied version, reports that a snapshot is needed, applies nothing', async () => {
    const delta = (price: number, baseVersion?: number) => ({ mode: 'delta', ...(baseVersion !== undefined ? { baseVersion } : {}), currency: 'EUR', prices: [{ gtin: G1, price }], promotions: [] });
    const need = uploads.length;
    await feeds.publish('prices', 'store', 33, delta(1, 32));
    const alert = await waitAlert((d) => (d.feedRejected as { code?: string } | undefined)?.code === 'SGW_ERR_FEED_VERSION_GAP', 'VERSION_GAP');
    expect((JSON.parse(alert.data) as { message: string }).message).toMatch(/baseVersion: 32 but the applied version is 31/);
    await until(hqSeen, 'upload', () => uploads.slice(need).some((u) => u.topic === 'hq/v1/store/test-store/report/feeds'), 20_000, 'snapshot request at HQ');
    const report = JSON.parse(uploads.slice(need).find((u) => u.topic === 'hq/v1/store/test-store/report/feeds')!.payload.toString()) as Record<string, unknown>;
    expect(report).toMatchObject({ storeId: 'test-store', need: 'snapshot', feed: 'prices', scope: 'store', appliedVersion: 31, baseVersion: 32, version: 33 });
    expect(prices.priceAt(G1)?.price).toBe(556);

    // A delta without a base is a malformed body, named.
    // (signed by hand: the simulator would fill in the base)
    await feeds.publishRaw('prices', 'store', signer.sign({ feed: 'prices', scope: 'store:test-store', version: 34, issuedAt: new Date().toISOString(), body: delta(2) }));
    const bad = await waitAlert((d) => (d.feedRejected as { code?: string } | undefined)?.code === 'SGW_ERR_FEED_BAD_BODY' && String(d.message).includes('baseVersion'), 'BAD_BODY baseVersion');
    expect(bad).toBeDefined();
    expect(prices.priceAt(G1)?.price).toBe(556);

    // The delta on the applied version applies.
    await feeds.publish('prices', 'store', 35, delta(557, 31));
    await waitChange(() => prices.priceAt(G1)?.price === 557, 'delta v35 on base 31 applied');
  }, 60_000);
});
