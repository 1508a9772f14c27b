import { describe, expect, it, vi } from 'vitest';
import { SystemdNotify } from '../../../gateway/systemdNotify.js';

describe('SystemdNotify', () => {
  it('does nothing without NOTIFY_SOCKET (tests, the demo)', () => {
    const send = vi.fn();
    const n = new SystemdNotify({}, send);
    n.ready();
    n.stopping();
    expect(send).not.toHaveBeenCalled();
  });

  it('says READY=1, then WATCHDOG=1 at half the watchdog interval, then STOPPING=1', () => {
    vi.useFakeTimers();
    try {
      const send = vi.fn();
      const n = new SystemdNotify({ NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '30000000' }, send);
      n.ready();
      expect(send.mock.calls).toEqual([['READY=1']]);
      vi.advanceTimersByTime(15_000);
      expect(send.mock.calls).toEqual([['READY=1'], ['WATCHDOG=1']]);
      vi.advanceTimersByTime(15_000);
      expect(send).toHaveBeenCalledTimes(3);
      n.stopping();
      expect(send.mock.calls.at(-1)).toEqual(['STOPPING=1']);
      vi.advanceTimersByTime(60_000);
      expect(send).toHaveBeenCalledTimes(4); // no watchdog pings after stopping
    } finally {
      vi.useRealTimers();
    }
  });
});
