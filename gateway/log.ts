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

/** A cap over all keys of one kind (the key's text before its first '/'), for lines any peer can trigger. */
export interface KindCap {
  /** Lines of one kind per window, whatever the key. */
  lines: number;
  windowMs: number;
  /** Called once per kind when a window that dropped lines rolls over (on that kind's next line). */
  onSuppressed?: (kind: string, suppressed: number) => void;
}

/**
 * Rate-limits log lines a device can trigger: at most `burst` per key per `windowMs`, then one
 * "suppressed N" line when the window rolls over. Time is injected.
 *
 * Keys a peer chooses (client id, user name, source address) would make the per-key limit
 * unbounded, so `kindCap` also caps each kind over every key together.
 */
export class LogLimiter {
  private readonly windows = new Map<string, { start: number; count: number; suppressed: number }>();
  private readonly kinds = new Map<string, { start: number; count: number; suppressed: number }>();
  constructor(
    private readonly now: () => number,
    private readonly burst = 5,
    private readonly windowMs = 10_000,
    private readonly kindCap?: KindCap,
  ) {}

  /** Returns how many lines were suppressed before this one (≥0), or -1 when this line must be dropped. */
  take(key: string): number {
    const t = this.now();
    if (this.kindCap && !this.takeKind(key, t)) return -1;
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

  private takeKind(key: string, t: number): boolean {
    const cap = this.kindCap!;
    const slash = key.indexOf('/');
    const kind = slash < 0 ? key : key.slice(0, slash);
    let k = this.kinds.get(kind);
    if (!k || t - k.start >= cap.windowMs) {
      if (k && k.suppressed > 0) cap.onSuppressed?.(kind, k.suppressed);
      k = { start: t, count: 0, suppressed: 0 };
      this.kinds.set(kind, k);
    }
    if (k.count >= cap.lines) {
      k.suppressed++;
      return false;
    }
    k.count++;
    return true;
  }
}
