/**
 * Click & collect with a real Mosquitto as HQ and the real gateway: HQ pushes paid
 * online orders as a signed `orders` feed; a pickup code scanned at a kiosk shows the order;
 * confirming writes one exact `pickup` record; it works with the WAN down once the feed arrived
 * (and across a gateway restart); a code used twice is refused with a clear reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { DEFAULT_DEVICES, startGateway, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, until } from '../../sim/hqFeeds.js';
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';
import { KioskStore } from '../../../gateway/kiosk/store.js';
import { newSession } from '../../../gateway/kiosk/sessionMachine.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, Peripherals, PRICES } from '../../e2e/kioskFixture.js';

const signer = createHqSigner({ kid: 'hq-orders' });
const ORDER = (orderId: string, pickupCode: string, total = 1878) => ({
  orderId,
  pickupCode,
  customer: 'A. Shopper',
  lines: [
    { gtin: G.milk, name: 'Milk 1 L', qty: 2 },
    { name: 'Flowers', qty: 1 },
  ],
  total,
  currency: 'EUR',
  paidAt: '2026-11-24T18:00:00.000Z',
});

let hq: Mosquitto;
let gw: RunningGateway;
let dev: Peripherals;
const data = tempDir('sgw-orders-');
const pickups: { deviceId: string; cls: string; data: Record<string, unknown> }[] = [];

async function boot(): Promise<void> {
  gw = await startGateway({ dataDir: data.dir, devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) });
  gw.gw.onEvent((e) => {
    if (e.kind === 'kiosk' && e.type === 'pickup') pickups.push({ deviceId: e.deviceId, cls: e.cls, data: JSON.parse(e.data) as Record<string, unknown> });
  });
  dev = await Peripherals.connect(gw.mqttUrl, KIOSK_DEVICES);
}
async function shutdown(): Promise<void> {
  await dev?.close();
  await gw?.stop();
}

const view = (k: string) => gw.gw.kiosk.view(k)!;
const waitView = (k: string, pred: (v: CartView) => boolean, what: string) => until(gw.gw.kiosk.changes, 'view', () => pred(view(k)), 10_000, what, () => ({ pickup: view(k).pickup, notice: view(k).notice, lines: view(k).lines.length }));

beforeAll(async () => {
  hq = await startMosquitto({ persistence: false });
  await boot();
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  const prices = gw.gw.prices!;
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('orders', 'store', 1, { mode: 'snapshot', orders: [ORDER('WEB-1001', 'ABC123'), ORDER('WEB-1002', 'RACE42'), ORDER('WEB-1003', 'LATER7')] });
  // A forged feed (signed by a key the gateway does not know) is refused and changes nothing.
  const forger = createHqSigner({ kid: 'hq-orders' });
  await feeds.publishRaw('orders', 'store', forger.sign({ feed: 'orders', scope: 'store:test-store', version: 9, issuedAt: new Date().toISOString(), body: { mode: 'snapshot', orders: [] } }));
  await until(prices.changes, 'change', () => prices.priceAt(G.milk) !== null, 10_000, 'catalog applied');
  const of = gw.gw.kiosk.orderFeed!;
  await until(gw.gw.kiosk.changes, 'orders', () => of.applied >= 1, 10_000, 'orders applied', () => of.rejected);
  await until(gw.gw.kiosk.changes, 'orders', () => of.rejected.length >= 1, 10_000, 'forged feed rejected', () => of.rejected);
  await feeds.close();
  await hq.kill(); // WAN down from here on: everything below works from kiosk.db
}, 60_000);

afterAll(async () => {
  await shutdown();
  await hq?.stop();
  data.remove();
});

describe('click & collect', () => {
  it('a forged orders feed is rejected with the signature code', () => {
    expect(gw.gw.kiosk.orderFeed!.rejected.map((r) => r.code)).toContain('SGW_ERR_FEED_BAD_SIGNATURE');
  });

  it('WAN down: scan the pickup code → the order is shown → confirm → one exact pickup record', async () => {
    await dev.scan('sc-1', 'PICKUP:ABC123');
    await waitView('k1', (v) => v.pickup?.orderId === 'WEB-1001', 'order shown');
    expect(view('k1').pickup).toEqual({ orderId: 'WEB-1001', customer: 'A. Shopper', lines: [{ name: 'Milk 1 L', qty: 2 }, { name: 'Flowers', qty: 1 }], total: 1878, currency: 'EUR', status: 'ready' });

    await gw.gw.kiosk.intent('k1', { type: 'pickupConfirm' });
    expect(view('k1').pickup?.status).toBe('collected');
    expect(pickups).toHaveLength(1);
    expect(pickups[0]).toMatchObject({ deviceId: 'k1', cls: 'exact', data: { kioskId: 'k1', orderId: 'WEB-1001', pickupCode: 'ABC123', total: 1878, currency: 'EUR' } });
    // And it is in the outbox, durable, as kind kiosk / type pickup.
    const recs = (await gw.gw.outbox.read(0, 100_000)).filter((r) => r.kind === 'kiosk' && r.type === 'pickup');
    expect(recs.map((r) => r.data.orderId)).toEqual(['WEB-1001']);

    // Confirming again on the same screen does nothing more.
    await gw.gw.kiosk.intent('k1', { type: 'pickupConfirm' });
    expect(pickups).toHaveLength(1);
    await gw.gw.kiosk.intent('k1', { type: 'pickupClose' });
    expect(view('k1').pickup).toBeNull();
  });

  it('a code used twice is refused with a clear message, at any kiosk', async () => {
    await dev.scan('sc-2', 'PICKUP:ABC123');
    await waitView('k2', (v) => v.notice?.code === 'pickupUsed', 'used code refused');
    expect(view('k2').pickup).toBeNull();
    expect(view('k2').notice!.detail).toMatch(/^WEB-1001 @ k1 \d{4}-/);
    expect(pickups).toHaveLength(1);
  });

  it('an unknown code and a code scanned with items in the cart are refused', async () => {
    await dev.scan('sc-2', 'PICKUP:NOPE999');
    await waitView('k2', (v) => v.notice?.code === 'pickupUnknown', 'unknown code');
    // The order on screen, then a product scanned instead: the kiosk moves on to the purchase.
    await dev.scan('sc-2', 'PICKUP:LATER7');
    await waitView('k2', (v) => v.pickup?.orderId === 'WEB-1003', 'order shown');
    await dev.scan('sc-2', G.bread);
    await waitView('k2', (v) => v.lines.length === 1 && v.pickup === null, 'bread in the cart, the order closed');
    await dev.scan('sc-2', 'PICKUP:LATER7');
    await waitView('k2', (v) => v.notice?.code === 'pickupFinishCart', 'finish the cart first');
    expect(view('k2').pickup).toBeNull();
    await gw.gw.kiosk.intent('k2', { type: 'cancel' });
    await gw.gw.kiosk.intent('k2', { type: 'cancel' });
    expect(view('k2').lines).toHaveLength(0);
  });

  it('two kiosks confirming the same order at once: one record, the other is told', async () => {
    await dev.scan('sc-1', 'PICKUP:RACE42');
    await dev.scan('sc-2', 'PICKUP:race42'); // case-insensitive on the wire
    await waitView('k1', (v) => v.pickup?.orderId === 'WEB-1002', 'k1 shows it');
    await waitView('k2', (v) => v.pickup?.orderId === 'WEB-1002', 'k2 shows it');
    await Promise.all([gw.gw.kiosk.intent('k1', { type: 'pickupConfirm' }), gw.gw.kiosk.intent('k2', { type: 'pickupConfirm' })]);
    expect(pickups.filter((p) => p.data.orderId === 'WEB-1002')).toHaveLength(1);
    const [winner, loser] = view('k1').pickup?.status === 'collected' ? ['k1', 'k2'] : ['k2', 'k1'];
    expect(view(winner).pickup?.status).toBe('collected');
    expect(view(loser).pickup).toBeNull();
    // Still being recorded by the winner when the loser asked (busy), or already done (used).
    expect(view(loser).notice?.code).toMatch(/^pickup(Busy|Used)$/);
    expect(view(loser).notice?.detail).toContain(`WEB-1002`);
    expect(view(loser).notice?.detail).toMatch(new RegExp(`@ ${winner}( |$)`));
    await gw.gw.kiosk.intent('k1', { type: 'pickupClose' });
    await gw.gw.kiosk.intent('k2', { type: 'pickupClose' });
  });

  it('after a gateway restart with the WAN still down: used codes stay used, half-done pickups are settled, open orders still collect', async () => {
    await shutdown();
    // As if killed between claim and record: WEB-1002 (its record is in the outbox) and WEB-1003
    // (no record) are left "collecting"; the restart settles them from the outbox.
    const store = new KioskStore(`${data.dir}/kiosk.db`);
    await store.start();
    await store.finishOrder('WEB-1002', 'ready', 1);
    expect(await store.claimOrder('WEB-1002', 'k1', 0, 1)).toBe(true);
    expect(await store.claimOrder('WEB-1003', 'k2', 0, 1)).toBe(true);
    await store.stop();
    await boot();
    await dev.scan('sc-2', 'PICKUP:RACE42');
    await waitView('k2', (v) => v.notice?.code === 'pickupUsed', 'recorded before the crash → collected');
    await dev.scan('sc-1', 'PICKUP:ABC123');
    await waitView('k1', (v) => v.notice?.code === 'pickupUsed', 'still used after restart');
    await dev.scan('sc-1', 'PICKUP:LATER7');
    await waitView('k1', (v) => v.pickup?.orderId === 'WEB-1003', 'open order shown');
    await gw.gw.kiosk.intent('k1', { type: 'pickupConfirm' });
    expect(pickups.filter((p) => p.data.orderId === 'WEB-1003')).toHaveLength(1);
    expect(pickups.map((p) => p.data.orderId).sort()).toEqual(['WEB-1001', 'WEB-1002', 'WEB-1003']);
  });
});

describe('orders in kiosk.db (real SQLite)', () => {
  it('snapshot/delta: withdrawn orders go, collected ones stay collected even if HQ lists them again; session saves during a feed are kept', async () => {
    const tmp = tempDir('sgw-orders-store-');
    const store = new KioskStore(`${tmp.dir}/kiosk.db`);
    try {
      await store.start();
      await store.applyOrders(1, { mode: 'snapshot', orders: [ORDER('A-1', 'AAAAAA'), ORDER('A-2', 'BBBBBB'), ORDER('A-3', 'CCCCCC')] }, 1);
      expect(await store.claimOrder('A-1', 'k1', 0, 2)).toBe(true);
      expect(await store.claimOrder('A-1', 'k2', 0, 2)).toBe(false); // only one kiosk wins
      await store.finishOrder('A-1', 'collected', 3, 42);
      // A session saved while the next feed is in its transaction is not swallowed by it.
      const s = newSession('k1', 'sess-1', 'EUR', 4, false);
      await Promise.all([store.applyOrders(2, { mode: 'snapshot', orders: [ORDER('A-1', 'AAAAAA'), ORDER('A-3', 'CCCCCC')] }, 4), store.saveSession(s, 4)]);
      expect((await store.loadSessions()).map((x) => x.sessionId)).toEqual(['sess-1']);
      expect((await store.orderByCode('AAAAAA'))!.status).toBe('collected');
      expect((await store.orderByCode('BBBBBB'))!.status).toBe('removed');
      expect((await store.orderByCode('CCCCCC'))!.status).toBe('ready');
      await store.applyOrders(3, { mode: 'delta', orders: [], remove: ['A-3'] }, 5);
      expect((await store.orderByCode('CCCCCC'))!.status).toBe('removed');
      expect(await store.ordersVersion()).toBe(3);
      // One pickup code for two orders: the whole feed is refused, nothing of it applied.
      await expect(store.applyOrders(4, { mode: 'delta', orders: [ORDER('A-4', 'DDDDDD'), ORDER('A-5', 'DDDDDD')] }, 6)).rejects.toThrow(/UNIQUE/);
      expect(await store.order('A-4')).toBeNull();
      expect(await store.ordersVersion()).toBe(3);
    } finally {
      await store.stop();
      tmp.remove();
    }
  });
});
