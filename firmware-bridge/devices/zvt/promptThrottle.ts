/**
 * The terminal's `04 FF` Intermediate Status messages become `status` events (shopper prompts).
 * Only the newest prompt matters (the gateway keeps the latest one per payment), and a broken or
 * hostile terminal can send thousands a second: at most one goes out per `gapMs`, the newest of
 * those that came in between wins, and one still waiting goes out before any other event of the
 * driver, so a prompt never arrives after the payment's result.
 */
export class PromptThrottle {
  private pending: Record<string, unknown> | null = null;
  private last = -Infinity;
  private timer: NodeJS.Timeout | null = null;
  /** Prompts replaced by a newer one before they went out. */
  coalesced = 0;

  constructor(
    private readonly send: (data: Record<string, unknown>) => void,
    private readonly gapMs: number,
    private readonly now: () => number,
  ) {
    if (!(gapMs >= 0)) throw new TypeError('promptGapMs: must be ≥ 0');
  }

  status(data: Record<string, unknown>): void {
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

  /** Sends the waiting prompt now (before another event, so the order holds). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const d = this.pending;
    if (d === null) return;
    this.pending = null;
    this.last = this.now();
    this.send(d);
  }

  /** Drops a waiting prompt (driver stop: the payment it was about has no one to show it to). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending = null;
  }
}
