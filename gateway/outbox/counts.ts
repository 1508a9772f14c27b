/**
 * Rows in the outbox per class, kept in memory: counted once at start (one query), then moved by
 * whoever commits a change (ingest's append, the uplink's delete, compaction, quota eviction) after
 * its transaction committed. /metrics and the quota read these instead of scanning the table on
 * every scrape or check.
 */
export class OutboxCounts {
  private readonly byClass = new Map<string, number>();

  /** Replaces every count (the start-up query). */
  reset(rows: Iterable<{ cls: string; n: number }>): void {
    this.byClass.clear();
    for (const r of rows) if (r.n > 0) this.byClass.set(r.cls, r.n);
  }

  /** Adds `n` (negative to remove) rows of a class. */
  add(cls: string, n: number): void {
    const v = (this.byClass.get(cls) ?? 0) + n;
    if (v > 0) this.byClass.set(cls, v);
    else this.byClass.delete(cls);
  }

  /** Adds one row per entry (its class). */
  addEach(classes: Iterable<string>, sign: 1 | -1): void {
    for (const c of classes) this.add(c, sign);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.byClass);
  }

  get total(): number {
    let t = 0;
    for (const v of this.byClass.values()) t += v;
    return t;
  }
}
