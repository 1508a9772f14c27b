/**
 * The HTTP API without a gateway process: `buildServer(deps)` with real sessions, a real device
 * registry and alert book on SQLite files in a temp folder, and `inject()`. Each route is checked
 * for its refusals (no session, too small a role, a bad body) and for an answer that matches the
 * schema the pages import.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import type { TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { stringify } from 'yaml';
import { parseConfig } from '../../../../gateway/config.js';
import { DeviceRegistry } from '../../../../gateway/devices/registry.js';
import { DeviceStore } from '../../../../gateway/devices/store.js';
import { SESSION_COOKIE, SessionManager, type LoginUser, type Role } from '../../../../gateway/http/auth.js';
import { buildServer } from '../../../../gateway/http/server.js';
import { LiveFeed } from '../../../../gateway/http/sse.js';
import { kioskRoutes } from '../../../../gateway/http/routes/kiosk.js';
import { opsRoutes } from '../../../../gateway/http/routes/ops.js';
import { pickupRoutes } from '../../../../gateway/http/routes/pickups.js';
import { cartView } from '../../../../gateway/kiosk/cartView.js';
import { newSession } from '../../../../gateway/kiosk/sessionMachine.js';
import { dayView } from '../../../../gateway/kpi/kpis.js';
import { KpiStore } from '../../../../gateway/kpi/kpiStore.js';
import { createLogger } from '../../../../gateway/log.js';
import { Metrics } from '../../../../gateway/metrics.js';
import { AlertList, ApiError, DeviceDetail, DeviceList, HandedOver, KioskList, Me, Ok, PickupList, type PickupTask } from '../../../../gateway/protocol/schemas/api/index.js';
import { KioskServerMsgSchema } from '../../../../gateway/protocol/schemas/api/kioskSocket.js';
import { LiveHello } from '../../../../gateway/protocol/schemas/api/live.js';
import { DEVICE_SECRET_COST, hashSecret } from '../../../../gateway/scryptHash.js';
import { tempDir } from '../../../helpers/tmp.js';

const NOW = Date.parse('2026-05-04T10:00:00Z');
const tmp = tempDir('storegw-server-');
const log = createLogger({ level: 'silent' });
const users = new Map<string, LoginUser>();
const PASSWORD = 'correct horse battery';
const KIOSK_TOKEN = 'kiosk-token-k1';
let app: FastifyInstance;
let deviceStore: DeviceStore;
let registry: DeviceRegistry;
let kpi: KpiStore;
let feed: LiveFeed;
const cookies = new Map<Role, string>();
const kioskMetrics = new Metrics({ defaultMetrics: false });
const intents: unknown[] = [];

/** A task as the hand-over list holds it, plus a field the API does not declare. */
const TASK = { orderId: 'ord-1', kioskId: 'k1', customer: 'A. Shopper', items: 3, lines: 2, since: new Date(NOW).toISOString(), state: 'open', internalNote: 'not for the page' } as PickupTask;

function matches(schema: TSchema, body: unknown): void {
  const errors = [...Value.Errors(schema, body)].map((e) => `${e.path}: ${e.message}`);
  expect(errors).toEqual([]);
}

beforeAll(async () => {
  const secretHash = await hashSecret('scale-secret-1', DEVICE_SECRET_COST);
  const parsed = parseConfig(stringify({ storeId: 's1', data: { dir: tmp.dir }, devices: [{ kind: 'scale', id: 'sc-1', secretHash, location: 'deli' }] }));
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  deviceStore = new DeviceStore(path.join(tmp.dir, 'devices.db'));
  await deviceStore.start();
  registry = new DeviceRegistry({ config: parsed.config, store: deviceStore, log, now: () => NOW });
  await registry.start();
  kpi = new KpiStore(path.join(tmp.dir, 'kpi.db'));
  await kpi.start();
  await kpi.addAlert({ at: NOW, source: 'uplink', code: 'HQ_DOWN', severity: 'warning', message: 'HQ unreachable for 10 min', seq: null });

  for (const role of ['viewer', 'attendant', 'admin'] as const) {
    users.set(role, { username: role, role, passwordHash: await hashSecret(PASSWORD, DEVICE_SECRET_COST), disabled: false, source: 'store' });
  }
  const sessions = new SessionManager({ users: { find: (u) => users.get(u) }, ttlS: 3600, now: () => NOW });
  const kioskChanges = new EventEmitter();
  const today = () => dayView('2026-05-04', 'UTC', 'EUR', new Map());
  feed = new LiveFeed({ registry, today, onKpiChange: () => () => undefined, onAlert: () => () => undefined, log, now: () => NOW, healthEveryMs: 60_000 });
  feed.addHelloPart('pickups', () => [TASK]);
  app = await buildServer({
    log,
    metrics: new Metrics({ defaultMetrics: false }),
    sessions,
    registry,
    outbox: { recentDeadLetters: async () => [] },
    secureCookies: false,
    sessionTtlS: 3600,
    maxPacketBytes: 65_536,
    health: async () => ({ ok: true, checks: {} }),
    now: () => NOW,
    plugins: [
      async (a) => void (await a.register(feed.plugin)),
      async (a) => void (await a.register(opsRoutes, { today, day: async (d) => dayView(d, 'UTC', 'EUR', new Map()), alerts: (limit, open) => kpi.alerts(limit, open), ack: (id, by) => kpi.ackAlert(id, by, NOW) })),
      async (a) =>
        void (await a.register(kioskRoutes, {
          kiosks: [{ id: 'k1', tokenHash: await hashSecret(KIOSK_TOKEN, DEVICE_SECRET_COST) }],
          metrics: kioskMetrics,
          service: { kioskIds: ['k1'], view: (id) => cartView(newSession(id, 'sess-1', 'EUR', NOW, false), [], false), devices: () => ({ scanner: 'sc-k1' }), changes: kioskChanges, language: { default: 'en', idleMs: 60_000 }, intent: async (_id, m) => void intents.push(m) },
        })),
      async (a) =>
        void (await a.register(pickupRoutes, {
          handovers: {
            list: () => [TASK],
            handOver: async (orderId, by) => (orderId === TASK.orderId ? { ok: true, orderId, kioskId: 'k1', by, at: new Date(NOW).toISOString(), seq: 42 } : { ok: false, reason: 'notFound', message: `no open pickup ${orderId}` }),
          },
        })),
    ],
  });
  for (const role of ['viewer', 'attendant', 'admin'] as const) {
    const res = await app.inject({ method: 'POST', url: '/api/login', payload: { username: role, password: PASSWORD } });
    const c = res.cookies.find((x) => x.name === SESSION_COOKIE);
    if (!c) throw new Error(`no session cookie for ${role}: ${res.body}`);
    cookies.set(role, c.value);
  }
});

afterAll(async () => {
  await app?.close();
  await registry?.stop();
  await deviceStore?.stop();
  await kpi?.stop();
  tmp.remove();
});

const as = (role: Role) => ({ [SESSION_COOKIE]: cookies.get(role)! });

describe('POST /api/login', () => {
  it('answers who logged in, with exactly the fields of Me, and sets an HttpOnly cookie', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'viewer', password: PASSWORD } });
    expect(res.statusCode).toBe(200);
    matches(Me, res.json());
    expect(res.json()).toEqual({ username: 'viewer', role: 'viewer', source: 'store' });
    expect(res.cookies.find((c) => c.name === SESSION_COOKIE)?.httpOnly).toBe(true);
  });

  it('refuses a wrong password with 401 and a stable code', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'admin', password: 'wrong one' } });
    expect(res.statusCode).toBe(401);
    matches(ApiError, res.json());
    expect(res.json().code).toBe('SGW_ERR_UNAUTHENTICATED');
    expect(res.headers['set-cookie']).toBeUndefined();
  });

  it('refuses a body without a password, or with an extra field, naming the field', async () => {
    const missing = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'admin' } });
    expect(missing.statusCode).toBe(400);
    expect(missing.json()).toMatchObject({ code: 'SGW_ERR_SCHEMA' });
    expect(missing.json().message).toContain('password');
    const extra = await app.inject({ method: 'POST', url: '/api/login', payload: { username: 'admin', password: PASSWORD, role: 'admin' } });
    expect(extra.statusCode).toBe(400);
    expect(extra.json().message).toContain('role');
  });

  it('GET /api/me answers 401 without a session and Me with one', async () => {
    expect((await app.inject({ url: '/api/me' })).statusCode).toBe(401);
    const me = await app.inject({ url: '/api/me', cookies: as('attendant') });
    matches(Me, me.json());
    expect(me.json().role).toBe('attendant');
  });
});

describe('GET /api/devices', () => {
  it('needs a session', async () => {
    const res = await app.inject({ url: '/api/devices' });
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('SGW_ERR_UNAUTHENTICATED');
  });

  it('lists the devices as the DeviceList schema says, never a secret hash', async () => {
    const res = await app.inject({ url: '/api/devices', cookies: as('viewer') });
    expect(res.statusCode).toBe(200);
    matches(DeviceList, res.json());
    const [d] = res.json().devices;
    expect(d).toMatchObject({ username: 'scale/sc-1', health: 'offline', location: 'deli', source: 'config' });
    expect(res.body).not.toContain('secretHash');
    expect(res.body).not.toContain('scrypt$');
  });

  it('refuses a kind that does not exist by schema; a detail of an unknown device is 404', async () => {
    const bad = await app.inject({ url: '/api/devices?kind=toaster', cookies: as('viewer') });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().message).toContain('kind');
    const none = await app.inject({ url: '/api/devices/scale/nope', cookies: as('viewer') });
    expect(none.statusCode).toBe(404);
    matches(ApiError, none.json());
    const one = await app.inject({ url: '/api/devices/scale/sc-1', cookies: as('viewer') });
    expect(one.statusCode).toBe(200);
    matches(DeviceDetail, one.json());
    expect(one.json().commands).toBeNull();
  });
});

describe('GET /api/kiosks', () => {
  it('needs a session, then answers each kiosk as KioskSummary', async () => {
    expect((await app.inject({ url: '/api/kiosks' })).statusCode).toBe(401);
    const res = await app.inject({ url: '/api/kiosks', cookies: as('viewer') });
    expect(res.statusCode).toBe(200);
    matches(KioskList, res.json());
    expect(res.json().kiosks).toEqual([expect.objectContaining({ kioskId: 'k1', phase: 'idle', lines: 0, currency: 'EUR', devices: { scanner: 'sc-k1' } })]);
  });
});

describe('/api/pickups', () => {
  it('lists the open tasks with the declared fields only', async () => {
    expect((await app.inject({ url: '/api/pickups' })).statusCode).toBe(401);
    const res = await app.inject({ url: '/api/pickups', cookies: as('viewer') });
    expect(res.statusCode).toBe(200);
    matches(PickupList, res.json());
    // The response schema is also the serializer: a field it does not declare never reaches the page.
    expect(res.json().tasks[0]).not.toHaveProperty('internalNote');
    expect(res.json().tasks[0].orderId).toBe('ord-1');
  });

  it('a viewer may not hand over; an attendant may, with an empty body only', async () => {
    const viewer = await app.inject({ method: 'POST', url: '/api/pickups/ord-1/handover', payload: {}, cookies: as('viewer') });
    expect(viewer.statusCode).toBe(403);
    expect(viewer.json().code).toBe('SGW_ERR_NOT_AUTHORIZED');
    const smuggled = await app.inject({ method: 'POST', url: '/api/pickups/ord-1/handover', payload: { by: 'someone else' }, cookies: as('attendant') });
    expect(smuggled.statusCode).toBe(400);
    const ok = await app.inject({ method: 'POST', url: '/api/pickups/ord-1/handover', payload: {}, cookies: as('attendant') });
    expect(ok.statusCode).toBe(200);
    matches(HandedOver, ok.json());
    expect(ok.json()).toMatchObject({ by: 'attendant', seq: 42 });
    const unknown = await app.inject({ method: 'POST', url: '/api/pickups/ord-9/handover', payload: {}, cookies: as('attendant') });
    expect(unknown.statusCode).toBe(404);
    matches(ApiError, unknown.json());
  });
});

describe('/api/alerts', () => {
  it('lists the alert book as AlertList; acknowledging needs an attendant, and only once', async () => {
    expect((await app.inject({ url: '/api/alerts' })).statusCode).toBe(401);
    const list = await app.inject({ url: '/api/alerts?open=true', cookies: as('viewer') });
    expect(list.statusCode).toBe(200);
    matches(AlertList, list.json());
    const [alert] = list.json().alerts;
    expect(alert).toMatchObject({ code: 'HQ_DOWN', ackedBy: null });
    const viewer = await app.inject({ method: 'POST', url: `/api/alerts/${alert.id}/ack`, payload: {}, cookies: as('viewer') });
    expect(viewer.statusCode).toBe(403);
    const ack = await app.inject({ method: 'POST', url: `/api/alerts/${alert.id}/ack`, payload: {}, cookies: as('attendant') });
    expect(ack.statusCode).toBe(200);
    matches(Ok, ack.json());
    const again = await app.inject({ method: 'POST', url: `/api/alerts/${alert.id}/ack`, payload: {}, cookies: as('attendant') });
    expect(again.statusCode).toBe(409);
    const after = await app.inject({ url: '/api/alerts', cookies: as('viewer') });
    expect(after.json().alerts[0]).toMatchObject({ ackedBy: 'attendant', ackedAt: NOW });
  });

  it('refuses a limit out of range, naming it', async () => {
    const res = await app.inject({ url: '/api/alerts?limit=0', cookies: as('viewer') });
    expect(res.statusCode).toBe(400);
    expect(res.json().message).toContain('limit');
  });
});

describe('/ws/kiosk', () => {
  it('answers a good hello with a welcome and the cart, each a KioskServerMsg', async () => {
    const ws = await app.injectWS('/ws/kiosk');
    const got: { type: string }[] = [];
    const two = new Promise<void>((resolve) =>
      ws.on('message', (d) => {
        got.push(JSON.parse(String(d)) as { type: string });
        if (got.length === 2) resolve();
      }),
    );
    ws.send(JSON.stringify({ type: 'hello', kioskId: 'k1', token: KIOSK_TOKEN }));
    await two;
    ws.terminate();
    expect(got.map((m) => m.type)).toEqual(['welcome', 'cart']);
    for (const m of got) matches(KioskServerMsgSchema, m);
    expect(got[1]).toMatchObject({ kioskId: 'k1', phase: 'idle', total: 0, currency: 'EUR' });
  });

  it('closes the socket of a wrong token with 4401', async () => {
    const ws = await app.injectWS('/ws/kiosk');
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.send(JSON.stringify({ type: 'hello', kioskId: 'k1', token: 'not the token' }));
    expect(await closed).toBe(4401);
  });

  it('refuses a malformed intent with an error naming the field, counts it, and passes a good one on as checked', async () => {
    const ws = await app.injectWS('/ws/kiosk');
    const got: { type: string; message?: string }[] = [];
    const waiters: (() => void)[] = [];
    ws.on('message', (d) => {
      got.push(JSON.parse(String(d)) as { type: string });
      for (const w of waiters.splice(0)) w();
    });
    const until = (pred: () => boolean) => new Promise<void>((resolve) => (pred() ? resolve() : waiters.push(function again() { if (pred()) resolve(); else waiters.push(again); })));
    const errors = () => got.filter((m) => m.type === 'error').map((m) => m.message);
    const refusedBefore = (await kioskMetrics.kioskRefused.get()).values.find((v) => v.labels.code === 'badMessage')?.value ?? 0;
    ws.send(JSON.stringify({ type: 'hello', kioskId: 'k1', token: KIOSK_TOKEN }));
    await until(() => got.some((m) => m.type === 'cart'));
    ws.send(JSON.stringify({ type: 'setQty', lineId: 'l1', qty: -1 }));
    ws.send(JSON.stringify({ type: 'remove' }));
    // A price the page adds is no field of the intent: allowed and never read.
    ws.send(JSON.stringify({ type: 'setQty', lineId: 'l1', qty: 2, price: 1 }));
    ws.send(JSON.stringify({ type: 'done' }));
    await until(() => errors().length === 3);
    ws.terminate();
    expect(errors()).toEqual(['qty: must be >= 0', 'lineId: is required', 'type: unknown intent "done"']);
    expect(intents).toEqual([{ type: 'setQty', lineId: 'l1', qty: 2, price: 1 }]);
    const refused = (await kioskMetrics.kioskRefused.get()).values.find((v) => v.labels.code === 'badMessage')?.value ?? 0;
    expect(refused - refusedBefore).toBe(3);
  });
});

describe('GET /api/events', () => {
  it('needs a session', async () => {
    expect((await app.inject({ url: '/api/events' })).statusCode).toBe(401);
  });

  it('opens with a hello that matches LiveHello', async () => {
    const answer = app.inject({ url: '/api/events', cookies: as('viewer') });
    // The stream stays open: once it has its client, stopping the feed ends it and the answer completes.
    await vi.waitFor(() => expect(feed.clientCount).toBe(1));
    feed.stop();
    const res = await answer;
    expect(res.headers['content-type']).toContain('text/event-stream');
    const hello = /event: hello\ndata: (.*)\n/.exec(res.body);
    expect(hello).not.toBeNull();
    const body = JSON.parse(hello![1]) as unknown;
    matches(LiveHello, body);
    expect(body).toMatchObject({ serverTime: NOW, devices: [expect.objectContaining({ username: 'scale/sc-1' })], pickups: [expect.objectContaining({ orderId: 'ord-1' })] });
  });
});
