/**
 * The device registry across a restart: a gateway child process learns two devices (birth,
 * events), stops cleanly (SIGTERM) and starts again on the same data folder; `GET /api/devices`
 * then lists every configured device at once, all offline, with last seen and counts from before.
 * Then live health: online on connect, offline on disconnect, stale when silent past its kind's
 * interval.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { GATEWAY_BIN, connectDevice, spawnGateway, writeConfigFile, TEST_PASSWORDS, TEST_SECRET, type GatewayProcess } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';

interface View {
  username: string;
  kind: string;
  id: string;
  health: string;
  online: boolean;
  lastSeen: number | null;
  events: number;
  birth: Record<string, unknown> | null;
  lastEvents: Record<string, { seq: number; data: unknown }>;
}

const DEVICES = [
  { kind: 'footfall', id: 'door-1' },
  { kind: 'footfall', id: 'door-2' },
  { kind: 'scale', id: 'scale-1' },
  { kind: 'esl', id: 'ap-1' },
  { kind: 'rfid', id: 'gate-1' },
] as const;
const USERNAMES = DEVICES.map((d) => `${d.kind}/${d.id}`).sort();
const BIRTH = { model: 'CNT-200', firmware: '2.4.1', capabilities: [] as string[] };

const tmp = tempDir('sgw-registry-');
const dataDir = path.join(tmp.dir, 'data');
let file: string;
let gw: GatewayProcess | null = null;

function env(): Record<string, string> {
  const e: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('STOREGW_') && v !== undefined) e[k] = v;
  return e;
}
const mqttUrl = () => `mqtt://127.0.0.1:${gw!.mqttPort}`;
const httpUrl = () => `http://127.0.0.1:${gw!.httpPort}`;

async function login(): Promise<string> {
  const res = await fetch(`${httpUrl()}/api/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password: TEST_PASSWORDS.admin }),
  });
  expect(res.status).toBe(200);
  const cookie = res.headers.getSetCookie().find((c) => c.startsWith('sgw_session='));
  expect(cookie).toBeDefined();
  return cookie!.split(';')[0];
}
async function devices(cookie: string): Promise<Map<string, View>> {
  const res = await fetch(`${httpUrl()}/api/devices`, { headers: { cookie } });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { devices: View[] };
  return new Map(body.devices.map((d) => [d.username, d]));
}
/** Polls GET /api/devices until `pred` holds (no event reaches the test for a health change). */
async function until(cookie: string, what: string, pred: (m: Map<string, View>) => boolean, timeoutMs = 10_000): Promise<Map<string, View>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await devices(cookie);
    if (pred(m)) return m;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify([...m.values()].map((d) => [d.username, d.health]))}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  if (!existsSync(GATEWAY_BIN)) {
    const b = spawnSync(process.execPath, ['build.mjs'], { stdio: 'inherit' });
    if (b.status !== 0) throw new Error('node build.mjs failed');
  }
  mkdirSync(tmp.dir, { recursive: true });
  file = await writeConfigFile(tmp.dir, { dataDir, devices: [...DEVICES], extra: { health: { staleAfterS: { footfall: 1 } } } });
});
afterAll(async () => {
  if (gw) await gw.kill('SIGTERM');
  tmp.remove();
});

describe('registry after a restart', () => {
  let before: Map<string, View>;

  it('first run: two devices speak, then the gateway stops cleanly', async () => {
    gw = await spawnGateway(file, env());
    const cookie = await login();
    const door = await connectDevice(mqttUrl(), 'footfall/door-1', TEST_SECRET);
    const ap = await connectDevice(mqttUrl(), 'esl/ap-1', TEST_SECRET);
    await door.publishAsync('store/v1/dev/footfall/door-1/birth', JSON.stringify(BIRTH), { qos: 1, retain: true });
    await ap.publishAsync('store/v1/dev/esl/ap-1/birth', JSON.stringify({ ...BIRTH, model: 'AP-9' }), { qos: 1, retain: true });
    for (let i = 0; i < 3; i++) await door.publishAsync('store/v1/dev/footfall/door-1/evt/count', JSON.stringify({ ts: new Date().toISOString(), in: i + 1, out: 0 }), { qos: 1 });
    await ap.publishAsync('store/v1/dev/esl/ap-1/evt/heartbeat', JSON.stringify({ ts: new Date().toISOString(), uptimeS: 10 }), { qos: 1 });
    await door.endAsync();
    await ap.endAsync();
    before = await until(cookie, 'both devices offline', (m) => m.get('footfall/door-1')!.health === 'offline' && m.get('esl/ap-1')!.health === 'offline');
    expect(before.get('footfall/door-1')).toMatchObject({ events: 3, birth: BIRTH });
    expect(before.get('esl/ap-1')).toMatchObject({ events: 1, birth: { model: 'AP-9' } });

    expect(await gw.kill('SIGTERM')).toBe(0);
    gw = null;
  });

  it('second run: every configured device is listed at once, offline, with last seen and counts from before', async () => {
    gw = await spawnGateway(file, env());
    const cookie = await login();
    const m = await devices(cookie); // the first request after "ready": nothing had to happen first
    expect([...m.keys()].sort()).toEqual(USERNAMES);
    for (const d of m.values()) {
      expect(d.health, d.username).toBe('offline');
      expect(d.online, d.username).toBe(false);
    }
    for (const u of ['footfall/door-1', 'esl/ap-1']) {
      const was = before.get(u)!;
      const now = m.get(u)!;
      expect(now.lastSeen, u).toBe(was.lastSeen);
      expect(now.events, u).toBe(was.events);
      expect(now.birth, u).toEqual(was.birth);
      expect(now.lastEvents, u).toEqual(was.lastEvents);
    }
    expect(m.get('footfall/door-1')!.lastEvents.count.data).toMatchObject({ in: 3, out: 0 });
    for (const u of ['footfall/door-2', 'scale/scale-1', 'rfid/gate-1']) expect(m.get(u), u).toMatchObject({ lastSeen: null, events: 0, birth: null });
  });

  it('GET /api/devices without a login is 401', async () => {
    const res = await fetch(`${httpUrl()}/api/devices`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'SGW_ERR_UNAUTHENTICATED' });
    const forged = await fetch(`${httpUrl()}/api/devices`, { headers: { cookie: 'sgw_session=forged-token' } });
    expect(forged.status).toBe(401);
  });

  it('a device that connects goes online; when it disconnects, offline', async () => {
    const cookie = await login();
    const ap = await connectDevice(mqttUrl(), 'esl/ap-1', TEST_SECRET);
    const on = await until(cookie, 'esl/ap-1 online', (m) => m.get('esl/ap-1')!.health === 'online');
    expect(on.get('esl/ap-1')!.lastSeen).toBeGreaterThan(before.get('esl/ap-1')!.lastSeen!);
    expect(on.get('footfall/door-1')!.health).toBe('offline');
    await ap.endAsync();
    await until(cookie, 'esl/ap-1 offline', (m) => m.get('esl/ap-1')!.health === 'offline' && !m.get('esl/ap-1')!.online);
  });

  it('a connected device silent past its kind\'s staleAfterS (footfall: 1 s) is stale, still connected', async () => {
    const cookie = await login();
    const door = await connectDevice(mqttUrl(), 'footfall/door-2', TEST_SECRET);
    const t0 = Date.now();
    const m = await until(cookie, 'footfall/door-2 stale', (x) => x.get('footfall/door-2')!.health === 'stale', 10_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    expect(m.get('footfall/door-2')!.online).toBe(true);
    expect(door.connected).toBe(true);
    // another kind keeps its default interval: an esl AP connected at the same time is still online
    const ap = await connectDevice(mqttUrl(), 'esl/ap-1', TEST_SECRET);
    await until(cookie, 'esl/ap-1 online', (x) => x.get('esl/ap-1')!.health === 'online');
    // speaking again brings the stale device back to online
    await door.publishAsync('store/v1/dev/footfall/door-2/evt/heartbeat', JSON.stringify({ ts: new Date().toISOString(), uptimeS: 5 }), { qos: 1 });
    await until(cookie, 'footfall/door-2 online again', (x) => x.get('footfall/door-2')!.health === 'online');
    await door.endAsync();
    await ap.endAsync();
  });
});
