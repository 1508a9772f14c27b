/**
 * The ops repository (its own file, kpi.db): the alert book. The KPI counters older gateways kept
 * here moved to outbox.db (kpiCounters.ts), to commit in the same transaction as the records
 * they count; `legacyCounters()` hands the old rows over once.
 */
import { type Db } from '../db/sqlite.js';
import { openStore } from '../db/openStore.js';
import type { LegacyCounters } from './kpiCounters.js';
import type { AlertRow } from '../protocol/schemas/api/ops.js';

const MIGRATIONS: readonly string[] = [
  // 1: kpi_hour, kpi_member, kpi_meta are read only by legacyCounters() (the counters live in outbox.db).
  `CREATE TABLE kpi_hour (
     day TEXT NOT NULL, hour INTEGER NOT NULL, visitors INTEGER NOT NULL, transactions INTEGER NOT NULL,
     sales INTEGER NOT NULL, member_tx INTEGER NOT NULL, repeat_tx INTEGER NOT NULL,
     PRIMARY KEY (day, hour)
   );
   CREATE TABLE kpi_member (hash TEXT PRIMARY KEY, first_seq INTEGER NOT NULL);
   CREATE TABLE kpi_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   CREATE TABLE alert (
     id INTEGER PRIMARY KEY, at INTEGER NOT NULL, source TEXT NOT NULL, code TEXT NOT NULL,
     severity TEXT NOT NULL, message TEXT NOT NULL, seq INTEGER, acked_by TEXT, acked_at INTEGER
   )`,
];

/** One alert of the alert book, as the API serves it. */
export type { AlertRow } from '../protocol/schemas/api/ops.js';

export class KpiStore {
  private db!: Db;
  constructor(private readonly file: string) {}

  async start(): Promise<void> {
    this.db = await openStore(this.file, { synchronous: 'NORMAL', migrations: MIGRATIONS });
  }

  async stop(): Promise<void> {
    if (this.db) await this.db.close();
  }

  /**
   * The counters older gateways kept here (they now live in outbox.db, beside the records they
   * count); empty once moved.
   */
  async legacyCounters(): Promise<LegacyCounters> {
    const hours = await this.db.all<{ day: string; hour: number; visitors: number; transactions: number; sales: number; member_tx: number; repeat_tx: number }>(
      'SELECT day, hour, visitors, transactions, sales, member_tx, repeat_tx FROM kpi_hour ORDER BY day, hour',
    );
    const members = await this.db.all<{ hash: string; first_seq: number }>('SELECT hash, first_seq FROM kpi_member');
    const cur = await this.db.get<{ value: string }>("SELECT value FROM kpi_meta WHERE key = 'currency'");
    return {
      hours: hours.map((r) => ({ day: r.day, hour: r.hour, visitors: r.visitors, transactions: r.transactions, sales: r.sales, memberTransactions: r.member_tx, repeatTransactions: r.repeat_tx, memberSales: 0, pointsIssued: 0, pointsSpent: 0, couponRedemptions: 0 })),
      members: members.map((m) => ({ hash: m.hash, firstSeq: m.first_seq })),
      currency: cur?.value ?? null,
    };
  }

  /** Empties the old counter tables once outbox.db holds their rows. */
  async clearLegacyCounters(): Promise<void> {
    await this.db.exec('BEGIN; DELETE FROM kpi_hour; DELETE FROM kpi_member; DELETE FROM kpi_meta; COMMIT');
  }

  async addAlert(a: Omit<AlertRow, 'id' | 'ackedBy' | 'ackedAt'>): Promise<AlertRow> {
    const res = await this.db.run('INSERT INTO alert (at, source, code, severity, message, seq) VALUES (?, ?, ?, ?, ?, ?)', [a.at, a.source, a.code, a.severity, a.message, a.seq]);
    // Keep the book bounded: the newest 5000 alerts.
    await this.db.run('DELETE FROM alert WHERE id <= ?', [res.lastID - 5000]);
    return { ...a, id: res.lastID, ackedBy: null, ackedAt: null };
  }

  async alerts(limit: number, unackedOnly: boolean): Promise<AlertRow[]> {
    const rows = await this.db.all<{ id: number; at: number; source: string; code: string; severity: AlertRow['severity']; message: string; seq: number | null; acked_by: string | null; acked_at: number | null }>(
      `SELECT id, at, source, code, severity, message, seq, acked_by, acked_at FROM alert ${unackedOnly ? 'WHERE acked_at IS NULL' : ''} ORDER BY id DESC LIMIT ?`,
      [limit],
    );
    return rows.map((r) => ({ id: r.id, at: r.at, source: r.source, code: r.code, severity: r.severity, message: r.message, seq: r.seq, ackedBy: r.acked_by, ackedAt: r.acked_at }));
  }

  /** Acknowledges an open alert; false when there is none with that id or it was acknowledged already. */
  async ackAlert(id: number, by: string, at: number): Promise<boolean> {
    const res = await this.db.run('UPDATE alert SET acked_by = ?, acked_at = ? WHERE id = ? AND acked_at IS NULL', [by, at, id]);
    return res.changes > 0;
  }
}
