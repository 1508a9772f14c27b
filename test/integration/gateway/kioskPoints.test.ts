/**
 * Loyalty points through the real gateway, with a real Mosquitto as HQ: HQ pushes a signed
 * `loyalty` feed (rules and the member's balance), then the WAN goes down and everything below
 * works from kiosk.db:
 * - a member's sale earns by the rules, and its `pointsChange` record is written exactly once;
 * - spending uses the offline balance (HQ's balance plus this store's changes since);
 * - spending more than that is refused by name; a cart at another kiosk holds its points until it
 *   is voided; the balance survives a gateway restart;
 * - a forged loyalty feed is refused and changes nothing;
 * - any sequence of spends and cart changes a page may send (seeded) keeps the cart within the rules.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { DEFAULT_DEVICES, startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, until } from '../../sim/hqFeeds.js';
import { PaymentSim } from '../../sim/paymentSim.js';
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, MEMBER, MEMBERS, Peripherals, PRICES } from '../../e2e/kioskFixture.js';

const signer = createHqSigner({ kid: 'hq-loyalty' });
/** HQ counted the member's points up to an hour ago. */
const AS_OF = new Date(Date.now() - 3_600_000).toISOString();
const LOYALTY = {
  mode: 'snapshot',
  program: 'club',
  // One point per euro, members of the gold tier ×2, bread earns nothing; a point is worth a cent,
  // at least 100 at a time, at most half the basket.
  earn: { pointsPerUnit: 1, perMinor: 100, tierMultipliers: { gold: 20_000 }, excluded: [G.bread] },
  spend: { valuePoints: 1, valueMinor: 1, minPoints: 100, maxShareBp: 5000 },
  balances: [{ memberId: MEMBER, points: 400, asOf: AS_OF }],
};

let hq: Mosquitto;
let gw: RunningGateway;
let dev: Peripherals;
let pay: PaymentSim;
const data = tempDir('sgw-points-');

async function boot(): Promise<void> {
  gw = await startGateway({ dataDir: data.dir, devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) });
  dev = await Peripherals.connect(gw.mqttUrl, KIOSK_DEVICES);
  pay = new PaymentSim({ url: gw.mqttUrl, id: 'pay-1', password: TEST_SECRET });
  await pay.start();
}
async function shutdown(): Promise<void> {
  await pay?.stop();
  await dev?.close();
  await gw?.stop();
}

const view = (k: string) => gw.gw.kiosk.view(k)!;
const waitView = (k: string, pred: (v: CartView) => boolean, what: string) => until(gw.gw.kiosk.changes, 'view', () => pred(view(k)), 10_000, what, () => ({ phase: view(k).phase, points: view(k).points, notice: view(k).notice, total: view(k).total }));
async function records(type: string) {
  return (await gw.gw.outbox.read(0, 100_000)).filter((r) => r.kind === 'kiosk' && r.type === type);
}

/** Scans `gtins` at k1 with the member on the cart. */
async function cart(gtins: string[]): Promise<void> {
  await gw.gw.kiosk.intent('k1', { type: 'member', code: MEMBER });
  for (const [i, g] of gtins.entries()) {
    await dev.scan('sc-1', g);
    await waitView('k1', (v) => v.lines.reduce((n, l) => n + l.qty, 0) === i + 1, `item ${i + 1} on the cart`);
  }
}
/** Pays k1's cart (the terminal approves) until "thank you", then starts the next customer. */
async function payAndFinish(): Promise<CartView> {
  await gw.gw.kiosk.intent('k1', { type: 'pay' });
  await waitView('k1', (v) => v.phase === 'done', 'thank you');
  const done = view('k1');
  await gw.gw.kiosk.intent('k1', { type: 'cancel' });
  await waitView('k1', (v) => v.phase === 'idle', 'next customer');
  return done;
}

beforeAll(async () => {
  hq = await startMosquitto({ persistence: false });
  await boot();
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  const prices = gw.gw.prices!;
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('members', 'store', 1, MEMBERS);
  await feeds.publish('loyalty', 'store', 1, LOYALTY);
  // Forged: signed by a key the gateway does not know; it would give the member a million points.
  const forger = createHqSigner({ kid: 'hq-loyalty' });
  await feeds.publishRaw('loyalty', 'store', forger.sign({ feed: 'loyalty', scope: 'store:test-store', version: 9, issuedAt: new Date().toISOString(), body: { ...LOYALTY, balances: [{ memberId: MEMBER, points: 1_000_000, asOf: new Date().toISOString() }] } }));
  await until(prices.changes, 'change', () => prices.priceAt(G.milk) !== null && prices.currentCatalog().members.has(MEMBER), 10_000, 'catalog and members applied');
  const lf = () => gw.gw.kiosk.points.loyaltyFeed!;
  await until(gw.gw.kiosk.changes, 'loyalty', () => lf().applied >= 1 && lf().rejected.length >= 1, 10_000, 'loyalty applied, forgery refused', () => lf().rejected);
  await feeds.close();
  await hq.kill(); // WAN down from here on
}, 60_000);

afterAll(async () => {
  await shutdown();
  await hq?.stop();
  data.remove();
});

describe('loyalty points, HQ unreachable', () => {
  it('the forged feed is refused by its signature and gave no points', () => {
    expect(gw.gw.kiosk.points.loyaltyFeed!.rejected.map((r) => r.code)).toContain('SGW_ERR_FEED_BAD_SIGNATURE');
    expect(gw.gw.kiosk.points.available(MEMBER, 'k1')).toBe(400);
  });

  it('a member sale earns by the rules (tier ×2, bread excluded) and writes one earn record', async () => {
    await cart([G.shirt, G.bread, G.milk]);
    // 15.00 + 0.99 (gold price) earn: 15.99 € × 2 = 31 points (rounded down once); the bread earns nothing.
    expect(view('k1').points).toEqual({ earned: 31, spent: 0, discount: 0, available: 400, spendable: 400 });
    const done = await payAndFinish();
    const earn = await records('pointsChange');
    expect(earn.map((r) => r.data)).toEqual([{ ts: expect.any(String), entryId: `test-store:${done.receipt!.transactionId}:earn`, transactionId: done.receipt!.transactionId, kioskId: 'k1', kind: 'earn', memberId: MEMBER, delta: 31, program: 'club' }]);
    const sale = (await records('transaction')).at(-1)!;
    expect(sale.data.points).toEqual({ memberId: MEMBER, program: 'club', earned: 31, spent: 0, discount: 0 });
    expect(gw.gw.kiosk.points.available(MEMBER, 'k1')).toBe(431);
  });

  it('a cart holds its points from the other kiosk until it is voided', async () => {
    await cart([G.shirt]);
    await gw.gw.kiosk.intent('k1', { type: 'spendPoints', points: 200 });
    expect(view('k1').total).toBe(1300);
    expect(gw.gw.kiosk.points.available(MEMBER, 'k2')).toBe(231);
    await gw.gw.kiosk.voidSession('k1', 'anna');
    expect(view('k1').phase).toBe('cancelled');
    expect(gw.gw.kiosk.points.available(MEMBER, 'k2')).toBe(431);
    expect((await records('pointsChange')).filter((r) => r.data.kind === 'spend')).toEqual([]);
    await gw.gw.kiosk.intent('k1', { type: 'cancel' });
    await waitView('k1', (v) => v.phase === 'idle', 'next customer');
  });

  it('spending more than the offline balance is refused by name; within it, the charge is the total after points', async () => {
    await cart([G.shirt, G.shirt]);
    await gw.gw.kiosk.intent('k1', { type: 'spendPoints', points: 1000 });
    expect(view('k1').notice).toEqual({ code: 'pointsOverBalance', detail: '431' });
    expect(view('k1').total).toBe(3000);
    await gw.gw.kiosk.intent('k1', { type: 'spendPoints', points: 431 });
    expect(view('k1').notice).toEqual({ code: 'pointsApplied', detail: '431' });
    expect(view('k1').total).toBe(3000 - 431);
    const charged = pay.charges.length;
    const done = await payAndFinish();
    expect(pay.charges[charged]!.amount).toBe(2569);
    const changes = (await records('pointsChange')).filter((r) => r.data.transactionId === done.receipt!.transactionId).map((r) => [r.data.kind, r.data.delta]);
    // 25.69 € paid in money × 2 = 51 points.
    expect(changes.sort()).toEqual([['earn', 51], ['spend', -431]]);
    expect(gw.gw.kiosk.points.available(MEMBER, 'k1')).toBe(51);
    // 51 points left, under the minimum of 100: nothing to offer, and a spend is refused by name.
    await cart([G.shirt]);
    expect(view('k1').points?.spendable).toBe(0);
    await gw.gw.kiosk.intent('k1', { type: 'spendPoints', points: 51 });
    expect(view('k1').notice).toEqual({ code: 'pointsBelowMinimum', detail: '100' });
    await gw.gw.kiosk.voidSession('k1', 'anna');
  });

  it('property (seeded): whatever a page asks to spend, the cart stays within the balance and the rules', async () => {
    const before = (await records('pointsChange')).length;
    await gw.gw.kiosk.intent('k2', { type: 'member', code: MEMBER });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(fc.integer({ min: 0, max: 1_000_000_000 }), fc.integer({ min: 0, max: 600 }), fc.constantFrom('shirt', 'bread', 'remove')), { minLength: 1, maxLength: 8 }), async (ops) => {
        for (const op of ops) {
          const v0 = view('k2');
          if (op === 'shirt' || op === 'bread') {
            await dev.scan('sc-2', op === 'shirt' ? G.shirt : G.bread);
            await waitView('k2', (v) => v.version > v0.version, 'scan');
          } else if (op === 'remove') {
            if (v0.lines[0]) await gw.gw.kiosk.intent('k2', { type: 'remove', lineId: v0.lines[0].lineId });
          } else await gw.gw.kiosk.intent('k2', { type: 'spendPoints', points: op });
          const v = view('k2');
          const p = v.points!;
          expect(v.total).toBeGreaterThanOrEqual(0);
          expect(v.subtotal - v.discounts).toBe(v.total);
          expect(p.spent).toBeLessThanOrEqual(p.available);
          expect(p.spent === 0 || p.spent >= 100).toBe(true);
          expect(p.discount).toBe(p.spent);
          expect(2 * p.discount).toBeLessThanOrEqual(v.subtotal - (v.discounts - p.discount));
          expect(p.earned).toBeGreaterThanOrEqual(0);
        }
      }),
      { seed: 1818, numRuns: 15 },
    );
    await gw.gw.kiosk.voidSession('k2', 'anna');
    // Nothing was paid: no points changed hands.
    expect(await records('pointsChange')).toHaveLength(before);
  });

  it('the balance and the records survive a restart; no record is written twice', async () => {
    await shutdown();
    await boot();
    expect(gw.gw.kiosk.points.available(MEMBER, 'k1')).toBe(51);
    const all = await records('pointsChange');
    expect(all).toHaveLength(3);
    expect(new Set(all.map((r) => r.data.entryId)).size).toBe(3);
  });
});
