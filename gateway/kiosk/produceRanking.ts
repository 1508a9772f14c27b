/**
 * The order of the produce lookup: the store's most-sold weighed items first, then by name.
 *
 * `SoldCounts` holds how often each item was sold at this store's kiosks: seeded from the last
 * four weeks of the sales ledger (kiosk.db) at start, then counted as each sale is recorded; a line counts once whatever
 * its weight (a shopper looks for "bananas", not for kilograms of them).
 *
 * `ProduceOrder` keeps the sorted list of weighed GTINs and sorts again only when the catalog's
 * items or the counts changed: the cart view is built after every scan, and sorting thousands of
 * weighed items of a large catalog each time would slow every scan.
 */
import type { Catalog } from '../prices/catalog.js';

export class SoldCounts {
  private readonly counts = new Map<string, number>();
  /** Grows with every change, so an order built on older counts is known to be stale. */
  version = 0;

  /** Replaces the counts with the ledger's (gtin → lines sold). */
  seed(fromLedger: ReadonlyMap<string, number>): void {
    this.counts.clear();
    for (const [gtin, n] of fromLedger) this.counts.set(gtin, n);
    this.version++;
  }

  add(lines: readonly { gtin: string }[]): void {
    for (const l of lines) this.counts.set(l.gtin, (this.counts.get(l.gtin) ?? 0) + 1);
    this.version++;
  }

  get(gtin: string): number {
    return this.counts.get(gtin) ?? 0;
  }
}

export class ProduceOrder {
  private items: Catalog['items'] | null = null;
  private soldVersion = -1;
  private order: string[] = [];

  constructor(private readonly sold: SoldCounts) {}

  /** Weighed GTINs of `cat`, most-sold first, then by name. */
  of(cat: Catalog): readonly string[] {
    if (cat.items === this.items && this.sold.version === this.soldVersion) return this.order;
    const weighed = [...cat.items.values()].filter((i) => i.unit === 'kg');
    weighed.sort((a, b) => this.sold.get(b.gtin) - this.sold.get(a.gtin) || a.name.localeCompare(b.name));
    this.order = weighed.map((i) => i.gtin);
    this.items = cat.items;
    this.soldVersion = this.sold.version;
    return this.order;
  }
}
