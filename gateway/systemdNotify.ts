/**
 * sd_notify for `Type=notify` units with a watchdog: READY=1 once serving, WATCHDOG=1 at half the
 * watchdog interval while the event loop turns (a stuck loop stops the pings and systemd restarts
 * us). Node cannot send unix datagrams, so the `systemd-notify` tool sends them (the units set
 * NotifyAccess=all for that). Without NOTIFY_SOCKET (tests, the demo) it does nothing.
 */
import { execFile } from 'node:child_process';

export class SystemdNotify {
  private timer: NodeJS.Timeout | null = null;
  constructor(
    private readonly env: Record<string, string | undefined>,
    private readonly send: (state: string) => void = (state) => execFile('systemd-notify', [state], () => undefined),
  ) {}

  get enabled(): boolean {
    return Boolean(this.env.NOTIFY_SOCKET);
  }

  ready(): void {
    if (!this.enabled) return;
    this.send('READY=1');
    const usec = Number(this.env.WATCHDOG_USEC);
    if (Number.isFinite(usec) && usec > 0) {
      this.timer = setInterval(() => this.send('WATCHDOG=1'), Math.max(1000, usec / 2000));
      this.timer.unref();
    }
  }

  stopping(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.enabled) this.send('STOPPING=1');
  }
}
