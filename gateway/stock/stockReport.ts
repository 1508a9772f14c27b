/**
 * The retained stock report to HQ (`hq/v1/store/{storeId}/report/stock`), for the online shop:
 * on hand, reserved and available per GTIN. The uplink keeps only the latest payload of a report
 * and a retained message replaces the one before, so each report is the whole store (a shop that
 * subscribes later sees everything) and names in `changed` the GTINs that differ from the report
 * before. Sent at start, then at most once per interval when a movement or a reservation changed
 * something; the exact `stockMove` records remain the full story.
 */
import type { Logger } from '../log.js';
import type { StockLine } from './movements.js';

export interface StockReportOptions {
  snapshot: (sinceMs: number) => Promise<{ lines: StockLine[] }>;
  send: (payload: Buffer) => void;
  minIntervalMs: number;
  now: () => number;
  log: Logger;
}

export interface StockReportBody {
  ts: string;
  /** Counts up with every report of this gateway's run; `changed` is against the one before. */
  report: number;
  items: StockLine[];
  changed: string[];
}

/** Pure: the GTINs whose line differs from the previous report (a GTIN gone counts as changed). */
export function changedLines(prev: ReadonlyMap<string, StockLine>, next: readonly StockLine[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const l of next) {
    seen.add(l.gtin);
    const p = prev.get(l.gtin);
    if (!p || p.onHand !== l.onHand || p.reserved !== l.reserved) out.push(l.gtin);
  }
  for (const g of prev.keys()) if (!seen.has(g)) out.push(g);
  return out;
}

export class StockReport {
  private timer: NodeJS.Timeout | null = null;
  private last = new Map<string, StockLine>();
  private count = 0;
  private lastAt = 0;
  private busy = false;

  constructor(private readonly o: StockReportOptions) {}

  start(): void {
    void this.tick();
    // Reservations change with HQ's orders feed, which moves no stock: the tick looks for those too.
    this.timer = setInterval(() => void this.tick(), this.o.minIntervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Stock moved: the next tick reports it (or now, if the last report is an interval old). */
  changed(): void {
    if (this.timer && this.o.now() - this.lastAt >= this.o.minIntervalMs) void this.tick();
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { lines } = await this.o.snapshot(this.lastAt);
      const changed = changedLines(this.last, lines);
      if (changed.length === 0 && this.count > 0) return;
      this.count++;
      this.lastAt = this.o.now();
      this.last = new Map(lines.map((l) => [l.gtin, l]));
      const body: StockReportBody = { ts: new Date(this.lastAt).toISOString(), report: this.count, items: lines, changed };
      this.o.send(Buffer.from(JSON.stringify(body), 'utf8'));
      this.o.log.info({ report: this.count, items: lines.length, changed: changed.length }, 'stock report sent');
    } catch (err) {
      this.o.log.warn({ err }, 'the stock report could not be built; the next tick tries again');
    } finally {
      this.busy = false;
    }
  }
}
