/**
 * The ops repository (its own file, kpi.db): hourly KPI counters, members seen (hashed), the last
 * event seq counted, and the alert book. Never the outbox: its rows leave after upload.
 */
import { openDb, migrate, type Db } from '../db/sqlite.js';
import type { HourCounts } from './kpis.js';

const MIGRATIONS: readonly string[] = [
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

export interface HourRow extends HourCounts {
  day: string;
  hour: number;
}

export interface AlertRow {
  id: number;
  at: number;
  source: string;
  code: string;
  severity: 'info' | 'warning' | 'critical';
  message: string;
  seq: number | null;
  ackedBy: string | null;
  ackedAt: number | null;
}

export interface KpiFlush {
  hours: HourRow[];
  members: { hash: string; firstSeq: number }[];
  lastSeq: number;
  currency: string | null;
}

export class KpiStore {
  private db!: Db;
  constructor(private readonly file: string) {}

  async start(): Promise<void> {
    this.db = await openDb(this.file, { synchronous: 'NORMAL' });
    await migrate(this.db, MIGRATIONS);
  }

  async stop(): Promise<void> {
    if (this.db) await this.db.close();
  }

  async hours(fromDay: string): Promise<HourRow[]> {
    const rows = await this.db.all<{ day: string; hour: number; visitors: number; transactions: number; sales: number; member_tx: number; repeat_tx: number }>(
      'SELECT day, hour, visitors, transactions, sales, member_tx, repeat_tx FROM kpi_hour WHERE day >= ? ORDER BY day, hour',
      [fromDay],
    );
    return rows.map((r) => ({ day: r.day, hour: r.hour, visitors: r.visitors, transactions: r.transactions, sales: r.sales, memberTransactions: r.member_tx, repeatTransactions: r.repeat_tx }));
  }

  /** Every member hash seen (a store's member base fits in memory: ~100 bytes each). */
  async members(): Promise<string[]> {
    return (await this.db.all<{ hash: string }>('SELECT hash FROM kpi_member')).map((r) => r.hash);
  }

  async meta(): Promise<{ lastSeq: number; currency: string | null }> {
    const rows = await this.db.all<{ key: string; value: string }>('SELECT key, value FROM kpi_meta');
    const m = Object.fromEntries(rows.map((r) => [r.key, r.value]));
    return { lastSeq: m.lastSeq ? Number(m.lastSeq) : 0, currency: m.currency ?? null };
  }

  /** Writes changed hours (absolute values), new members and the seq mark in one transaction. */
  async save(f: KpiFlush): Promise<void> {
    const hours = JSON.stringify(f.hours.map((h) => [h.day, h.hour, h.visitors, h.transactions, h.sales, h.memberTransactions, h.repeatTransactions]));
    const members = JSON.stringify(f.members.map((m) => [m.hash, m.firstSeq]));
    const meta = JSON.stringify([['lastSeq', String(f.lastSeq)], ...(f.currency ? [['currency', f.currency]] : [])]);
    await this.db.exec('BEGIN');
    try {
      await this.db.run(
        `INSERT INTO kpi_hour (day, hour, visitors, transactions, sales, member_tx, repeat_tx)
         SELECT value->>0, value->>1, value->>2, value->>3, value->>4, value->>5, value->>6 FROM json_each(?) WHERE true
         ON CONFLICT (day, hour) DO UPDATE SET visitors = excluded.visitors, transactions = excluded.transactions,
           sales = excluded.sales, member_tx = excluded.member_tx, repeat_tx = excluded.repeat_tx`,
        [hours],
      );
      await this.db.run('INSERT OR IGNORE INTO kpi_member (hash, first_seq) SELECT value->>0, value->>1 FROM json_each(?)', [members]);
      await this.db.run(
        `INSERT INTO kpi_meta (key, value) SELECT value->>0, value->>1 FROM json_each(?) WHERE true
         ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
        [meta],
      );
      await this.db.exec('COMMIT');
    } catch (err) {
      await this.db.exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
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
