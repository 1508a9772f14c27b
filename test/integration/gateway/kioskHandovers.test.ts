/**
 * Click & collect tasks through a real gateway process: a pickup confirmed at a kiosk
 * (scanner over MQTT, confirm over the kiosk WebSocket) becomes a task in `GET /api/pickups` and on
 * the live feed; an attendant marks it handed over → one exact `handover` record in `outbox
 * export` with the logged-in person and the time; the open task survives SIGKILL; a second
 * hand-over (another tab, or two at once) is refused and records nothing; who comes from the
 * session, never the body; a crash between "handed over" and its record ends in exactly one record.
 * HQ (a real Mosquitto) delivers the signed orders feed, then goes away: the outbox keeps every record.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto, type Mosquitto } from '../../helpers/mosquitto.js';
import { DEFAULT_DEVICES, GATEWAY_BIN, spawnGateway, startGateway, writeConfigFile, type ConfigOptions, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { createHqSigner } from '../../sim/hqSigner.js';
import { connectHqFeeds, until } from '../../sim/hqFeeds.js';
import { KioskStore } from '../../../gateway/kiosk/store.js';
import { openDb } from '../../../gateway/db/sqlite.js';
import type { CartView } from '../../../gateway/protocol/schemas/kiosk.js';
import { KIOSK_DEVICES, kioskExtra, Peripherals, TOKENS } from '../../e2e/kioskFixture.js';
import { api, login, SseReader } from './opsClient.js';

const signer = createHqSigner({ kid: 'hq-handover' });
const tmp = tempDir('sgw-handover-');
const ORDER = (orderId: string, pickupCode: string, customer?: string) => ({
  orderId,
  pickupCode,
  ...(customer ? { customer } : {}),
  lines: [
    { name: 'Milk 1 L', qty: 2 },
    { name: 'Flowers', qty: 1 },
  ],
  total: 1878,
  currency: 'EUR',
  paidAt: '2026-11-24T18:00:00.000Z',
});

let hq: Mosquitto;
let opts: ConfigOptions;
let configFile: string;
let child: GatewayProcess | null = null;
let base = '';
let dev: Peripherals | null = null;

async function restart(): Promise<void> {
  await dev?.close().catch(() => undefined);
  await child?.kill('SIGKILL');
  child = await spawnGateway(configFile);
  base = `http://127.0.0.1:${child.httpPort}`;
  dev = await Peripherals.connect(`mqtt://127.0.0.1:${child.mqttPort}`, KIOSK_DEVICES.filter((d) => d.kind === 'scanner'));
}

/** Every record of `outbox export` (the CLI, reading outbox.db beside the running gateway). */
function exportRecords(): Promise<{ seq: number; class: string; kind: string; deviceId: string; type: string; data: Record<string, unknown> }[]> {
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
type Exported = Awaited<ReturnType<typeof exportRecords>>;
const handoversIn = (recs: Exported, orderId: string) => recs.filter((r) => r.kind === 'kiosk' && r.type === 'handover' && r.data.orderId === orderId);
const handovers = async (orderId: string) => handoversIn(await exportRecords(), orderId);

/** The kiosk page's WebSocket, as the page speaks it: hello, then intents; views arrive after every change. */
async function kioskSocket(kioskId: 'k1' | 'k2'): Promise<{ send: (m: object) => void; view: (pred: (v: CartView) => boolean) => Promise<CartView>; close: () => void }> {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/ws/kiosk`);
  const views: CartView[] = [];
  let waiters: { pred: (v: CartView) => boolean; resolve: (v: CartView) => void }[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as CartView;
    if (m.type !== 'cart') return;
    views.push(m);
    waiters = waiters.filter((w) => (w.pred(m) ? (w.resolve(m), false) : true));
  });
  await new Promise((r, j) => {
    ws.once('open', r);
    ws.once('error', j);
  });
  ws.send(JSON.stringify({ type: 'hello', kioskId, token: TOKENS[kioskId] }));
  return {
    send: (m) => ws.send(JSON.stringify(m)),
    view: (pred) => {
      const last = views.at(-1);
      if (last && pred(last)) return Promise.resolve(last);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    close: () => ws.close(),
  };
}

/** Scan the pickup code at a kiosk and confirm it on the kiosk's screen; resolves when the kiosk says so. */
async function collect(kioskId: 'k1' | 'k2', code: string, orderId: string): Promise<CartView> {
  const k = await kioskSocket(kioskId);
  await k.view(() => true);
  await dev!.scan(kioskId === 'k1' ? 'sc-1' : 'sc-2', `PICKUP:${code}`);
  await k.view((v) => v.pickup?.orderId === orderId && v.pickup.status === 'ready');
  k.send({ type: 'pickupConfirm' });
  const done = await k.view((v) => v.pickup?.status === 'collected');
  k.send({ type: 'pickupClose' });
  await k.view((v) => v.pickup === null);
  k.close();
  return done;
}

beforeAll(async () => {
  hq = await startMosquitto({ persistence: false });
  opts = { dataDir: path.join(tmp.dir, 'data'), devices: [...DEFAULT_DEVICES, ...KIOSK_DEVICES], extra: await kioskExtra(hq.url, signer.publicKeyPem, signer.kid) };
  // The orders arrive once, in-process (so the test can wait on them); the child finds them in kiosk.db.
  const seed = await startGateway(opts);
  const feeds = await connectHqFeeds(hq.url, 'test-store', signer);
  await feeds.publish('orders', 'store', 1, { mode: 'snapshot', orders: [ORDER('WEB-1', 'AAA111', 'A. Shopper'), ORDER('WEB-2', 'BBB222', 'l***@example.com'), ORDER('WEB-3', 'CCC333')] });
  const of = seed.gw.kiosk.orderFeed!;
  await until(seed.gw.kiosk.changes, 'orders', () => of.applied >= 1, 10_000, 'orders applied', () => of.rejected);
  await feeds.close();
  await seed.stop();
  // WAN down from here on: the uplink cannot empty the outbox, so `outbox export` sees every record.
  await hq.stop();
  configFile = await writeConfigFile(tmp.dir, opts);
  await restart();
});

afterAll(async () => {
  await dev?.close().catch(() => undefined);
  await child?.kill('SIGKILL');
  await hq?.stop().catch(() => undefined);
  tmp.remove();
});

describe('click & collect tasks', () => {
  let since = '';

  it('a pickup confirmed at a kiosk is a task in the ops API and on the live feed; the kiosk says someone is coming', async () => {
    const cookie = await login(base, 'viewer');
    expect((await api(base, cookie, 'GET', '/api/pickups')).json).toEqual({ tasks: [] });
    const sse = await SseReader.open(base, cookie);
    const hello = await sse.next((f) => f.event === 'hello');
    expect(hello.data.pickups).toEqual([]);

    const t0 = Date.now();
    const v = await collect('k1', 'AAA111', 'WEB-1');
    const t1 = Date.now();
    expect(v.notice).toEqual({ code: 'pickupBringing' });

    const frame = await sse.next((f) => f.event === 'pickups' && f.data.tasks.length === 1);
    const res = await api(base, cookie, 'GET', '/api/pickups');
    expect(res.status).toBe(200);
    expect(res.json.tasks).toEqual([{ orderId: 'WEB-1', kioskId: 'k1', customer: 'A. Shopper', items: 3, lines: 2, since: expect.any(String), state: 'open' }]);
    expect(frame.data.tasks).toEqual(res.json.tasks);
    since = res.json.tasks[0].since;
    expect(Date.parse(since)).toBeGreaterThanOrEqual(t0 - 5);
    expect(Date.parse(since)).toBeLessThanOrEqual(t1 + 5);
    sse.close();
  });

  it('the open task survives a SIGKILL of the gateway', async () => {
    await restart();
    const cookie = await login(base, 'viewer');
    const res = await api(base, cookie, 'GET', '/api/pickups');
    expect(res.json.tasks).toEqual([{ orderId: 'WEB-1', kioskId: 'k1', customer: 'A. Shopper', items: 3, lines: 2, since, state: 'open' }]);
    expect(await handovers('WEB-1')).toEqual([]);
  });

  it('only a logged-in attendant from this page hands over, and who is never taken from the body', async () => {
    const url = '/api/pickups/WEB-1/handover';
    expect((await api(base, null, 'POST', url, {})).status).toBe(401);
    expect((await api(base, await login(base, 'viewer'), 'POST', url, {})).status).toBe(403);
    const cookie = await login(base, 'attendant');
    const forged = await api(base, cookie, 'POST', url, { by: 'someone-else' });
    expect(forged.status).toBe(400);
    expect(forged.json.code).toBe('SGW_ERR_SCHEMA');
    expect(forged.json.message).toMatch(/^body/);
    const bad = await api(base, cookie, 'POST', '/api/pickups/WEB%201/handover', {});
    expect(bad.status).toBe(400);
    expect(bad.json.message).toMatch(/orderId/);
    const cross = await fetch(`${base}${url}`, { method: 'POST', headers: { cookie, origin: 'http://evil.example', 'content-type': 'application/json' }, body: '{}' });
    expect(cross.status).toBe(403);
    expect(((await cross.json()) as { code: string }).code).toBe('SGW_ERR_ORIGIN');
    expect((await api(base, cookie, 'POST', '/api/pickups/WEB-404/handover', {})).status).toBe(404);
    expect(await handovers('WEB-1')).toEqual([]);
    expect((await api(base, cookie, 'GET', '/api/pickups')).json.tasks).toHaveLength(1);
  });

  it('"handed over" is one exact record with who and when; a second one is refused and records nothing', async () => {
    const cookie = await login(base, 'attendant');
    const sse = await SseReader.open(base, cookie);
    await sse.next((f) => f.event === 'hello' && f.data.pickups.length === 1);
    const t0 = Date.now();
    const res = await api(base, cookie, 'POST', '/api/pickups/WEB-1/handover', {});
    const t1 = Date.now();
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ ok: true, orderId: 'WEB-1', kioskId: 'k1', by: 'attendant' });
    expect(Date.parse(res.json.at)).toBeGreaterThanOrEqual(t0 - 5);
    expect(Date.parse(res.json.at)).toBeLessThanOrEqual(t1 + 5);
    await sse.next((f) => f.event === 'pickups' && f.data.tasks.length === 0);
    expect((await api(base, cookie, 'GET', '/api/pickups')).json.tasks).toEqual([]);

    const again = await api(base, cookie, 'POST', '/api/pickups/WEB-1/handover', {});
    expect(again.status).toBe(409);
    expect(again.json.message).toBe(`order WEB-1 was already handed over by attendant at ${res.json.at}`);

    const recs = await handovers('WEB-1');
    expect(recs).toHaveLength(1);
    expect(recs[0]).toMatchObject({ seq: res.json.seq, class: 'exact', kind: 'kiosk', deviceId: 'k1', type: 'handover' });
    expect(recs[0].data).toEqual({ ts: res.json.at, kioskId: 'k1', orderId: 'WEB-1', by: 'attendant', at: res.json.at, collectedAt: since });
    sse.close();
  });

  it('two tabs press "handed over" at once: one record, the other tab is told', async () => {
    await collect('k2', 'BBB222', 'WEB-2');
    const [a, b] = [await login(base, 'attendant'), await login(base, 'admin')];
    expect((await api(base, a, 'GET', '/api/pickups')).json.tasks).toMatchObject([{ orderId: 'WEB-2', kioskId: 'k2', customer: 'l***@example.com', items: 3 }]);
    const both = await Promise.all([a, b].map((c) => api(base, c, 'POST', '/api/pickups/WEB-2/handover', {})));
    expect(both.map((r) => r.status).sort()).toEqual([200, 409]);
    const winner = both.find((r) => r.status === 200)!.json;
    expect(both.find((r) => r.status === 409)!.json.message).toMatch(new RegExp(`^order WEB-2 (is being|was already) handed over by ${winner.by}`));
    const recs = await handovers('WEB-2');
    expect(recs).toHaveLength(1);
    expect(recs[0].data).toMatchObject({ orderId: 'WEB-2', kioskId: 'k2', by: winner.by, at: winner.at });
  });

  it('killed between "handed over" and its record: after the restart there is exactly one record with the saved who and when', async () => {
    await collect('k1', 'CCC333', 'WEB-3');
    const lastSeq = Math.max(...(await exportRecords()).map((r) => r.seq));
    await dev!.close();
    dev = null;
    await child!.kill('SIGKILL');
    // As a crash leaves it: who and when saved ('handing'), no record yet (WEB-3); and a record
    // committed whose task was not yet marked done (WEB-1, put back to 'handing').
    const at = Date.parse('2026-11-25T09:30:00.000Z');
    const store = new KioskStore(path.join(opts.dataDir, 'kiosk.db'));
    await store.start();
    expect(await store.claimHandover('WEB-3', 'attendant', at, lastSeq)).toBe(true);
    await store.stop();
    const db = await openDb(path.join(opts.dataDir, 'kiosk.db'));
    await db.run("UPDATE orders SET handover = 'handing', handover_from_seq = 0 WHERE order_id = 'WEB-1'");
    await db.close();

    await restart();
    const cookie = await login(base, 'viewer');
    expect((await api(base, cookie, 'GET', '/api/pickups')).json.tasks).toEqual([]);
    // One `outbox export` (a process start) for both orders.
    const all = await exportRecords();
    const recs = handoversIn(all, 'WEB-3');
    expect(recs).toHaveLength(1);
    expect(recs[0].data).toMatchObject({ orderId: 'WEB-3', kioskId: 'k1', by: 'attendant', at: '2026-11-25T09:30:00.000Z' });
    expect(recs[0].seq).toBeGreaterThan(lastSeq);
    expect(handoversIn(all, 'WEB-1')).toHaveLength(1);
    const attendant = await login(base, 'attendant');
    expect((await api(base, attendant, 'POST', '/api/pickups/WEB-3/handover', {})).status).toBe(409);
  });
});
