/**
 * Store ops API against a real gateway (real broker, real SQLite): roles and 401/403, the live
 * feed (a device whose link goes silent is pushed offline within 1.5x its keepalive), device
 * provisioning (add → secret once, rotate → the old secret stops working, disable → the open
 * connection is closed and CONNECT refused), the alert book with acknowledge, and the day's
 * numbers computed from committed events, kept across a restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, startGateway, TEST_SECRET, type RunningGateway } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { topics } from '../../../gateway/protocol/topics.js';
import { localDayHour } from '../../../gateway/kpi/kpis.js';
import { api, freezableProxy, login, saleRecord, SseReader } from './opsClient.js';

const DEVICES = [
  { kind: 'footfall', id: 'door-1' },
  { kind: 'footfall', id: 'door-2' },
  { kind: 'kiosk', id: 'kiosk-1' },
] as const;
const TZ = 'America/New_York';

const tmp = tempDir('sgw-ops-');
let g: RunningGateway;
let admin: string;
let viewer: string;
let attendant: string;

async function start(): Promise<void> {
  g = await startGateway({ dataDir: tmp.dir, devices: [...DEVICES], extra: { ops: { timezone: TZ, healthEveryMs: 200, kpiFlushMs: 100 } } });
  [admin, viewer, attendant] = await Promise.all([login(g.httpUrl, 'admin'), login(g.httpUrl, 'viewer'), login(g.httpUrl, 'attendant')]);
}

beforeAll(start);
afterAll(async () => {
  await g?.gw.stop();
  tmp.remove();
});

describe('access', () => {
  it('refuses an unauthenticated caller with 401 and a viewer with 403', async () => {
    for (const url of ['/api/events', '/api/kpi', '/api/alerts', '/api/admin/users']) expect((await api(g.httpUrl, null, 'GET', url)).status).toBe(401);
    expect((await api(g.httpUrl, viewer, 'POST', '/api/admin/devices', { kind: 'scale', id: 'x' })).status).toBe(403);
    expect((await api(g.httpUrl, viewer, 'POST', '/api/alerts/1/ack', {})).status).toBe(403);
    expect((await api(g.httpUrl, attendant, 'GET', '/api/admin/users')).status).toBe(403);
  });

  it('ends a live feed when its session logs out', async () => {
    const mine = await login(g.httpUrl, 'viewer');
    const sse = await SseReader.open(g.httpUrl, mine);
    await sse.next((f) => f.event === 'hello');
    expect((await api(g.httpUrl, mine, 'POST', '/api/logout', {})).status).toBe(200);
    await sse.ended;
    expect((await api(g.httpUrl, mine, 'GET', '/api/events')).status).toBe(401);
  });

  it('changes no state on GET and validates every POST body', async () => {
    expect((await api(g.httpUrl, admin, 'GET', '/api/admin/devices/footfall/door-1/disable')).status).toBe(404);
    expect((await api(g.httpUrl, admin, 'POST', '/api/admin/devices', { kind: 'toaster', id: 'x' })).status).toBe(400);
    expect((await api(g.httpUrl, admin, 'POST', '/api/admin/devices', { kind: 'scale', id: 'x', extra: 1 })).status).toBe(400);
    expect((await api(g.httpUrl, admin, 'POST', '/api/admin/devices/footfall/door-1/disable')).status).toBe(400);
    // A config device is changed in the config file, not here.
    expect((await api(g.httpUrl, admin, 'POST', '/api/admin/devices/footfall/door-1/disable', {})).status).toBe(409);
  });

  it('lists the ops users, those of the config file as read-only (source config)', async () => {
    const r = await api(g.httpUrl, admin, 'GET', '/api/admin/users');
    expect(r.json).toEqual({ users: expect.arrayContaining([{ username: 'viewer', role: 'viewer', source: 'config', disabled: false, createdAt: null, createdBy: null }]), writable: true });
  });
});

describe('live feed', () => {
  it('says hello with every device, then pushes a silent device offline within 1.5x its keepalive', async () => {
    const sse = await SseReader.open(g.httpUrl, viewer);
    const hello = await sse.next((f) => f.event === 'hello');
    expect(hello.data.devices.map((d: { username: string }) => d.username).sort()).toEqual(DEVICES.map((d) => `${d.kind}/${d.id}`).sort());
    const proxy = await freezableProxy(g.gw.mqttPort);
    const keepaliveS = 1;
    const dev = await connectDevice(`mqtt://127.0.0.1:${proxy.port}`, 'footfall/door-2', TEST_SECRET, { keepalive: keepaliveS });
    dev.on('error', () => undefined);
    await sse.next((f) => f.event === 'device' && f.data.username === 'footfall/door-2' && f.data.health === 'online');
    const t0 = Date.now();
    proxy.freeze();
    const off = await sse.next((f) => f.event === 'device' && f.data.username === 'footfall/door-2' && f.data.health === 'offline', t0);
    const took = off.at - t0;
    // aedes closes at 1.5x keepalive after the last packet (a ping may have just gone by); the push itself is immediate.
    expect(took).toBeLessThanOrEqual(keepaliveS * 1500 + 500);
    dev.end(true);
    await proxy.close();
    sse.close();
  });
});

describe('admin', () => {
  it('adds a device (secret once), rotates it (old secret refused), disables it (connection closed, CONNECT refused) and enables it', async () => {
    const add = await api(g.httpUrl, admin, 'POST', '/api/admin/devices', { kind: 'scale', id: 'scale-9', location: 'produce' });
    expect(add.status).toBe(201);
    expect(add.json.username).toBe('scale/scale-9');
    expect(add.json.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect((await api(g.httpUrl, admin, 'POST', '/api/admin/devices', { kind: 'scale', id: 'scale-9' })).status).toBe(409);
    const first = await connectDevice(g.mqttUrl, 'scale/scale-9', add.json.password);
    first.on('error', () => undefined);

    const rot = await api(g.httpUrl, admin, 'POST', '/api/admin/devices/scale/scale-9/rotate', {});
    expect(rot.status).toBe(200);
    expect(rot.json.password).not.toBe(add.json.password);
    if (first.connected) await new Promise<void>((r) => first.once('close', () => r()));
    await expect(connectDevice(g.mqttUrl, 'scale/scale-9', add.json.password)).rejects.toThrow(/bad user ?name or password/i);
    const second = await connectDevice(g.mqttUrl, 'scale/scale-9', rot.json.password);
    second.on('error', () => undefined);
    const closed = new Promise<void>((r) => second.once('close', () => r()));

    const dis = await api(g.httpUrl, admin, 'POST', '/api/admin/devices/scale/scale-9/disable', {});
    expect(dis.json).toEqual({ username: 'scale/scale-9', disabled: true, disconnected: 1 });
    await closed;
    await expect(connectDevice(g.mqttUrl, 'scale/scale-9', rot.json.password)).rejects.toThrow(/not authori[sz]ed/i);
    const view = await api(g.httpUrl, viewer, 'GET', '/api/devices/scale/scale-9');
    expect(view.json.device.health).toBe('disabled');

    expect((await api(g.httpUrl, admin, 'POST', '/api/admin/devices/scale/scale-9/enable', {})).json.disabled).toBe(false);
    const third = await connectDevice(g.mqttUrl, 'scale/scale-9', rot.json.password);
    third.end(true);
  });
});

describe('alerts', () => {
  it('keeps device alerts and an offline device in the book; an attendant acknowledges one once', async () => {
    const sse = await SseReader.open(g.httpUrl, viewer);
    const dev = await connectDevice(g.mqttUrl, 'footfall/door-1', TEST_SECRET);
    await dev.publishAsync(topics.evt('footfall', 'door-1', 'alert'), JSON.stringify({ ts: new Date().toISOString(), code: 'DOOR_AJAR', severity: 'warning', message: 'door open 5 min' }), { qos: 1 });
    const pushed = await sse.next((f) => f.event === 'alert' && f.data.code === 'DOOR_AJAR');
    dev.end(true);
    await sse.next((f) => f.event === 'alert' && f.data.code === 'DEVICE_OFFLINE' && f.data.source === 'footfall/door-1');
    const list = await api(g.httpUrl, viewer, 'GET', '/api/alerts?open=true');
    expect(list.json.alerts.map((a: { code: string }) => a.code)).toEqual(expect.arrayContaining(['DOOR_AJAR', 'DEVICE_OFFLINE']));
    expect((await api(g.httpUrl, attendant, 'POST', `/api/alerts/${pushed.data.id}/ack`, {})).status).toBe(200);
    expect((await api(g.httpUrl, attendant, 'POST', `/api/alerts/${pushed.data.id}/ack`, {})).status).toBe(409);
    const after = await api(g.httpUrl, viewer, 'GET', '/api/alerts');
    expect(after.json.alerts.find((a: { id: number }) => a.id === pushed.data.id)).toMatchObject({ ackedBy: 'attendant' });
    sse.close();
  });
});

/** Commits one kiosk `transaction` exact record the way the gateway appends its own records. */
function commitTransaction(data: Record<string, unknown>): Promise<void> {
  const kiosk = g.gw.registry.get('kiosk', 'kiosk-1')!;
  return new Promise((resolve, reject) =>
    g.gw.ingest.handle(kiosk, 'transaction', topics.evt('kiosk', 'kiosk-1', 'transaction'), Buffer.from(JSON.stringify(data)), (err, rejected) =>
      err ? reject(err) : rejected ? reject(new Error(`transaction rejected: ${JSON.stringify(g.gw.registry.get('kiosk', 'kiosk-1')!.lastReject)}`)) : resolve(),
    ),
  );
}

describe('the day’s numbers', () => {
  it('counts footfall "in" (count and cross) per local hour and keeps it across a restart', async () => {
    const before = (await api(g.httpUrl, viewer, 'GET', '/api/kpi')).json;
    const now = Date.now();
    const { day, hour } = localDayHour(now, TZ);
    expect(before.day).toBe(day);
    const dev = await connectDevice(g.mqttUrl, 'footfall/door-2', TEST_SECRET);
    const ts = new Date(now).toISOString();
    await dev.publishAsync(topics.evt('footfall', 'door-2', 'count'), JSON.stringify({ ts, in: 7, out: 2 }), { qos: 1 });
    await dev.publishAsync(topics.evt('footfall', 'door-2', 'cross'), JSON.stringify({ ts, direction: 'in' }), { qos: 1 });
    await dev.publishAsync(topics.evt('footfall', 'door-2', 'cross'), JSON.stringify({ ts, direction: 'out' }), { qos: 1 });
    dev.end(true);
    const after = (await api(g.httpUrl, viewer, 'GET', '/api/kpi')).json;
    expect(after.totals.visitors - before.totals.visitors).toBe(8);
    expect(after.hours[hour].visitors - before.hours[hour].visitors).toBe(8);

    // A stop with a live page open ends its stream instead of waiting for it.
    const sse = await SseReader.open(g.httpUrl, viewer);
    await sse.next((f) => f.event === 'hello');
    await g.gw.stop();
    await sse.ended;
    await start();
    const again = (await api(g.httpUrl, viewer, 'GET', '/api/kpi')).json;
    expect(again.totals).toEqual(after.totals);
  });

  it('computes transactions, sales, conversion, average basket and repeat rate from kiosk transaction records', async () => {
    const before = (await api(g.httpUrl, viewer, 'GET', '/api/kpi')).json;
    const ts = new Date().toISOString();
    await commitTransaction(saleRecord({ ts, transactionId: 't-1', total: 1000, memberCode: 'M-1' }));
    await commitTransaction(saleRecord({ ts, transactionId: 't-2', total: 2000, memberCode: 'M-1' }));
    await commitTransaction(saleRecord({ ts, transactionId: 't-3', total: 600 }));
    const after = (await api(g.httpUrl, viewer, 'GET', '/api/kpi')).json;
    expect(after.totals.transactions - before.totals.transactions).toBe(3);
    expect(after.totals.sales - before.totals.sales).toBe(3600);
    expect(after.totals.memberTransactions - before.totals.memberTransactions).toBe(2);
    expect(after.totals.repeatTransactions - before.totals.repeatTransactions).toBe(1);
    expect(after.totals.conversion).toBeCloseTo(after.totals.transactions / after.totals.visitors, 10);
    expect(after.totals.averageBasket).toBe(Math.round(after.totals.sales / after.totals.transactions));
    expect(g.gw.ops.kpiSnapshot()).toMatchObject({ storeId: 'test-store', timezone: TZ, totals: after.totals });
  });
});
