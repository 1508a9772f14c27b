import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryGpioInput } from '../../../../../firmware-bridge/transports/memory.js';
import { BeamsDriver } from '../../../../../firmware-bridge/devices/beams/driver.js';
import type { DeviceEvent } from '../../../../../firmware-bridge/devices/deviceDriver.js';

describe('beams driver over memory GPIO with timed edges', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-11-25T09:00:00.000Z'));
  });
  afterEach(() => vi.useRealTimers());

  async function setup() {
    const a = new MemoryGpioInput('beamA');
    const b = new MemoryGpioInput('beamB');
    const d = new BeamsDriver({ id: 'door-1', beamA: a, beamB: b });
    const events: DeviceEvent[] = [];
    d.on('event', (e) => events.push(e));
    await d.start();
    return { a, b, d, events };
  }
  const t0 = Date.parse('2026-11-25T09:00:00.000Z');

  it('emits cross in / out with the time of the confirmed second break', async () => {
    const { a, b, d, events } = await setup();
    a.edge(1, t0 + 0);
    b.edge(1, t0 + 100);
    vi.advanceTimersByTime(200); // the 25 ms confirmation runs on the driver's timer
    a.edge(0, t0 + 300);
    b.edge(0, t0 + 350);
    vi.setSystemTime(t0 + 1000);
    b.edge(1, t0 + 1000);
    a.edge(1, t0 + 1100);
    vi.advanceTimersByTime(200);
    expect(events).toEqual([
      { type: 'cross', data: { ts: '2026-11-25T09:00:00.125Z', direction: 'in' } },
      { type: 'cross', data: { ts: '2026-11-25T09:00:01.125Z', direction: 'out' } },
    ]);
    expect(d.stats.events).toBe(2);
    await d.stop();
  });

  it('raises a BEAM_BLOCKED alert after 2.5 s from its own timer, and clears it', async () => {
    const { a, d, events } = await setup();
    a.edge(1, t0);
    vi.advanceTimersByTime(2499);
    expect(events.filter((e) => e.type === 'alert')).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(events.at(-1)).toMatchObject({ type: 'alert', data: { code: 'BEAM_BLOCKED', severity: 'warning', ts: '2026-11-25T09:00:02.500Z' } });
    a.edge(0, t0 + 4000);
    vi.advanceTimersByTime(2000);
    expect(events.at(-1)).toMatchObject({ type: 'alert', data: { code: 'BEAM_CLEARED' } });
    await d.stop();
  });

  it('ignores a noise pulse', async () => {
    const { a, b, d, events } = await setup();
    a.edge(1, t0);
    a.edge(0, t0 + 5);
    b.edge(1, t0 + 50);
    b.edge(0, t0 + 200);
    vi.advanceTimersByTime(5000);
    expect(events.filter((e) => e.type === 'cross')).toEqual([]);
    await d.stop();
  });
});
