import { describe, expect, it, vi } from 'vitest';
import { MIN_PING_MS, SystemdNotify, pingPeriodMs } from '../../../gateway/systemdNotify.js';

describe('SystemdNotify', () => {
  it('does nothing without NOTIFY_SOCKET (tests, the demo)', async () => {
    const send = vi.fn(async () => undefined);
    const n = new SystemdNotify({ env: {}, send });
    await n.ready();
    await n.stopping();
    expect(send).not.toHaveBeenCalled();
  });

  it('says READY=1, then WATCHDOG=1 at half the watchdog interval, then STOPPING=1', async () => {
    vi.useFakeTimers();
    try {
      const send = vi.fn(async (_state: string) => undefined);
      const n = new SystemdNotify({ env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30000000' }, send });
      await n.ready();
      expect(send.mock.calls).toEqual([['READY=1']]);
      await vi.advanceTimersByTimeAsync(15_000);
      expect(send.mock.calls).toEqual([['READY=1'], ['WATCHDOG=1']]);
      await vi.advanceTimersByTimeAsync(15_000);
      expect(send).toHaveBeenCalledTimes(3);
      await n.stopping();
      expect(send.mock.calls.at(-1)).toEqual(['STOPPING=1']);
      await vi.advanceTimersByTimeAsync(60_000);
      expect(send).toHaveBeenCalledTimes(4); // no watchdog pings after stopping
    } finally {
      vi.useRealTimers();
    }
  });

  it('pings at half of a short watchdog too (a 1 s floor pinged a 1 s watchdog at its deadline)', () => {
    expect(pingPeriodMs({ WATCHDOG_USEC: '1000000' }, 1)).toBe(500);
    expect(pingPeriodMs({ WATCHDOG_USEC: '30000000' }, 1)).toBe(15_000);
    expect(pingPeriodMs({ WATCHDOG_USEC: '1000' }, 1)).toBe(MIN_PING_MS);
    expect(pingPeriodMs({}, 1)).toBeNull();
    expect(pingPeriodMs({ WATCHDOG_USEC: 'x' }, 1)).toBeNull();
  });

  it('leaves a watchdog meant for another process alone (WATCHDOG_PID)', () => {
    expect(pingPeriodMs({ WATCHDOG_USEC: '2000000', WATCHDOG_PID: '42' }, 42)).toBe(1000);
    expect(pingPeriodMs({ WATCHDOG_USEC: '2000000', WATCHDOG_PID: '42' }, 43)).toBeNull();
  });

  it('skips a ping while the previous one still waits, and reports a failing state once until it works', async () => {
    vi.useFakeTimers();
    try {
      let release: (() => void) | null = null;
      let fail = true;
      const send = vi.fn((state: string) => {
        if (state === 'WATCHDOG=1' && fail) return Promise.reject(new Error('systemd-notify: not found'));
        if (state === 'WATCHDOG=1') return new Promise<void>((r) => (release = r));
        return Promise.resolve();
      });
      const onError = vi.fn();
      const n = new SystemdNotify({ env: { NOTIFY_SOCKET: '/x', WATCHDOG_USEC: '2000000' }, send, onError });
      await n.ready();
      await vi.advanceTimersByTimeAsync(3000); // three failing pings
      expect(send).toHaveBeenCalledTimes(4);
      expect(onError).toHaveBeenCalledTimes(1);
      expect(onError.mock.calls[0][1]).toBe('WATCHDOG=1');
      fail = false;
      await vi.advanceTimersByTimeAsync(3000); // one ping hangs: the next two are skipped
      expect(send).toHaveBeenCalledTimes(5);
      release!();
      await vi.advanceTimersByTimeAsync(1000);
      expect(send).toHaveBeenCalledTimes(6);
      await n.stopping();
    } finally {
      vi.useRealTimers();
    }
  });
});
