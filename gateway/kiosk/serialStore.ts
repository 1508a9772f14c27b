/**
 * Serialised items in kiosk.db: every (GTIN, serial) sold here, written in the same transaction as
 * the sale's ledger row (so a sale that is committed has its serials committed, and a crash keeps
 * both or neither); the serials HQ's signed `serials` feed lists as sold elsewhere or blocked
 * (stolen, recalled); and the tags ops exempted from the exit gate until a time.
 *
 * An item is its GTIN *and* its serial: serials are unique only within one GTIN, so every key
 * is the pair, the GTIN in its 14-digit form.
 */
import type { OwnerConnection, Step } from '../db/owner.js';
import { gtin14 } from './rfidTags.js';

/** kiosk.db migration: the tables of this file (appended to KioskStore's list). */
export const SERIALS_MIGRATION = `CREATE TABLE sold_serials (
     gtin TEXT NOT NULL, serial TEXT NOT NULL, transaction_id TEXT NOT NULL, kiosk_id TEXT NOT NULL, sold_at INTEGER NOT NULL,
     PRIMARY KEY (gtin, serial, transaction_id)
   ) WITHOUT ROWID;
   CREATE TABLE serial_flags (gtin TEXT NOT NULL, serial TEXT NOT NULL, state TEXT NOT NULL, PRIMARY KEY (gtin, serial)) WITHOUT ROWID;
   CREATE TABLE serial_feed (scope TEXT PRIMARY KEY, version INTEGER NOT NULL, applied_at INTEGER NOT NULL);
   CREATE TABLE serial_exemptions (gtin TEXT NOT NULL, serial TEXT NOT NULL, until INTEGER NOT NULL, by TEXT NOT NULL, reason TEXT NOT NULL, PRIMARY KEY (gtin, serial)) WITHOUT ROWID`;

/** What the `serials` feed says of a serial: sold at another store, or not to be sold. */
export type SerialFlag = 'soldElsewhere' | 'stolen' | 'recalled';
export const SERIAL_FLAGS: readonly SerialFlag[] = ['soldElsewhere', 'stolen', 'recalled'];

export interface SoldSerial {
  gtin: string;
  serial: string;
  transactionId: string;
}

export interface Exemption {
  gtin: string;
  serial: string;
  until: number;
  by: string;
  reason: string;
}

/** The serials of a sale record's lines (those with `serials`), GTINs as GTIN-14. */
export function serialsOfSale(record: { transactionId: string; lines: readonly { gtin: string; serials?: readonly string[] }[] }): SoldSerial[] {
  return record.lines.flatMap((l) => (l.serials ?? []).map((serial) => ({ gtin: gtin14(l.gtin), serial, transactionId: record.transactionId })));
}

/** The statement that records a sale's serials; empty when the sale has none. Joins the sale's commit. */
export function soldSerialSteps(record: { transactionId: string; kioskId: string; lines: readonly { gtin: string; serials?: readonly string[] }[] }, now: number): Step[] {
  const sold = serialsOfSale(record);
  if (sold.length === 0) return [];
  return [{ sql: 'INSERT OR IGNORE INTO sold_serials (gtin, serial, transaction_id, kiosk_id, sold_at) VALUES (?, ?, ?, ?, ?)', rows: sold.map((s) => [s.gtin, s.serial, s.transactionId, record.kioskId, now]) }];
}

export class SerialStore {
  constructor(private readonly db: () => OwnerConnection) {}

  async soldSerials(): Promise<SoldSerial[]> {
    const rows = await this.db().all<{ gtin: string; serial: string; transaction_id: string }>('SELECT gtin, serial, transaction_id FROM sold_serials ORDER BY sold_at');
    return rows.map((r) => ({ gtin: r.gtin, serial: r.serial, transactionId: r.transaction_id }));
  }

  async flags(): Promise<{ gtin: string; serial: string; state: SerialFlag }[]> {
    return this.db().all<{ gtin: string; serial: string; state: SerialFlag }>('SELECT gtin, serial, state FROM serial_flags');
  }

  async feedVersion(): Promise<number | undefined> {
    return (await this.db().all<{ version: number }>("SELECT version FROM serial_feed WHERE scope = 'store'"))[0]?.version;
  }

  /** Applies one verified `serials` feed in one transaction (a snapshot replaces every flag). */
  async applyFeed(version: number, body: { mode: 'snapshot' | 'delta'; serials: readonly { gtin: string; serial: string; state: SerialFlag }[]; remove?: readonly { gtin: string; serial: string }[] }, now: number): Promise<void> {
    const steps: Step[] = [];
    if (body.mode === 'snapshot') steps.push({ sql: 'DELETE FROM serial_flags', rows: [[]] });
    if (body.remove?.length) steps.push({ sql: 'DELETE FROM serial_flags WHERE gtin = ? AND serial = ?', rows: body.remove.map((r) => [gtin14(r.gtin), r.serial]) });
    if (body.serials.length > 0) steps.push({ sql: 'INSERT INTO serial_flags (gtin, serial, state) VALUES (?, ?, ?) ON CONFLICT (gtin, serial) DO UPDATE SET state = excluded.state', rows: body.serials.map((s) => [gtin14(s.gtin), s.serial, s.state]) });
    steps.push({ sql: "INSERT INTO serial_feed (scope, version, applied_at) VALUES ('store', ?, ?) ON CONFLICT (scope) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at", rows: [[version, now]] });
    await this.db().steps(steps, true);
  }

  /** Exemptions still running at `now`; the expired ones are deleted. */
  async exemptions(now: number): Promise<Exemption[]> {
    await this.db().run('DELETE FROM serial_exemptions WHERE until <= ?', [now]);
    return this.db().all<Exemption>('SELECT gtin, serial, until, by, reason FROM serial_exemptions');
  }

  async exempt(e: Exemption): Promise<void> {
    await this.db().run('INSERT INTO serial_exemptions (gtin, serial, until, by, reason) VALUES (?, ?, ?, ?, ?) ON CONFLICT (gtin, serial) DO UPDATE SET until = excluded.until, by = excluded.by, reason = excluded.reason', [gtin14(e.gtin), e.serial, e.until, e.by, e.reason]);
  }
}
