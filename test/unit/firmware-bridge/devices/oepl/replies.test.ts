/**
 * The oepl driver's replies: per-label acks grouped by command within the event limits, the
 * command answered only after all its labels (and after their acks went out), statuses kept as
 * the latest per label, and open commands answered when the bridge stops.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Replies } from '../../../../../firmware-bridge/devices/oepl/replies.js';
import type { DeviceEvent } from '../../../../../firmware-bridge/devices/deviceDriver.js';

afterEach(() => void vi.useRealTimers());

function replies() {
  const events: DeviceEvent[] = [];
  const r = new Replies({ emit: (e) => events.push(e), now: () => Date.UTC(2026, 11, 5), ackFlushMs: 50, statusEveryMs: 100 });
  return { r, events };
}

describe('OEPL replies', () => {
  it('answers a 1,500-label command after its last label, acks first, at most 1,000 per event', async () => {
    const { r, events } = replies();
    const done = r.open('c1', 1500);
    let answered = false;
    void done.then(() => (answered = true));
    for (let i = 0; i < 1499; i++) r.ack('c1', { labelId: `L${i}`, ok: true, shownHash: 'h' });
    await Promise.resolve();
    expect(answered).toBe(false);
    r.ack('c1', { labelId: 'L1499', ok: false, error: 'the AP timed out the transfer to the tag' });
    expect(await done).toEqual({ ok: false, error: '1 label(s) not delivered' });
    expect(events.map((e) => (e.data.acks as unknown[]).length)).toEqual([1000, 500]);
    expect(events.map((e) => e.data.ok)).toEqual([true, false]);
    expect(events.map((e) => e.type)).toEqual(['ack', 'ack']);
    expect(events[0]!.data).toMatchObject({ cmdId: 'c1', ts: '2026-12-05T00:00:00.000Z' });
    r.stop();
  });

  it('flushes acks of commands still open after ackFlushMs, and statuses as the latest per label', () => {
    vi.useFakeTimers();
    const { r, events } = replies();
    r.start();
    void r.open('c2', 2);
    r.ack('c2', { labelId: 'A', ok: true });
    r.status({ labelId: 'A', mac: '0000021EF2F2341B', pending: 1 });
    r.status({ labelId: 'A', mac: '0000021EF2F2341B', pending: 0, batteryMv: 2900 });
    vi.advanceTimersByTime(50);
    expect(events).toEqual([{ type: 'ack', data: expect.objectContaining({ cmdId: 'c2', acks: [{ labelId: 'A', ok: true }] }) }]);
    vi.advanceTimersByTime(50);
    expect(events[1]).toEqual({ type: 'status', data: expect.objectContaining({ labels: [{ labelId: 'A', mac: '0000021EF2F2341B', pending: 0, batteryMv: 2900 }] }) });
    r.stop();
  });

  it('keeps every event under the gateway\'s default packet limit: 2,000 full tag reports, 1,000 acks with content hashes', () => {
    vi.useFakeTimers();
    const { r, events } = replies();
    r.start();
    const mac = (i: number) => `0000021EF2${(0x100000 + i).toString(16).toUpperCase()}`;
    for (let i = 0; i < 2000; i++) {
      r.status({ labelId: `L${String(i).padStart(6, '0')}`, mac: mac(i), pending: 0, batteryMv: 2950, rssi: -61, lqi: 90, temperatureC: 21, lastSeen: '2026-12-05T19:00:00.000Z', nextCheckIn: '2026-12-05T19:00:40.000Z', shownHash: 'a'.repeat(64) });
    }
    vi.advanceTimersByTime(100);
    const labels = events.filter((e) => e.type === 'status').flatMap((e) => e.data.labels as { labelId: string }[]);
    expect(new Set(labels.map((l) => l.labelId)).size).toBe(2000);
    void r.open('c4', 1000);
    for (let i = 0; i < 1000; i++) r.ack('c4', { labelId: `L${String(i).padStart(6, '0')}`, ok: true, shownHash: 'b'.repeat(64) });
    expect(events.filter((e) => e.type === 'ack').flatMap((e) => e.data.acks as unknown[])).toHaveLength(1000);
    expect(events.length).toBeGreaterThan(3);
    for (const e of events) expect(Buffer.byteLength(JSON.stringify(e.data))).toBeLessThan(60 * 1024);
    r.stop();
  });

  it('answers open commands as not delivered when stopped', async () => {
    const { r } = replies();
    const open = r.open('c3', 1);
    r.stop();
    expect(await open).toEqual({ ok: false, error: 'bridge stopped before c3 was delivered' });
  });
});
