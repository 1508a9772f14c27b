import { afterEach, describe, expect, it, vi } from 'vitest';
import { PendingCommand } from '../../../../firmware-bridge/devices/pendingCommand.js';

afterEach(() => {
  vi.useRealTimers();
});

describe('PendingCommand', () => {
  it('sends at once and resolves with what settles it; onSettled runs once', async () => {
    const settled = vi.fn();
    const p = new PendingCommand<string>(settled);
    const sent: string[] = [];
    const r = p.begin('tare', 1000, 'no reply to T', () => sent.push('T'));
    expect(sent).toEqual(['T']);
    expect(p.running).toBe('tare');
    p.settle({ ok: true });
    await expect(r).resolves.toEqual({ ok: true });
    expect(p.running).toBeNull();
    p.settle({ ok: false, error: 'late' }); // nothing runs: ignored
    expect(settled).toHaveBeenCalledTimes(1);
  });

  it('answers a second command busy without sending it', async () => {
    const p = new PendingCommand<string>();
    const sent: string[] = [];
    const first = p.begin('tare', 1000, 'timeout', () => sent.push('T'));
    await expect(p.begin('zero', 1000, 'timeout', () => sent.push('Z'))).resolves.toEqual({ ok: false, error: 'busy: another command is running' });
    expect(sent).toEqual(['T']);
    p.settle({ ok: true });
    await first;
  });

  it('times out with the given error, then accepts the next command', async () => {
    vi.useFakeTimers();
    const settled = vi.fn();
    const p = new PendingCommand<string>(settled);
    const r = p.begin('zero', 500, 'no reply to Z within 500 ms', () => undefined);
    vi.advanceTimersByTime(499);
    expect(p.running).toBe('zero');
    vi.advanceTimersByTime(1);
    await expect(r).resolves.toEqual({ ok: false, error: 'no reply to Z within 500 ms' });
    expect(settled).toHaveBeenCalledTimes(1);
    const next = p.begin('tare', 500, 'timeout', () => undefined);
    expect(p.running).toBe('tare');
    p.settle({ ok: false, error: 'port closed' });
    await expect(next).resolves.toEqual({ ok: false, error: 'port closed' });
    // The first command's timer was cleared: nothing fires later.
    vi.advanceTimersByTime(10_000);
    expect(settled).toHaveBeenCalledTimes(2);
  });
});
