/**
 * Events of the `latest` class (a terminal's shopper prompt, a printer's status): only the newest
 * matters, and a broken or hostile device can produce thousands a second. At most one goes out per
 * `gapMs`, the newest of those that came in between wins, and the driver flushes one still waiting
 * before any other event of its own, so the order of events holds (a prompt never arrives after
 * the payment's result).
 */
export class LatestOnly {
  private pending: Record<string, unknown> | null = null;
  private last = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  /** Events replaced by a newer one before they went out. */
  coalesced = 0;

  constructor(
    private readonly send: (data: Record<string, unknown>) => void,
    private readonly gapMs: number,
    private readonly now: () => number,
  ) {
    if (!(gapMs >= 0)) throw new TypeError('gapMs: must be ≥ 0');
  }

  offer(data: Record<string, unknown>): void {
    const t = this.now();
    if (this.pending === null && t - this.last >= this.gapMs) {
      this.last = t;
      this.send(data);
      return;
    }
    if (this.pending !== null) this.coalesced++;
    this.pending = data;
    this.timer ??= setTimeout(() => this.flush(), Math.max(0, this.last + this.gapMs - t));
  }

  /** Sends the waiting event now (before another event, so the order holds). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const d = this.pending;
    if (d === null) return;
    this.pending = null;
    this.last = this.now();
    this.send(d);
  }

  /** Drops a waiting event (driver stop). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }
}
