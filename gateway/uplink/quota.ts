/**
 * The outbox disk quota. The limit is `data.quotaBytes`, or less when the disk is
 * short: the outbox never grows into the last `minFreeDiskBytes` of the file system (fs.statfs).
 * "Used" is SQLite's live pages: deleted rows free pages that SQLite reuses, the file does not
 * shrink, so the file size would say "full" forever after one busy week.
 *
 * Over the limit, rows are evicted by class (gateway/README.md §Event classes): sampled, latest, presence,
 * oldest first, aggregate as the last resort, down to 90 % of the limit; each eviction is itself
 * an exact record (OUTBOX_EVICTED: class, count, seq range). Exact rows are never evicted: if they
 * alone break the quota, the alert is raised (metric, log, GET /api/uplink) and they are kept.
 */
import { statfs } from 'node:fs/promises';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { EventClass } from '../protocol/envelopes.js';
import type { Eviction, UplinkStore } from './store.js';
import type { SelfRecords } from './selfRecords.js';

export const EVICTION_ORDER: readonly EventClass[] = ['sampled', 'latest', 'presence', 'aggregate'];
const TARGET = 0.9;
const HOUR = 3600_000;

export interface QuotaOptions {
  store: UplinkStore;
  dir: string;
  quotaBytes: number;
  minFreeDiskBytes: number;
  selfRecords: SelfRecords;
  metrics: Metrics;
  log: Logger;
  now: () => number;
  /** Free bytes for an unprivileged user on the file system of `dir` (default fs.statfs). */
  freeDisk?: (dir: string) => Promise<number>;
  /** Stored rows per raw event (the compaction shrink), for the days-left estimate. */
  shrink?: () => number;
}

export interface QuotaStatus {
  usedBytes: number;
  limitBytes: number;
  quotaBytes: number;
  freeDiskBytes: number;
  /** Exact records alone break the quota (they are kept). */
  alert: boolean;
  /** Days of outage the headroom holds at the rate of the last 24 h; null when nothing arrives. */
  daysLeft: number | null;
  evicted: Record<string, number>;
  lastEvictions: Eviction[];
}

export class Quota {
  private readonly log: Logger;
  /** Events per gateway-time hour, the last 24 hours (for "today's rate"). */
  private readonly hours = new Map<number, number>();
  private firstHour: number | null = null;
  readonly status: QuotaStatus;

  constructor(private readonly o: QuotaOptions) {
    this.log = o.log.child({ module: 'quota' });
    this.status = { usedBytes: 0, limitBytes: o.quotaBytes, quotaBytes: o.quotaBytes, freeDiskBytes: 0, alert: false, daysLeft: null, evicted: {}, lastEvictions: [] };
  }

  /** Counts arriving events for the rate estimate. */
  noteEvents(n: number): void {
    const h = Math.floor(this.o.now() / HOUR);
    this.firstHour ??= h;
    this.hours.set(h, (this.hours.get(h) ?? 0) + n);
    for (const k of this.hours.keys()) if (k <= h - 24) this.hours.delete(k);
  }

  /** Measures, evicts when over the limit, raises or clears the alert. */
  async check(): Promise<QuotaStatus> {
    const s = this.status;
    s.freeDiskBytes = await (this.o.freeDisk ?? defaultFreeDisk)(this.o.dir);
    let used = await this.o.store.usedBytes();
    s.limitBytes = Math.min(this.o.quotaBytes, used + Math.max(0, s.freeDiskBytes - this.o.minFreeDiskBytes));
    // The bytes per row are estimated from the whole file, whose tables that are not rows (KPI
    // counters, keys, delivery bookkeeping) make the estimate high: a few passes, each measured.
    for (let pass = 0; pass < 3 && used > s.limitBytes; pass++) {
      if (!(await this.evict(used, s.limitBytes))) break;
      used = await this.o.store.usedBytes();
    }
    const alert = used > s.limitBytes;
    if (alert !== s.alert) {
      if (alert) this.log.error({ usedBytes: used, limitBytes: s.limitBytes }, 'exact records alone break the outbox quota; keeping them');
      else this.log.info({ usedBytes: used, limitBytes: s.limitBytes }, 'outbox back under its quota');
    }
    s.alert = alert;
    s.usedBytes = used;
    s.daysLeft = await this.daysLeft(used, s.limitBytes);
    const m = this.o.metrics;
    m.outboxUsedBytes.set(used);
    m.outboxLimitBytes.set(s.limitBytes);
    m.quotaAlert.set(alert ? 1 : 0);
    m.quotaDaysLeft.set(s.daysLeft ?? Infinity);
    return s;
  }

  /** Evicts by the estimate; false when there was nothing it may evict. */
  private async evict(used: number, limit: number): Promise<boolean> {
    const { rows, total } = await this.o.store.summary();
    const perRow = used / Math.max(1, total);
    let need = Math.ceil((used - limit * TARGET) / perRow);
    let evicted = false;
    this.o.metrics.quotaAlert.set(0);
    for (const cls of EVICTION_ORDER) {
      if (need <= 0) break;
      const n = Math.min(need, rows[cls] ?? 0);
      if (n <= 0) continue;
      const ev = await this.o.store.evictOldest(cls, n);
      if (!ev) continue;
      evicted = true;
      need -= ev.count;
      this.status.evicted[cls] = (this.status.evicted[cls] ?? 0) + ev.count;
      this.status.lastEvictions = [...this.status.lastEvictions, ev].slice(-10);
      this.o.metrics.evicted.labels(cls).inc(ev.count);
      this.log.warn({ cls, count: ev.count, seqFrom: ev.seqFrom, seq: ev.seqTo, usedBytes: used, limitBytes: limit }, 'outbox over quota: evicted');
      await this.o.selfRecords.record('OUTBOX_EVICTED', 'warning', `outbox over quota: evicted ${ev.count} ${cls} records (seq ${ev.seqFrom}..${ev.seqTo})`, {
        evicted: { class: cls, count: ev.count, seqFrom: ev.seqFrom, seqTo: ev.seqTo },
      });
    }
    return evicted;
  }

  private async daysLeft(used: number, limit: number): Promise<number | null> {
    if (this.firstHour === null) return null;
    const nowH = Math.floor(this.o.now() / HOUR);
    let events = 0;
    for (const [h, n] of this.hours) if (h > nowH - 24) events += n;
    const hoursSeen = Math.min(24, Math.max(1, nowH - this.firstHour + 1));
    const perDay = (events / hoursSeen) * 24;
    if (perDay <= 0) return null;
    const { total } = await this.o.store.summary();
    const perRow = total > 0 ? used / total : 200;
    const bytesPerDay = perDay * perRow * (this.o.shrink?.() ?? 1);
    return Math.max(0, limit - used) / bytesPerDay;
  }
}

async function defaultFreeDisk(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}
