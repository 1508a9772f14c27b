/**
 * Each serial driver over a real pty pair made by socat, with its simulator on the other end. The
 * unplug is real: socat is killed (the ptys vanish), then started again on the same link paths;
 * the driver must report the port gone, reopen it with backoff and go on without a restart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/tmp.js';
import { SerialTransport } from '../../../firmware-bridge/transports/serial.js';
import type { DeviceDriver, DeviceEvent } from '../../../firmware-bridge/devices/deviceDriver.js';
import { MtsicsDriver } from '../../../firmware-bridge/devices/mtsics/driver.js';
import { MtsicsSim } from '../../../firmware-bridge/devices/mtsics/sim.js';
import { ToledoDriver } from '../../../firmware-bridge/devices/toledoContinuous/driver.js';
import { ToledoSim } from '../../../firmware-bridge/devices/toledoContinuous/sim.js';
import { ChafonDriver } from '../../../firmware-bridge/devices/chafon/driver.js';
import { ChafonSim } from '../../../firmware-bridge/devices/chafon/sim.js';

interface Socat {
  proc: ChildProcess;
  stop(): Promise<void>;
}

/** Starts socat and resolves once it says the ptys are linked and it is copying data. */
async function startSocat(hostPath: string, devicePath: string): Promise<Socat> {
  const proc = spawn('/usr/bin/socat', ['-d', '-d', `pty,raw,echo=0,link=${hostPath}`, `pty,raw,echo=0,link=${devicePath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise<void>((resolve, reject) => {
    let err = '';
    proc.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes('starting data transfer loop')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`socat exited (${code}): ${err}`)));
  });
  const exited = once(proc, 'exit');
  return {
    proc,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** Resolves with the first device event that matches. */
function nextEvent(d: DeviceDriver, match: (e: DeviceEvent) => boolean): Promise<DeviceEvent> {
  return new Promise((resolve) => {
    const on = (e: DeviceEvent) => {
      if (!match(e)) return;
      d.off('event', on);
      resolve(e);
    };
    d.on('event', on);
  });
}

function onceOnline(d: DeviceDriver): Promise<void> {
  return new Promise((resolve) => {
    const on = () => {
      d.off('online', on);
      resolve();
    };
    d.on('online', on);
  });
}

function onceOffline(d: DeviceDriver): Promise<string> {
  return new Promise((resolve) => {
    const on = (reason: string) => {
      d.off('offline', on);
      resolve(reason);
    };
    d.on('offline', on);
  });
}

const backoff = { initialMs: 50, maxMs: 400, factor: 2 };
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

let tmp: { dir: string; remove: () => void };
let host: string;
let device: string;
const cleanups: (() => Promise<void>)[] = [];

beforeEach(() => {
  tmp = tempDir('storegw-pty-');
  host = path.join(tmp.dir, 'host');
  device = path.join(tmp.dir, 'device');
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  tmp.remove();
});

async function socat(): Promise<Socat> {
  const s = await startSocat(host, device);
  cleanups.push(() => s.stop());
  return s;
}

describe('serial drivers over a socat pty pair', () => {
  it('MT-SICS: polls SI, tares, survives an unplug and replug', async () => {
    const s1 = await socat();
    const sim = new MtsicsSim(new SerialTransport({ path: device }));
    await sim.start();
    sim.setWeight(1234);
    const driver = new MtsicsDriver({ id: 'scale-1', transport: new SerialTransport({ presenceCheckMs: 100, path: host, baudRate: 9600 }), pollIntervalMs: 50, backoff });
    cleanups.push(() => driver.stop());
    const first = nextEvent(driver, (e) => e.data.grams === 1234);
    await driver.start();
    const w = await first;
    expect(w).toEqual({ type: 'weight', data: { ts: expect.stringMatching(ISO), grams: 1234, stable: true, range: 'ok' } });
    expect(sim.received).toContain('SI');

    expect(await driver.command('tare', { cmdId: 'c1' })).toEqual({ ok: true });
    expect(sim.tareGrams).toBe(1234);
    await nextEvent(driver, (e) => e.data.grams === 0 && e.data.tareGrams === 1234);
    sim.setWeight(1500, true);
    await nextEvent(driver, (e) => e.data.grams === 266 && e.data.stable === false);
    expect(await driver.command('zero', { cmdId: 'c2' })).toEqual({ ok: false, error: expect.stringMatching(/^Z: not executable/) });

    // Unplug: the ptys vanish.
    const offline = onceOffline(driver);
    await s1.stop();
    expect(await offline).toBeTruthy();
    expect(driver.online).toBe(false);
    expect(await driver.command('tare', { cmdId: 'c3' })).toEqual({ ok: false, error: 'scale is offline' });
    await sim.stop();

    // Replug: same paths, a new balance.
    const online = onceOnline(driver);
    await socat();
    const sim2 = new MtsicsSim(new SerialTransport({ path: device }));
    await sim2.start();
    cleanups.push(() => sim2.stop());
    sim2.setWeight(-250);
    await online;
    const after = await nextEvent(driver, (e) => e.data.grams === -250);
    expect(after.data.stable).toBe(true);
    expect(driver.stats.reconnects).toBe(1);
  });

  it('MT-SICS: SIR streaming, overload reported as a range', async () => {
    await socat();
    const sim = new MtsicsSim(new SerialTransport({ path: device }), { streamIntervalMs: 20, capacityGrams: 5000 });
    await sim.start();
    cleanups.push(() => sim.stop());
    sim.setWeight(800);
    const driver = new MtsicsDriver({ id: 'scale-2', transport: new SerialTransport({ presenceCheckMs: 100, path: host }), mode: 'stream', backoff });
    cleanups.push(() => driver.stop());
    const first = nextEvent(driver, (e) => e.data.grams === 800);
    await driver.start();
    await first;
    expect(sim.received).toEqual(['SIR']);
    sim.setWeight(9000);
    const over = await nextEvent(driver, (e) => e.data.range === 'over');
    expect(over.data).toMatchObject({ grams: 0, stable: false, range: 'over' });
    // After a command the stream is started again.
    sim.setWeight(700);
    expect(await driver.command('zero', { cmdId: 'z' })).toEqual({ ok: true });
    await nextEvent(driver, (e) => e.data.grams === 0 && e.data.range === 'ok');
    expect(sim.received.filter((c) => c === 'SIR').length).toBeGreaterThanOrEqual(2);
  });

  it('Toledo continuous: streamed frames, tare confirmed by the net flag, unplug and replug', async () => {
    const s1 = await socat();
    const sim = new ToledoSim(new SerialTransport({ path: device }), { intervalMs: 20 });
    await sim.start();
    sim.setWeight(1234);
    const driver = new ToledoDriver({ id: 'scale-3', transport: new SerialTransport({ presenceCheckMs: 100, path: host }), backoff });
    cleanups.push(() => driver.stop());
    const first = nextEvent(driver, (e) => e.data.grams === 1234);
    await driver.start();
    expect((await first).data).toEqual({ ts: expect.stringMatching(ISO), grams: 1234, stable: true, range: 'ok' });

    expect(await driver.command('tare', { cmdId: 't' })).toEqual({ ok: true });
    sim.setWeight(1500);
    const net = await nextEvent(driver, (e) => e.data.grams === 266);
    expect(net.data.tareGrams).toBe(1234);

    const offline = onceOffline(driver);
    await s1.stop();
    await offline;
    await sim.stop();
    const online = onceOnline(driver);
    await socat();
    const sim2 = new ToledoSim(new SerialTransport({ path: device }), { intervalMs: 20 });
    cleanups.push(() => sim2.stop());
    sim2.setWeight(42, true);
    await sim2.start();
    await online;
    const moving = await nextEvent(driver, (e) => e.data.grams === 42);
    expect(moving.data.stable).toBe(false);
    expect(driver.stats.badFrames).toBe(0);
  });

  it('Chafon: inventory rounds with multi-frame replies, stop/start, unplug and replug', async () => {
    const s1 = await socat();
    const tags = [
      { epc: '3074257BF7194E4000001A85', rssi: 0x6b, antenna: 1 },
      { epc: 'E2801160600002084F6E0001', rssi: 0x50, antenna: 1 },
      { epc: 'E2801160600002084F6E0002', rssi: 0x48, antenna: 1 },
      { epc: 'E2801160600002084F6E0003', rssi: 0x40, antenna: 2 },
    ];
    const sim = new ChafonSim(new SerialTransport({ path: device, baudRate: 57600 }), { tagsPerFrame: 2 });
    sim.tags = tags;
    await sim.start();
    const driver = new ChafonDriver({
      id: 'rfid-1',
      transport: new SerialTransport({ presenceCheckMs: 100, path: host, baudRate: 57600 }),
      antennas: [1, 2],
      roundIntervalMs: 10,
      backoff,
    });
    cleanups.push(() => driver.stop());
    await driver.start();
    const seen = new Map<string, DeviceEvent>();
    const all = nextEvent(driver, (e) => {
      seen.set(e.data.epc as string, e);
      return seen.size === tags.length;
    });
    expect(await driver.command('inventory', { cmdId: 'i1', action: 'start' })).toEqual({ ok: true });
    await all;
    for (const t of tags) {
      expect(seen.get(t.epc)?.data).toEqual({ ts: expect.stringMatching(ISO), epc: t.epc, antenna: t.antenna, rssi: t.rssi });
    }
    // Three tags on antenna 1 and two per frame: the reply took two frames (0x03 then 0x01).
    expect(sim.inventoryReply(1).map((f) => f[3])).toEqual([0x03, 0x01]);
    expect(await driver.command('inventory', { cmdId: 'i2', action: 'stop' })).toEqual({ ok: true });
    expect(await driver.command('inventory', { cmdId: 'i3', action: 'pause' })).toEqual({ ok: false, error: 'action: must be start or stop' });
    await driver.command('inventory', { cmdId: 'i4', action: 'start' });

    const offline = onceOffline(driver);
    await s1.stop();
    await offline;
    await sim.stop();
    const online = onceOnline(driver);
    await socat();
    const sim2 = new ChafonSim(new SerialTransport({ path: device, baudRate: 57600 }));
    sim2.tags = [{ epc: 'AAAA0000BBBB1111CCCC2222', rssi: 0x30, antenna: 2 }];
    await sim2.start();
    cleanups.push(() => sim2.stop());
    await online;
    const again = await nextEvent(driver, (e) => e.data.epc === 'AAAA0000BBBB1111CCCC2222');
    expect(again.data.antenna).toBe(2);
    expect(driver.inventoryRunning).toBe(true);
  });
});
