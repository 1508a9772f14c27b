/**
 * What members make visible, exactly, through a real gateway: five sales at one kiosk over its
 * WebSocket with a real payment simulator — two gold members (one buys twice, once with a coupon,
 * once spending points), a silver member, a sale without a member — then the day's numbers from
 * `GET /api/kpi` and HQ's retained `report/kpi` equal what the sales add up to: member share of
 * sales, points issued and spent, coupon redemptions in the hour they happened, and the repeat
 * rate by tier (gold 1 of 2 members came twice, silver 0 of 1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventEmitter } from 'node:events';
import mqtt, { type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { DEFAULT_DEVICES, startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, until } from '../../sim/hqFeeds.js';
import { PaymentSim } from '../../sim/paymentSim.js';
import { localDayHour } from '../../../gateway/kpi/kpis.js';
import type { KpiDay } from '../../../gateway/protocol/schemas/api/ops.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, Peripherals, PRICES, TOKENS } from '../../e2e/kioskFixture.js';
import { api, login } from './opsClient.js';

const signer = createHqSigner({ kid: 'hq-kpi-members' });
const GOLD_A = 'M-1001';
const GOLD_B = 'M-1002';
const SILVER = 'M-2001';
let hq: Mosquitto;
let gw: RunningGateway;
let dev: Peripherals;
let pay: PaymentSim;
let k1: Kiosk;
let listener: MqttClient;
const reports: KpiDay[] = [];
const reported = new EventEmitter();

interface Cart {
  type: 'cart';
  version: number;
  phase: string;
  memberCode: string | null;
  lines: { gtin: string; qty: number }[];
  total: number;
  notice: { code: string } | null;
  points?: { earned: number; spent: number; spendable: number };
  receipt: { transactionId: string } | null;
}

/** The kiosk page's socket: every cart pushed, and a wait for one that matches. */
class Kiosk {
  readonly carts: Cart[] = [];
  private waiters: { pred: (c: Cart) => boolean; resolve: (c: Cart) => void }[] = [];
  constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as Cart;
      if (m.type !== 'cart') return;
      this.carts.push(m);
      this.waiters = this.waiters.filter((w) => (w.pred(m) ? (w.resolve(m), false) : true));
    });
  }
  get last(): Cart {
    return this.carts[this.carts.length - 1];
  }
  send(m: object): void {
    this.ws.send(JSON.stringify(m));
  }
  next(pred: (c: Cart) => boolean, what: string): Promise<Cart> {
    if (this.carts.length > 0 && pred(this.last)) return Promise.resolve(this.last);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; last cart: ${JSON.stringify(this.last)}`)), 10_000);
      this.waiters.push({ pred, resolve: (c) => (clearTimeout(t), resolve(c)) });
    });
  }
}

/** One sale at k1: items scanned, then the member, a coupon, points; paid. Returns the finished cart. */
async function sale(o: { gtins: string[]; member?: string; coupon?: string; spendPoints?: boolean }): Promise<Cart> {
  for (const [i, g] of o.gtins.entries()) {
    await dev.scan('sc-1', g);
    await k1.next((c) => c.lines.reduce((a, l) => a + l.qty, 0) === i + 1 && c.phase === 'shopping', `item ${i + 1}`);
  }
  if (o.member) {
    k1.send({ type: 'member', code: o.member });
    await k1.next((c) => c.memberCode === o.member, 'the member');
  }
  if (o.coupon) {
    k1.send({ type: 'coupon', code: o.coupon });
    await k1.next((c) => (c.notice?.code ?? '').startsWith('coupon'), 'the coupon');
    expect(k1.last.notice?.code).toBe('couponApplied');
  }
  if (o.spendPoints) {
    const points = k1.last.points!.spendable;
    k1.send({ type: 'spendPoints', points });
    await k1.next((c) => c.points?.spent === points, 'points spent');
  }
  k1.send({ type: 'pay' });
  const done = await k1.next((c) => c.phase === 'done' && c.receipt !== null, 'the receipt');
  k1.send({ type: 'cancel' });
  await k1.next((c) => c.phase !== 'done', 'the next shopper');
  return done;
}

beforeAll(async () => {
  hq = await startMosquitto({ persistence: false });
  listener = mqtt.connect(hq.url, { reconnectPeriod: 200 });
  listener.on('message', (_t, p) => {
    reports.push(JSON.parse(p.toString()) as KpiDay);
    reported.emit('report');
  });
  await new Promise<void>((r) => listener.once('connect', () => r()));
  await listener.subscribeAsync('hq/v1/store/test-store/report/kpi', { qos: 1 });
  gw = await startGateway({ devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: { ...(await kioskExtra(hq.url, signer.publicKeyPem, signer.kid)), ops: { kpiReportEveryMs: 100 } } });
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('members', 'store', 1, { mode: 'snapshot', members: [{ code: GOLD_A, tier: 'gold' }, { code: GOLD_B, tier: 'gold' }, { code: SILVER, tier: 'silver' }] });
  const asOf = new Date(Date.now() - 60_000).toISOString();
  await feeds.publish('loyalty', 'store', 1, { mode: 'snapshot', program: 'club', earn: { pointsPerUnit: 1, perMinor: 100 }, spend: { valuePoints: 1, valueMinor: 1, minPoints: 100, maxShareBp: 5000 }, balances: [{ memberId: GOLD_A, points: 600, asOf }] });
  await feeds.publish('coupons', 'all', 1, { mode: 'snapshot', coupons: [{ id: 'MIN5', label: { en: '1 € off from 5 €' }, target: { kind: 'basket' }, amountOff: 100, minSpend: 500, stacking: 'combinable', use: 'multi', code: 'SPEND5' }], revoked: [] });
  const p = gw.gw.prices!;
  const k = gw.gw.kiosk;
  await until(p.changes, 'change', () => p.sync().feeds.applied >= 3 && p.currentCatalog().members.has(SILVER), 10_000, 'price feeds applied');
  await until(k.changes, 'loyalty', () => (k.points.loyaltyFeed?.applied ?? 0) >= 1, 10_000, 'loyalty applied');
  await until(k.changes, 'coupons', () => (k.coupons.feed?.applied ?? 0) >= 1, 10_000, 'coupons applied');
  await feeds.close();
  dev = await Peripherals.connect(gw.mqttUrl, KIOSK_DEVICES.filter((d) => d.id === 'sc-1' || d.id === 'pay-1'));
  pay = new PaymentSim({ url: gw.mqttUrl, id: 'pay-1', password: TEST_SECRET });
  await pay.start();
  const ws = new WebSocket(`ws://127.0.0.1:${new URL(gw.httpUrl).port}/ws/kiosk`, { origin: gw.httpUrl });
  await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
  k1 = new Kiosk(ws);
  k1.send({ type: 'hello', kioskId: 'k1', token: TOKENS.k1 });
  await k1.next(() => true, 'the first cart');
}, 60_000);

afterAll(async () => {
  k1?.ws.close();
  listener?.end(true);
  await pay?.stop();
  await dev?.close();
  await gw?.stop();
  await hq?.stop();
});

describe('what members make visible, exactly', () => {
  it('member share, points issued and spent, coupon redemptions per hour and repeat rate by tier equal the sales', async () => {
    const sales = [
      await sale({ gtins: [G.shirt], member: GOLD_A, coupon: 'SPEND5' }),
      await sale({ gtins: [G.shirt, G.milk], member: GOLD_A, spendPoints: true }),
      await sale({ gtins: [G.bread, G.bread, G.milk], member: GOLD_B, coupon: 'SPEND5' }),
      await sale({ gtins: [G.milk], member: SILVER }),
      await sale({ gtins: [G.bread] }),
    ];
    // The figures the carts showed (the gateway's own numbers); the KPIs must add up to them.
    const spent = sales[1].points!.spent;
    expect(spent).toBeGreaterThanOrEqual(100);
    expect(sales.map((s) => s.total)).toEqual([1500 - 100, 1500 + 99 - spent, 250 * 2 + 99 - 100, 129, 250]);
    expect(sales.map((s) => s.points?.spent ?? 0)).toEqual([0, spent, 0, 0, 0]);
    const earned = sales.reduce((a, s) => a + (s.points?.earned ?? 0), 0);
    expect(sales[0].points?.earned).toBe(14);
    const all = sales.reduce((a, s) => a + s.total, 0);
    const members = all - 250;

    const cookie = await login(gw.httpUrl, 'viewer');
    const day = (await api(gw.httpUrl, cookie, 'GET', '/api/kpi')).json as KpiDay;
    expect(day.totals).toMatchObject({
      transactions: 5,
      sales: all,
      memberTransactions: 4,
      memberSales: members,
      memberShare: members / all,
      pointsIssued: earned,
      pointsSpent: spent,
      couponRedemptions: 2,
    });
    const hour = localDayHour(Date.now(), day.timezone).hour;
    const perHour = day.hours.filter((h) => h.couponRedemptions > 0);
    // The sales took seconds: both coupons fall in this hour (or the one before, at an hour's turn).
    expect(perHour.reduce((a, h) => a + h.couponRedemptions, 0)).toBe(2);
    expect(perHour.every((h) => h.hour === hour || h.hour === (hour + 23) % 24)).toBe(true);
    expect(day.tiers).toEqual([
      { tier: 'gold', members: 2, repeatMembers: 1, repeatRate: 0.5 },
      { tier: 'silver', members: 1, repeatMembers: 0, repeatRate: 0 },
    ]);

    // HQ's report says the same (the latest one counts every sale).
    await until(reported, 'report', () => reports.some((r) => r.totals.transactions === 5), 10_000, 'the report with five sales');
    const report = reports.filter((r) => r.totals.transactions === 5).at(-1)!;
    expect(report.totals).toEqual(day.totals);
    expect(report.tiers).toEqual(day.tiers);
  });
});
