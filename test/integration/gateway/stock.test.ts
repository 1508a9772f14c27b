/**
 * The stock ledger through a real gateway process (dist/storegw.js): goods received, adjusted,
 * returned and counted through the ops API with a login are exact `stockMove` records naming who
 * did it; a kiosk sale (scanner over MQTT, the payment terminal simulator) lowers on hand and is
 * one `sale` movement; a replayed press is one movement; the retained `report/stock` reaches HQ's
 * broker; and a gateway SIGKILLed right after a sale reached the outbox has that sale's movement
 * exactly once after the restart (in stock.db and among the records HQ gets).
 */
import path from 'node:path';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { DEFAULT_DEVICES, spawnGateway, TEST_SECRET, writeConfigFile, type ConfigOptions, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { HqSim } from '../../sim/hqSim.js';
import { PaymentSim } from '../../sim/paymentSim.js';
import { G, KIOSK_DEVICES, kioskExtra, Peripherals, recordsEverywhere, seedCatalog } from '../../e2e/kioskFixture.js';
import { Page } from '../../e2e/saleCrashFixture.js';
import { api, login } from './opsClient.js';
import { StockStore } from '../../../gateway/stock/store.js';

const signer = createHqSigner({ kid: 'hq-stock' });
const tmp = tempDir('sgw-stock-');
const dataDir = path.join(tmp.dir, 'data');
let hq: Mosquitto;
let hqSim: HqSim;
let listener: MqttClient;
let configFile: string;
let gw: GatewayProcess;
let base = '';
let dev: Peripherals;
let page: Page;
const terminal = new PaymentSim({ url: 'mqtt://127.0.0.1:1', id: 'pay-1', password: TEST_SECRET });
type Line = { gtin: string; onHand: number; reserved: number; available: number };
const reports: { report: number; items: Line[]; changed: string[] }[] = [];
let reportWaiters: (() => void)[] = [];

async function life(halt?: string): Promise<void> {
  gw = await spawnGateway(configFile, halt ? { STOREGW_TEST_HALT_AT: halt } : {});
  base = `http://127.0.0.1:${gw.httpPort}`;
  const url = `mqtt://127.0.0.1:${gw.mqttPort}`;
  dev = await Peripherals.connect(url, KIOSK_DEVICES.filter((d) => d.id === 'sc-1'));
  terminal.url = url;
  await terminal.start();
  page = await Page.open(base);
}

/** SIGKILL first (a halted gateway answers nobody, so the clients would wait on it), SIGTERM last. */
async function endLife(signal: NodeJS.Signals): Promise<void> {
  if (signal === 'SIGKILL') await gw.kill(signal);
  page.close();
  await dev.close().catch(() => undefined);
  await terminal.stop();
  if (signal !== 'SIGKILL') await gw.kill(signal);
}

/** One sale of milk at k1 from a fresh cart; resolves with the kiosk's "thank you" cart (or never, when the gateway halts). */
async function sellMilk(): Promise<{ sessionId: string }> {
  const first = await page.next((m) => m.type === 'cart');
  if (first.phase === 'done' || first.phase === 'cancelled') {
    page.send({ type: 'cancel' });
    await page.next((m) => m.type === 'cart' && m.phase === 'idle');
  }
  await dev.scan('sc-1', G.milk);
  await page.next((m) => m.type === 'cart' && m.lines.length > 0 && m.phase === 'shopping');
  page.send({ type: 'pay' });
  return page.next((m) => m.type === 'cart' && m.phase === 'done');
}

/** The gateway's log line with this message, once there is one that matches (waits on its output, no polling). */
function logged(msg: string, pred: (l: Record<string, unknown>) => boolean = () => true): Promise<Record<string, unknown>> {
  const find = () => gw.output.map((l) => (l.startsWith('{') ? (JSON.parse(l) as Record<string, unknown>) : {})).find((l) => l.msg === msg && pred(l));
  const now = find();
  if (now) return Promise.resolve(now);
  return new Promise((resolve) => {
    const on = () => {
      const l = find();
      if (!l) return;
      gw.proc.stdout!.off('data', on);
      resolve(l);
    };
    gw.proc.stdout!.on('data', on);
  });
}

function report(pred: (r: (typeof reports)[number]) => boolean): Promise<(typeof reports)[number]> {
  return new Promise((resolve) => {
    const check = () => {
      const r = reports.find(pred);
      if (r) return resolve(r);
      reportWaiters.push(check);
    };
    check();
  });
}

const stockMoves = async () => (await recordsEverywhere(dataDir, hqSim)).filter((r) => r.kind === 'light' && r.type === 'stockMove').sort((a, b) => a.seq - b.seq);
const item = async (gtin: string) => (await api(base, await login(base, 'viewer'), 'GET', `/api/stock/items/${gtin}`)).json as { item: Line & { name: string; state: string }; movements: { movementId: string; kind: string; qty: number; actor: string; reason: string | null; seq: number | null }[] };

beforeAll(async () => {
  hq = await startMosquitto();
  hqSim = new HqSim({ url: hq.url });
  await hqSim.start();
  listener = mqtt.connect(hq.url, { reconnectPeriod: 200 });
  listener.on('message', (_t, p) => {
    reports.push(JSON.parse(p.toString()) as (typeof reports)[number]);
    for (const w of reportWaiters.splice(0)) w();
  });
  await new Promise<void>((r) => listener.once('connect', () => r()));
  await listener.subscribeAsync('hq/v1/store/test-store/report/stock', { qos: 1 });
  const opts: ConfigOptions = { dataDir, devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: { ...(await kioskExtra(hq.url, signer.publicKeyPem, signer.kid)), stock: { lowBelow: 5, reportEveryMs: 1000 } } };
  await seedCatalog(opts, hq.url, signer);
  configFile = await writeConfigFile(tmp.dir, opts);
  // The second sale halts the gateway right after its transaction record is committed to the outbox.
  await life('forwarded:2');
}, 30_000);

afterAll(async () => {
  listener?.end(true);
  await endLife('SIGKILL').catch(() => undefined);
  await hqSim?.stop();
  await hq?.stop();
  tmp.remove();
});

describe('stock through the real gateway', () => {
  it('receive, a kiosk sale, adjust, return and count: each an exact stockMove record with who did it', async () => {
    const attendant = await login(base, 'attendant');
    const viewer = await login(base, 'viewer');
    const found = await api(base, viewer, 'GET', '/api/stock/find?q=milk');
    expect(found.json.items).toEqual([{ gtin: G.milk, name: 'Milk 1 L', onHand: 0, reserved: 0, available: 0, lowBelow: 5, state: 'out' }]);

    expect((await api(base, viewer, 'POST', '/api/stock/receive', { requestId: 'press-0001', lines: [{ gtin: G.milk, qty: 12 }] })).status).toBe(403);
    const rcv = await api(base, attendant, 'POST', '/api/stock/receive', { requestId: 'press-0001', lines: [{ gtin: G.milk, qty: 12 }], ref: 'ASN-7' });
    expect(rcv.status).toBe(200);
    expect(rcv.json.items[0]).toMatchObject({ gtin: G.milk, onHand: 12, state: 'ok' });
    expect(rcv.json.movements[0]).toMatchObject({ movementId: 'rcv:press-0001:0', kind: 'receipt', qty: 12, actor: 'attendant', sourceRef: 'ASN-7' });
    expect(rcv.json.movements[0].seq).toBeGreaterThan(0);
    // The same press again (a double tap, a retried request) is the same movement.
    const again = await api(base, attendant, 'POST', '/api/stock/receive', { requestId: 'press-0001', lines: [{ gtin: G.milk, qty: 12 }], ref: 'ASN-7' });
    expect(again.json.movements[0].seq).toBe(rcv.json.movements[0].seq);
    expect(again.json.items[0].onHand).toBe(12);

    await sellMilk();
    await logged('stock moved', (l) => Array.isArray(l.gtins) && (l.gtins as string[]).includes(G.milk) && l.movements === 1);
    expect((await item(G.milk)).item.onHand).toBe(11);

    const zero = await api(base, attendant, 'POST', '/api/stock/adjust', { requestId: 'press-0002', gtin: G.milk, qty: 0, reason: 'damaged' });
    expect(zero.status).toBe(400);
    expect(zero.json.message).toContain('body.qty');
    const badReason = await api(base, attendant, 'POST', '/api/stock/adjust', { requestId: 'press-0002', gtin: G.milk, qty: -1, reason: 'lost-in-space' });
    expect(badReason.status).toBe(400);
    const adj = await api(base, attendant, 'POST', '/api/stock/adjust', { requestId: 'press-0002', gtin: G.milk, qty: -3, reason: 'damaged' });
    expect(adj.json.items[0].onHand).toBe(8);
    const ret = await api(base, attendant, 'POST', '/api/stock/return', { requestId: 'press-0003', gtin: G.milk, qty: 1 });
    expect(ret.json.items[0].onHand).toBe(9);
    const cnt = await api(base, attendant, 'POST', '/api/stock/count', { requestId: 'press-0004', gtin: G.milk, counted: 4 });
    expect(cnt.json.items[0]).toMatchObject({ onHand: 4, state: 'low' });

    const lists = await api(base, viewer, 'GET', '/api/stock/lists');
    expect(lists.json.low.map((i: Line) => i.gtin)).toEqual([G.milk]);
    expect((await api(base, attendant, 'POST', '/api/stock/threshold', { gtin: G.milk, lowBelow: 2 })).status).toBe(403);

    // A record the uplink just delivered has left the outbox and may not have reached the HQ
    // simulator yet: wait until all five are somewhere, then check them.
    await expect.poll(async () => (await stockMoves()).length, { timeout: 10_000 }).toBe(5);
    const recs = await stockMoves();
    expect(recs.map((r) => [r.data.kind, r.data.qty, r.data.actor, r.data.reason ?? null])).toEqual([
      ['receipt', 12, 'attendant', null],
      ['sale', -1, 'kiosk:k1', null],
      ['adjustment', -3, 'attendant', 'damaged'],
      ['return', 1, 'attendant', null],
      ['count', 4, 'attendant', null],
    ]);
    const detail = await item(G.milk);
    expect(detail.movements.map((m) => m.seq).sort()).toEqual(recs.map((r) => r.seq).sort());
  }, 20_000);

  it('HQ gets the retained stock report with on hand and reserved per GTIN', async () => {
    const r = await report((x) => x.items.some((i) => i.gtin === G.milk && i.onHand === 4));
    expect(r.items.find((i) => i.gtin === G.milk)).toEqual({ gtin: G.milk, onHand: 4, reserved: 0, available: 4 });
    // Retained: a shop that subscribes now still gets it.
    const late = mqtt.connect(hq.url);
    const got = await new Promise<{ items: Line[] }>((resolve) => {
      late.on('message', (_t, p) => resolve(JSON.parse(p.toString())));
      late.on('connect', () => void late.subscribeAsync('hq/v1/store/test-store/report/stock', { qos: 1 }));
    });
    late.end(true);
    expect(got.items.some((i) => i.gtin === G.milk)).toBe(true);
  }, 15_000);

  it('SIGKILL right after a sale reached the outbox: after the restart its movement exists exactly once', async () => {
    const halted = logged('test halt: stopped at a sale step');
    void sellMilk().catch(() => undefined);
    await halted;
    await endLife('SIGKILL');
    await life();
    const milk = await item(G.milk);
    expect(milk.item.onHand).toBe(3);
    const sales = milk.movements.filter((m) => m.kind === 'sale');
    expect(sales).toHaveLength(2);
    expect(new Set(sales.map((m) => m.movementId)).size).toBe(2);
    const recs = (await stockMoves()).filter((r) => r.data.kind === 'sale');
    expect(recs.map((r) => r.data.movementId).sort()).toEqual(sales.map((m) => m.movementId).sort());
    await endLife('SIGTERM');
    // The file itself: one row per movement id, none left unforwarded.
    const store = new StockStore(path.join(dataDir, 'stock.db'));
    await store.start();
    expect(await store.unforwarded(10)).toEqual([]);
    expect((await store.movements(G.milk, 100)).filter((m) => m.kind === 'sale')).toHaveLength(2);
    await store.stop();
    await life();
  }, 20_000);
});
