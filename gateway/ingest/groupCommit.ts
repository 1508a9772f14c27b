/**
 * Group commit: items queue while one transaction is in flight; when it finishes, everything that
 * queued meanwhile goes in the next one (up to `maxBatch`). Under load a transaction carries many
 * events per fsync; when idle a lone event commits at once (no timer adds latency).
 * Each item's callback runs after its transaction committed, or with the error if it failed.
 *
 * The callbacks of one transaction run in slices of `settleSlice` with a turn of the event loop
 * between slices: at saturation one commit carries ~800 events, and releasing all their PUBACKs
 * (aedes' publish pipeline per callback) in one tick stalled the loop for ~25 ms.
 */
export type Done = (err: Error | null) => void;
/** A commit whose items did not all fare alike answers per item (by index in the batch). */
export type PerItem = (index: number) => Error | null;

export interface GroupCommitStats {
  commits: number;
  items: number;
  lastBatch: number;
  inFlight: boolean;
  queued: number;
}

export class GroupCommit<T> {
  private queue: T[] = [];
  private callbacks: Done[] = [];
  /** Parallel to `queue`: true when the item must commit in the same transaction as the next one. */
  private joined: boolean[] = [];
  private busy = false;
  private closed = false;
  private idleWaiters: (() => void)[] = [];
  readonly stats: GroupCommitStats = { commits: 0, items: 0, lastBatch: 0, inFlight: false, queued: 0 };

  constructor(
    private readonly commit: (items: T[]) => Promise<void | PerItem>,
    private readonly maxBatch: number,
    private readonly onCommitted?: (n: number, ms: number) => void,
    private readonly now: () => number = () => performance.now(),
    private readonly settleSlice = 128,
  ) {
    if (!(Number.isInteger(settleSlice) && settleSlice >= 1)) throw new RangeError('settleSlice: must be an integer ≥ 1');
  }

  add(item: T, done: Done): void {
    if (this.closed) {
      done(new Error('group commit is closed'));
      return;
    }
    this.queue.push(item);
    this.callbacks.push(done);
    this.joined.push(false);
    this.stats.queued = this.queue.length;
    if (!this.busy) this.flush();
  }

  /**
   * Items that commit in ONE transaction, all or none (a sale and the records derived from it):
   * a batch is never cut inside the group, even past `maxBatch`. Each item's callback is
   * told as with `add`.
   */
  addGroup(items: readonly T[], dones: readonly Done[]): void {
    if (items.length !== dones.length) throw new RangeError('addGroup: one callback per item');
    if (this.closed) {
      for (const d of dones) d(new Error('group commit is closed'));
      return;
    }
    items.forEach((item, i) => {
      this.queue.push(item);
      this.callbacks.push(dones[i]);
      this.joined.push(i < items.length - 1);
    });
    this.stats.queued = this.queue.length;
    if (!this.busy && items.length > 0) this.flush();
  }

  private flush(): void {
    if (this.queue.length === 0) {
      this.busy = false;
      this.stats.inFlight = false;
      for (const w of this.idleWaiters.splice(0)) w();
      return;
    }
    this.busy = true;
    this.stats.inFlight = true;
    let n = Math.min(this.queue.length, this.maxBatch);
    while (n < this.queue.length && this.joined[n - 1]) n++; // never split a group (addGroup)
    const items = this.queue.splice(0, n);
    const cbs = this.callbacks.splice(0, n);
    this.joined.splice(0, n);
    this.stats.queued = this.queue.length;
    const t0 = this.now();
    let pending: Promise<void | PerItem>;
    try {
      pending = this.commit(items);
    } catch (err) {
      pending = Promise.reject(err as Error);
    }
    pending.then(
      (perItem) => {
        this.stats.commits++;
        this.stats.items += n;
        this.stats.lastBatch = n;
        this.onCommitted?.(n, this.now() - t0);
        // Callbacks may publish and re-enter add(); the next transaction starts after them and
        // takes all that queued meanwhile (fewer, fuller fsyncs than starting it at once).
        this.settle(cbs, perItem ?? null, () => this.flush());
      },
      (err: Error) => this.settle(cbs, err, () => this.flush()),
    );
  }

  /**
   * Runs `cbs` in order, one slice now and one per turn of the loop, then `next`. Transactions are
   * one at a time, so PUBACKs leave in the order the PUBLISHes came ([MQTT-4.6.0-2]). One throwing
   * callback must not keep the others from hearing about their commit.
   */
  private settle(cbs: Done[], err: Error | PerItem | null, next: () => void, from = 0): void {
    const end = Math.min(cbs.length, from + this.settleSlice);
    for (let i = from; i < end; i++) {
      try {
        cbs[i](typeof err === 'function' ? err(i) : err);
      } catch (e) {
        this.onCallbackError?.(e as Error);
      }
    }
    if (end < cbs.length) setImmediate(() => this.settle(cbs, err, next, end));
    else next();
  }

  onCallbackError?: (err: Error) => void;

  /** Resolves when nothing is queued, in flight or waiting to hear of its commit. */
  drain(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Refuses new items; those already queued still commit. */
  async close(): Promise<void> {
    this.closed = true;
    await this.drain();
  }
}
