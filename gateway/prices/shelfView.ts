/**
 * Shelf = till, the in-memory side: the labels of an item with their state at this
 * moment (read on every sale, so no query: the label tracking is already in memory, and the labels
 * of a GTIN are indexed once per bindings change), and the price mismatches committed since the
 * gateway started, for the sync report HQ receives and the ops API.
 */
import type { Catalog } from './catalog.js';
import type { EslFanout } from './fanout.js';
import type { LabelAtSale } from './shelfTill.js';

/** One line of the sync report: a committed `priceMismatch` record. */
export interface MismatchLine {
  seq: number;
  at: string;
  mismatchId: string;
  kioskId: string;
  transactionId: string;
  gtin: string;
  labelId: string;
  labelState: string;
  labelHash: string;
  tillPrice: number;
  labelPrice: number;
  currency: string;
}

/** Mismatch lines kept for the report (the exact records themselves go to HQ through the uplink). */
const KEEP = 100;

export class ShelfView {
  private byGtin = new Map<string, string[]>();
  private indexed: Catalog['bindings'] | null = null;
  private readonly recent: MismatchLine[] = [];
  /** Mismatch records committed since start. */
  mismatches = 0;

  constructor(private readonly fanout: EslFanout) {}

  /** The labels bound to `gtin` in `cat` and their state now; an unbound item has none. */
  labelsAt(cat: Catalog, gtin: string): LabelAtSale[] {
    if (this.indexed !== cat.bindings) this.reindex(cat.bindings);
    const out: LabelAtSale[] = [];
    for (const labelId of this.byGtin.get(gtin) ?? []) {
      const l = this.fanout.tracker.labels.get(labelId);
      if (!l || l.target === null) continue; // bound, but its item has no content to show
      const state = l.acked === l.target ? 'current' : l.state === 'failed' ? 'stale' : 'pending';
      out.push({ labelId, state, hash: l.acked, shows: this.fanout.shownFor(labelId, l.acked) });
    }
    return out;
  }

  private reindex(bindings: Catalog['bindings']): void {
    const m = new Map<string, string[]>();
    for (const [labelId, b] of bindings) {
      const list = m.get(b.gtin);
      if (list) list.push(labelId);
      else m.set(b.gtin, [labelId]);
    }
    for (const list of m.values()) list.sort();
    this.byGtin = m;
    this.indexed = bindings;
  }

  /** A committed `kiosk/priceMismatch` record (the gateway's event observer). */
  onMismatch(seq: number, data: string): void {
    let d: Record<string, unknown>;
    try {
      d = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return;
    }
    this.mismatches++;
    this.recent.push({
      seq,
      at: String(d.ts),
      mismatchId: String(d.mismatchId),
      kioskId: String(d.kioskId),
      transactionId: String(d.transactionId),
      gtin: String(d.gtin),
      labelId: String(d.labelId),
      labelState: String(d.labelState),
      labelHash: String(d.labelHash),
      tillPrice: Number(d.tillPrice),
      labelPrice: Number(d.labelPrice),
      currency: String(d.currency),
    });
    if (this.recent.length > KEEP) this.recent.splice(0, this.recent.length - KEEP);
  }

  /** The report part: how many since start, and the last ones (oldest first). */
  report(): { total: number; recent: MismatchLine[] } {
    return { total: this.mismatches, recent: [...this.recent] };
  }
}
