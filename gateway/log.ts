import { pino, type Logger, type DestinationStream, type LevelWithSilent } from 'pino';

export type { Logger };

/** The one pino root of a program; modules take `log.child({ module })`. */
export function createLogger(opts: { level?: LevelWithSilent; stream?: DestinationStream; name?: string } = {}): Logger {
  return pino(
    {
      name: opts.name ?? 'storegw',
      level: opts.level ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    opts.stream ?? pino.destination({ dest: 1, sync: false }),
  );
}

/**
 * Rate-limits log lines a device can trigger: at most `burst` per key per `windowMs`, then one
 * "suppressed N" line when the window rolls over. Time is injected.
 */
export class LogLimiter {
  private readonly windows = new Map<string, { start: number; count: number; suppressed: number }>();
  constructor(
    private readonly now: () => number,
    private readonly burst = 5,
    private readonly windowMs = 10_000,
  ) {}

  /** Returns how many lines were suppressed before this one (≥0), or -1 when this line must be dropped. */
  take(key: string): number {
    const t = this.now();
    let w = this.windows.get(key);
    if (!w || t - w.start >= this.windowMs) {
      const suppressed = w?.suppressed ?? 0;
      w = { start: t, count: 1, suppressed: 0 };
      this.windows.set(key, w);
      if (this.windows.size > 10_000) this.windows.delete(this.windows.keys().next().value as string);
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
