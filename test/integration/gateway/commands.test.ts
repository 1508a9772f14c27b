/**
 * Device commands end to end on a real gateway (aedes, SQLite, fastify): ops sends a light `set`
 * to an offline device → recorded pending → the device connects and gets it with the same cmdId
 * → acks → the detail shows it acked. A bridged device gets it from the real bridge. The command
 * survives a SIGKILL of a gateway child process. The route's auth and validation.
 */
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { existsSync, mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { MqttClient } from 'mqtt';
import { GATEWAY_BIN, TEST_SECRET, connectDevice, spawnGateway, startGateway, writeConfigFile, type RunningGateway, type TestDevice } from '../../helpers/gatewayHarness.js';
import { tempDir } from '../../helpers/tmp.js';
import { api, login } from './opsClient.js';
import { Bridge } from '../../../firmware-bridge/bridge.js';
import { newStats, type DeviceDriver, type DriverEvents } from '../../../firmware-bridge/devices/deviceDriver.js';

const DEVICES: TestDevice[] = [
  { kind: 'light', id: 'lt-1' },
  { kind: 'scale', id: 'sc-1' },
  { kind: 'payment', id: 'pay-1' },
  { kind: 'light', id: 'br-light', bridge: 'b1' },
];

/** A device as a store would run it: subscribes to its commands, then announces itself. */
async function device(url: string, kind: string, id: string): Promise<{ client: MqttClient; commands: Record<string, unknown>[]; next: (pred: (c: Record<string, unknown>) => boolean) => Promise<Record<string, unknown>> }> {
  const client = await connectDevice(url, `${kind}/${id}`, TEST_SECRET);
  const commands: Record<string, unknown>[] = [];
  const waiters: { pred: (c: Record<string, unknown>) => boolean; resolve: (c: Record<string, unknown>) => void }[] = [];
  client.on('message', (topic, buf) => {
    const c = { type: topic.split('/').pop(), ...(JSON.parse(buf.toString('utf8')) as Record<string, unknown>) };
    commands.push(c);
    for (const w of waiters.splice(0)) (w.pred(c) ? w.resolve(c) : waiters.push(w));
  });
  await client.subscribeAsync(`store/v1/dev/${kind}/${id}/cmd/#`, { qos: 1 });
  await client.publishAsync(`store/v1/dev/${kind}/${id}/birth`, JSON.stringify({ model: 'test', firmware: '1', capabilities: [] }), { qos: 1, retain: true });
  return {
    client,
    commands,
    next: (pred) => {
      const seen = commands.find(pred);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

function ackOf(kind: string, id: string, client: MqttClient, cmdId: unknown, ok = true): Promise<unknown> {
  return client.publishAsync(`store/v1/dev/${kind}/${id}/evt/ack`, JSON.stringify({ ts: new Date().toISOString(), cmdId, ok }), { qos: 1 });
}

/** Re-reads until `ok` holds (the ack is settled in the gateway just after its PUBACK); bounded, never a fixed sleep. */
async function until<T>(read: () => Promise<T>, ok: (v: T) => boolean, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await read();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
}

class FakeLight extends EventEmitter<DriverEvents> implements DeviceDriver {
  readonly kind = 'light' as const;
  readonly stats = newStats();
  readonly runs: Record<string, unknown>[] = [];
  online = false;
  constructor(readonly id: string) {
    super();
  }
  birth() {
    return { model: 'fake tower', firmware: '0', capabilities: ['set'] };
  }
  async start() {
    this.online = true;
    this.emit('online');
  }
  async stop() {
    this.online = false;
  }
  async command(type: string, payload: Record<string, unknown>) {
    this.runs.push({ type, ...payload });
    return { ok: true };
  }
}

describe('commands on an in-process gateway', () => {
  let gw: RunningGateway;
  let attendant: string;
  beforeAll(async () => {
    gw = await startGateway({ devices: DEVICES, bridges: ['b1'] });
    attendant = await login(gw.httpUrl, 'attendant');
  });
  afterAll(async () => gw?.stop());

  it('an ops light set to an offline device waits, reaches it on connect with the same cmdId, and shows acked', async () => {
    const post = await api(gw.httpUrl, attendant, 'POST', '/api/devices/light/lt-1/commands', { type: 'set', data: { color: 'amber', mode: 'flash' } });
    expect(post.status).toBe(202);
    expect(post.json).toEqual({ cmdId: expect.any(String), state: 'pending' });
    const cmdId = post.json.cmdId as string;
    const before = await api(gw.httpUrl, attendant, 'GET', '/api/devices/light/lt-1');
    expect(before.json.commands.pending).toMatchObject([{ cmdId, type: 'set', state: 'pending', attempts: 0, lastSentAt: null, source: 'ops:attendant', data: { color: 'amber', mode: 'flash' } }]);

    const dev = await device(gw.mqttUrl, 'light', 'lt-1');
    const got = await dev.next((c) => c.cmdId === cmdId);
    expect(got).toEqual({ type: 'set', cmdId, color: 'amber', mode: 'flash' });
    await ackOf('light', 'lt-1', dev.client, cmdId);
    const after = await until(() => api(gw.httpUrl, attendant, 'GET', '/api/devices/light/lt-1'), (r) => r.json.commands.pending.length === 0);
    expect(after.json.commands.pending).toEqual([]);
    expect(after.json.commands.recent[0]).toMatchObject({ cmdId, state: 'acked', error: null, attempts: 1 });
    const metrics = await (await fetch(`${gw.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(/storegw_commands_acked_total\{kind="light"\} 1/);
    await dev.client.endAsync();
  });

  it('a bridged device gets its pending command once the bridge is up; the driver runs it once though it is re-sent', async () => {
    const post = await api(gw.httpUrl, attendant, 'POST', '/api/devices/light/br-light/commands', { type: 'set', data: { color: 'red', mode: 'steady' } });
    expect(post.status).toBe(202);
    const light = new FakeLight('br-light');
    const bridge = new Bridge({ url: gw.mqttUrl, username: 'bridge/b1', password: TEST_SECRET, drivers: [light], logger: pino({ level: 'silent' }) });
    await bridge.start();
    try {
      const row = await until(() => gw.gw.commands.get(post.json.cmdId), (r) => r?.state === 'acked');
      expect(row).toMatchObject({ state: 'acked', attempts: 1 });
      expect(light.runs).toEqual([{ type: 'set', cmdId: post.json.cmdId, color: 'red', mode: 'steady' }]);
      // The same cmdId again (as after a lost ack): answered again, not run again, nothing breaks.
      await gw.gw.broker.publish('store/v1/dev/light/br-light/cmd/set', JSON.stringify({ cmdId: post.json.cmdId, color: 'red', mode: 'steady' }), 1);
      const acks = await until(async () => (await gw.gw.outbox.read(1, 10_000)).filter((r) => r.type === 'ack' && r.data.cmdId === post.json.cmdId).length, (n) => n === 2);
      expect(acks).toBe(2);
      expect(light.runs).toHaveLength(1);
      expect((await gw.gw.commands.get(post.json.cmdId))!.state).toBe('acked');
    } finally {
      await bridge.stop();
    }
  });

  it('refuses strangers, viewers, bad bodies (naming the field), unknown and disabled devices, and a charge', async () => {
    const url = '/api/devices/light/lt-1/commands';
    const good = { type: 'set', data: { color: 'green', mode: 'steady' } };
    expect((await api(gw.httpUrl, null, 'POST', url, good)).status).toBe(401);
    expect((await api(gw.httpUrl, null, 'POST', url, { nonsense: 1 })).status).toBe(401); // auth before validation
    const viewer = await login(gw.httpUrl, 'viewer');
    expect((await api(gw.httpUrl, viewer, 'POST', url, good)).status).toBe(403);

    const bad = await api(gw.httpUrl, attendant, 'POST', url, { type: 'set', data: { color: 'green', state: 'on' } });
    expect(bad.status).toBe(400);
    expect(bad.json.code).toBe('SGW_ERR_SCHEMA');
    expect(bad.json.message).toContain('body.data.mode: is required');
    expect(bad.json.message).toContain('body.data.state: is not allowed');
    const color = await api(gw.httpUrl, attendant, 'POST', url, { type: 'set', data: { color: 'blue', mode: 'steady' } });
    expect(color.status).toBe(400);
    expect(color.json.message).toMatch(/^body\.data\.color: must be one of/);
    const type = await api(gw.httpUrl, attendant, 'POST', url, { type: 'blink', data: {} });
    expect(type.status).toBe(400);
    expect(type.json.message).toMatch(/^body\.type: light has no command "blink"/);
    const extra = await api(gw.httpUrl, attendant, 'POST', url, { ...good, when: 'now' });
    expect(extra.status).toBe(400);
    expect(extra.json.message).toBe('body.when: is not allowed');

    expect((await api(gw.httpUrl, attendant, 'POST', '/api/devices/light/nope/commands', good)).status).toBe(404);
    gw.gw.registry.addProvisioned('scale', 'sc-off', 'unused-hash', null, true);
    const disabled = await api(gw.httpUrl, attendant, 'POST', '/api/devices/scale/sc-off/commands', { type: 'tare' });
    expect(disabled.status).toBe(409);
    expect(disabled.json.code).toBe('SGW_ERR_CONFLICT');

    const admin = await login(gw.httpUrl, 'admin');
    const charge = await api(gw.httpUrl, admin, 'POST', '/api/devices/payment/pay-1/commands', { type: 'charge', data: { requestId: 'r-1', amount: 100, currency: 'EUR' } });
    expect(charge.status).toBe(403);
    expect(charge.json.message).toMatch(/only sent by a kiosk session/);
    expect(await gw.gw.commands.pending('payment', 'pay-1')).toEqual([]);

    const tare = await api(gw.httpUrl, admin, 'POST', '/api/devices/scale/sc-1/commands', { type: 'tare' });
    expect(tare.status).toBe(202);
    expect((await gw.gw.commands.pending('scale', 'sc-1')).map((c) => [c.cmdId, c.source])).toEqual([[tare.json.cmdId, 'ops:admin']]);
  });
});

describe('a pending command survives SIGKILL', () => {
  const tmp = tempDir('sgw-cmd-kill-');
  afterAll(() => tmp.remove());

  it('ops sends to an offline light, the gateway is killed -9 and restarted, the light connects and still gets it', async () => {
    if (!existsSync(GATEWAY_BIN)) throw new Error(`${GATEWAY_BIN} is missing: run node build.mjs first`);
    const dataDir = path.join(tmp.dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const file = await writeConfigFile(tmp.dir, { dataDir, devices: DEVICES, bridges: ['b1'] });
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('STOREGW_') && v !== undefined) env[k] = v;

    let gw = await spawnGateway(file, env);
    let http = `http://127.0.0.1:${gw.httpPort}`;
    const post = await api(http, await login(http, 'attendant'), 'POST', '/api/devices/light/lt-1/commands', { type: 'set', data: { color: 'red', mode: 'flash' } });
    expect(post.status).toBe(202);
    expect(await gw.kill('SIGKILL')).toBeNull(); // killed by the signal, no exit code

    gw = await spawnGateway(file, env);
    try {
      http = `http://127.0.0.1:${gw.httpPort}`;
      const cookie = await login(http, 'attendant');
      expect((await api(http, cookie, 'GET', '/api/devices/light/lt-1')).json.commands.pending.map((c: { cmdId: string }) => c.cmdId)).toEqual([post.json.cmdId]);
      const dev = await device(`mqtt://127.0.0.1:${gw.mqttPort}`, 'light', 'lt-1');
      expect(await dev.next((c) => c.cmdId === post.json.cmdId)).toEqual({ type: 'set', cmdId: post.json.cmdId, color: 'red', mode: 'flash' });
      await ackOf('light', 'lt-1', dev.client, post.json.cmdId);
      const after = await until(() => api(http, cookie, 'GET', '/api/devices/light/lt-1'), (r) => r.json.commands.recent.length > 0);
      expect(after.json.commands.recent[0]).toMatchObject({ cmdId: post.json.cmdId, state: 'acked' });
      await dev.client.endAsync();
    } finally {
      await gw.kill('SIGTERM');
    }
  });
});
