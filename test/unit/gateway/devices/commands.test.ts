/**
 * The command store on a real SQLite file with an injected clock and publish: recorded before the
 * publish, acks settle, reconnect re-sends in order (after the device shows it listens), TTL
 * expiry (a stale charge is never sent), retry up to max attempts, superseding, unknown acks
 * counted, bad payloads refused naming the field, pending commands surviving a restart, pruning;
 * a caller's own cmdId sent once, and waiting for the answer (given up when the wait ends).
 */
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CommandService } from '../../../../gateway/devices/commands.js';
import type { DeviceEntry, DeviceView } from '../../../../gateway/devices/registry.js';
import type { NewEvent } from '../../../../gateway/outbox/store.js';
import { Metrics } from '../../../../gateway/metrics.js';
import { createLogger } from '../../../../gateway/log.js';
import { SgwError } from '../../../../gateway/errors.js';
import type { DeviceKind } from '../../../../gateway/protocol/topics.js';
import { tempDir } from '../../../helpers/tmp.js';

const T0 = Date.parse('2026-11-25T09:00:00.000Z');
const log = createLogger({ level: 'silent' });

class FakeRegistry {
  readonly devices = new Map<string, DeviceEntry>();
  private readonly listeners = new Set<(d: DeviceView) => void>();
  add(kind: DeviceKind, id: string): void {
    this.devices.set(`${kind}/${id}`, { kind, id, source: 'config', secretHash: null, bridge: null, location: null, disabled: false, online: false, via: null, connectedAt: null, lastSeen: null, birth: null, lastEvents: {}, events: 0, rejects: {}, lastReject: null });
  }
  get(kind: DeviceKind, id: string): DeviceEntry | undefined {
    return this.devices.get(`${kind}/${id}`);
  }
  view(d: DeviceEntry): DeviceView {
    const { secretHash: _s, ...rest } = d;
    return { ...rest, username: `${d.kind}/${d.id}`, health: d.online ? 'online' : 'offline' };
  }
  views(): DeviceView[] {
    return [...this.devices.values()].map((d) => this.view(d));
  }
  onChange(fn: (d: DeviceView) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
  set(kind: DeviceKind, id: string, patch: Partial<DeviceEntry>): void {
    const d = this.get(kind, id)!;
    Object.assign(d, patch);
    for (const fn of this.listeners) fn(this.view(d));
  }
}

interface Sent {
  topic: string;
  cmd: Record<string, unknown>;
}

let tmp: ReturnType<typeof tempDir>;
let now: number;
let reg: FakeRegistry;
let sent: Sent[];
let failPublish: boolean;
let metrics: Metrics;
let svc: CommandService;
let seq = 0;

function service(opts: { listenGraceMs?: number } = {}): CommandService {
  return new CommandService({
    file: path.join(tmp.dir, 'commands.db'),
    registry: reg,
    publish: async (topic, payload) => {
      if (failPublish) throw new Error('broker says no');
      sent.push({ topic, cmd: JSON.parse(payload) as Record<string, unknown> });
    },
    metrics,
    log,
    now: () => now,
    retryEveryMs: 0,
    listenGraceMs: opts.listenGraceMs ?? 0,
  });
}

function ack(kind: DeviceKind, id: string, cmdId: string, ok: boolean, error?: string): NewEvent {
  const data = { ts: new Date(now).toISOString(), cmdId, ok, ...(error !== undefined ? { error } : {}) };
  return { seq: ++seq, cls: 'exact', kind, deviceId: id, type: 'ack', ts: data.ts, recvTs: now, monoMs: 0, data: JSON.stringify(data) };
}

async function count(c: { get: () => Promise<{ values: { value: number; labels: Record<string, unknown> }[] }> }, labels: Record<string, string> = {}): Promise<number> {
  const m = await c.get();
  return m.values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

beforeEach(async () => {
  tmp = tempDir('sgw-cmd-');
  now = T0;
  reg = new FakeRegistry();
  for (const [k, id] of [['light', 'lt-1'], ['scale', 'sc-1'], ['payment', 'pay-1'], ['rfid', 'rf-1']] as const) reg.add(k, id);
  sent = [];
  failPublish = false;
  metrics = new Metrics({ defaultMetrics: false });
  svc = service();
  await svc.start();
});
afterEach(async () => {
  await svc.stop();
  tmp.remove();
});

describe('send', () => {
  it('records the command before it publishes; a publish that throws leaves it pending, and the retry sends it', async () => {
    reg.set('light', 'lt-1', { online: true, via: 'bridge' });
    let rowAtPublish: unknown = 'not called';
    const s2 = new CommandService({
      file: path.join(tmp.dir, 'commands.db'),
      registry: reg,
      publish: async (_t, payload) => {
        rowAtPublish = await s2.get(String((JSON.parse(payload) as { cmdId: string }).cmdId));
      },
      metrics,
      log,
      now: () => now,
      retryEveryMs: 0,
    });
    await svc.stop();
    await s2.start();
    const id1 = await s2.send('light', 'lt-1', 'set', { color: 'green', mode: 'steady' }, { source: 'ops:admin' });
    expect(rowAtPublish).toMatchObject({ cmdId: id1, state: 'pending', attempts: 1, source: 'ops:admin', data: { color: 'green', mode: 'steady' } });
    await s2.stop();

    svc = service();
    await svc.start();
    await svc.idle();
    // lt-1 is online and never acked: a (re)started service re-sends its pending command at once.
    expect(sent.map((s) => s.cmd.cmdId)).toEqual([id1]);
    sent.length = 0;
    failPublish = true;
    const id2 = await svc.send('scale', 'sc-1', 'tare', {}, { source: 'kiosk:k1' }).catch((e: Error) => e);
    // sc-1 is offline: nothing published, nothing failed; the row waits.
    expect(typeof id2).toBe('string');
    reg.set('scale', 'sc-1', { online: true, via: 'bridge' });
    await svc.idle();
    expect(await svc.get(id2 as string)).toMatchObject({ state: 'pending', attempts: 1 });
    expect(sent).toHaveLength(0);
    failPublish = false;
    now += 15_000;
    await svc.tick();
    const scale = sent.filter((s) => s.topic.startsWith('store/v1/dev/scale/'));
    expect(scale.map((s) => s.cmd.cmdId)).toEqual([id2]);
    expect(scale[0].topic).toBe('store/v1/dev/scale/sc-1/cmd/tare');
    expect(await svc.get(id2 as string)).toMatchObject({ state: 'pending', attempts: 2 });
  });

  it('refuses an unknown type or a bad payload, naming the field, and records nothing', async () => {
    reg.set('light', 'lt-1', { online: true, via: 'bridge' });
    const errOf = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as SgwError);
    const bad = await errOf(svc.send('light', 'lt-1', 'set', { color: 'purple', mode: 'steady' }, { source: 't' }));
    expect(bad).toBeInstanceOf(SgwError);
    expect(bad!.code).toBe('SGW_ERR_SCHEMA');
    expect(bad!.message).toMatch(/^data\.color: must be one of "off", "green", "amber", "red"/);
    expect((await errOf(svc.send('light', 'lt-1', 'set', { color: 'red' }, { source: 't' })))!.message).toBe('data.mode: is required');
    expect((await errOf(svc.send('light', 'lt-1', 'blink', {}, { source: 't' })))!.message).toMatch(/^type: light has no command "blink"/);
    expect((await errOf(svc.send('light', 'lt-1', 'set', { cmdId: 'x', color: 'red', mode: 'flash' }, { source: 't' })))!.message).toBe('data.cmdId: is assigned by the gateway');
    expect((await errOf(svc.send('light', 'nope', 'set', { color: 'red', mode: 'flash' }, { source: 't' })))!.code).toBe('SGW_ERR_NOT_FOUND');
    expect(sent).toHaveLength(0);
    expect(await svc.pending('light', 'lt-1')).toHaveLength(0);
    expect(await svc.recent('light', 'lt-1')).toHaveLength(0);
  });
});

describe('acks', () => {
  it('ok marks acked, ok:false marks failed with the error, an unknown cmdId is counted and ignored, a second ack changes nothing', async () => {
    reg.set('scale', 'sc-1', { online: true, via: 'bridge' });
    const a = await svc.send('scale', 'sc-1', 'tare', {}, { source: 'ops:att' });
    const b = await svc.send('scale', 'sc-1', 'zero', {}, { source: 'ops:att' });
    now += 200;
    svc.onEvent(ack('scale', 'sc-1', a, true));
    svc.onEvent(ack('scale', 'sc-1', b, false, 'scale not stable'));
    svc.onEvent(ack('scale', 'sc-1', 'no-such-cmd', true));
    await svc.idle();
    expect(await svc.get(a)).toMatchObject({ state: 'acked', ackedAt: T0 + 200, error: null });
    expect(await svc.get(b)).toMatchObject({ state: 'failed', ackedAt: T0 + 200, error: 'scale not stable' });
    expect(await svc.get('no-such-cmd')).toBeUndefined();
    svc.onEvent(ack('scale', 'sc-1', b, true)); // a re-sent command answered again: the first answer stands
    await svc.idle();
    expect((await svc.get(b))!.state).toBe('failed');
    expect(await count(metrics.commandsAcked, { kind: 'scale' })).toBe(1);
    expect(await count(metrics.commandsFailed, { kind: 'scale', reason: 'device' })).toBe(1);
    expect(await count(metrics.commandAcksUnknown, { kind: 'scale' })).toBe(1);
    expect(await svc.pending('scale', 'sc-1')).toHaveLength(0);
    expect((await svc.recent('scale', 'sc-1')).map((r) => r.cmdId)).toEqual([b, a]);
  });
});

describe('reconnect', () => {
  it('re-sends every pending command of the device in the order asked for, with the same cmdIds', async () => {
    const ids = [
      await svc.send('rfid', 'rf-1', 'inventory', { action: 'start' }, { source: 'ops:a' }),
      await svc.send('scale', 'sc-1', 'tare', {}, { source: 'k' }),
    ];
    const scale = [ids[1], await svc.send('scale', 'sc-1', 'zero', {}, { source: 'k' }), await svc.send('scale', 'sc-1', 'tare', {}, { source: 'k' })];
    expect(sent).toHaveLength(0); // both offline
    reg.set('scale', 'sc-1', { online: true, via: 'direct' });
    await svc.idle();
    expect(sent.map((s) => s.cmd.cmdId)).toEqual(scale);
    expect(sent.map((s) => s.topic.split('/').pop())).toEqual(['tare', 'zero', 'tare']);
    expect(await count(metrics.commandsResent)).toBe(0); // first sends, not re-sends
    // Offline and back: still unacked, so all three again.
    reg.set('scale', 'sc-1', { online: false, via: null });
    reg.set('scale', 'sc-1', { online: true, via: 'direct' });
    await svc.idle();
    expect(sent.map((s) => s.cmd.cmdId)).toEqual([...scale, ...scale]);
    expect(await count(metrics.commandsResent, { kind: 'scale' })).toBe(3);
    expect((await svc.pending('rfid', 'rf-1')).map((r) => r.cmdId)).toEqual([ids[0]]);
  });

  it('waits for a directly connected device to show it listens (birth or an event) before re-sending', async () => {
    await svc.stop();
    svc = service({ listenGraceMs: 60_000 });
    await svc.start();
    const id = await svc.send('light', 'lt-1', 'set', { color: 'amber', mode: 'flash' }, { source: 'k' });
    reg.set('light', 'lt-1', { online: true, via: 'direct' });
    await svc.idle();
    expect(sent).toHaveLength(0); // CONNACK not even sent yet: it cannot have subscribed
    reg.set('light', 'lt-1', { birth: { model: 'LT', firmware: '1', capabilities: [] } });
    await svc.idle();
    expect(sent.map((s) => s.cmd)).toEqual([{ cmdId: id, color: 'amber', mode: 'flash' }]);

    const p = await svc.send('payment', 'pay-1', 'cancel', { requestId: 'r-1' }, { source: 'k' });
    reg.set('payment', 'pay-1', { online: true, via: 'direct' });
    await svc.idle();
    expect(sent).toHaveLength(1);
    svc.onEvent({ seq: ++seq, cls: 'latest', kind: 'payment', deviceId: 'pay-1', type: 'heartbeat', ts: '', recvTs: now, monoMs: 0, data: '{}' });
    await svc.idle();
    expect(sent.map((s) => s.cmd.cmdId)).toEqual([id, p]);
  });
});

describe('listening', () => {
  it("a direct device's SUBSCRIBE (told by the broker) re-sends at once, without birth or grace", async () => {
    await svc.stop();
    svc = service({ listenGraceMs: 60_000 });
    await svc.start();
    const id = await svc.send('scale', 'sc-1', 'tare', {}, { source: 'k' });
    reg.set('scale', 'sc-1', { online: true, via: 'direct' });
    await svc.idle();
    expect(sent).toHaveLength(0);
    svc.subscribed('scale', 'sc-1');
    await svc.idle();
    expect(sent.map((s) => s.cmd.cmdId)).toEqual([id]);
    svc.subscribed('scale', 'sc-1'); // a second SUBSCRIBE of the same connection sends nothing again
    await svc.idle();
    expect(sent).toHaveLength(1);
  });

  it('a device with nothing pending costs no timer and no query when it connects', async () => {
    await svc.stop();
    svc = service({ listenGraceMs: 60_000 });
    await svc.start();
    reg.set('light', 'lt-1', { online: true, via: 'direct' });
    // Nothing waits for it to listen: neither a birth nor the grace would re-send anything.
    expect((svc as unknown as { awaiting: Map<string, unknown> }).awaiting.size).toBe(0);
    // Once it has a command, a reconnect waits for it to listen again.
    reg.set('light', 'lt-1', { online: false, via: null });
    const id = await svc.send('light', 'lt-1', 'set', { color: 'red', mode: 'steady' }, { source: 'k' });
    reg.set('light', 'lt-1', { online: true, via: 'direct' });
    expect((svc as unknown as { awaiting: Map<string, unknown> }).awaiting.size).toBe(1);
    svc.subscribed('light', 'lt-1');
    await svc.idle();
    expect(sent.map((s) => s.cmd.cmdId)).toEqual([id]);
  });
});

describe('TTL, retries, superseding', () => {
  it('a charge past its TTL is expired, never sent; a light set within its TTL still goes out', async () => {
    const charge = await svc.send('payment', 'pay-1', 'charge', { requestId: 'r-9', amount: 1299, currency: 'EUR' }, { source: 'kiosk:k1' });
    const light = await svc.send('light', 'lt-1', 'set', { color: 'green', mode: 'steady' }, { source: 'kiosk:k1' });
    now += 2 * 60_000 + 1;
    reg.set('payment', 'pay-1', { online: true, via: 'bridge' });
    reg.set('light', 'lt-1', { online: true, via: 'bridge' });
    await svc.idle();
    expect(sent.map((s) => s.cmd.cmdId)).toEqual([light]);
    expect(await svc.get(charge)).toMatchObject({ state: 'expired', attempts: 0 });
    expect((await svc.get(charge))!.error).toMatch(/time to live/);
    expect(await count(metrics.commandsExpired, { kind: 'payment', reason: 'ttl' })).toBe(1);
    // The retry round expires too, online or not.
    const tare = await svc.send('scale', 'sc-1', 'tare', {}, { source: 'k' });
    now += 60_000;
    await svc.tick();
    expect((await svc.get(tare))!.state).toBe('expired');
    expect(sent.filter((s) => s.topic.endsWith('/tare') || s.topic.endsWith('/charge'))).toHaveLength(0);
  });

  it('re-sends an unacked command after the ack timeout, up to max attempts, then fails it', async () => {
    reg.set('light', 'lt-1', { online: true, via: 'bridge' });
    const id = await svc.send('light', 'lt-1', 'set', { color: 'red', mode: 'flash' }, { source: 'k', ttlMs: 3600_000 });
    expect(sent).toHaveLength(1);
    now += 14_999;
    await svc.tick();
    expect(sent).toHaveLength(1); // not yet
    for (let i = 2; i <= 5; i++) {
      now += 15_000;
      await svc.tick();
      expect(sent).toHaveLength(i);
      expect((await svc.get(id))!.attempts).toBe(i);
    }
    now += 15_000;
    await svc.tick();
    expect(sent).toHaveLength(5);
    expect(await svc.get(id)).toMatchObject({ state: 'failed', error: 'no ack after 5 attempts' });
    expect(new Set(sent.map((s) => s.cmd.cmdId))).toEqual(new Set([id]));
    expect(await count(metrics.commandsResent)).toBe(4);
    expect(await count(metrics.commandsFailed, { reason: 'no_ack' })).toBe(1);
  });

  it('a newer light set supersedes a pending one; a cancel voids an undelivered charge of the same request', async () => {
    const l1 = await svc.send('light', 'lt-1', 'set', { color: 'green', mode: 'steady' }, { source: 'k' });
    const l2 = await svc.send('light', 'lt-1', 'set', { color: 'red', mode: 'flash' }, { source: 'k' });
    const c1 = await svc.send('payment', 'pay-1', 'charge', { requestId: 'r-1', amount: 5, currency: 'EUR' }, { source: 'k' });
    const c2 = await svc.send('payment', 'pay-1', 'charge', { requestId: 'r-2', amount: 5, currency: 'EUR' }, { source: 'k' });
    const x1 = await svc.send('payment', 'pay-1', 'cancel', { requestId: 'r-1' }, { source: 'k' });
    expect(await svc.get(l1)).toMatchObject({ state: 'expired', error: `superseded by ${l2}` });
    expect(await svc.get(c1)).toMatchObject({ state: 'expired', error: `superseded by ${x1}` });
    expect((await svc.pending('payment', 'pay-1')).map((r) => r.cmdId)).toEqual([c2, x1]);
    expect((await svc.pending('light', 'lt-1')).map((r) => r.cmdId)).toEqual([l2]);
  });
});

describe('durability and bounds', () => {
  it('pending commands survive a restart and go out when the device connects', async () => {
    const id = await svc.send('light', 'lt-1', 'set', { color: 'amber', mode: 'steady' }, { source: 'ops:a' });
    await svc.stop();
    svc = service();
    await svc.start();
    expect((await svc.pending('light', 'lt-1')).map((r) => r.cmdId)).toEqual([id]);
    reg.set('light', 'lt-1', { online: true, via: 'direct' });
    await svc.idle();
    expect(sent.map((s) => s.cmd.cmdId)).toEqual([id]);
  });

  it('prunes finished commands past the keep window and beyond the per-device cap, never pending ones', async () => {
    await svc.stop();
    const mk = (keepPerDevice: number) =>
      new CommandService({ file: path.join(tmp.dir, 'commands.db'), registry: reg, publish: async () => undefined, metrics, log, now: () => now, retryEveryMs: 0, keepPerDevice, keepMs: 3600_000 });
    svc = mk(3);
    await svc.start();
    reg.set('scale', 'sc-1', { online: true, via: 'bridge' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(await svc.send('scale', 'sc-1', 'zero', {}, { source: 'k' }));
      svc.onEvent(ack('scale', 'sc-1', ids[i], true));
      now += 1000;
    }
    const open = await svc.send('scale', 'sc-1', 'tare', {}, { source: 'k', ttlMs: 86_400_000 });
    await svc.idle();
    await svc.stop();
    svc = mk(3); // start() prunes
    await svc.start();
    expect((await svc.recent('scale', 'sc-1', 10)).map((r) => r.cmdId)).toEqual(ids.slice(2).reverse());
    now += 2 * 3600_000;
    await svc.tick(); // an hour has passed since the last prune
    expect(await svc.recent('scale', 'sc-1', 10)).toHaveLength(0);
    expect((await svc.pending('scale', 'sc-1')).map((r) => r.cmdId)).toEqual([open]);
  });
});

describe("a caller's own command id and waiting for the answer", () => {
  it('a command id stored already is not sent again; answer() resolves with the ack, or gives the command up when the wait ends', async () => {
    reg.set('payment', 'pay-1', { online: true, via: 'bridge' });
    const data = { requestId: 'r-1', amount: 100, currency: 'EUR', receiptNo: '0042' };
    expect(await svc.send('payment', 'pay-1', 'reverse', data, { source: 'void:k1', cmdId: 'void-1' })).toBe('void-1');
    expect(await svc.send('payment', 'pay-1', 'reverse', data, { source: 'void:k1', cmdId: 'void-1' })).toBe('void-1'); // a repeat after a crash
    await svc.idle();
    expect(sent.map((s) => s.cmd.cmdId)).toEqual(['void-1']);
    const waiting = svc.answer('void-1', 60_000);
    svc.onEvent(ack('payment', 'pay-1', 'void-1', false, 'the terminal refused the reversal'));
    expect(await waiting).toMatchObject({ cmdId: 'void-1', state: 'failed', error: 'the terminal refused the reversal' });
    expect(await svc.answer('void-1', 60_000)).toMatchObject({ state: 'failed' }); // answered already: at once

    // No answer in time: the command is given up (expired), so the retry round never sends it again.
    await svc.send('payment', 'pay-1', 'reverse', { ...data, requestId: 'r-2' }, { source: 'void:k1', cmdId: 'void-2' });
    expect(await svc.answer('void-2', 10)).toMatchObject({ state: 'expired', error: 'no answer within 0 s' });
    sent.length = 0;
    now += 60_000;
    await svc.tick();
    expect(sent).toEqual([]);
    expect(await svc.answer('no-such-command', 10)).toBeUndefined();
  });
});
