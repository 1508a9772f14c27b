/**
 * The post-sale void through the real gateway process: a serialised T-shirt sold at kiosk k1 and
 * paid on its terminal, then voided on the ops API by an attendant with a reason:
 * - the card payment reversed on the terminal (its last payment, by receipt number);
 * - one exact `saleVoided` record at HQ, the stock given back (a `return` movement keyed by the
 *   transaction), the serial released from the ledger of sold serials, the KPIs without it;
 * - refused twice (409), unknown (404), for a viewer (403), without a reason (400); any id and
 *   body (seeded) gets a 4xx naming the field, never a 5xx;
 * - SIGKILL at a step boundary of a void (STOREGW_TEST_HALT_AT halts the real process there):
 *   after the restart the void is finished, its record once, the terminal's reversal once, the
 *   movement once. By default three boundaries: right after the stock step, right after the
 *   reversal command is stored (before the terminal's answer is awaited), right after the void's
 *   commit (before the reversal); STOREGW_TEST_ALL_STEPS=1 kills at all six (each kill is one
 *   more gateway start, about 5 s).
 */
import fc from 'fast-check';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KioskPage } from './kioskSocket.js';
import { spawnGateway, TEST_SECRET, writeConfigFile, DEFAULT_DEVICES, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { until } from '../../sim/hqFeeds.js';
import { HqSim } from '../../sim/hqSim.js';
import { PaymentSim } from '../../sim/paymentSim.js';
import { EPC_6789, G, KIOSK_DEVICES, kioskExtra, Peripherals, seedCatalog } from '../../e2e/kioskFixture.js';
import { api, login } from './opsClient.js';
import { openDb } from '../../../gateway/db/sqlite.js';
import { encodeSgtin96 } from '../../../gateway/kiosk/sgtin.js';
import type { VoidCheckpoint } from '../../../gateway/kiosk/saleVoids.js';

const shirtEpc = (serial: number) => {
  const r = encodeSgtin96({ filter: 3, companyPrefix: '0614141', itemReference: '812345', serial });
  if (!r.ok) throw new Error(r.reason);
  return r.hex;
};
/**
 * The void's step boundaries, latest first: a restart finishes the killed void through the steps
 * after the one it was killed at only, so the next life's halt (an earlier boundary) is never hit
 * by that recovery, only by the next void.
 */
const ALL_STEPS: readonly VoidCheckpoint[] = ['voidRecorded', 'voidGivenBack', 'voidStock', 'voidReversed', 'voidReversalSent', 'voidCommitted'];
const KILLS: readonly VoidCheckpoint[] = process.env.STOREGW_TEST_ALL_STEPS === '1' ? ALL_STEPS : ['voidStock', 'voidReversalSent', 'voidCommitted'];
const signer = createHqSigner({ kid: 'hq-void' });
const tmp = tempDir('sgw-void-');
let hq: Mosquitto;
let hqSim: HqSim;
let configFile: string;
let gw: GatewayProcess | null = null;
let base: string;
let dev: Peripherals;
let pay: PaymentSim;
let page: KioskPage;

const sales = () => hqSim.records('test-store').filter((r) => r.type === 'transaction');
const voids = () => hqSim.records('test-store').filter((r) => r.type === 'saleVoided');

/** Sells the shirt with `epc` at k1 and waits for its transaction record at HQ; its transaction id. */
async function sell(epc: string, serial: string): Promise<string> {
  const n = sales().length;
  if (page.carts.at(-1)?.phase === 'done') {
    page.send({ type: 'cancel' }); // "Done": the next customer
    await page.next((c) => c.phase !== 'done' && c.lines.length === 0, 'a new session');
  }
  await dev.rfid('rf-1', epc);
  const cart = await page.next((c) => c.phase !== 'done' && c.lines.some((l) => l.serials?.includes(serial)), `serial ${serial} in the cart`);
  expect(cart.requests).toEqual([]); // sold without an attendant
  page.send({ type: 'pay' });
  await hqSim.waitFor(() => sales().length > n, 15_000, 'the sale at HQ').catch((err: Error) => { throw new Error(`${err.message}; HQ has ${hqSim.records('test-store').map((r) => `${r.kind}/${r.type}`).join(', ')}`); });
  return String(sales()[n]!.data.transactionId);
}

/** The serials kiosk.db holds as sold (read-only, beside the running gateway: WAL allows it). */
async function soldSerials(): Promise<string[]> {
  const db = await openDb(path.join(tmp.dir, 'data', 'kiosk.db'), { readonly: true });
  try {
    return db.allNow<{ serial: string }>('SELECT serial FROM sold_serials').map((r) => r.serial);
  } finally {
    await db.close();
  }
}

async function start(env: Record<string, string> = {}): Promise<void> {
  gw = await spawnGateway(configFile, env);
  base = `http://127.0.0.1:${gw.httpPort}`;
  const url = `mqtt://127.0.0.1:${gw.mqttPort}`;
  // One terminal across the gateway's lives: it remembers the commands it ran, as a real one does.
  if (pay) pay.url = url;
  else pay = new PaymentSim({ url, id: 'pay-1', password: TEST_SECRET });
  // Independent clients of the new process: connected side by side.
  [dev, , page] = await Promise.all([Peripherals.connect(url, [{ kind: 'rfid', id: 'rf-1' }]), pay.start(), KioskPage.open(gw.httpPort)]);
}

async function stop(): Promise<void> {
  await gw?.kill('SIGKILL');
  page?.ws.terminate();
  await dev?.close().catch(() => undefined);
  await pay?.stop().catch(() => undefined);
}

beforeAll(async () => {
  hq = await startMosquitto();
  hqSim = new HqSim({ url: hq.url });
  await hqSim.start();
  const opts = { dataDir: path.join(tmp.dir, 'data'), devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) };
  await seedCatalog(opts, hq.url, signer);
  configFile = await writeConfigFile(tmp.dir, opts);
  // The file's second void halts the process at the first boundary the kill tests stop at.
  await start({ STOREGW_TEST_HALT_AT: `${KILLS[0]}:2` });
});

afterAll(async () => {
  await stop();
  await hqSim?.stop();
  await hq?.stop();
  tmp.remove();
});

describe('post-sale void through the real gateway', () => {
  let tx = '';
  it('an attendant voids a card sale: reversed on the terminal, one exact saleVoided record, stock back, serial released, KPIs without it', async () => {
    tx = await sell(EPC_6789, '6789');
    const attendant = await login(base, 'attendant');
    const stockBefore = (await api(base, attendant, 'GET', `/api/stock/items/${G.shirt}`)).json as { item: { onHand: number } };
    const kpiBefore = (await api(base, attendant, 'GET', '/api/kpi')).json as { totals: { transactions: number; sales: number } };
    const sale = sales().find((r) => r.data.transactionId === tx)!.data as { total: number; payment: { requestId: string; receiptNo: string } };

    const r = await api(base, attendant, 'POST', `/api/sales/${tx}/void`, { reason: 'charged for a shirt the shopper left behind' });
    expect(r.status).toBe(200);
    const rec = (r.json as { voided: Record<string, unknown> }).voided;
    expect(rec).toMatchObject({ transactionId: tx, kioskId: 'k1', total: sale.total, by: 'attendant', role: 'attendant', refund: { kind: 'reversed', paymentRequestId: sale.payment.requestId, amount: sale.total, receiptNo: sale.payment.receiptNo }, movements: [`void:${tx}:0`], serials: [{ gtin: G.shirt, serial: '6789' }] });
    await until(pay.events, 'reverse', () => pay.reversals.some((x) => x.requestId === sale.payment.requestId), 10_000, 'the reversal at the terminal');
    expect(pay.reversals.filter((x) => x.requestId === sale.payment.requestId)).toEqual([{ requestId: sale.payment.requestId, amount: sale.total, currency: 'EUR', receiptNo: sale.payment.receiptNo }]);

    await hqSim.waitFor(() => voids().length === 1, 10_000, 'the saleVoided record at HQ');
    expect(voids()[0]).toMatchObject({ class: 'exact', kind: 'kiosk', deviceId: 'k1', data: rec });
    const stockAfter = (await api(base, attendant, 'GET', `/api/stock/items/${G.shirt}`)).json as { item: { onHand: number }; movements: { movementId: string; kind: string; qty: number }[] };
    expect(stockAfter.item.onHand).toBe(stockBefore.item.onHand + 1);
    expect(stockAfter.movements.filter((m) => m.movementId === `void:${tx}:0`)).toMatchObject([{ kind: 'return', qty: 1 }]);
    // No wait needed: the record at HQ was committed with its KPI increments (one outbox transaction).
    const kpiAfter = (await api(base, attendant, 'GET', '/api/kpi')).json as { totals: { transactions: number; sales: number } };
    expect(kpiAfter.totals.transactions).toBe(kpiBefore.totals.transactions - 1);
    expect(kpiAfter.totals.sales).toBe(kpiBefore.totals.sales - sale.total);

    // The serial is released: the ledger of sold serials (what asks for an attendant at a kiosk and
    // alarms at an exit gate) no longer has it.
    expect(await soldSerials()).not.toContain('6789');
  });

  it('refused twice, unknown, for a viewer, without a reason: each naming what is wrong', async () => {
    const attendant = await login(base, 'attendant');
    const again = await api(base, attendant, 'POST', `/api/sales/${tx}/void`, { reason: 'pressed twice' });
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 'SGW_ERR_ALREADY_VOIDED', message: expect.stringContaining('params.transactionId') });
    expect(await api(base, attendant, 'POST', '/api/sales/no-such-sale/void', { reason: 'typo' })).toMatchObject({ status: 404, json: { code: 'SGW_ERR_NOT_FOUND' } });
    expect((await api(base, attendant, 'POST', `/api/sales/${tx}/void`, {})).status).toBe(400);
    const viewer = await login(base, 'viewer');
    expect((await api(base, viewer, 'POST', `/api/sales/${tx}/void`, { reason: 'not mine to do' })).status).toBe(403);
    // Any id and body (seeded): 400 naming the body or params, 404 or 409 naming the id; never a 5xx, never a second void.
    const field = fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null), fc.constant(tx), fc.constant('x'.repeat(300)));
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.constant(tx), fc.stringMatching(/^[A-Za-z0-9._:-]{1,70}$/)), fc.oneof(fc.record({ reason: field }), fc.dictionary(fc.string({ maxLength: 8 }), field, { maxKeys: 3 })), async (id, body) => {
        const r = await api(base, attendant, 'POST', `/api/sales/${encodeURIComponent(id)}/void`, body);
        expect([400, 404, 409]).toContain(r.status);
        expect((r.json as { message: string }).message).toMatch(/^(body|params)/);
      }),
      { seed: 19, numRuns: 40 },
    );
    expect(voids()).toHaveLength(1);
  });

  KILLS.forEach((step, i) => {
    it(`killed at ${step}: after the restart the void is finished, its record, reversal and movement once`, async () => {
      const serial = 6790 + i;
      const tx = await sell(shirtEpc(serial), String(serial));
      const sale = sales().find((r) => r.data.transactionId === tx)!.data as { payment: { requestId: string; receiptNo: string } };
      const admin = await login(base, 'admin');
      const child = gw!;
      const halted = new Promise<void>((resolve) => {
        const seen = () => child.output.some((l) => l.includes('"test halt: stopped at a sale step"') && l.includes(`"step":"${step}"`));
        const on = () => seen() && (child.proc.stdout!.off('data', on), resolve());
        child.proc.stdout!.on('data', on);
      });
      const answer = api(base, admin, 'POST', `/api/sales/${tx}/void`, { reason: 'shopper changed their mind' }).catch(() => null);
      await halted;
      await stop();
      expect(await answer).toBeNull(); // never answered: the process stopped before it could
      await start(KILLS[i + 1] ? { STOREGW_TEST_HALT_AT: KILLS[i + 1]! } : {}); // the next test's kill
      await hqSim.waitFor(() => voids().some((v) => v.data.transactionId === tx), 15_000, `the void killed at ${step} at HQ after the restart`);
      expect(voids().filter((v) => v.data.transactionId === tx)).toHaveLength(1);
      expect(voids().find((v) => v.data.transactionId === tx)!.data).toMatchObject({ by: 'admin', role: 'admin', refund: { kind: 'reversed', receiptNo: sale.payment.receiptNo } });
      // The record is written once the terminal answered: the reversal is done by then, once.
      expect(pay.reversals.filter((x) => x.requestId === sale.payment.requestId)).toHaveLength(1);
      expect(await soldSerials()).not.toContain(String(serial)); // released in the void's first commit, before any kill
      const attendant = await login(base, 'attendant');
      const stock = (await api(base, attendant, 'GET', `/api/stock/items/${G.shirt}`)).json as { movements: { movementId: string }[] };
      expect(stock.movements.filter((m) => m.movementId === `void:${tx}:0`)).toHaveLength(1);
      expect((await api(base, attendant, 'POST', `/api/sales/${tx}/void`, { reason: 'again' })).status).toBe(409);
    });
  });
});
