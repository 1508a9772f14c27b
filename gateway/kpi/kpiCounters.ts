/**
 * The KPI counters' repository: tables `kpi_hour`, `kpi_member`, `kpi_meta` in
 * outbox.db (migration 4), and `kpi_member_day` (migration 8), written inside the outbox's group transaction (outbox/store.ts
 * `GroupCompanion`), so the counters always equal what the committed records add up to.
 * Increments, never absolute values: a group adds what it counts, whatever is in memory.
 */
import type { Db } from '../db/sqlite.js';
import type { Step } from '../db/owner.js';
import type { GroupDelta, HourCell, MemberVisit } from './kpis.js';

/** The counters older gateways kept in kpi.db, moved into outbox.db once. */
export interface LegacyCounters {
  hours: HourCell[];
  members: { hash: string; firstSeq: number }[];
  currency: string | null;
}

const ADD_HOUR = `INSERT INTO kpi_hour (day, hour, visitors, transactions, sales, member_tx, repeat_tx, member_sales, points_issued, points_spent, coupon_redemptions)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (day, hour) DO UPDATE SET visitors = visitors + excluded.visitors, transactions = transactions + excluded.transactions,
    sales = sales + excluded.sales, member_tx = member_tx + excluded.member_tx, repeat_tx = repeat_tx + excluded.repeat_tx,
    member_sales = member_sales + excluded.member_sales, points_issued = points_issued + excluded.points_issued,
    points_spent = points_spent + excluded.points_spent, coupon_redemptions = coupon_redemptions + excluded.coupon_redemptions`;
const ADD_VISITS = `INSERT INTO kpi_member_day (day, hash, tier, visits) VALUES (?, ?, ?, ?)
  ON CONFLICT (day, hash) DO UPDATE SET visits = visits + excluded.visits, tier = excluded.tier`;
const HOUR_COLS = 'day, hour, visitors, transactions, sales, member_tx, repeat_tx, member_sales, points_issued, points_spent, coupon_redemptions';
const ADD_MEMBER = 'INSERT OR IGNORE INTO kpi_member (hash, first_seq) VALUES (?, ?)';
const SET_META = 'INSERT INTO kpi_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value';

type HourDbRow = {
  day: string;
  hour: number;
  visitors: number;
  transactions: number;
  sales: number;
  member_tx: number;
  repeat_tx: number;
  member_sales: number;
  points_issued: number;
  points_spent: number;
  coupon_redemptions: number;
};

function cellOf(r: HourDbRow): HourCell {
  return {
    day: r.day,
    hour: r.hour,
    visitors: r.visitors,
    transactions: r.transactions,
    sales: r.sales,
    memberTransactions: r.member_tx,
    repeatTransactions: r.repeat_tx,
    memberSales: r.member_sales,
    pointsIssued: r.points_issued,
    pointsSpent: r.points_spent,
    couponRedemptions: r.coupon_redemptions,
  };
}

export class KpiCounters {
  /** `db`: the outbox's writer connection (the one its group transactions run on). */
  constructor(private readonly db: Db) {}

  /**
   * A group's increments as steps for the outbox's group transaction (run by its writer thread):
   * one prepared statement executed per hour cell and per first-seen member, one for a changed
   * currency.
   */
  steps(d: GroupDelta, currencyChanged: boolean): Step[] {
    const out: Step[] = [
      { sql: ADD_HOUR, rows: d.hours.map((h) => [h.day, h.hour, h.visitors, h.transactions, h.sales, h.memberTransactions, h.repeatTransactions, h.memberSales, h.pointsIssued, h.pointsSpent, h.couponRedemptions]) },
    ];
    if (d.members.length > 0) out.push({ sql: ADD_MEMBER, rows: d.members.map((m) => [m.hash, m.firstSeq]) });
    if (d.visits.length > 0) out.push({ sql: ADD_VISITS, rows: d.visits.map((v) => [v.day, v.hash, v.tier, v.visits]) });
    if (currencyChanged && d.currency) out.push({ sql: SET_META, rows: [['currency', d.currency]] });
    return out;
  }

  async hours(fromDay: string): Promise<HourCell[]> {
    const rows = await this.db.all<HourDbRow>(`SELECT ${HOUR_COLS} FROM kpi_hour WHERE day >= ? ORDER BY day, hour`, [fromDay]);
    return rows.map(cellOf);
  }

  async day(day: string): Promise<HourCell[]> {
    const rows = await this.db.all<HourDbRow>(`SELECT ${HOUR_COLS} FROM kpi_hour WHERE day = ? ORDER BY hour`, [day]);
    return rows.map(cellOf);
  }

  /** Members' transactions per day from `fromDay` on (or of that one day with `onlyDay`). */
  async visits(fromDay: string, onlyDay = false): Promise<MemberVisit[]> {
    return this.db.all<MemberVisit>(`SELECT day, hash, tier, visits FROM kpi_member_day WHERE day ${onlyDay ? '=' : '>='} ? ORDER BY day`, [fromDay]);
  }

  /** Every member hash seen (a store's member base fits in memory: ~100 bytes each). */
  async members(): Promise<string[]> {
    return (await this.db.all<{ hash: string }>('SELECT hash FROM kpi_member')).map((r) => r.hash);
  }

  async meta(): Promise<{ currency: string | null; legacyImported: boolean; membersKeyed: boolean }> {
    const rows = await this.db.all<{ key: string; value: string }>('SELECT key, value FROM kpi_meta');
    const m = new Map(rows.map((r) => [r.key, r.value]));
    return { currency: m.get('currency') ?? null, legacyImported: m.has('legacyImported'), membersKeyed: m.has('membersKeyed') };
  }

  /**
   * Replaces every stored member hash by `rekey(hash)` and marks the members keyed, in one
   * transaction (at start, before ingest); returns how many hashes it rewrote.
   */
  async keyMembers(rekey: (hash: string) => string): Promise<number> {
    const rows = await this.db.all<{ hash: string; first_seq: number }>('SELECT hash, first_seq FROM kpi_member');
    this.db.tx(() => {
      this.db.prepare('DELETE FROM kpi_member').run();
      const ins = this.db.prepare(ADD_MEMBER);
      for (const r of rows) ins.run(rekey(r.hash), r.first_seq);
      this.db.prepare(SET_META).run('membersKeyed', '1');
    });
    return rows.length;
  }

  /**
   * Adds kpi.db's old counters and marks the move done, in one transaction (at start, before
   * ingest: nothing else writes on the connection meanwhile).
   */
  async importLegacy(l: LegacyCounters): Promise<void> {
    const steps = this.steps({ hours: l.hours, members: l.members, visits: [], currency: l.hours.length > 0 ? l.currency : null, lastSeq: 0 }, true);
    steps.push({ sql: SET_META, rows: [['legacyImported', '1']] });
    this.db.tx(() => {
      for (const s of steps) {
        const st = this.db.prepare(s.sql);
        for (const r of s.rows) st.run(...r);
      }
    });
  }
}
