/**
 * A member's coupons and points at the kiosks, through a real gateway (in-process, real kiosk.db).
 *
 * A coupon's `maxPerMember` holds across kiosks: the same member at two kiosks presents a coupon
 * allowed once per member at both at the same moment, round after round. The count of the
 * member's uses and the hold for the cart are one statement in kiosk.db, so exactly one cart
 * takes it and the other is refused (`coupon_maxUses`); a cart that lets the coupon go frees it,
 * and after a sale the use replaces the hold (the table of holds is empty, one use counted).
 * Reading the count, then reserving in a second step, let both carts take it.
 *
 * A post-sale void's give-back (`reversePoints`, `releaseCoupons`, keyed by the transaction id):
 * the sale's earn and spend come back as exact reversal rows and `pointsChange` records (once,
 * however often it is called), the offline balance is what it was before the sale, and the
 * member may use the coupon again.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { DEFAULT_DEVICES, startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, until } from '../../sim/hqFeeds.js';
import { PaymentSim } from '../../sim/paymentSim.js';
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';
import { openDb } from '../../../gateway/db/sqlite.js';
import { couponRecords, couponReleaseRecords } from '../../../gateway/kiosk/saleRecords.js';
import type { KioskTransactionRec } from '../../../gateway/protocol/schemas/kiosk.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, MEMBER, MEMBERS, Peripherals, PRICES } from '../../e2e/kioskFixture.js';

const signer = createHqSigner({ kid: 'hq-coupon-race' });
const ROUNDS = 12;
let hq: Mosquitto;
let gw: RunningGateway;
let dev: Peripherals;
let pay: PaymentSim;
const data = tempDir('sgw-coupon-race-');
/** Every kiosk record the gateway committed, parsed. */
const committed: { type: string; data: unknown }[] = [];

const view = (k: string) => gw.gw.kiosk.view(k)!;
const waitView = async (k: string, pred: (v: CartView) => boolean, what: string): Promise<CartView> => {
  await until(gw.gw.kiosk.changes, 'view', () => pred(view(k)), 10_000, what, () => ({ notice: view(k).notice, coupons: view(k).coupons, phase: view(k).phase }));
  return view(k);
};
const present = async (k: string, code: string) => {
  const v = view(k).version;
  await gw.gw.kiosk.intent(k, { type: 'coupon', code });
  return waitView(k, (x) => x.version > v && (x.notice?.code ?? '').startsWith('coupon'), `k ${k}: the answer to ${code}`);
};
/** A new cart at `k` with the member on it (a cart is cancelled, then "Done" starts the next). */
const fresh = async (k: string) => {
  for (let i = 0; i < 2 && !(view(k).phase === 'idle' && view(k).memberCode === null); i++) {
    const v = view(k).version;
    await gw.gw.kiosk.intent(k, { type: 'cancel' });
    await waitView(k, (x) => x.version > v, `${k}: cancelled`);
  }
  await waitView(k, (v) => v.phase === 'idle' && v.memberCode === null, `${k}: the next shopper`);
  await gw.gw.kiosk.intent(k, { type: 'member', code: MEMBER });
  await waitView(k, (v) => v.memberCode === MEMBER, `${k}: the member`);
};
const holds = async () => {
  const db = await openDb(path.join(data.dir, 'kiosk.db'), { readonly: true });
  try {
    const h = await db.all<{ session_id: string }>('SELECT session_id FROM coupon_member_holds');
    const u = await db.all<{ transaction_id: string }>("SELECT transaction_id FROM coupon_member_uses WHERE coupon_id = 'ONCE'");
    return { holds: h.length, uses: u.length };
  } finally {
    await db.close();
  }
};
const took = (v: CartView) => (v.coupons ?? []).some((c) => c.couponId === 'ONCE');

beforeAll(async () => {
  hq = await startMosquitto({ persistence: false });
  gw = await startGateway({ dataDir: data.dir, devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) });
  gw.gw.onEvent((e) => {
    if (e.kind === 'kiosk') committed.push({ type: e.type, data: JSON.parse(e.data) as unknown });
  });
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  // Milk is in the `dairy` category (a coupon below targets it).
  await feeds.publish('catalog', 'store', 1, { ...CATALOG, items: CATALOG.items.map((i) => (i.gtin === G.milk ? { ...i, category: 'dairy' } : i)) });
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('members', 'store', 1, MEMBERS);
  await feeds.publish('coupons', 'all', 1, {
    mode: 'snapshot',
    coupons: [
      { id: 'ONCE', label: { en: 'Members: 2 € off, once' }, target: { kind: 'basket' }, amountOff: 200, stacking: 'exclusive', use: 'multi', code: 'MEMBER2', memberOnly: true, maxPerMember: 1 },
      { id: 'DAIRY10', label: { en: 'Dairy 10 % off' }, target: { kind: 'category', categories: ['dairy'] }, percentOffBp: 1000, stacking: 'combinable', use: 'multi', code: 'DAIRY10' },
    ],
    revoked: [],
  });
  await feeds.publish('loyalty', 'store', 1, { mode: 'snapshot', program: 'club', earn: { pointsPerUnit: 1, perMinor: 100 }, spend: { valuePoints: 1, valueMinor: 1, minPoints: 100, maxShareBp: 5000 }, balances: [{ memberId: MEMBER, points: 300, asOf: new Date(Date.now() - 60_000).toISOString() }] });
  const prices = gw.gw.prices!;
  await until(prices.changes, 'change', () => prices.priceAt(G.milk) !== null && prices.currentCatalog().members.has(MEMBER), 10_000, 'catalog and members applied');
  await until(gw.gw.kiosk.changes, 'coupons', () => (gw.gw.kiosk.coupons.feed?.applied ?? 0) >= 1, 10_000, 'coupons applied');
  await until(gw.gw.kiosk.changes, 'loyalty', () => (gw.gw.kiosk.points.loyaltyFeed?.applied ?? 0) >= 1, 10_000, 'loyalty applied');
  await feeds.close();
  dev = await Peripherals.connect(gw.mqttUrl, KIOSK_DEVICES.filter((d) => d.id === 'sc-1' || d.id === 'pay-1'));
  pay = new PaymentSim({ url: gw.mqttUrl, id: 'pay-1', password: TEST_SECRET });
  await pay.start();
}, 60_000);

afterAll(async () => {
  await pay?.stop();
  await dev?.close();
  await gw?.stop();
  await hq?.stop();
  data.remove();
});

describe('maxPerMember across two kiosks', () => {
  it(`the same member presenting at both kiosks at once: exactly one cart takes it (${ROUNDS} rounds)`, async () => {
    for (let i = 0; i < ROUNDS; i++) {
      await Promise.all([fresh('k1'), fresh('k2')]);
      // Alternate who asks first, so neither kiosk's queue is always ahead.
      const order = i % 2 === 0 ? (['k1', 'k2'] as const) : (['k2', 'k1'] as const);
      const answers = await Promise.all(order.map((k) => present(k, 'MEMBER2')));
      expect(answers.filter(took), `round ${i}`).toHaveLength(1);
      expect(answers.find((v) => !took(v))?.notice?.code, `round ${i}`).toBe('coupon_maxUses');
    }
    expect((await holds()).holds).toBe(1);
  });

  it('a cart that drops the coupon frees the use; a sale turns the hold into the one use, for good', async () => {
    const winner = took(view('k1')) ? 'k1' : 'k2';
    const loser = winner === 'k1' ? 'k2' : 'k1';
    await fresh(winner); // cancelled: its hold goes
    expect(took(await present(loser, 'MEMBER2'))).toBe(true);
    expect((await present(winner, 'MEMBER2')).notice?.code).toBe('coupon_maxUses');
    // The holder buys (k1 has the terminal sim; move the hold there when needed).
    if (loser !== 'k1') {
      await fresh('k2');
      await fresh('k1');
      expect(took(await present('k1', 'MEMBER2'))).toBe(true);
    }
    await dev.scan('sc-1', G.shirt);
    await waitView('k1', (v) => v.lines.length === 1, 'the shirt');
    await gw.gw.kiosk.intent('k1', { type: 'spendPoints', points: 300 });
    await waitView('k1', (v) => v.points?.spent === 300, 'points spent');
    await gw.gw.kiosk.intent('k1', { type: 'pay' });
    const done = await waitView('k1', (v) => v.phase === 'done', 'the sale');
    expect(done.receipt?.total).toBe(1500 - 200 - 300);
    saleId = done.receipt!.transactionId;
    expect(await holds()).toEqual({ holds: 0, uses: 1 });
    await fresh('k2');
    expect((await present('k2', 'MEMBER2')).notice?.code).toBe('coupon_maxUses');
  });
});

let saleId = '';
// Read as committed (the uplink may delete outbox rows once HQ has them).
const pointsRecords = async () => committed.filter((r) => r.type === 'pointsChange').map((r) => r.data as { entryId: string; kind: string; delta: number });

describe('a post-sale void gives the points and the coupon back', () => {
  it('reversePoints: exact reversal rows and records keyed by the transaction, once; the balance is as before the sale', async () => {
    const k = gw.gw.kiosk;
    const earned = (await pointsRecords()).find((r) => r.entryId === `test-store:${saleId}:earn`)!.delta;
    expect(earned).toBe(10);
    expect(k.points.available(MEMBER, 'k2')).toBe(300 - 300 + earned);
    const back = await k.points.reversePoints(saleId);
    expect(back.map((e) => [e.kind, e.delta, e.memberId]).sort()).toEqual([
      ['earnReversal', -earned, MEMBER],
      ['spendReversal', 300, MEMBER],
    ]);
    expect(k.points.available(MEMBER, 'k2')).toBe(300);
    const reversals = (await pointsRecords()).filter((r) => r.kind.endsWith('Reversal'));
    expect(reversals.map((r) => [r.entryId, r.delta]).sort()).toEqual([
      [`test-store:${saleId}:earnReversal`, -earned],
      [`test-store:${saleId}:spendReversal`, 300],
    ]);
    // Again (a retried void): nothing new, nothing twice.
    expect(await k.points.reversePoints(saleId)).toHaveLength(2);
    expect((await pointsRecords()).filter((r) => r.kind.endsWith('Reversal'))).toHaveLength(2);
    expect(k.points.available(MEMBER, 'k2')).toBe(300);
    expect(await k.points.reversePoints('no-such-sale')).toEqual([]);
  });

  it('releaseCoupons: the member may use the coupon again; the couponReleased records mirror the redemptions', async () => {
    expect(await gw.gw.kiosk.coupons.releaseCoupons(saleId)).toBe(1);
    expect(await gw.gw.kiosk.coupons.releaseCoupons(saleId)).toBe(0);
    expect(await holds()).toEqual({ holds: 0, uses: 0 });
    expect(took(await present('k2', 'MEMBER2'))).toBe(true);
    const sale = committed.find((r) => r.type === 'transaction' && (r.data as { transactionId: string }).transactionId === saleId)!.data as KioskTransactionRec;
    const ts = new Date().toISOString();
    expect(couponReleaseRecords(sale, ts)).toEqual(couponRecords(sale).map((c) => ({ ...c, ts })));
    expect(couponReleaseRecords(sale, ts)).toEqual([expect.objectContaining({ transactionId: saleId, couponId: 'ONCE', amount: 200 })]);
  });
});

describe('a coupon for a category', () => {
  it('takes its discount from the lines of that category only (the catalog feed says which)', async () => {
    await fresh('k1');
    await dev.scan('sc-1', G.shirt);
    await waitView('k1', (v) => v.lines.length === 1, 'the shirt');
    expect((await present('k1', 'DAIRY10')).coupons?.find((c) => c.couponId === 'DAIRY10')).toMatchObject({ applied: false, reason: 'noItems' });
    await dev.scan('sc-1', G.milk);
    // 10 % of the milk at the member price 0.99 = 0.10 (half-up), not 10 % of the basket.
    const v = await waitView('k1', (x) => x.lines.length === 2 && x.coupons?.some((c) => c.couponId === 'DAIRY10' && c.applied) === true, 'the dairy coupon applied');
    expect(v.coupons?.find((c) => c.couponId === 'DAIRY10')?.amount).toBe(10);
    expect(v.total).toBe(1500 + 99 - 10);
  });
});
