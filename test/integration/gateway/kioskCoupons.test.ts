/**
 * Coupons through the real gateway (in-process, real Mosquitto as HQ, real kiosk.db and outbox):
 * - the signed `coupons` feed is applied; a forged one is refused and counted;
 * - an HQ-signed code scanned on the kiosk's scanner applies; the cart shows it and its amount;
 * - a minimum spend not met shows the coupon as not applied with what is missing, and it applies
 *   once the basket grows (re-checked on every change);
 * - a single-use serial on one kiosk's cart is refused at the other; after the sale it is refused
 *   everywhere as used; the sale carries it and one exact `couponRedeemed` record goes with it;
 * - a void releases the serial; a revocation by feed takes a coupon off a cart, with its reason;
 * - refusals are named on the cart and counted (unknown, expired, revoked, already used);
 * - any text typed as a coupon (seeded) is refused by name or taken, and the gateway goes on.
 * Every wait ends on a cart view or a feed event.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileAllValidators } from '../../../gateway/http/server.js';
import fc from 'fast-check';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { DEFAULT_DEVICES, startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, until, type HqFeeds } from '../../sim/hqFeeds.js';
import { issueCouponCode } from '../../sim/couponIssuer.js';
import { PaymentSim } from '../../sim/paymentSim.js';
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';
import { openDb } from '../../../gateway/db/sqlite.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, MEMBER, MEMBERS, Peripherals, PRICES } from '../../e2e/kioskFixture.js';

const signer = createHqSigner({ kid: 'hq-coupons' });
const nowS = () => Math.floor(Date.now() / 1000);
const COUPONS = {
  mode: 'snapshot',
  coupons: [
    { id: 'TEN', label: { en: '10 % off', zh: '九折' }, target: { kind: 'basket' }, percentOffBp: 1000, stacking: 'combinable', use: 'single' },
    { id: 'MIN5', label: { en: '1 € off from 5 €' }, target: { kind: 'basket' }, amountOff: 100, minSpend: 500, stacking: 'combinable', use: 'multi', code: 'SPEND5' },
    { id: 'BREAD', label: { en: 'Bread 50 ct off' }, target: { kind: 'items', gtins: [G.bread] }, amountOff: 50, stacking: 'combinable', use: 'single', codePrefix: 'BR-' },
    { id: 'ONCE', label: { en: 'Members: 2 € off, once' }, target: { kind: 'basket' }, amountOff: 200, stacking: 'exclusive', use: 'multi', code: 'MEMBER2', memberOnly: true, maxPerMember: 1 },
  ],
  revoked: [],
};

let hq: Mosquitto;
let gw: RunningGateway;
let dev: Peripherals;
let pay: PaymentSim;
let feeds: HqFeeds;
const data = tempDir('sgw-coupons-');
const records: { type: string; data: Record<string, unknown> }[] = [];

const view = (k: string) => gw.gw.kiosk.view(k)!;
const waitView = async (k: string, pred: (v: CartView) => boolean, what: string): Promise<CartView> => {
  await until(gw.gw.kiosk.changes, 'view', () => pred(view(k)), 10_000, what, () => ({ notice: view(k).notice, coupons: view(k).coupons, total: view(k).total, phase: view(k).phase }));
  return view(k);
};
const present = async (k: string, code: string) => {
  const v = view(k).version;
  await gw.gw.kiosk.intent(k, { type: 'coupon', code });
  return waitView(k, (x) => x.version > v, `the cart after coupon ${code.slice(0, 12)}`);
};
const refusedCount = async (reason: string) => Number((await gw.gw.metrics.registry.getSingleMetricAsString('storegw_coupon_refused_total')).match(new RegExp(`reason="${reason}"} (\\d+)`))?.[1] ?? 0);
const couponFeed = () => gw.gw.kiosk.coupons.feed!;

beforeAll(async () => {
  hq = await startMosquitto({ persistence: false });
  gw = await startGateway({ dataDir: data.dir, devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid, { voidNeedsAttendant: false }) });
  gw.gw.onEvent((e) => {
    if (e.kind === 'kiosk' && (e.type === 'couponRedeemed' || e.type === 'transaction')) records.push({ type: e.type, data: JSON.parse(e.data) as Record<string, unknown> });
  });
  dev = await Peripherals.connect(gw.mqttUrl, KIOSK_DEVICES);
  pay = new PaymentSim({ url: gw.mqttUrl, id: 'pay-1', password: TEST_SECRET });
  await pay.start();
  feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  const prices = gw.gw.prices!;
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('members', 'store', 1, MEMBERS);
  await feeds.publish('coupons', 'all', 1, COUPONS);
  // Forged (a key the gateway does not know), and one with two discounts: both refused by name.
  const forger = createHqSigner({ kid: 'hq-coupons' });
  await feeds.publishRaw('coupons', 'all', forger.sign({ feed: 'coupons', scope: 'all', version: 9, issuedAt: new Date().toISOString(), body: { ...COUPONS, coupons: [] } }));
  await feeds.publish('coupons', 'store', 1, { mode: 'snapshot', coupons: [{ ...COUPONS.coupons[1], id: 'BAD', code: 'BADONE', percentOffBp: 10 }], revoked: [] });
  await until(prices.changes, 'change', () => prices.priceAt(G.milk) !== null && prices.currentCatalog().members.has(MEMBER), 10_000, 'catalog and members applied');
  await until(gw.gw.kiosk.changes, 'coupons', () => couponFeed().applied >= 1 && couponFeed().rejected.length >= 2, 10_000, 'coupons applied, two refused', () => couponFeed().rejected);
}, 60_000);

afterAll(async () => {
  await feeds?.close();
  await pay?.stop();
  await dev?.close();
  await gw?.stop();
  await hq?.stop();
  data.remove();
});

describe('coupons through the real gateway', () => {
  const ten = issueCouponCode(signer, { couponId: 'TEN', serial: 'S-0001', expires: nowS() + 86_400 });

  it('the feed: one applied, a forged one and a definition with two discounts refused by name', () => {
    expect(couponFeed().rejected.map((r) => r.code).sort()).toEqual(['SGW_ERR_FEED_BAD_BODY', 'SGW_ERR_FEED_BAD_SIGNATURE']);
    expect(couponFeed().rejected.find((r) => r.code === 'SGW_ERR_FEED_BAD_BODY')!.reason).toMatch(/exactly one of amountOff and percentOffBp/);
  });

  it('a scanned HQ-signed code applies after the item prices, never as a product', async () => {
    await dev.scan('sc-1', G.bread);
    await waitView('k1', (v) => v.lines.length === 1, 'bread');
    await dev.scan('sc-1', ten);
    const v = await waitView('k1', (x) => (x.coupons?.length ?? 0) === 1, 'the coupon on the cart');
    expect(v.lines).toHaveLength(1);
    expect(v.notice).toEqual({ code: 'couponApplied', detail: 'TEN' });
    expect(v.coupons![0]).toMatchObject({ couponId: 'TEN', serial: 'S-0001', amount: 25, applied: true, label: { en: '10 % off', zh: '九折' } });
    expect(v.lines[0].price).toBe(250); // the line before coupons
    expect({ subtotal: v.subtotal, discounts: v.discounts, total: v.total }).toEqual({ subtotal: 250, discounts: 25, total: 225 });
  });

  it('the same serial at the other kiosk is refused as already used (on another cart), counted', async () => {
    const before = await refusedCount('alreadyUsed');
    const v = await present('k2', ten);
    expect(v.notice?.code).toBe('coupon_alreadyUsed');
    expect(v.coupons).toBeUndefined();
    expect(await refusedCount('alreadyUsed')).toBe(before + 1);
  });

  it('a minimum spend not met shows the coupon not applied with what is missing; a bigger basket applies it', async () => {
    const v = await present('k1', 'spend5');
    expect(v.notice?.code).toBe('couponNotApplied_minSpend');
    expect(v.coupons![1]).toMatchObject({ couponId: 'MIN5', applied: false, reason: 'minSpend', missing: 250 });
    await dev.scan('sc-1', G.bread);
    const w = await waitView('k1', (x) => x.coupons?.[1]?.applied === true, 'min spend reached');
    // 10 % of 500 = 50, then 1 € off: 500 − 150.
    expect(w.coupons!.map((c) => c.amount)).toEqual([50, 100]);
    expect(w.total).toBe(350);
  });

  it('refusals are named: unknown, expired, malformed', async () => {
    expect((await present('k1', 'NOSUCH')).notice?.code).toBe('coupon_unknown');
    expect((await present('k1', issueCouponCode(signer, { couponId: 'TEN', serial: 'S-0002', expires: nowS() - 10 }))).notice?.code).toBe('coupon_expired');
    expect((await present('k1', 'CP1:AAAA')).notice?.code).toBe('coupon_malformed');
    expect(view('k1').coupons).toHaveLength(2);
  });

  it('paid: the sale carries its coupons and one couponRedeemed record each; the serial is used for good', async () => {
    await gw.gw.kiosk.intent('k1', { type: 'pay' });
    const done = await waitView('k1', (v) => v.phase === 'done', 'the sale');
    expect(done.receipt?.total).toBe(350);
    // VAT: bread is 7 %: 350 gross → 23 VAT.
    expect(done.receipt?.vat).toEqual([{ rateBp: 700, gross: 350, net: 327, vat: 23 }]);
    await until(gw.gw.kiosk.changes, 'view', () => records.filter((r) => r.type === 'couponRedeemed').length >= 2, 10_000, 'redemption records');
    const sale = records.find((r) => r.type === 'transaction')!.data;
    expect(sale.coupons).toEqual([
      { couponId: 'TEN', serial: 'S-0001', amount: 50, via: 'signed', single: true },
      { couponId: 'MIN5', serial: '', amount: 100, via: 'plain', single: false },
    ]);
    const red = records.filter((r) => r.type === 'couponRedeemed').map((r) => r.data);
    expect(red).toEqual([
      expect.objectContaining({ transactionId: sale.transactionId, couponId: 'TEN', serial: 'S-0001', single: true, amount: 50, currency: 'EUR' }),
      expect.objectContaining({ transactionId: sale.transactionId, couponId: 'MIN5', serial: '', single: false, amount: 100 }),
    ]);
    const db = await openDb(path.join(data.dir, 'kiosk.db'), { readonly: true });
    const use = await db.get('SELECT status, transaction_id AS t, amount FROM coupon_uses WHERE use_key = ?', ['TEN/S-0001']);
    await db.close();
    expect(use).toEqual({ status: 'used', t: sale.transactionId, amount: 50 });
    await gw.gw.kiosk.intent('k1', { type: 'cancel' }); // "Done": the next shopper
    await waitView('k1', (v) => v.phase === 'idle', 'the next shopper');
    expect((await present('k1', ten)).notice).toEqual({ code: 'coupon_alreadyUsed', detail: 'coupon TEN serial S-0001: used in an earlier sale' });
  });

  it('a cancelled cart frees its serial for the next one', async () => {
    const code = 'BR-77';
    await dev.scan('sc-1', G.bread);
    await waitView('k1', (v) => v.lines.length === 1, 'bread');
    expect((await present('k1', code)).coupons?.[0]).toMatchObject({ couponId: 'BREAD', applied: true, amount: 50 });
    expect((await present('k2', code)).notice?.code).toBe('coupon_alreadyUsed');
    await gw.gw.kiosk.intent('k1', { type: 'cancel' });
    await waitView('k1', (v) => v.phase === 'cancelled', 'cancelled');
    const v = await present('k2', code);
    expect(v.coupons?.[0]).toMatchObject({ couponId: 'BREAD', applied: false, reason: 'noItems' });
    expect(v.notice?.code).toBe('couponNotApplied_noItems');
  });

  it('HQ revokes a serial: it leaves the cart that holds it, with the reason, and is refused after', async () => {
    await feeds.publish('coupons', 'all', 2, { mode: 'delta', coupons: [], revoked: [{ couponId: 'BREAD', serial: '77', reason: 'reported stolen' }] });
    const v = await waitView('k2', (x) => x.notice?.code === 'coupon_revoked', 'the revocation on the cart');
    expect(v.notice?.detail).toBe('reported stolen');
    expect(v.coupons).toBeUndefined();
    const before = await refusedCount('revoked');
    expect((await present('k2', 'BR-77')).notice).toEqual({ code: 'coupon_revoked', detail: 'revoked: reported stolen' });
    expect(await refusedCount('revoked')).toBe(before + 1);
  });

  it('a coupon limited per member: the member first, once per member, counted in the sale', async () => {
    await gw.gw.kiosk.intent('k1', { type: 'cancel' }); // the cancelled cart: the next shopper
    await waitView('k1', (v) => v.phase === 'idle', 'the next shopper');
    await dev.scan('sc-1', G.wine);
    await waitView('k1', (v) => v.lines.length === 1, 'wine');
    expect((await present('k1', 'MEMBER2')).notice?.code).toBe('coupon_memberFirst');
    await gw.gw.kiosk.intent('k1', { type: 'member', code: MEMBER });
    await waitView('k1', (v) => v.memberCode === MEMBER, 'the member');
    expect((await present('k1', 'MEMBER2')).coupons?.[0]).toMatchObject({ couponId: 'ONCE', applied: true, amount: 200 });
    const wine = view('k1').requests.find((r) => r.kind === 'age')!;
    await gw.gw.kiosk.decide(wine.requestId, 'approved', 'tester');
    await gw.gw.kiosk.intent('k1', { type: 'pay' });
    expect((await waitView('k1', (v) => v.phase === 'done', 'the sale')).receipt?.total).toBe(699);
    await gw.gw.kiosk.intent('k1', { type: 'cancel' });
    await waitView('k1', (v) => v.phase === 'idle', 'the next shopper');
    await gw.gw.kiosk.intent('k1', { type: 'member', code: MEMBER });
    await waitView('k1', (v) => v.memberCode === MEMBER, 'the member again');
    const before = await refusedCount('maxUses');
    expect((await present('k1', 'MEMBER2')).notice?.code).toBe('coupon_maxUses');
    expect(await refusedCount('maxUses')).toBe(before + 1);
  });

  it('any text typed as a coupon is refused by name (or taken), never a product, and the gateway goes on (seeded)', async () => {
    const lines = view('k2').lines.length;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string({ minLength: 1, maxLength: 200 }), fc.string({ maxLength: 150 }).map((x) => `CP1:${x}`), fc.stringMatching(/^(\(811[02]\)|811[02])[0-9]{17,60}$/)), async (code) => {
        const v = await present('k2', code);
        expect(v.notice?.code ?? '').toMatch(/^coupon/);
      }),
      { seed: 18_31, numRuns: 40 },
    );
    expect(view('k2').lines).toHaveLength(lines);
    expect((await present('k2', 'SPEND5')).coupons?.some((c) => c.couponId === 'MIN5')).toBe(true);
  });

  it('every request schema of the route table compiles (the validators are compiled on first use)', () => {
    // The routes this test used are compiled already; the rest would fail their first request if
    // a schema did not compile: compile them all now.
    const n = compileAllValidators(gw.gw.http);
    expect(n).toBeGreaterThan(40);
    expect(compileAllValidators(gw.gw.http)).toBe(0);
  });
});
