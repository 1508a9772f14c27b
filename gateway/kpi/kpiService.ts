/**
 * The day's numbers, live (I/O shell around kpis.ts): every committed event goes through
 * `onEvent`, counters change in memory at once (the ops page sees them over SSE) and are written to
 * kpi.db every `flushMs` and on stop, with the last seq counted — so they survive a restart and
 * never depend on the WAN or the outbox. A crash loses at most the last `flushMs` of counts.
 */
import type { Logger } from '../log.js';
import { addDelta, dayView, emptyCounts, kpiDelta, localDayHour, type HourCounts, type KpiDay, type KpiEventIn } from './kpis.js';
import type { KpiStore, HourRow } from './kpiStore.js';

export interface KpiServiceOptions {
  store: KpiStore;
  storeId: string;
  timezone: string;
  flushMs: number;
  log: Logger;
  now: () => number;
}

/** What goes to HQ as `hq/v1/store/{storeId}/report/kpi` (today so far, per local hour). */
export interface KpiReport extends KpiDay {
  storeId: string;
  generatedAt: string;
  /** The last event seq counted: HQ keeps the report with the highest one per day. */
  lastSeq: number;
}

/** Days kept in memory (the page's "today" and the days around it); older days are read from disk. */
const DAYS_IN_MEMORY = 3;

export class KpiService {
  private readonly days = new Map<string, Map<number, HourCounts>>();
  private readonly dirty = new Set<string>();
  private members = new Set<string>();
  private newMembers: { hash: string; firstSeq: number }[] = [];
  private lastSeq = 0;
  private currency: string | null = null;
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private readonly listeners = new Set<(today: KpiDay) => void>();
  private readonly log: Logger;

  constructor(private readonly o: KpiServiceOptions) {
    this.log = o.log.child({ module: 'kpi' });
  }

  async start(): Promise<void> {
    const meta = await this.o.store.meta();
    this.lastSeq = meta.lastSeq;
    this.currency = meta.currency;
    this.members = new Set(await this.o.store.members());
    const from = this.dayOf(this.o.now() - DAYS_IN_MEMORY * 86_400_000);
    for (const r of await this.o.store.hours(from)) this.hoursOf(r.day).set(r.hour, r);
    this.timer = setInterval(() => void this.flush(), this.o.flushMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.flush();
  }

  /** Counts one committed event (in seq order; an event at or below the saved mark is skipped). */
  onEvent(e: KpiEventIn & { seq: number }): void {
    if (e.seq <= this.lastSeq) return;
    this.lastSeq = e.seq;
    const d = kpiDelta(e, this.o.timezone);
    if (!d) return;
    const hours = this.hoursOf(d.day);
    const hash = d.transaction?.memberHash ?? null;
    const seen = hash !== null && this.members.has(hash);
    hours.set(d.hour, addDelta(hours.get(d.hour) ?? emptyCounts(), d, seen));
    if (hash && !seen) {
      this.members.add(hash);
      this.newMembers.push({ hash, firstSeq: e.seq });
    }
    if (d.transaction?.currency) this.currency = d.transaction.currency;
    this.dirty.add(`${d.day}|${d.hour}`);
    if (this.listeners.size > 0) {
      const today = this.today();
      for (const fn of this.listeners) {
        try {
          fn(today);
        } catch (err) {
          this.log.error({ err }, 'a KPI listener failed');
        }
      }
    }
  }

  /** Called after every change of the counters (with today's view). */
  onChange(fn: (today: KpiDay) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  today(): KpiDay {
    const day = this.dayOf(this.o.now());
    return dayView(day, this.o.timezone, this.currency, this.days.get(day) ?? new Map());
  }

  /** Any local day (YYYY-MM-DD); from memory when recent, else from kpi.db. */
  async day(day: string): Promise<KpiDay> {
    const mem = this.days.get(day);
    if (mem) return dayView(day, this.o.timezone, this.currency, mem);
    const rows = (await this.o.store.hours(day)).filter((r) => r.day === day);
    return dayView(day, this.o.timezone, this.currency, new Map(rows.map((r) => [r.hour, r])));
  }

  /** The `report/kpi` payload for HQ: today so far, per local hour. */
  kpiSnapshot(storeId = this.o.storeId): KpiReport {
    return { storeId, generatedAt: new Date(this.o.now()).toISOString(), lastSeq: this.lastSeq, ...this.today() };
  }

  /** Writes what changed since the last flush (one transaction); serialised, never concurrent. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.flushNow());
    return this.flushing;
  }

  private async flushNow(): Promise<void> {
    if (this.dirty.size === 0 && this.newMembers.length === 0) return;
    const hours: HourRow[] = [];
    for (const key of this.dirty) {
      const [day, h] = key.split('|');
      const c = this.days.get(day)?.get(Number(h));
      if (c) hours.push({ day, hour: Number(h), ...c });
    }
    const members = this.newMembers;
    this.dirty.clear();
    this.newMembers = [];
    try {
      await this.o.store.save({ hours, members, lastSeq: this.lastSeq, currency: this.currency });
    } catch (err) {
      // Put it back: the next flush writes it (hour rows are absolute values, so this is safe).
      for (const r of hours) this.dirty.add(`${r.day}|${r.hour}`);
      this.newMembers = members.concat(this.newMembers);
      this.log.error({ err }, 'saving KPI counters failed; retrying at the next flush');
    }
    this.prune();
  }

  private hoursOf(day: string): Map<number, HourCounts> {
    let m = this.days.get(day);
    if (!m) this.days.set(day, (m = new Map()));
    return m;
  }

  private dayOf(ms: number): string {
    return localDayHour(ms, this.o.timezone).day;
  }

  /** Drops saved days that fell out of the memory window. */
  private prune(): void {
    const from = this.dayOf(this.o.now() - DAYS_IN_MEMORY * 86_400_000);
    for (const day of this.days.keys()) {
      if (day < from && ![...this.dirty].some((k) => k.startsWith(`${day}|`))) this.days.delete(day);
    }
  }
}
