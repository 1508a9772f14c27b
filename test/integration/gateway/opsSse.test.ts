/**
 * The live feed on its own (gateway/http/sse.ts) behind a real fastify listening on loopback, read
 * by a real HTTP client: hello, pushes on change, health recomputed without a registry event,
 * KPI changes coalesced, heartbeat comments, and a stop that ends the streams.
 */
import { Value } from '@sinclair/typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { createLogger } from '../../../gateway/log.js';
import { LiveFeed } from '../../../gateway/http/sse.js';
import type { DeviceRegistry, DeviceView } from '../../../gateway/devices/registry.js';
import { dayView, emptyCounts } from '../../../gateway/kpi/kpis.js';
import type { AlertRow } from '../../../gateway/kpi/kpiStore.js';
import { LiveEvents } from '../../../gateway/protocol/schemas/api/live.js';
import { SseReader } from './opsClient.js';

const view = (username: string, health: DeviceView['health'], events = 0) => ({ username, health, events, online: health !== 'offline' }) as unknown as DeviceView;
let devices: DeviceView[] = [view('scale/s1', 'online'), view('esl/ap-1', 'offline')];
const changeFns = new Set<(d: DeviceView) => void>();
const registry = { views: () => devices, onChange: (fn: (d: DeviceView) => void) => (changeFns.add(fn), () => changeFns.delete(fn)) } as unknown as DeviceRegistry;
const kpiFns = new Set<() => void>();
const alertFns = new Set<(a: AlertRow) => void>();
let visitors = 0;

const feed = new LiveFeed({
  registry,
  today: () => dayView('2026-11-25', 'UTC', 'EUR', new Map([[9, { ...emptyCounts(), visitors }]])),
  onKpiChange: (fn) => (kpiFns.add(fn), () => kpiFns.delete(fn)),
  onAlert: (fn) => (alertFns.add(fn), () => alertFns.delete(fn)),
  log: createLogger({ level: 'silent' }),
  now: Date.now,
  healthEveryMs: 50,
  heartbeatMs: 100,
  kpiEveryMs: 50,
});
let app: FastifyInstance;
let url: string;

beforeAll(async () => {
  app = Fastify({ forceCloseConnections: true });
  app.decorateRequest('session', null);
  app.addHook('onRequest', async (req) => {
    req.session = req.headers.cookie === 'sgw_session=ok' ? { token: 'ok', username: 'v', role: 'viewer', source: 'config', expiresAt: Infinity } : null;
  });
  await app.register(feed.plugin);
  feed.start();
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  feed.stop();
  await app.close();
});

describe('live feed', () => {
  it('needs a session', async () => {
    expect((await fetch(`${url}/api/events`)).status).toBe(401);
  });

  it('says hello, pushes changes, recomputes health, coalesces KPI changes and sends heartbeats', async () => {
    const sse = await SseReader.open(url, 'sgw_session=ok');
    const hello = await sse.next((f) => f.event === 'hello');
    expect(hello.data.devices.map((d: DeviceView) => d.username)).toEqual(['scale/s1', 'esl/ap-1']);

    for (const fn of changeFns) fn(view('esl/ap-1', 'online'));
    await sse.next((f) => f.event === 'device' && f.data.username === 'esl/ap-1' && f.data.health === 'online');

    // Stale is a matter of time: no registry event, the periodic recompute finds it.
    devices = [view('scale/s1', 'stale'), view('esl/ap-1', 'online')];
    await sse.next((f) => f.event === 'device' && f.data.username === 'scale/s1' && f.data.health === 'stale');

    visitors = 100;
    for (let i = 0; i < 100; i++) for (const fn of kpiFns) fn();
    const kpi = await sse.next((f) => f.event === 'kpi');
    expect(kpi.data.totals.visitors).toBe(100);
    // What the page parses is what the contract says a `kpi` message is.
    expect([...Value.Errors(LiveEvents.kpi, kpi.data)]).toEqual([]);
    for (const fn of changeFns) fn(view('esl/ap-1', 'offline'));
    await sse.next((f) => f.event === 'device' && f.data.username === 'esl/ap-1' && f.data.health === 'offline', kpi.at);
    expect(sse.frames.filter((f) => f.event === 'kpi')).toHaveLength(1);

    for (const fn of alertFns) fn({ id: 7, at: 1, source: 'scale/s1', code: 'LOW_BATTERY', severity: 'warning', message: 'low', seq: 3, ackedBy: null, ackedAt: null });
    const alert = await sse.next((f) => f.event === 'alert' && f.data.code === 'LOW_BATTERY');
    expect([...Value.Errors(LiveEvents.alert, alert.data)]).toEqual([]);
    expect((await sse.next((f) => f.event === ':')).data).toMatch(/^keepalive/);
    sse.close();
  });

  it('ends open streams when it stops', async () => {
    const sse = await SseReader.open(url, 'sgw_session=ok');
    await sse.next((f) => f.event === 'hello');
    expect(feed.clientCount).toBe(1);
    feed.stop();
    await sse.ended;
    expect(feed.clientCount).toBe(0);
  });
});
