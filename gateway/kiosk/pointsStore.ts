/**
 * Loyalty points in kiosk.db: the store's own ledger of points changes and the applied `loyalty`
 * feed (rules per scope, HQ's last balance per member). The ledger is append-only and keyed by
 * (transaction id, kind): a sale's rows are written in the sale's own transaction (store.ts
 * commitSale), so a sale committed twice after a crash writes them once, and they are never
 * lost while the sale stands.
 */
import type { OwnerConnection, Step } from '../db/owner.js';
import type { EarnRulesT, LoyaltyBodyT, LoyaltyRules, LocalChange, SpendRulesT } from './pointsRules.js';

export const POINTS_MIGRATION = `CREATE TABLE points_ledger (
     transaction_id TEXT NOT NULL, kind TEXT NOT NULL, member_id TEXT NOT NULL, delta INTEGER NOT NULL, program TEXT NOT NULL,
     kiosk_id TEXT NOT NULL, at INTEGER NOT NULL, seq INTEGER, PRIMARY KEY (transaction_id, kind)
   ) WITHOUT ROWID;
   CREATE INDEX points_unforwarded ON points_ledger (at) WHERE seq IS NULL;
   CREATE INDEX points_member ON points_ledger (member_id, at);
   CREATE TABLE loyalty_feed (scope TEXT PRIMARY KEY, version INTEGER NOT NULL, program TEXT, earn TEXT, spend TEXT, applied_at INTEGER NOT NULL);
   CREATE TABLE loyalty_balances (member_id TEXT PRIMARY KEY, points INTEGER NOT NULL, as_of INTEGER NOT NULL) WITHOUT ROWID`;

/** A sale's rows (`earn`, `spend`) and, after a post-sale void, their exact reversals. */
export type PointsKind = 'earn' | 'spend' | 'earnReversal' | 'spendReversal';

/** One row of the ledger. */
export interface PointsEntry {
  transactionId: string;
  kind: PointsKind;
  memberId: string;
  delta: number;
  program: string;
  kioskId: string;
  at: number;
  seq: number | null;
}

const INSERT = 'INSERT OR IGNORE INTO points_ledger (transaction_id, kind, member_id, delta, program, kiosk_id, at) VALUES (?, ?, ?, ?, ?, ?, ?)';

/** The ledger rows of a sale record (none without `points`, none for a zero change). */
export function pointsLedgerSteps(transactionId: string, kioskId: string, record: object, now: number): Step[] {
  const p = (record as { points?: { memberId: string; program: string; earned: number; spent: number } }).points;
  if (!p) return [];
  const rows: unknown[][] = [];
  if (p.spent > 0) rows.push([transactionId, 'spend', p.memberId, -p.spent, p.program, kioskId, now]);
  if (p.earned > 0) rows.push([transactionId, 'earn', p.memberId, p.earned, p.program, kioskId, now]);
  return rows.length > 0 ? [{ sql: INSERT, rows }] : [];
}

/**
 * The rows that give a voided sale's points back: for each of its `earn` and `spend` rows one
 * `earnReversal` / `spendReversal` row with the opposite delta, keyed by the same transaction id.
 * One INSERT … SELECT, so it can run inside the void's own commit; a void applied twice (a retry
 * after a crash) writes them once (the ledger's key), and a sale without points writes none.
 */
export function pointsReversalSteps(transactionId: string, now: number): Step[] {
  return [
    {
      sql: `INSERT OR IGNORE INTO points_ledger (transaction_id, kind, member_id, delta, program, kiosk_id, at)
            SELECT transaction_id, kind || 'Reversal', member_id, -delta, program, kiosk_id, ? FROM points_ledger WHERE transaction_id = ? AND kind IN ('earn', 'spend')`,
      rows: [[now, transactionId]],
    },
  ];
}

interface EntryRow {
  transaction_id: string;
  kind: PointsKind;
  member_id: string;
  delta: number;
  program: string;
  kiosk_id: string;
  at: number;
  seq: number | null;
}

const entryOf = (r: EntryRow): PointsEntry => ({ transactionId: r.transaction_id, kind: r.kind, memberId: r.member_id, delta: r.delta, program: r.program, kioskId: r.kiosk_id, at: r.at, seq: r.seq });

export class PointsStore {
  constructor(private readonly db: () => OwnerConnection) {}

  /** Rows whose pointsChange record is not known to be in the outbox, oldest first. */
  async unforwarded(): Promise<PointsEntry[]> {
    return (await this.db().all<EntryRow>('SELECT * FROM points_ledger WHERE seq IS NULL ORDER BY at, transaction_id, kind')).map(entryOf);
  }

  async entries(transactionId: string): Promise<PointsEntry[]> {
    return (await this.db().all<EntryRow>('SELECT * FROM points_ledger WHERE transaction_id = ? ORDER BY kind', [transactionId])).map(entryOf);
  }

  /** Writes a voided sale's reversal rows (pointsReversalSteps) in one transaction. */
  async reverse(transactionId: string, now: number): Promise<void> {
    await this.db().steps(pointsReversalSteps(transactionId, now), true);
  }

  async markForwarded(transactionId: string, kind: PointsKind, seq: number): Promise<void> {
    await this.db().run('UPDATE points_ledger SET seq = ? WHERE transaction_id = ? AND kind = ?', [seq, transactionId, kind]);
  }

  /** This store's changes HQ's balances do not include yet (made after the member's `asOf`, or for a member HQ did not list). */
  async changesSinceHq(): Promise<LocalChange[]> {
    const rows = await this.db().all<{ member_id: string; delta: number; at: number }>(
      'SELECT l.member_id, l.delta, l.at FROM points_ledger l LEFT JOIN loyalty_balances b ON b.member_id = l.member_id WHERE b.as_of IS NULL OR l.at > b.as_of',
    );
    return rows.map((r) => ({ memberId: r.member_id, delta: r.delta, at: r.at }));
  }

  async balances(): Promise<Map<string, { points: number; asOfMs: number }>> {
    const rows = await this.db().all<{ member_id: string; points: number; as_of: number }>('SELECT member_id, points, as_of FROM loyalty_balances');
    return new Map(rows.map((r) => [r.member_id, { points: r.points, asOfMs: r.as_of }]));
  }

  async versions(): Promise<{ scope: 'store' | 'all'; version: number }[]> {
    return this.db().all<{ scope: 'store' | 'all'; version: number }>('SELECT scope, version FROM loyalty_feed');
  }

  /** The rules in force: the store's own feed wins over the chain's. */
  async rules(): Promise<LoyaltyRules | null> {
    const rows = await this.db().all<{ scope: string; program: string | null; earn: string | null; spend: string | null }>("SELECT scope, program, earn, spend FROM loyalty_feed ORDER BY scope = 'store' DESC");
    const r = rows.find((x) => x.earn !== null || x.spend !== null);
    if (!r) return null;
    return { program: r.program ?? 'default', earn: r.earn === null ? null : (JSON.parse(r.earn) as EarnRulesT), spend: r.spend === null ? null : (JSON.parse(r.spend) as SpendRulesT) };
  }

  /**
   * One verified `loyalty` feed, one transaction. A snapshot replaces the scope's rules and every
   * balance; a delta replaces the rules it carries and upserts the balances it lists. A balance
   * older than the one held is kept (feeds of two scopes may interleave).
   */
  async apply(scope: 'store' | 'all', version: number, body: LoyaltyBodyT, now: number): Promise<void> {
    const steps: Step[] = [];
    if (body.mode === 'snapshot') steps.push({ sql: 'DELETE FROM loyalty_balances', rows: [[]] });
    const keepRules = body.mode === 'delta' && body.earn === undefined && body.spend === undefined;
    steps.push({
      sql: `INSERT INTO loyalty_feed (scope, version, program, earn, spend, applied_at) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (scope) DO UPDATE SET version = excluded.version, applied_at = excluded.applied_at${keepRules ? '' : ', program = excluded.program, earn = excluded.earn, spend = excluded.spend'}`,
      rows: [[scope, version, body.program ?? null, body.earn ? JSON.stringify(body.earn) : null, body.spend ? JSON.stringify(body.spend) : null, now]],
    });
    if (body.balances.length > 0) {
      steps.push({
        sql: 'INSERT INTO loyalty_balances (member_id, points, as_of) VALUES (?, ?, ?) ON CONFLICT (member_id) DO UPDATE SET points = excluded.points, as_of = excluded.as_of WHERE excluded.as_of >= loyalty_balances.as_of',
        rows: body.balances.map((b) => [b.memberId, b.points, Date.parse(b.asOf)]),
      });
    }
    await this.db().steps(steps, true);
  }
}
