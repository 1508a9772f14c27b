/**
 * The one command a device runs at a time (a scale's tare or zero): it ends with whatever settles
 * it first, the reply that confirms or refuses it, a lost port, stop(), or its timeout. A second
 * command meanwhile is answered `busy` at once, since a scale answers one command at a time.
 * The drivers own what "confirmed" means; this holds only the promise and its timer.
 */
import type { CommandResult } from './deviceDriver.js';

interface Running<T> {
  what: T;
  resolve: (r: CommandResult) => void;
  timer: NodeJS.Timeout;
}

export class PendingCommand<T> {
  private current: Running<T> | null = null;

  /** `onSettled` runs after each command ends, however it ended (MT-SICS restarts its stream). */
  constructor(private readonly onSettled: () => void = () => undefined) {}

  /** What is running now, or null. */
  get running(): T | null {
    return this.current ? this.current.what : null;
  }

  /**
   * Runs `what`: `send` writes it to the device, and the promise resolves when `settle` is called
   * or, failing that, after `timeoutMs` with `timeoutError`.
   */
  begin(what: T, timeoutMs: number, timeoutError: string, send: () => void): Promise<CommandResult> {
    if (this.current) return Promise.resolve({ ok: false, error: 'busy: another command is running' });
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle({ ok: false, error: timeoutError }), timeoutMs);
      this.current = { what, resolve, timer };
      send();
    });
  }

  /** Ends the running command with `r`; does nothing when none runs. */
  settle(r: CommandResult): void {
    const p = this.current;
    if (!p) return;
    clearTimeout(p.timer);
    this.current = null;
    p.resolve(r);
    this.onSettled();
  }
}
