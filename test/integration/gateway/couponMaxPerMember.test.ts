/**
 * A coupon's `maxPerMember` holds across kiosks: the same member at two kiosks presents a coupon
 * allowed once per member at both at the same moment, round after round. The count of the
 * member's uses and the hold for the cart are one statement in kiosk.db, so exactly one cart
 * takes it and the other is refused (`coupon_maxUses`); a cart that lets the coupon go frees it,
 * and after a sale the use replaces the hold (the table of holds is empty, one use counted).
 * Reading the count, then reserving in a second step, let both carts take it.
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
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, MEMBER, MEMBERS, Peripherals, PRICES } from '../../e2e/kioskFixture.js';

const signer = createHqSigner({ kid: 'hq-coupon-race' });
const ROUNDS = 12;
let hq: Mosquitto;
let gw: RunningGateway;
let dev: Peripherals;
let pay: PaymentSim;
const data = tempDir('sgw-coupon-race-');

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
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('members', 'store', 1, MEMBERS);
  await feeds.publish('coupons', 'all', 1, {
    mode: 'snapshot',
    coupons: [{ id: 'ONCE', label: { en: 'Members: 2 € off, once' }, target: { kind: 'basket' }, amountOff: 200, stacking: 'exclusive', use: 'multi', code: 'MEMBER2', memberOnly: true, maxPerMember: 1 }],
    revoked: [],
  });
  const prices = gw.gw.prices!;
  await until(prices.changes, 'change', () => prices.priceAt(G.milk) !== null && prices.currentCatalog().members.has(MEMBER), 10_000, 'catalog and members applied');
  await until(gw.gw.kiosk.changes, 'coupons', () => (gw.gw.kiosk.coupons.feed?.applied ?? 0) >= 1, 10_000, 'coupons applied');
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
    await gw.gw.kiosk.intent('k1', { type: 'pay' });
    expect((await waitView('k1', (v) => v.phase === 'done', 'the sale')).receipt?.total).toBe(1300);
    expect(await holds()).toEqual({ holds: 0, uses: 1 });
    await fresh('k2');
    expect((await present('k2', 'MEMBER2')).notice?.code).toBe('coupon_maxUses');
  });
});
