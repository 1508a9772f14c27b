/**
 * What a post-sale void gives back, through a real gateway (in-process, real kiosk.db, outbox and
 * command store, the terminal simulator on MQTT), voided on the ops API:
 * - a member's sale that spent points, earned points and used a single-use coupon: after the void
 *   the member's offline balance is what it was before the sale, the coupon serial is taken again
 *   by the next cart, and the records are exact and once each: one `earnReversal` and one
 *   `spendReversal` `pointsChange`, one `couponReleased`, one `saleVoided` whose `counts` take the
 *   member sale, the points and the coupon out of the day's numbers;
 * - a sale found by its receipt's short number (the ops void form takes either);
 * - the terminal refuses the reversal: the void answers, and records, a refund `owed` naming the
 *   terminal's answer; the reversal command was sent once.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { DEFAULT_DEVICES, startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, until } from '../../sim/hqFeeds.js';
import { issueCouponCode } from '../../sim/couponIssuer.js';
import { PaymentSim } from '../../sim/paymentSim.js';
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';
import { openDb } from '../../../gateway/db/sqlite.js';
import { reversalCmdId } from '../../../gateway/kiosk/saleVoidReversal.js';
import { shortTransactionNo } from '../../../gateway/kiosk/receiptModel.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, MEMBER, MEMBERS, Peripherals, PRICES } from '../../e2e/kioskFixture.js';
import { api, login } from './opsClient.js';

const signer = createHqSigner({ kid: 'hq-void-giveback' });
const COUPON = issueCouponCode(signer, { couponId: 'ONE', serial: 'V-1', expires: Math.floor(Date.now() / 1000) + 86_400 });
let hq: Mosquitto;
let gw: RunningGateway;
let dev: Peripherals;
let pay: PaymentSim;
const data = tempDir('sgw-void-giveback-');
/** Every kiosk record the gateway committed, parsed. */
const committed: { type: string; data: Record<string, any> }[] = [];
const of = (type: string, tx: string) => committed.filter((r) => r.type === type && r.data.transactionId === tx).map((r) => r.data);

const view = () => gw.gw.kiosk.view('k1')!;
const waitView = async (pred: (v: CartView) => boolean, what: string): Promise<CartView> => {
  await until(gw.gw.kiosk.changes, 'view', () => pred(view()), 10_000, what, () => ({ notice: view().notice, phase: view().phase, coupons: view().coupons }));
  return view();
};
/** A new cart at k1 (a done or open cart is cancelled first), with the member on it or not. */
const fresh = async (member: boolean) => {
  for (let i = 0; i < 2 && !(view().phase === 'idle' && view().memberCode === null && view().lines.length === 0); i++) {
    const v = view().version;
    await gw.gw.kiosk.intent('k1', { type: 'cancel' });
    await waitView((x) => x.version > v, 'cancelled');
  }
  if (member) {
    await gw.gw.kiosk.intent('k1', { type: 'member', code: MEMBER });
    await waitView((v) => v.memberCode === MEMBER, 'the member');
  }
};
const present = async (code: string) => {
  const v = view().version;
  await gw.gw.kiosk.intent('k1', { type: 'coupon', code });
  return waitView((x) => x.version > v && (x.notice?.code ?? '').startsWith('coupon'), 'the answer to the coupon');
};
const took = (v: CartView) => (v.coupons ?? []).some((c) => c.couponId === 'ONE' && c.serial === 'V-1');
const pay1 = async (): Promise<string> => {
  await gw.gw.kiosk.intent('k1', { type: 'pay' });
  return (await waitView((v) => v.phase === 'done', 'the sale')).receipt!.transactionId;
};
const couponRows = async () => {
  const db = await openDb(path.join(data.dir, 'kiosk.db'), { readonly: true });
  try {
    return {
      uses: (await db.all<{ serial: string }>("SELECT serial FROM coupon_uses WHERE coupon_id = 'ONE' AND status = 'used'")).map((r) => r.serial),
      points: await db.all<{ kind: string; delta: number }>('SELECT kind, delta FROM points_ledger ORDER BY kind'),
    };
  } finally {
    await db.close();
  }
};

beforeAll(async () => {
  hq = await startMosquitto({ persistence: false });
  gw = await startGateway({ dataDir: data.dir, devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) });
  gw.gw.onEvent((e) => {
    if (e.kind === 'kiosk') committed.push({ type: e.type, data: JSON.parse(e.data) as Record<string, any> });
  });
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('members', 'store', 1, MEMBERS);
  await feeds.publish('coupons', 'all', 1, { mode: 'snapshot', coupons: [{ id: 'ONE', label: { en: '2 € off, single use' }, target: { kind: 'basket' }, amountOff: 200, stacking: 'combinable', use: 'single' }], revoked: [] });
  await feeds.publish('loyalty', 'store', 1, { mode: 'snapshot', program: 'club', earn: { pointsPerUnit: 1, perMinor: 100 }, spend: { valuePoints: 1, valueMinor: 1, minPoints: 100, maxShareBp: 5000 }, balances: [{ memberId: MEMBER, points: 300, asOf: new Date(Date.now() - 60_000).toISOString() }] });
  const prices = gw.gw.prices!;
  await until(prices.changes, 'change', () => prices.priceAt(G.shirt) !== null && prices.currentCatalog().members.has(MEMBER), 10_000, 'catalog and members applied');
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

describe('a post-sale void gives points and coupons back', () => {
  it('a member sale with points spent and earned and a single-use coupon: balance back, coupon usable again, each record once', async () => {
    const cookie = await login(gw.httpUrl, 'attendant');
    const kpi0 = (await api(gw.httpUrl, cookie, 'GET', '/api/kpi')).json.totals;
    expect(gw.gw.kiosk.points.available(MEMBER, 'k1')).toBe(300);
    await fresh(true);
    await dev.scan('sc-1', G.shirt);
    await waitView((v) => v.lines.length === 1, 'the shirt');
    expect(took(await present(COUPON))).toBe(true);
    await gw.gw.kiosk.intent('k1', { type: 'spendPoints', points: 300 });
    await waitView((v) => v.points?.spent === 300, 'points spent');
    const tx = await pay1();
    const sale = of('transaction', tx)[0]!;
    expect(sale).toMatchObject({ total: 1500 - 200 - 300, points: { spent: 300 } });
    const earned = sale.points.earned as number;
    expect(earned).toBeGreaterThan(0);
    expect(gw.gw.kiosk.points.available(MEMBER, 'k1')).toBe(earned);
    expect((await couponRows()).uses).toEqual(['V-1']);

    const r = await api(gw.httpUrl, cookie, 'POST', `/api/sales/${tx}/void`, { reason: 'the member was charged twice' });
    expect(r.status).toBe(200);
    expect(r.json.voided).toMatchObject({ refund: { kind: 'reversed', amount: 1000 }, counts: { member: true, pointsEarned: earned, pointsSpent: 300, coupons: 1 } });
    expect(JSON.stringify(r.json.voided)).not.toContain(MEMBER); // the member code stays out of the record

    // The balance is back, the serial is free in kiosk.db, the ledger has the exact reversal rows.
    expect(gw.gw.kiosk.points.available(MEMBER, 'k1')).toBe(300);
    const rows = await couponRows();
    expect(rows.uses).toEqual([]);
    expect(rows.points).toEqual([
      { kind: 'earn', delta: earned },
      { kind: 'earnReversal', delta: -earned },
      { kind: 'spend', delta: -300 },
      { kind: 'spendReversal', delta: 300 },
    ]);
    // Records, each once: the void's answer came after its records were committed.
    expect(of('saleVoided', tx)).toEqual([r.json.voided]);
    expect(of('couponReleased', tx)).toEqual([expect.objectContaining({ couponId: 'ONE', serial: 'V-1', amount: 200, single: true, ts: r.json.voided.ts })]);
    expect(of('pointsChange', tx).map((p) => [p.kind, p.delta]).sort()).toEqual([['earn', earned], ['earnReversal', -earned], ['spend', -300], ['spendReversal', 300]]);

    // The day's numbers are as before the sale (member sale, points, coupon included).
    const kpi1 = (await api(gw.httpUrl, cookie, 'GET', '/api/kpi')).json.totals;
    for (const k of ['transactions', 'sales', 'memberTransactions', 'memberSales', 'pointsIssued', 'pointsSpent', 'couponRedemptions']) expect([k, kpi1[k]]).toEqual([k, kpi0[k]]);

    // The next cart takes the same single-use serial again.
    await fresh(true);
    await dev.scan('sc-1', G.milk);
    await waitView((v) => v.lines.length === 1, 'the milk');
    expect(took(await present(COUPON))).toBe(true);
    await fresh(false); // let it go again
  });

  it('found by its receipt number; the terminal refuses the reversal: the refund is owed, saying why, in the answer and the record; sent once', async () => {
    await fresh(false);
    await dev.scan('sc-1', G.shirt);
    await waitView((v) => v.lines.length === 1, 'the shirt');
    const tx = await pay1();
    const cookie = await login(gw.httpUrl, 'admin');
    // Found by the short number its receipt shows (any case); unknown: 404; not a short number: 400.
    const shortNo = shortTransactionNo(tx);
    const found = await api(gw.httpUrl, cookie, 'GET', `/api/sales/by-receipt/${shortNo.toLowerCase()}`);
    expect(found).toMatchObject({ status: 200, json: { sales: [{ transactionId: tx, kioskId: 'k1', total: 1500, currency: 'EUR', voided: false }] } });
    expect(await api(gw.httpUrl, cookie, 'GET', '/api/sales/by-receipt/ZZZZ0000')).toMatchObject({ status: 404, json: { message: expect.stringMatching(/^params\.shortNo/) } });
    expect((await api(gw.httpUrl, cookie, 'GET', '/api/sales/by-receipt/not-a-number')).status).toBe(400);
    pay.refuseReversals = 'the terminal refused the reversal (result code 0x64)';
    const r = await api(gw.httpUrl, cookie, 'POST', `/api/sales/${tx}/void`, { reason: 'wrong item scanned' });
    pay.refuseReversals = null;
    expect(r.status).toBe(200);
    expect(r.json.voided.refund).toEqual({ kind: 'owed', amount: 1500, why: 'the reversal failed: the terminal refused the reversal (result code 0x64)' });
    expect(r.json.voided.counts).toEqual({ member: false, pointsEarned: 0, pointsSpent: 0, coupons: 0 });
    expect(of('saleVoided', tx)).toEqual([r.json.voided]);
    expect(of('couponReleased', tx)).toEqual([]);
    // The command store holds the one reversal, answered with the refusal; nothing reversed at the terminal.
    const cmd = await gw.gw.commands.get(reversalCmdId(tx));
    expect(cmd).toMatchObject({ type: 'reverse', state: 'failed', source: 'void:k1' });
    expect(pay.reversals.filter((x) => x.requestId === of('transaction', tx)[0]!.payment.requestId)).toEqual([]);
    expect((await api(gw.httpUrl, cookie, 'GET', `/api/sales/by-receipt/${shortNo}`)).json.sales).toMatchObject([{ transactionId: tx, voided: true }]);
  });
});
