/**
 * sd_notify for `Type=notify` units with a watchdog, shared by storegw and storegw-bridge:
 * READY=1 once serving, WATCHDOG=1 at half the watchdog interval while the event loop turns (a stuck
 * loop stops the pings and systemd restarts the unit), STOPPING=1 when a stop signal arrives.
 * Without NOTIFY_SOCKET (tests, the demo, a shell) it does nothing.
 *
 * How a message gets there: Node has no unix datagram sockets, so the `systemd-notify` tool sends
 * each one. That tool is a child process, not the unit's main PID, hence `NotifyAccess=all` in the
 * units. The known race: systemd attributes a datagram to a unit by the sender's PID, and a sender
 * that has already exited when PID 1 reads the message cannot be attributed, so the message is
 * dropped. systemd-notify (systemd 246 and later; Debian 12 ships 252) closes that race itself
 * unless `--no-block` is given: after the message it sends `BARRIER=1` with a pipe and waits (at
 * most 5 s) until the manager closes it, i.e. until every earlier message was processed while the
 * sender was still alive. So we never pass `--no-block`, and we wait for the tool to exit before
 * counting a message as sent. `--pid` is not used: it only adds `MAINPID=`, and the main PID is
 * already this process.
 */
import { execFile } from 'node:child_process';

/** Sends one notification state (`READY=1`); resolves once it was delivered, rejects if it was not. */
export type NotifySend = (state: string) => Promise<void>;

export interface SystemdNotifyOptions {
  /** The process environment (NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID). */
  env: Record<string, string | undefined>;
  /** This process's PID (the watchdog is ours only when WATCHDOG_PID is unset or equal). */
  pid?: number;
  /** Overrides the `systemd-notify` child process (unit tests). */
  send?: NotifySend;
  /** A notification that could not be sent (tool missing, socket gone): the caller logs it (once per state until it works again). */
  onError?: (err: Error, state: string) => void;
}

/** The shortest ping period: a watchdog below 200 ms would have us spawning the tool non-stop. */
export const MIN_PING_MS = 100;

/** `systemd-notify STATE`, waiting for the tool's barrier (see above). */
export function systemdNotifyTool(env: Record<string, string | undefined>): NotifySend {
  return (state) =>
    new Promise((resolve, reject) => {
      execFile('systemd-notify', [state], { env: env as NodeJS.ProcessEnv, timeout: 10_000 }, (err, _out, stderr) => {
        if (err) reject(new Error(`systemd-notify ${state}: ${String(stderr).trim() || err.message}`));
        else resolve();
      });
    });
}

/** The watchdog ping period from WATCHDOG_USEC / WATCHDOG_PID, or null when there is no watchdog for us. */
export function pingPeriodMs(env: Record<string, string | undefined>, pid: number): number | null {
  const usec = Number(env.WATCHDOG_USEC);
  if (!Number.isFinite(usec) || usec <= 0) return null;
  // systemd sets WATCHDOG_PID to the main process; a child that inherited the variables is not it.
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== '' && Number(env.WATCHDOG_PID) !== pid) return null;
  return Math.max(MIN_PING_MS, Math.floor(usec / 2000));
}

export class SystemdNotify {
  private timer: NodeJS.Timeout | null = null;
  private pinging = false;
  private readonly failing = new Set<string>();
  private readonly send: NotifySend;

  constructor(private readonly o: SystemdNotifyOptions) {
    this.send = o.send ?? systemdNotifyTool(o.env);
  }

  get enabled(): boolean {
    return Boolean(this.o.env.NOTIFY_SOCKET);
  }

  /** READY=1, then the watchdog pings. Resolves once READY=1 was delivered (or failed, reported). */
  async ready(): Promise<void> {
    if (!this.enabled) return;
    const period = pingPeriodMs(this.o.env, this.o.pid ?? process.pid);
    if (period !== null) {
      this.timer = setInterval(() => this.ping(), period);
      // The pings never keep the process alive on their own.
      this.timer.unref();
    }
    await this.deliver('READY=1');
  }

  /** STOPPING=1 and no more pings. Resolves once delivered, so the process may then exit. */
  async stopping(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.enabled) await this.deliver('STOPPING=1');
  }

  private ping(): void {
    // A ping still waiting for its barrier: the next one would only queue behind it.
    if (this.pinging) return;
    this.pinging = true;
    void this.deliver('WATCHDOG=1').finally(() => (this.pinging = false));
  }

  private async deliver(state: string): Promise<void> {
    try {
      await this.send(state);
      this.failing.delete(state);
    } catch (err) {
      // Reported once until it works again: a missing tool must not log every watchdog period.
      if (!this.failing.has(state)) this.o.onError?.(err as Error, state);
      this.failing.add(state);
    }
  }
}
