/**
 * The day's numbers, live (I/O shell around kpis.ts).
 *
 * Why the counters commit with the records: they used to be kept in memory and written
 * to kpi.db once a second, so a SIGKILL lost up to a second of visitors and sales and nothing
 * could rebuild them — the outbox is no source for a rebuild, since the uplink deletes rows once
 * HQ has them and the compactor merges footfall rows. Now this service is the outbox's group
 * companion (outbox/store.ts): for every group of events ingest commits, `prepare` works out the
 * increments in memory (pure `groupDelta`; only footfall and kiosk `transaction` events are
 * parsed) and the outbox writes them to `kpi_hour` / `kpi_member` in outbox.db inside the same
 * transaction as the rows. A crash keeps both or neither, so the counters always equal a recount
 * of every record ever committed. The cost is per group, not per event: a group with nothing to
 * count stays the lone INSERT it was, and one that counts adds one upsert (a second when a member
 * is new) before the same single fsync — at 5,000 events/s a group carries tens to hundreds of
 * events. The in-memory view changes only after the commit, so the ops page and HQ's report never
 * show a number the disk does not hold.
 */
import type { Logger } from '../log.js';
import type { CompanionWrite, GroupCompanion, NewEvent } from '../outbox/store.js';
import { addCounts, dayView, emptyCounts, groupDelta, keyedMemberHash, localDayHour, type GroupDelta, type HourCounts, type KpiDay } from './kpis.js';
import { loadOrCreateMemberHashKey } from './memberHashKey.js';
import type { KpiCounters } from './kpiCounters.js';
import type { KpiStore } from './kpiStore.js';

export interface KpiServiceOptions {
  /** The counters in outbox.db. */
  counters: KpiCounters;
  /** kpi.db, only to take over the counters older gateways kept there. */
  legacy: KpiStore;
  /** The highest seq committed so far (the counters cover every event up to it). */
  lastSeq: () => Promise<number>;
  storeId: string;
  timezone: string;
  /** The store's member hash key file (memberHashKey.ts), created on first start. */
  memberKeyFile: string;
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

export class KpiService implements GroupCompanion {
  private readonly days = new Map<string, Map<number, HourCounts>>();
  /** Per day in memory: keyed member hash → that day's transactions and last tier. */
  private readonly memberDays = new Map<string, Map<string, { tier: string; visits: number }>>();
  private members = new Set<string>();
  private lastSeq = 0;
  private memberKey: Buffer = Buffer.alloc(0);
  private currency: string | null = null;
  private readonly listeners = new Set<(today: KpiDay) => void>();
  private readonly log: Logger;

  constructor(private readonly o: KpiServiceOptions) {
    this.log = o.log.child({ module: 'kpi' });
  }

  /** Loads the counters; call before ingest starts (then set as the outbox's companion). */
  async start(): Promise<void> {
    let meta = await this.o.counters.meta();
    if (!meta.legacyImported) {
      const old = await this.o.legacy.legacyCounters();
      await this.o.counters.importLegacy(old);
      await this.o.legacy.clearLegacyCounters();
      if (old.hours.length > 0) this.log.info({ hours: old.hours.length, members: old.members.length }, 'KPI counters moved from kpi.db to outbox.db');
      meta = await this.o.counters.meta();
    }
    const { key, created } = loadOrCreateMemberHashKey(this.o.memberKeyFile);
    this.memberKey = key;
    if (created) this.log.info({ file: this.o.memberKeyFile }, 'member hash key created');
    if (!meta.membersKeyed) {
      // Older gateways kept SHA-256(code); the keyed hash is an HMAC of exactly that, so the
      // history (who has bought here before) carries over without knowing any code.
      const n = await this.o.counters.keyMembers((h) => keyedMemberHash(h, key));
      if (n > 0) this.log.info({ members: n }, 'KPI member hashes keyed with the store secret');
    }
    this.currency = meta.currency;
    this.lastSeq = await this.o.lastSeq();
    this.members = new Set(await this.o.counters.members());
    const from = this.dayOf(this.o.now() - DAYS_IN_MEMORY * 86_400_000);
    for (const r of await this.o.counters.hours(from)) this.hoursOf(r.day).set(r.hour, r);
    for (const v of await this.o.counters.visits(from)) this.visitsOf(v.day).set(v.hash, { tier: v.tier, visits: v.visits });
  }

  /** Nothing to flush: every count is already on disk with its record. */
  async stop(): Promise<void> {}

  /** The outbox's companion: this group's increments, written in its transaction (see top). */
  prepare(events: readonly NewEvent[]): CompanionWrite | null {
    let d: GroupDelta | null;
    try {
      d = groupDelta(events, this.o.timezone, (h) => this.members.has(h), this.memberKey);
    } catch (err) {
      // A bug here must not stop ingest (devices would re-send forever); it is loud instead.
      this.log.error({ err, seq: events[0]?.seq }, 'counting a group for the KPIs failed; the group is stored uncounted');
      return null;
    }
    if (!d) return null;
    const delta = d;
    const currencyChanged = delta.currency !== null && delta.currency !== this.currency;
    return {
      steps: () => this.o.counters.steps(delta, currencyChanged),
      committed: () => this.apply(delta),
    };
  }

  /** Called after every change of the counters (with today's view). */
  onChange(fn: (today: KpiDay) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  today(): KpiDay {
    const day = this.dayOf(this.o.now());
    return dayView(day, this.o.timezone, this.currency, this.days.get(day) ?? new Map(), this.memberDays.get(day)?.values() ?? []);
  }

  /** Any local day (YYYY-MM-DD); from memory when recent, else from outbox.db. */
  async day(day: string): Promise<KpiDay> {
    const mem = this.days.get(day);
    if (mem) return dayView(day, this.o.timezone, this.currency, mem, this.memberDays.get(day)?.values() ?? []);
    const rows = await this.o.counters.day(day);
    return dayView(day, this.o.timezone, this.currency, new Map(rows.map((r) => [r.hour, r])), await this.o.counters.visits(day, true));
  }

  /** The `report/kpi` payload for HQ: today so far, per local hour. */
  kpiSnapshot(storeId = this.o.storeId): KpiReport {
    return { storeId, generatedAt: new Date(this.o.now()).toISOString(), lastSeq: this.lastSeq, ...this.today() };
  }

  /** A committed group's increments into memory, then the listeners (the live page, HQ's report). */
  private apply(d: GroupDelta): void {
    for (const c of d.hours) {
      const hours = this.hoursOf(c.day);
      hours.set(c.hour, addCounts(hours.get(c.hour) ?? emptyCounts(), c));
    }
    for (const m of d.members) this.members.add(m.hash);
    for (const v of d.visits) {
      const day = this.visitsOf(v.day);
      day.set(v.hash, { tier: v.tier, visits: (day.get(v.hash)?.visits ?? 0) + v.visits });
    }
    if (d.currency) this.currency = d.currency;
    this.lastSeq = Math.max(this.lastSeq, d.lastSeq);
    this.prune();
    if (this.listeners.size === 0) return;
    const today = this.today();
    for (const fn of this.listeners) {
      try {
        fn(today);
      } catch (err) {
        this.log.error({ err }, 'a KPI listener failed');
      }
    }
  }

  private hoursOf(day: string): Map<number, HourCounts> {
    let m = this.days.get(day);
    if (!m) this.days.set(day, (m = new Map()));
    return m;
  }

  private visitsOf(day: string): Map<string, { tier: string; visits: number }> {
    let m = this.memberDays.get(day);
    if (!m) this.memberDays.set(day, (m = new Map()));
    return m;
  }

  private dayOf(ms: number): string {
    return localDayHour(ms, this.o.timezone).day;
  }

  /** Drops days that fell out of the memory window (they stay in outbox.db). */
  private prune(): void {
    if (this.days.size <= DAYS_IN_MEMORY + 1) return;
    const from = this.dayOf(this.o.now() - DAYS_IN_MEMORY * 86_400_000);
    for (const day of this.days.keys()) if (day < from) this.days.delete(day);
    for (const day of this.memberDays.keys()) if (day < from) this.memberDays.delete(day);
  }
}
