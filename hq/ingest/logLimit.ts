/**
 * Rate-limits log lines a store can trigger (a flooding or broken store must not fill HQ's log):
 * per key, `burst` lines per window; the first line after a window with drops says how many were
 * dropped. Keys are bounded (oldest forgotten first), so junk store ids cannot grow the map. Pure
 * apart from the clock, which is passed in.
 */
export class LogLimit {
  private readonly windows = new Map<string, { start: number; count: number; suppressed: number }>();

  constructor(
    private readonly now: () => number,
    private readonly burst = 5,
    private readonly windowMs = 10_000,
    private readonly maxKeys = 10_000,
  ) {}

  /** How many lines of `key` were dropped before this one (≥ 0), or -1 when this one is dropped. */
  take(key: string): number {
    const t = this.now();
    let w = this.windows.get(key);
    if (!w || t - w.start >= this.windowMs) {
      const suppressed = w?.suppressed ?? 0;
      this.windows.delete(key);
      this.windows.set(key, { start: t, count: 1, suppressed: 0 });
      if (this.windows.size > this.maxKeys) this.windows.delete(this.windows.keys().next().value as string);
      return suppressed;
    }
    if (w.count < this.burst) {
      w.count++;
      return 0;
    }
    w.suppressed++;
    return -1;
  }
}
