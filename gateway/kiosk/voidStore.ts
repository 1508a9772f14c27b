/**
 * Voided sales in kiosk.db (migration 11), beside the sales ledger they void. One row per voided
 * transaction, written with the release of its sold serials in one transaction; `step` is the last
 * step of the void that is done (saleVoids.ts), so a restart finishes what a crash left, and
 * `seq` is the outbox seq of its `saleVoided` record once written.
 */
import type { OwnerConnection, Step } from '../db/owner.js';
import type { SaleVoidedRec } from '../protocol/schemas/saleVoid.js';

export const VOIDS_MIGRATION = `CREATE TABLE sale_voids (
     transaction_id TEXT PRIMARY KEY, record TEXT NOT NULL, step TEXT NOT NULL, voided_at INTEGER NOT NULL, seq INTEGER
   ) WITHOUT ROWID;
   CREATE INDEX sale_voids_open ON sale_voids (voided_at) WHERE step <> 'done'`;

/** The steps of a void, in order; each is stored once done. */
export type VoidStep = 'committed' | 'reversed' | 'stock' | 'givenBack' | 'done';

export interface VoidRow {
  record: SaleVoidedRec;
  step: VoidStep;
  seq: number | null;
}

export class VoidStore {
  constructor(private readonly db: () => OwnerConnection) {}

  /** The sale of a transaction id, as the ledger committed it (its exact record), or null. */
  async saleRecord(transactionId: string): Promise<Record<string, unknown> | null> {
    const r = await this.db().get<{ record: string }>('SELECT record FROM sales WHERE transaction_id = ?', [transactionId]);
    return r ? (JSON.parse(r.record) as Record<string, unknown>) : null;
  }

  /** The request id of the last payment a kiosk sent to its terminal (whatever its outcome), or null. */
  async lastPaymentOf(kioskId: string): Promise<string | null> {
    const r = await this.db().get<{ request_id: string }>('SELECT request_id FROM payments WHERE kiosk_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1', [kioskId]);
    return r?.request_id ?? null;
  }

  /** Sales recorded since `sinceMs`, newest first (the ones a void may still take back). */
  async salesSince(sinceMs: number): Promise<Record<string, unknown>[]> {
    const rows = await this.db().all<{ record: string }>('SELECT record FROM sales WHERE recorded_at >= ? ORDER BY recorded_at DESC', [sinceMs]);
    return rows.map((r) => JSON.parse(r.record) as Record<string, unknown>);
  }

  async void(transactionId: string): Promise<VoidRow | null> {
    const r = await this.db().get<{ record: string; step: VoidStep; seq: number | null }>('SELECT record, step, seq FROM sale_voids WHERE transaction_id = ?', [transactionId]);
    return r ? { record: JSON.parse(r.record) as SaleVoidedRec, step: r.step, seq: r.seq } : null;
  }

  /**
   * The void's first step: its row and the release of the sale's serials (sold again without an
   * attendant from this commit on), and `giveBack` (points reversal rows, coupons let go: keyed by
   * the transaction, so they change nothing when the row existed), one transaction. False when
   * the sale was voided already.
   */
  async commit(record: SaleVoidedRec, now: number, giveBack: readonly Step[] = []): Promise<boolean> {
    const [ins] = await this.db().steps(
      [
        { sql: "INSERT OR IGNORE INTO sale_voids (transaction_id, record, step, voided_at) VALUES (?, ?, 'committed', ?)", rows: [[record.transactionId, JSON.stringify(record), now]] },
        // Only when the row is new: a repeated commit must not release serials sold again since.
        { sql: 'DELETE FROM sold_serials WHERE transaction_id = ? AND changes() = 1', rows: [[record.transactionId]] },
        ...giveBack,
      ],
      true,
    );
    return ins!.changes === 1;
  }

  /** Marks a step done; `record` replaces the stored record in the same write (the refund as the terminal answered). */
  async setStep(transactionId: string, step: VoidStep, seq?: number, record?: SaleVoidedRec): Promise<void> {
    await this.db().run('UPDATE sale_voids SET step = ?, seq = COALESCE(?, seq), record = COALESCE(?, record) WHERE transaction_id = ?', [step, seq ?? null, record ? JSON.stringify(record) : null, transactionId]);
  }

  /** Voids a crash left unfinished, oldest first. */
  async open(): Promise<VoidRow[]> {
    const rows = await this.db().all<{ record: string; step: VoidStep; seq: number | null }>("SELECT record, step, seq FROM sale_voids WHERE step <> 'done' ORDER BY voided_at");
    return rows.map((r) => ({ record: JSON.parse(r.record) as SaleVoidedRec, step: r.step, seq: r.seq }));
  }
}
