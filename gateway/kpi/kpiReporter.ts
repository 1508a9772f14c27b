/**
 * Sends the day's numbers to HQ (`report/kpi`; gateway/README.md §Retail rules): once at start, then after a change
 * at most once per interval (the latest snapshot wins). The uplink keeps the last one and sends it
 * again on every reconnect, so a WAN outage only delays it.
 */
export interface KpiReporterOptions {
  snapshot: () => unknown;
  onChange: (fn: () => void) => () => void;
  send: (payload: Buffer) => void;
  minIntervalMs: number;
  now: () => number;
}

export class KpiReporter {
  private timer: NodeJS.Timeout | null = null;
  private last = -Infinity;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly o: KpiReporterOptions) {}

  start(): void {
    this.sendNow();
    this.unsubscribe = this.o.onChange(() => this.schedule());
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(0, this.last + this.o.minIntervalMs - this.o.now());
    this.timer = setTimeout(() => this.sendNow(), wait);
    this.timer.unref();
  }

  private sendNow(): void {
    this.timer = null;
    this.last = this.o.now();
    this.o.send(Buffer.from(JSON.stringify(this.o.snapshot()), 'utf8'));
  }
}
