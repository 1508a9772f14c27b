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
});
