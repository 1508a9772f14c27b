/**
 * A semaphore in front of people's scrypt verifications. One check of a 2^15 hash holds 32 MiB
 * and a libuv thread for ~100 ms; the pool has four threads, which gzip and file I/O need too. So
 * at most `concurrent` hashes run at once, `queued` more wait their turn, and anything beyond is
 * refused at once (the caller answers 429) instead of queueing behind the others in the pool.
 */
export class HashGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly opts: { concurrent: number; queued: number }) {
    if (!Number.isInteger(opts.concurrent) || opts.concurrent < 1) throw new Error('HashGate: concurrent must be an integer ≥ 1');
    if (!Number.isInteger(opts.queued) || opts.queued < 0) throw new Error('HashGate: queued must be an integer ≥ 0');
  }

  /** Runs `fn` when a slot is free; `{ busy: true }` without running it when the queue is full. */
  async run<T>(fn: () => Promise<T>): Promise<{ busy: false; value: T } | { busy: true }> {
    if (this.running >= this.opts.concurrent) {
      if (this.waiting.length >= this.opts.queued) return { busy: true };
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running++;
    }
    try {
      return { busy: false, value: await fn() };
    } finally {
      // The slot passes straight to the next waiter, so `running` never exceeds `concurrent`.
      const next = this.waiting.shift();
      if (next) next();
      else this.running--;
    }
  }

  /** Hashes running now (a gauge for tests and metrics). */
  get active(): number {
    return this.running;
  }
}
