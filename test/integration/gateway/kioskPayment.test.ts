/**
 * A card terminal's side of the kiosk through the real gateway process (dist/storegw.js), with the
 * MQTT payment terminal simulator speaking the whole payment contract:
 * - the terminal's prompts reach the kiosk page's socket for its open payment only (one for another
 *   request is dropped and counted), change no cart version, and a page that reconnects gets the latest;
 * - an approved result's receipt number, trace, terminal id, card type, masked PAN and approval code
 *   are in the transaction record (outbox export, what HQ gets) and the terminal's receipt lines
 *   are kept with the sale in kiosk.db;
 * - a reversal the gateway sends (a mismatch, an approval after a void) names the receipt number;
 * - a `recovered` result settles the open payment like any result and is logged as such;
 * - end of day from the ops API: admin only, refused while the terminal's kiosk is paying, and the
 *   terminal's answer is an exact record equal to what it sent.
 */
import path from 'node:path';
import { spawn } from 'node:child_process';
import Database from 'better-sqlite3';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DEVICES, GATEWAY_BIN, metric, spawnGateway, startGateway, TEST_PASSWORDS, TEST_SECRET, writeConfigFile, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, login, until } from '../../sim/hqFeeds.js';
import { PaymentSim } from '../../sim/paymentSim.js';
import { HqSim } from '../../sim/hqSim.js';
import type { CartView, KioskPaymentPrompt } from '../../../gateway/protocol/schemas/kiosk.js';
import { CATALOG, G, KIOSK_DEVICES, kioskExtra, MEMBERS, Peripherals, PRICES, TOKENS } from '../../e2e/kioskFixture.js';

const signer = createHqSigner({ kid: 'hq-pay' });
const tmp = tempDir('sgw-kiosk-pay-');
const dataDir = path.join(tmp.dir, 'data');
let hq: Mosquitto;
let hqSim: HqSim;
let configFile: string;
let gw: GatewayProcess;
let base: string;
let dev: Peripherals;
let pay: PaymentSim;
let k: KioskSocket;
let admin: string;
let attendant: string;

/** The kiosk page's socket: every cart and every prompt the gateway pushes, and waits on them. */
class KioskSocket {
  readonly carts: CartView[] = [];
  readonly prompts: KioskPaymentPrompt[] = [];
  private waiters: (() => boolean)[] = [];
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (d) => {
      const m = JSON.parse(String(d)) as CartView | KioskPaymentPrompt;
      if (m.type === 'cart') this.carts.push(m);
      else if (m.type === 'paymentPrompt') this.prompts.push(m);
      else return;
      this.waiters = this.waiters.filter((w) => !w());
    });
  }
  static async open(): Promise<KioskSocket> {
    const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/kiosk`, { origin: base });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const s = new KioskSocket(ws);
    ws.send(JSON.stringify({ type: 'hello', kioskId: 'k1', token: TOKENS.k1 }));
    await s.cart(() => true, 'the first cart');
    return s;
  }
  get last(): CartView {
    return this.carts[this.carts.length - 1];
  }
  send(m: object): void {
    this.ws.send(JSON.stringify(m));
  }
  private wait<T>(check: () => T | undefined, what: string): Promise<T> {
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for ${what}; last cart: ${JSON.stringify(this.last)}; prompts: ${JSON.stringify(this.prompts)}`)), 10_000);
      this.waiters.push(() => {
        const v = check();
        if (v === undefined) return false;
        clearTimeout(t);
        resolve(v);
        return true;
      });
    });
  }
  /** The latest cart if it matches, else the next one that does. */
  cart(pred: (c: CartView) => boolean, what: string): Promise<CartView> {
    return this.wait(() => (this.carts.length > 0 && pred(this.last) ? this.last : undefined), what);
  }
  prompt(pred: (p: KioskPaymentPrompt) => boolean, what: string): Promise<KioskPaymentPrompt> {
    return this.wait(() => this.prompts.find(pred), what);
  }
}

type Rec = { seq: number; class: string; kind: string; deviceId: string; type: string; data: Record<string, unknown> };

/**
 * What HQ is sent, once a record matching `pred` is among it: every record of `outbox export` (the
 * CLI, reading outbox.db beside the running gateway) plus those the uplink already handed over and
 * the outbox let go (HQ may get them a moment after the broker acked them, so it is waited for).
 */
async function recordsForHq(pred: (r: Rec) => boolean): Promise<Rec[]> {
  const local = await exportRecords();
  const atHq = () => hqSim.records('test-store') as unknown as Rec[];
  if (!local.some(pred)) await hqSim.waitFor(() => atHq().some(pred), 10_000, 'the record at HQ');
  const all = new Map<number, Rec>();
  for (const r of atHq()) all.set(r.seq, r);
  for (const r of local) all.set(r.seq, r);
  return [...all.values()].sort((a, b) => a.seq - b.seq);
}

function exportRecords(): Promise<Rec[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [GATEWAY_BIN, 'outbox', 'export', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    p.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    p.once('error', reject);
    p.once('close', (code) => (code === 0 ? resolve(out.split('\n').filter(Boolean).map((l) => JSON.parse(l))) : reject(new Error(`outbox export: ${code} ${err}`))));
  });
}

/** The gateway's JSON log lines with this message, once there is one that matches. */
function logged(msg: string, pred: (l: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>> {
  const find = () => gw.output.map((l) => (l.startsWith('{') ? (JSON.parse(l) as Record<string, unknown>) : {})).find((l) => l.msg === msg && pred(l));
  const now = find();
  if (now) return Promise.resolve(now);
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => (gw.proc.stdout!.off('data', on), reject(new Error(`no log line "${msg}"`))), 10_000);
    const on = () => {
      // The harness splits lines on its own 'data' listener, which ran first.
      const l = find();
      if (!l) return;
      clearTimeout(t);
      gw.proc.stdout!.off('data', on);
      resolve(l);
    };
    gw.proc.stdout!.on('data', on);
  });
}

const nextCharge = () => new Promise<{ requestId: string; amount: number }>((resolve) => pay.events.once('charge', resolve));
const nextReversal = () => new Promise<{ requestId: string; amount: number; receiptNo?: string }>((resolve) => pay.events.once('reverse', resolve));
const endOfDay = (cookie: string) => fetch(`${base}/api/devices/payment/pay-1/commands`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: JSON.stringify({ type: 'endOfDay', data: {} }) });

/** Scans milk into a fresh cart (from a done or idle screen) and asks to pay; resolves with the charge. */
async function startPaying(): Promise<{ requestId: string; amount: number }> {
  if (k.last.phase === 'done' || k.last.phase === 'cancelled') {
    const old = k.last.sessionId;
    k.send({ type: 'cancel' });
    await k.cart((c) => c.sessionId !== old, 'the next session');
  }
  await dev.scan('sc-1', G.milk);
  await k.cart((c) => c.lines.length > 0 && c.phase === 'shopping', 'a cart with milk');
  const charge = nextCharge();
  k.send({ type: 'pay' });
  await k.cart((c) => c.phase === 'paying', 'the paying screen');
  return charge;
}

beforeAll(async () => {
  hq = await startMosquitto();
  hqSim = new HqSim({ url: hq.url });
  await hqSim.start();
  const opts = { dataDir, devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) };
  // The feeds arrive once, in-process (so the set-up can wait on them); the child finds them in prices.db.
  const seed = await startGateway(opts);
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('catalog', 'store', 1, CATALOG);
  await feeds.publish('prices', 'store', 1, PRICES);
  await feeds.publish('members', 'store', 1, MEMBERS);
  const p = seed.gw.prices!;
  await until(p.changes, 'change', () => p.sync().feeds.applied >= 3 && p.priceAt(G.milk) !== null, 10_000, 'feeds applied');
  await feeds.close();
  await seed.stop();
  configFile = await writeConfigFile(tmp.dir, opts);
  gw = await spawnGateway(configFile);
  base = `http://127.0.0.1:${gw.httpPort}`;
  const url = `mqtt://127.0.0.1:${gw.mqttPort}`;
  dev = await Peripherals.connect(url, KIOSK_DEVICES.filter((d) => d.id === 'sc-1'));
  pay = new PaymentSim({ url, id: 'pay-1', password: TEST_SECRET });
  await pay.start();
  k = await KioskSocket.open();
  admin = await login(base, 'admin', TEST_PASSWORDS.admin);
  attendant = await login(base, 'attendant', TEST_PASSWORDS.attendant);
});

afterAll(async () => {
  k?.ws.close();
  await dev?.close().catch(() => undefined);
  await pay?.stop().catch(() => undefined);
  await gw?.kill('SIGKILL');
  await hqSim?.stop();
  await hq?.stop();
  tmp.remove();
});

describe('a card terminal at the kiosk, through the real gateway', () => {
  let sale: { requestId: string; amount: number };

  it("the terminal's prompts reach the page for its open payment only; end of day is refused meanwhile; the approval's receipt data is kept", async () => {
    pay.mode = 'silent';
    sale = await startPaying();
    const paying = k.last;
    const cartsBefore = k.carts.length;
    await pay.status('not-this-one', 'insertCard', 0x0a);
    await pay.status(sale.requestId, 'insertCard', 0x0a);
    await pay.status(sale.requestId, 'enterPin', 0x01);
    await k.prompt((p) => p.prompt === 'enterPin', 'the enterPin prompt');
    expect(k.prompts).toEqual([
      { type: 'paymentPrompt', requestId: sale.requestId, prompt: 'insertCard', code: 0x0a },
      { type: 'paymentPrompt', requestId: sale.requestId, prompt: 'enterPin', code: 0x01 },
    ]);
    expect(await metric(base, 'storegw_kiosk_payment_prompts_ignored_total')).toBe(1);
    // A prompt changes no cart (no new version, no money).
    expect(k.carts.length).toBe(cartsBefore);
    expect(k.last).toEqual(paying);
    // A page that connects now is told the latest prompt after its cart.
    const again = await KioskSocket.open();
    await again.prompt((p) => p.requestId === sale.requestId, 'the latest prompt after a reconnect');
    expect(again.prompts).toEqual([{ type: 'paymentPrompt', requestId: sale.requestId, prompt: 'enterPin', code: 0x01 }]);
    again.ws.close();

    // End of day while this terminal's kiosk takes the payment: refused with a reason; an attendant may not at all.
    const busy = await endOfDay(admin);
    expect(busy.status).toBe(409);
    expect(((await busy.json()) as { message: string }).message).toMatch(/payment\/pay-1 is taking a payment at kiosk k1 \(request .+\)/);
    const notAdmin = await endOfDay(attendant);
    expect(notAdmin.status).toBe(403);
    expect(((await notAdmin.json()) as { message: string }).message).toBe('type: payment endOfDay needs the admin role');

    await pay.result(sale.requestId, 'approved', sale.amount, 'EUR');
    const done = await k.cart((c) => c.phase === 'done', 'the thank-you screen');
    const refs = pay.refsOf(sale.requestId)!;
    expect(refs.receiptNo).toMatch(/^[0-9]{4}$/);

    const isTx = (r: Rec) => r.kind === 'kiosk' && r.type === 'transaction';
    const tx = (await recordsForHq(isTx)).filter(isTx);
    expect(tx).toHaveLength(1);
    expect(tx[0].class).toBe('exact');
    expect(tx[0].data.payment).toEqual({ requestId: sale.requestId, amount: sale.amount, authCode: expect.stringMatching(/^A[0-9]+$/), receiptNo: refs.receiptNo, trace: refs.trace, terminalId: refs.terminalId, cardType: 'girocard', maskedPan: '************4771' });
    expect(tx[0].data.transactionId).toBe(done.receipt!.transactionId);

    const db = new Database(path.join(dataDir, 'kiosk.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT record, terminal_receipt FROM sales WHERE request_id = ?').get(sale.requestId) as { record: string; terminal_receipt: string | null };
      expect(JSON.parse(row.terminal_receipt!)).toEqual(refs.receipt);
      expect((JSON.parse(row.record) as { payment: unknown }).payment).toEqual(tx[0].data.payment);
    } finally {
      db.close();
    }
  });

  it('a mismatched approval and an approval after a void are reversed naming their receipt numbers', async () => {
    pay.mode = 'approve';
    pay.approves = (c) => ({ amount: c.amount - 10, currency: c.currency });
    const reversed = nextReversal();
    const mismatch = await startPaying();
    const r1 = await reversed;
    expect(r1).toEqual({ requestId: mismatch.requestId, amount: mismatch.amount - 10, currency: 'EUR', receiptNo: pay.refsOf(mismatch.requestId)!.receiptNo });
    const told = await k.cart((c) => c.notice?.code === 'payment_mismatch', 'the mismatch notice');
    pay.approves = (c) => ({ amount: c.amount, currency: c.currency });
    // The attendant called for the mismatch sees to the shopper before the next try.
    const override = told.requests.find((r) => r.kind === 'override')!;
    expect((await fetch(`${base}/api/attendant/${override.requestId}/reject`, { method: 'POST', headers: { cookie: attendant } })).status).toBe(200);
    await k.cart((c) => c.requests.length === 0, 'the override handled');

    // The attendant voids while the terminal still works; its approval then comes late.
    pay.mode = 'silent';
    k.send({ type: 'pay' });
    const late = await nextCharge();
    await k.cart((c) => c.phase === 'paying', 'paying again');
    const voided = await fetch(`${base}/api/attendant/kiosks/k1/void`, { method: 'POST', headers: { cookie: attendant } });
    expect(voided.status).toBe(200);
    await k.cart((c) => c.phase === 'cancelled', 'the voided cart');
    const reversed2 = nextReversal();
    await pay.result(late.requestId, 'approved', late.amount, 'EUR');
    expect(await reversed2).toEqual({ requestId: late.requestId, amount: late.amount, currency: 'EUR', receiptNo: pay.refsOf(late.requestId)!.receiptNo });
  });

  it('a result recovered after a lost connection settles the open payment and is logged as recovered', async () => {
    pay.mode = 'silent';
    const c = await startPaying();
    await pay.result(c.requestId, 'approved', c.amount, 'EUR', undefined, { recovered: true });
    await k.cart((x) => x.phase === 'done', 'the thank-you screen');
    const line = await logged('payment result recovered from the terminal after a lost connection', (l) => l.requestId === c.requestId);
    expect(line).toMatchObject({ deviceId: 'k1', status: 'approved', amount: c.amount, receiptNo: pay.refsOf(c.requestId)!.receiptNo, current: true });
  });

  it('the same result again (a bridge re-publishing one whose PUBACK it never saw) rings nothing up twice and reverses nothing', async () => {
    pay.mode = 'silent';
    const c = await startPaying();
    await pay.result(c.requestId, 'approved', c.amount, 'EUR', undefined, { recovered: true });
    await k.cart((x) => x.phase === 'done', 'the thank-you screen');
    const reversalsBefore = pay.reversals.length;
    const isLine = (l: Record<string, unknown>) => l.requestId === c.requestId;
    const countLogged = () => gw.output.filter((l) => l.includes('payment result recovered from the terminal') && l.includes(c.requestId)).length;
    // Once while its own sale shows the thank-you screen, once after the next shopper began.
    await pay.result(c.requestId, 'approved', c.amount, 'EUR', undefined, { recovered: true });
    await logged('payment result recovered from the terminal after a lost connection', (l) => isLine(l) && countLogged() >= 2);
    const old = k.last.sessionId;
    k.send({ type: 'cancel' });
    await k.cart((x) => x.sessionId !== old, 'the next session');
    await pay.result(c.requestId, 'approved', c.amount, 'EUR', undefined, { recovered: true });
    await logged('payment result recovered from the terminal after a lost connection', (l) => isLine(l) && l.current === false && countLogged() >= 3);
    // The kiosk's queue runs in order: once the scan shows, both duplicates were handled.
    await dev.scan('sc-1', G.milk);
    const next = await k.cart((x) => x.sessionId !== old && x.lines.length > 0, 'the next cart with milk');
    expect(next.requests).toEqual([]);
    expect(next.phase).toBe('shopping');
    expect(pay.reversals.length).toBe(reversalsBefore);
    const db = new Database(path.join(dataDir, 'kiosk.db'), { readonly: true });
    try {
      expect(db.prepare('SELECT COUNT(*) AS n FROM sales WHERE request_id = ?').get(c.requestId)).toEqual({ n: 1 });
    } finally {
      db.close();
    }
    const isTx = (r: Rec) => r.kind === 'kiosk' && r.type === 'transaction' && (r.data.payment as { requestId?: string } | undefined)?.requestId === c.requestId;
    expect((await recordsForHq(isTx)).filter(isTx)).toHaveLength(1);
  });

  it("end of day from the ops API: the command store delivers it, the terminal's answer is an exact record as sent", async () => {
    const res = await endOfDay(admin);
    expect(res.status).toBe(202);
    const { cmdId } = (await res.json()) as { cmdId: string };
    await logged('terminal end of day', (l) => l.cmdId === cmdId);
    const sent = pay.endOfDays.find((e) => e.cmdId === cmdId)!;
    // Three sales were rung up (the first and two recovered ones); the two reversed approvals are not in the batch.
    expect(sent).toMatchObject({ ok: true, count: 3, totalAmount: 3 * sale.amount, currency: 'EUR' });
    const isEod = (r: Rec) => r.kind === 'payment' && r.type === 'endOfDay';
    const recs = (await recordsForHq(isEod)).filter(isEod);
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ class: 'exact', deviceId: 'pay-1' });
    expect(recs[0].data).toEqual(sent);
    // The command was acked (the store delivered it once).
    const detail = (await (await fetch(`${base}/api/devices/payment/pay-1`, { headers: { cookie: admin } })).json()) as { commands: { recent: { cmdId: string; state: string }[] }; device: { lastEvents: Record<string, { data: unknown }> } };
    expect(detail.commands.recent.find((c) => c.cmdId === cmdId)?.state).toBe('acked');
    expect(detail.device.lastEvents.endOfDay?.data).toEqual(sent);
  });
});
