/**
 * How often each item was sold at this store's kiosks, so the produce lookup shows the store's
 * most-sold produce first. Seeded from the sales ledger (kiosk.db) at start, then counted as each
 * sale is recorded; a line counts once whatever its weight (a shopper looks for "bananas", not
 * for kilograms of them).
 */
export class SoldCounts {
  private readonly counts = new Map<string, number>();

  /** Replaces the counts with the ledger's (gtin → lines sold). */
  seed(fromLedger: ReadonlyMap<string, number>): void {
    this.counts.clear();
    for (const [gtin, n] of fromLedger) this.counts.set(gtin, n);
  }

  add(lines: readonly { gtin: string }[]): void {
    for (const l of lines) this.counts.set(l.gtin, (this.counts.get(l.gtin) ?? 0) + 1);
  }

  get(gtin: string): number {
    return this.counts.get(gtin) ?? 0;
  }
}
