import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryHidTransport } from '../../../../../firmware-bridge/transports/memory.js';
import { HidScannerDriver } from '../../../../../firmware-bridge/devices/hidScanner/driver.js';
import { encodeKeyboard, encodePos } from '../../../../../firmware-bridge/devices/hidScanner/codec.js';
import type { DeviceEvent } from '../../../../../firmware-bridge/devices/deviceDriver.js';

const now = () => Date.parse('2026-11-25T09:00:00.000Z');

describe('HID scanner driver over the memory HID transport', () => {
  it('keyboard mode: the exact reports of "A1⏎" become one scan; disabled drops scans', async () => {
    const t = new MemoryHidTransport();
    const d = new HidScannerDriver({ id: 'scan-1', transport: t, mode: 'keyboard', now });
    const events: DeviceEvent[] = [];
    d.on('event', (e) => events.push(e));
    await d.start();
    for (const r of encodeKeyboard('A1')) t.feed(r);
    expect(events).toEqual([{ type: 'scan', data: { ts: '2026-11-25T09:00:00.000Z', code: 'A1' } }]);
    expect(await d.command('enable', { cmdId: 'e', enabled: false })).toEqual({ ok: true });
    for (const r of encodeKeyboard('99')) t.feed(r);
    expect(events).toHaveLength(1);
    expect(await d.command('beep', { cmdId: 'b' })).toMatchObject({ ok: false });
    await d.stop();
  });
  it('pos mode: symbology from the AIM id; an unplug goes offline and the driver reopens', async () => {
    const t = new MemoryHidTransport();
    const d = new HidScannerDriver({ id: 'scan-2', transport: t, mode: 'pos', now, backoff: { initialMs: 1, maxMs: 5, factor: 2 } });
    const events: DeviceEvent[] = [];
    d.on('event', (e) => events.push(e));
    await d.start();
    t.feed(encodePos({ data: '5901234123457', aim: ']E0' }));
    expect(events[0].data).toEqual({ ts: '2026-11-25T09:00:00.000Z', code: '5901234123457', symbology: ']E0' });
    const offline = new Promise<string>((r) => d.on('offline', r));
    const online = new Promise<void>((r) => d.on('online', r));
    t.unplug();
    expect(await offline).toMatch(/disconnected/);
    await online;
    t.feed(encodePos({ data: '42', aim: ']E4' }));
    expect(events.at(-1)?.data.code).toBe('42');
    await d.stop();
  });

  it('warns at each open when the desktop still reads the scanner as a keyboard, naming the nodes and the fix', async () => {
    const lines: { level: number; msg: string; inputNodes?: string[]; deviceId?: string }[] = [];
    const waiters = new Set<() => void>();
    const logger = pino({ level: 'info' }, new Writable({
      write: (c: Buffer, _e, cb) => {
        lines.push(JSON.parse(c.toString('utf8')));
        for (const w of [...waiters]) w();
        cb();
      },
    }));
    /** Resolves once `cond` holds, checked at each log line. */
    const until = (cond: () => boolean) => new Promise<void>((resolve) => {
      const w = () => {
        if (!cond()) return;
        waiters.delete(w);
        resolve();
      };
      waiters.add(w);
      w();
    });
    const t = new MemoryHidTransport();
    t.exposedKeyboards = ['/dev/input/event5'];
    const d = new HidScannerDriver({ id: 'scan-3', transport: t, mode: 'keyboard', now, logger, backoff: { initialMs: 1, maxMs: 5, factor: 2 } });
    const events: DeviceEvent[] = [];
    d.on('event', (e) => events.push(e));
    await d.start();
    const warned = () => lines.filter((l) => l.level === 40 && /desktop reads this scanner as a keyboard/.test(l.msg));
    expect(warned()).toHaveLength(1);
    expect(warned()[0]).toMatchObject({ inputNodes: ['/dev/input/event5'], deviceId: 'scan-3' });
    expect(warned()[0].msg).toContain('storegw-bridge udev-rules');
    // The scans still come through the bridge.
    for (const r of encodeKeyboard('42')) t.feed(r);
    expect(events.map((e) => e.data.code)).toEqual(['42']);
    // Replugged, still exposed: said again, with the new node.
    t.exposedKeyboards = ['/dev/input/event7'];
    t.unplug();
    await until(() => warned().length === 2);
    expect(warned()[1].inputNodes).toEqual(['/dev/input/event7']);
    // With the rules in (nothing exposed), start() has checked before it returns, and says nothing.
    const hidden = new MemoryHidTransport();
    const d2 = new HidScannerDriver({ id: 'scan-4', transport: hidden, mode: 'keyboard', now, logger });
    await d2.start();
    expect(lines.filter((l) => l.deviceId === 'scan-4' && l.level >= 40)).toEqual([]);
    await d2.stop();
    await d.stop();
  });
});
