/**
 * A sale with a single-use coupon, the gateway killed with SIGKILL at a step boundary
 * (STOREGW_TEST_HALT_AT halts the real process there and the test kills it). After each restart the
 * kiosk finishes the sale, and over the whole run: each coupon serial is in exactly one sale and one
 * `couponRedeemed` record, is `used` in kiosk.db by that sale, and is refused as already used when
 * presented again; one sale per approved payment (as without coupons).
 *
 * By default the two steps around the commit that turns the serial from reserved to used: approved
 * (the payment is in, the sale not yet committed) and recorded (just committed). The other steps
 * sit before the coupon is presented (scan) or after that commit, where the coupon records travel
 * with the sale on the keyed forward that kioskSaleCrash.test.ts kills at every step; each life
 * costs two gateway starts, so STOREGW_TEST_ALL_STEPS=1 runs all seven (about 80 s).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectHqFeeds, until } from '../sim/hqFeeds.js';
import { issueCouponCode } from '../sim/couponIssuer.js';
import { openDb } from '../../gateway/db/sqlite.js';
import { G } from './kioskFixture.js';
import { countRecords, expectExactSales, Life, setUpStore, signer, STEPS, tearDownStore, type Step } from './saleCrashFixture.js';

const COUPONS = { mode: 'snapshot', coupons: [{ id: 'TEN', label: { en: '10 % off' }, target: { kind: 'basket' }, percentOffBp: 1000, stacking: 'combinable', use: 'single' }], revoked: [] };
const code = (serial: string) => issueCouponCode(signer, { couponId: 'TEN', serial, expires: Math.floor(Date.now() / 1000) + 86_400 });
let dataDir = '';
const RUN: readonly Step[] = process.env.STOREGW_TEST_ALL_STEPS === '1' ? STEPS : ['approved', 'recorded'];

beforeAll(async () => {
  await setUpStore(async (seed, hqUrl) => {
    dataDir = seed.dataDir;
    // The coupons feed once, in-process (the child finds the definitions in kiosk.db).
    const feeds = await connectHqFeeds(hqUrl, 'test-store', signer);
    await feeds.publish('coupons', 'all', 1, COUPONS);
    await until(seed.gw.kiosk.changes, 'coupons', () => (seed.gw.kiosk.coupons.feed?.applied ?? 0) >= 1, 10_000, 'coupons applied');
    await feeds.close();
  });
}, 60_000);
afterAll(tearDownStore);

/** Drives kiosk k1 until "thank you" for a cart with milk and the coupon `serial`; resolves with that cart. */
async function sellWithCoupon(life: Life, serial: string, fresh: boolean): Promise<any> {
  const first = await life.page.next((m) => m.type === 'cart');
  if (first.phase === 'done' && !fresh) return first;
  if (first.phase === 'done' || first.phase === 'cancelled') {
    life.page.send({ type: 'cancel' }); // the next customer
    await life.page.next((m) => m.type === 'cart' && m.phase === 'idle');
  }
  let asked: number | null = null;
  for (;;) {
    const v = await life.page.next((m) => m.type === 'cart' && (m.phase === 'done' || ((m.phase === 'idle' || m.phase === 'shopping') && m.payment === null && m.version !== asked)));
    if (v.phase === 'done') return v;
    asked = v.version;
    if (v.lines.length === 0) await life.dev.scan('sc-1', G.milk);
    else if (!(v.coupons ?? []).some((c: { serial: string }) => c.serial === serial)) life.page.send({ type: 'coupon', code: code(serial) });
    else life.page.send({ type: 'pay' });
  }
}

async function crashWithCoupon(step: Step): Promise<any> {
  const serial = `S-${step}`;
  const life = await Life.start(`${step}:1`);
  const halted = life.halted();
  const selling = sellWithCoupon(life, serial, true).catch(() => undefined);
  await halted;
  await life.kill();
  await selling;
  const after = await Life.start();
  try {
    return await sellWithCoupon(after, serial, false);
  } finally {
    await after.stop();
  }
}

describe('a sale with a single-use coupon killed at every step boundary', () => {
  for (const step of RUN) {
    it(`killed at "${step}": the kiosk finishes; the serial is used exactly once`, async () => {
      const done = await crashWithCoupon(step);
      expect(done.phase).toBe('done');
      await expectExactSales();
    });
  }

  it('over the run: one sale and one couponRedeemed record per serial, used in kiosk.db by that sale, refused after', async () => {
    const recs = await countRecords();
    const sales = recs.filter((r) => r.kind === 'kiosk' && r.type === 'transaction');
    const redeemed = recs.filter((r) => r.kind === 'kiosk' && r.type === 'couponRedeemed');
    const serials = RUN.map((s) => `S-${s}`);
    for (const serial of serials) {
      const withIt = sales.filter((s) => ((s.data.coupons ?? []) as { serial: string }[]).some((c) => c.serial === serial));
      expect(withIt, serial).toHaveLength(1);
      const red = redeemed.filter((r) => r.data.serial === serial);
      expect(red, serial).toEqual([expect.objectContaining({ data: expect.objectContaining({ couponId: 'TEN', single: true, transactionId: withIt[0].data.transactionId }) })]);
    }
    const db = await openDb(path.join(dataDir, 'kiosk.db'), { readonly: true });
    const uses = await db.all<{ serial: string; status: string; t: string }>("SELECT serial, status, transaction_id AS t FROM coupon_uses WHERE coupon_id = 'TEN' ORDER BY serial");
    await db.close();
    expect(uses.map((u) => u.serial).sort()).toEqual(serials.slice().sort());
    expect(uses.every((u) => u.status === 'used')).toBe(true);
    const life = await Life.start();
    try {
      const v = await life.page.next((m) => m.type === 'cart');
      if (v.phase === 'done') {
        life.page.send({ type: 'cancel' });
        await life.page.next((m) => m.type === 'cart' && m.phase === 'idle');
      }
      life.page.send({ type: 'coupon', code: code('S-approved') });
      const refused = await life.page.next((m) => m.type === 'cart' && m.notice?.code === 'coupon_alreadyUsed');
      expect(refused.coupons).toBeUndefined();
    } finally {
      await life.stop();
    }
  });
});
