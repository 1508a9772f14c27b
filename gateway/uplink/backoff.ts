/**
 * Jittered exponential backoff for reconnecting to HQ. Pure: the random source is injected, no
 * timers here (the uplink owns them). Many stores reconnect at once when HQ comes back; the jitter
 * spreads them out, and `maxMs` bounds how long a store waits after the link is back.
 */
export interface BackoffConfig {
  /** Ceiling of the first delay. Default 500 ms. */
  initialMs: number;
  /** Ceiling of any delay. Default 30 s. */
  maxMs: number;
  /** Growth per attempt. Default 2. */
  factor: number;
  /**
   * Share of the ceiling that is random: 0 = no jitter, 1 = "full jitter" (uniform in [0, ceiling]).
   * Default 0.5: the delay is uniform in [ceiling/2, ceiling], so it never collapses to zero.
   */
  jitter: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffConfig> = Object.freeze({ initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.5 });

/** Defaults ← options, checked; throws naming the option (construction time). */
export function resolveBackoffConfig(opts: Partial<BackoffConfig> = {}): Readonly<BackoffConfig> {
  const c = { ...DEFAULT_BACKOFF, ...opts };
  if (!Number.isFinite(c.initialMs) || c.initialMs <= 0) throw new Error(`backoff.initialMs: must be a positive number (got ${c.initialMs})`);
  if (!Number.isFinite(c.maxMs) || c.maxMs < c.initialMs) throw new Error(`backoff.maxMs: must be a number ≥ initialMs (got ${c.maxMs})`);
  if (!Number.isFinite(c.factor) || c.factor < 1) throw new Error(`backoff.factor: must be a number ≥ 1 (got ${c.factor})`);
  if (!Number.isFinite(c.jitter) || c.jitter < 0 || c.jitter > 1) throw new Error(`backoff.jitter: must be between 0 and 1 (got ${c.jitter})`);
  return Object.freeze(c);
}

/** The ceiling before jitter for attempt n (0-based): min(maxMs, initialMs · factor^n). */
export function backoffCeiling(attempt: number, c: Readonly<BackoffConfig> = DEFAULT_BACKOFF): number {
  const n = Number.isFinite(attempt) && attempt > 0 ? Math.floor(attempt) : 0;
  // factor^n overflows to Infinity for large n; min() caps it, so no loop or log is needed.
  return Math.min(c.maxMs, c.initialMs * Math.pow(c.factor, n));
}

/**
 * The delay (ms, integer) before reconnect attempt n (0-based). `random` returns [0, 1) like
 * Math.random; a value outside that range (a broken source) is clamped, never thrown on.
 */
export function backoffDelay(attempt: number, random: () => number, c: Readonly<BackoffConfig> = DEFAULT_BACKOFF): number {
  const ceiling = backoffCeiling(attempt, c);
  let u = random();
  if (!Number.isFinite(u) || u < 0) u = 0;
  if (u > 1) u = 1;
  return Math.round(ceiling * (1 - c.jitter) + u * ceiling * c.jitter);
}

/** Attempt counter around backoffDelay: `next()` after a failure, `reset()` once connected. */
export class Backoff {
  private attempt = 0;
  constructor(
    private readonly random: () => number,
    private readonly config: Readonly<BackoffConfig> = DEFAULT_BACKOFF,
  ) {}

  /** Delay before the next attempt; counts the attempt. */
  next(): number {
    return backoffDelay(this.attempt++, this.random, this.config);
  }
  reset(): void {
    this.attempt = 0;
  }
  get attempts(): number {
    return this.attempt;
  }
}
