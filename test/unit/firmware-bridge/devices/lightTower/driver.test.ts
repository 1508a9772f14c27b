import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryGpioOutput } from '../../../../../firmware-bridge/transports/memory.js';
import { LightTowerDriver } from '../../../../../firmware-bridge/devices/lightTower/driver.js';

describe('light tower driver over memory GPIO outputs', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('set steady and flash drive the lines; a bad command is refused', async () => {
    const lines = { green: new MemoryGpioOutput('g'), amber: new MemoryGpioOutput('a'), red: new MemoryGpioOutput('r') };
    const d = new LightTowerDriver({ id: 'tower-1', lines, flash: { periodMs: 1000, onMs: 500 } });
    await d.start();
    expect(await d.command('set', { cmdId: '1', color: 'green', mode: 'steady' })).toEqual({ ok: true });
    expect([lines.green.value, lines.amber.value, lines.red.value]).toEqual([1, 0, 0]);
    expect(await d.command('set', { cmdId: '2', color: 'red', mode: 'flash' })).toEqual({ ok: true });
    expect([lines.green.value, lines.red.value]).toEqual([0, 1]);
    await vi.advanceTimersByTimeAsync(500);
    expect(lines.red.value).toBe(0);
    await vi.advanceTimersByTimeAsync(500);
    expect(lines.red.value).toBe(1);
    expect(await d.command('set', { cmdId: '3', color: 'purple', mode: 'steady' })).toMatchObject({ ok: false, error: expect.stringMatching(/^color/) });
    expect(await d.command('set', { cmdId: '4', color: 'off', mode: 'steady' })).toEqual({ ok: true });
    await vi.advanceTimersByTimeAsync(3000);
    expect([lines.green.value, lines.amber.value, lines.red.value]).toEqual([0, 0, 0]);
    await d.stop();
  });
});
