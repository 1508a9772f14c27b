/**
 * The orders feed follows the price feeds' rules (hq/feedPolicy.ts), with a real Mosquitto as
 * HQ and a real in-process gateway: an orders feed that could not be stored (a real SQLITE_BUSY:
 * the test holds kiosk.db's write lock) is not acknowledged and is applied from HQ's re-delivery;
 * a delta must name its base version; a feed over the size cap is refused unparsed. Every refusal
 * takes the price feeds' reject path: counted in storegw_feed_rejects_total{feed="orders"} and
 * written as an exact FEED_REJECTED record (HQ gets it in order; the ops alert book shows it).
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { metric, startGateway, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, until, type HqFeeds } from '../../sim/hqFeeds.js';
import { openDb } from '../../../gateway/db/sqlite.js';
import type { OrderFeed } from '../../../gateway/kiosk/orderFeed.js';
import type { KioskStore } from '../../../gateway/kiosk/store.js';
import type { NewEvent } from '../../../gateway/outbox/store.js';
import { kioskExtra } from '../../e2e/kioskFixture.js';

const signer = createHqSigner({ kid: 'hq-orders' });
const ORDER = (orderId: string, pickupCode: string) => ({ orderId, pickupCode, lines: [{ name: 'Flowers', qty: 1 }], total: 999, currency: 'EUR', paidAt: '2026-11-24T18:00:00.000Z' });
const MAX_FEED = 16 * 1024;

let hq: Mosquitto;
let gw: RunningGateway;
let feeds: HqFeeds;
let of: OrderFeed;
/** The gateway's own alert records, as committed. */
const alerts: NewEvent[] = [];
const committed = new EventEmitter();

const kioskStore = () => (gw.gw.kiosk as unknown as { store: KioskStore }).store;
const waitOrders = (pred: () => boolean, what: string, timeoutMs = 20_000) => until(gw.gw.kiosk.changes, 'orders', pred, timeoutMs, what, () => ({ applied: of.applied, rejected: of.rejected, storeFailures: of.storeFailures }));

beforeAll(async () => {
  hq = await startMosquitto();
  const extra = await kioskExtra(hq.url, signer.publicKeyPem, signer.kid);
  gw = await startGateway({ extra: { ...extra, prices: { maxFeedBytes: MAX_FEED, feedRetryInitialMs: 200, feedRetryMaxMs: 1000 } } });
  of = gw.gw.kiosk.orderFeed!;
  gw.gw.onEvent((e) => {
    if (e.type !== 'alert') return;
    alerts.push(e);
    committed.emit('alert');
  });
  feeds = await connectHqFeeds(hq.url, 'test-store', signer);
}, 60_000);
afterAll(async () => {
  await feeds?.close();
  await gw?.stop();
  await hq?.stop();
});

describe('the orders feed', () => {
  it('is not acknowledged when kiosk.db cannot store it, and is applied from HQ re-delivery', async () => {
    const locker = await openDb(path.join(gw.dataDir, 'kiosk.db'));
    await locker.exec('PRAGMA busy_timeout = 0');
    await locker.exec('BEGIN IMMEDIATE');
    try {
      await feeds.publish('orders', 'store', 1, { mode: 'snapshot', orders: [ORDER('WEB-1', 'AAA111')] });
      await waitOrders(() => of.storeFailures >= 1, 'a storage failure');
      expect(of.applied).toBe(0);
      expect(of.rejected).toEqual([]);
      expect(await metric(gw.httpUrl, 'storegw_feed_store_failures_total{feed="orders"}')).toBeGreaterThanOrEqual(1);
    } finally {
      await locker.exec('ROLLBACK');
      await locker.close();
    }
    await waitOrders(() => of.applied === 1, 'orders v1 applied after re-delivery', 30_000);
    expect((await kioskStore().orderByCode('AAA111'))?.order.orderId).toBe('WEB-1');
  }, 60_000);

  it('refuses a delta on another version than the applied one, and one without a base', async () => {
    await feeds.publishRaw('orders', 'store', signer.sign({ feed: 'orders', scope: 'store:test-store', version: 3, issuedAt: new Date().toISOString(), body: { mode: 'delta', baseVersion: 2, orders: [ORDER('WEB-3', 'CCC333')] } }));
    await feeds.publishRaw('orders', 'store', signer.sign({ feed: 'orders', scope: 'store:test-store', version: 4, issuedAt: new Date().toISOString(), body: { mode: 'delta', orders: [ORDER('WEB-4', 'DDD444')] } }));
    await waitOrders(() => of.rejected.length >= 2, 'two deltas refused');
    expect(of.rejected[0]).toMatchObject({ code: 'SGW_ERR_FEED_VERSION_GAP', reason: expect.stringMatching(/baseVersion: 2 but the applied version is 1/) });
    expect(of.rejected[1]).toMatchObject({ code: 'SGW_ERR_FEED_BAD_BODY', reason: expect.stringMatching(/baseVersion/) });
    expect(await kioskStore().orderByCode('CCC333')).toBeNull();
    await feeds.publish('orders', 'store', 5, { mode: 'delta', baseVersion: 1, orders: [ORDER('WEB-5', 'EEE555')] });
    await waitOrders(() => of.applied === 2, 'delta on base 1 applied');
    expect((await kioskStore().orderByCode('EEE555'))?.order.orderId).toBe('WEB-5');
  }, 60_000);

  it('refuses a feed over prices.maxFeedBytes unparsed, naming its size', async () => {
    const n = of.rejected.length;
    const payload = await feeds.publish('orders', 'store', 6, { mode: 'snapshot', orders: Array.from({ length: 200 }, (_, i) => ORDER(`WEB-X${i}`, `XYZ${String(i).padStart(3, '0')}`)) });
    await waitOrders(() => of.rejected.length > n, 'oversized feed refused');
    expect(of.rejected.at(-1)).toMatchObject({ code: 'SGW_ERR_FEED_TOO_LARGE', reason: `payload: ${Buffer.byteLength(payload)} bytes is over the ${MAX_FEED}-byte limit (prices.maxFeedBytes)` });
    expect(of.applied).toBe(2);
  }, 60_000);

  it('counts a forged orders feed and writes the exact FEED_REJECTED record, as for the price feeds', async () => {
    const sample = 'storegw_feed_rejects_total{feed="orders",code="SGW_ERR_FEED_BAD_SIGNATURE"}';
    const before = await metric(gw.httpUrl, sample);
    const n = of.rejected.length;
    // Same kid, another key: the signature does not verify.
    const forger = createHqSigner({ kid: signer.kid });
    await feeds.publishRaw('orders', 'store', forger.sign({ feed: 'orders', scope: 'store:test-store', version: 50, issuedAt: new Date().toISOString(), body: { mode: 'snapshot', orders: [] } }));
    await waitOrders(() => of.rejected.length > n, 'forged feed refused');
    expect(of.rejected.at(-1)).toMatchObject({ feed: 'orders', scope: 'store', code: 'SGW_ERR_FEED_BAD_SIGNATURE', kid: signer.kid });
    expect(await metric(gw.httpUrl, sample)).toBe(before + 1);
    // The record goes through ingest like any device event: seen here once committed, with its seq.
    const isOurs = (e: NewEvent) => (JSON.parse(e.data) as { feedRejected?: { code?: string } }).feedRejected?.code === 'SGW_ERR_FEED_BAD_SIGNATURE';
    await until(committed, 'alert', () => alerts.some(isOurs), 10_000, 'FEED_REJECTED record', () => alerts.map((e) => e.data));
    const rec = alerts.find(isOurs)!;
    expect(rec).toMatchObject({ cls: 'exact', kind: 'light', deviceId: 'storegw', type: 'alert' });
    expect(JSON.parse(rec.data)).toMatchObject({
      code: 'FEED_REJECTED',
      severity: 'warning',
      message: expect.stringMatching(/^orders feed rejected: /),
      feedRejected: { topic: 'hq/v1/store/test-store/orders', feed: 'orders', scope: 'store', code: 'SGW_ERR_FEED_BAD_SIGNATURE', kid: signer.kid },
    });
    expect(of.applied).toBe(2);
  }, 60_000);
});
