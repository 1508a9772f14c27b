/**
 * Coupons in kiosk.db (migration 7 in ../store.ts): the `coupons` feed per scope, and each
 * single-use serial this store took. A serial is `reserved` by one cart the moment it is
 * presented (durably, synchronous FULL, before any payment can start), `used` in the very
 * transaction that commits the sale (`usedSteps`, run by the sales ledger), and deleted when the
 * cart lets it go (removed, voided, cancelled). So two kiosks never hold the same serial, a crash
 * between any two steps leaves it reserved or used (never free while a sale may rest on it), and
 * a used serial is kept for good.
 */
import type { OwnerConnection, Step } from '../../db/owner.js';
import type { FeedTopicScope } from '../../protocol/feedVerify.js';
import type { CouponDefT, CouponsBodyT } from '../../protocol/schemas/feeds/coupons.js';

export interface CouponUseRow {
  useKey: string;
  couponId: string;
  serial: string;
  status: 'reserved' | 'used';
  kioskId: string;
  sessionId: string;
  transactionId: string | null;
}

export type ReserveResult = 'reserved' | 'sameCart' | 'used' | 'elsewhere';

export interface CouponFeedRows {
  defs: { scope: FeedTopicScope; def: CouponDefT }[];
  revoked: { scope: FeedTopicScope; couponId: string; serial: string; reason: string }[];
}

export class CouponStore {
  constructor(private readonly db: () => OwnerConnection) {}

  async versions(): Promise<{ scope: FeedTopicScope; version: number }[]> {
    return this.db().all<{ scope: FeedTopicScope; version: number }>('SELECT scope, version FROM coupon_feed');
  }

  /** One verified `coupons` feed, in one transaction. */
  async applyFeed(scope: FeedTopicScope, version: number, body: CouponsBodyT, now: number): Promise<void> {
    const steps: Step[] = [];
    if (body.mode === 'snapshot') {
      steps.push({ sql: 'DELETE FROM coupon_defs WHERE scope = ?', rows: [[scope]] }, { sql: 'DELETE FROM coupon_revoked WHERE scope = ?', rows: [[scope]] });
    }
    if (body.remove?.length) steps.push({ sql: 'DELETE FROM coupon_defs WHERE scope = ? AND coupon_id = ?', rows: body.remove.map((id) => [scope, id]) });
    if (body.coupons.length) steps.push({ sql: 'INSERT OR REPLACE INTO coupon_defs (scope, coupon_id, body) VALUES (?, ?, ?)', rows: body.coupons.map((d) => [scope, d.id, JSON.stringify(d)]) });
    if (body.revoked.length) steps.push({ sql: 'INSERT OR REPLACE INTO coupon_revoked (scope, coupon_id, serial, reason) VALUES (?, ?, ?, ?)', rows: body.revoked.map((r) => [scope, r.couponId, r.serial ?? '', r.reason]) });
    steps.push({ sql: 'INSERT OR REPLACE INTO coupon_feed (scope, version, applied_at) VALUES (?, ?, ?)', rows: [[scope, version, now]] });
    await this.db().steps(steps, true);
  }

  async feedRows(): Promise<CouponFeedRows> {
    const defs = await this.db().all<{ scope: FeedTopicScope; body: string }>('SELECT scope, body FROM coupon_defs ORDER BY scope, coupon_id');
    const revoked = await this.db().all<{ scope: FeedTopicScope; couponId: string; serial: string; reason: string }>('SELECT scope, coupon_id AS couponId, serial, reason FROM coupon_revoked');
    return { defs: defs.map((r) => ({ scope: r.scope, def: JSON.parse(r.body) as CouponDefT })), revoked };
  }

  /** Takes a serial for a cart, durably; or says who has it. */
  async reserve(u: { useKey: string; couponId: string; serial: string; kioskId: string; sessionId: string }, now: number): Promise<ReserveResult> {
    const [ins, row] = await this.db().steps(
      [
        { sql: "INSERT OR IGNORE INTO coupon_uses (use_key, coupon_id, serial, status, kiosk_id, session_id, reserved_at) VALUES (?, ?, ?, 'reserved', ?, ?, ?)", rows: [[u.useKey, u.couponId, u.serial, u.kioskId, u.sessionId, now]] },
        { sql: 'SELECT status, session_id AS sessionId FROM coupon_uses WHERE use_key = ?', rows: [[u.useKey]], mode: 'all' },
      ],
      true,
    );
    if (ins!.changes === 1) return 'reserved';
    const r = row!.rows[0] as { status: string; sessionId: string } | undefined;
    if (r?.status === 'used') return 'used';
    return r?.sessionId === u.sessionId ? 'sameCart' : 'elsewhere';
  }

  /** Lets reserved serials go (never a used one). */
  async release(useKeys: readonly string[], sessionId: string): Promise<number> {
    if (useKeys.length === 0) return 0;
    const [r] = await this.db().steps([{ sql: "DELETE FROM coupon_uses WHERE use_key = ? AND session_id = ? AND status = 'reserved'", rows: useKeys.map((k) => [k, sessionId]) }], true);
    return r!.changes;
  }

  /** Reservations, for the check at start (a cart that is gone holds none). */
  async reserved(): Promise<CouponUseRow[]> {
    return this.db().all<CouponUseRow>("SELECT use_key AS useKey, coupon_id AS couponId, serial, status, kiosk_id AS kioskId, session_id AS sessionId, transaction_id AS transactionId FROM coupon_uses WHERE status = 'reserved'");
  }

  /** How many sales of this store used the coupon with this member. */
  async memberUses(couponId: string, member: string): Promise<number> {
    return (await this.db().all<{ n: number }>('SELECT count(*) AS n FROM coupon_member_uses WHERE coupon_id = ? AND member = ?', [couponId, member]))[0]?.n ?? 0;
  }

  /**
   * Takes one of a member's `max` uses of a coupon for a cart, or says how many are gone (used in
   * sales + held by other carts). Count and take are one INSERT … SELECT: SQLite runs a statement
   * under the database's write lock, so another kiosk's take lands wholly before or after it and
   * the two can never both see the last free use (reading the count and inserting in two awaits
   * could). A cart that holds one already keeps it.
   */
  async holdForMember(h: { couponId: string; member: string; sessionId: string; kioskId: string; max: number }, now: number): Promise<{ held: true } | { held: false; taken: number }> {
    const [ins, count] = await this.db().steps(
      [
        {
          sql: `INSERT OR IGNORE INTO coupon_member_holds (coupon_id, member, session_id, kiosk_id, held_at)
                SELECT ?, ?, ?, ?, ?
                WHERE (SELECT count(*) FROM coupon_member_uses WHERE coupon_id = ? AND member = ?)
                    + (SELECT count(*) FROM coupon_member_holds WHERE coupon_id = ? AND member = ? AND session_id <> ?) < ?`,
          rows: [[h.couponId, h.member, h.sessionId, h.kioskId, now, h.couponId, h.member, h.couponId, h.member, h.sessionId, h.max]],
        },
        {
          sql: `SELECT (SELECT count(*) FROM coupon_member_uses WHERE coupon_id = ? AND member = ?) AS used,
                       (SELECT count(*) FROM coupon_member_holds WHERE coupon_id = ? AND member = ? AND session_id <> ?) AS others,
                       (SELECT count(*) FROM coupon_member_holds WHERE coupon_id = ? AND member = ? AND session_id = ?) AS mine`,
          rows: [[h.couponId, h.member, h.couponId, h.member, h.sessionId, h.couponId, h.member, h.sessionId]],
          mode: 'all',
        },
      ],
      true,
    );
    const c = count!.rows[0] as { used: number; others: number; mine: number };
    return ins!.changes === 1 || c.mine === 1 ? { held: true } : { held: false, taken: c.used + c.others };
  }

  /** Lets a cart's member holds go (all of them, or those of the coupons named). */
  async releaseHolds(sessionId: string, couponIds?: readonly string[]): Promise<number> {
    const [r] = couponIds
      ? await this.db().steps([{ sql: 'DELETE FROM coupon_member_holds WHERE session_id = ? AND coupon_id = ?', rows: couponIds.map((id) => [sessionId, id]) }], true)
      : await this.db().steps([{ sql: 'DELETE FROM coupon_member_holds WHERE session_id = ?', rows: [[sessionId]] }], true);
    return r!.changes;
  }

  /** The carts that hold member uses (for the check at start). */
  async holdSessions(): Promise<string[]> {
    return (await this.db().all<{ s: string }>('SELECT DISTINCT session_id AS s FROM coupon_member_holds')).map((r) => r.s);
  }

  /** Runs releaseSaleSteps in one transaction; the rows it deleted. */
  async releaseSale(transactionId: string): Promise<number> {
    const r = await this.db().steps(releaseSaleSteps(transactionId), true);
    return r.reduce((n, x) => n + x.changes, 0);
  }

  async use(useKey: string): Promise<CouponUseRow | null> {
    return (await this.db().all<CouponUseRow>('SELECT use_key AS useKey, coupon_id AS couponId, serial, status, kiosk_id AS kioskId, session_id AS sessionId, transaction_id AS transactionId FROM coupon_uses WHERE use_key = ?', [useKey]))[0] ?? null;
  }
}

/**
 * The statements that mark a sale's single-use coupons used, run in the sale's commit. A serial
 * whose reservation was lost is taken all the same (the shopper paid with it); one used by another
 * sale is left as it is, and the second `couponRedeemed` record tells HQ.
 */
export function usedSteps(uses: readonly { useKey: string; couponId: string; serial: string; amount: number }[], sale: { transactionId: string; kioskId: string }, now: number): Step[] {
  if (uses.length === 0) return [];
  return [
    {
      sql: `INSERT INTO coupon_uses (use_key, coupon_id, serial, status, kiosk_id, session_id, transaction_id, amount, reserved_at, used_at) VALUES (?, ?, ?, 'used', ?, ?, ?, ?, ?, ?)
            ON CONFLICT (use_key) DO UPDATE SET status = 'used', transaction_id = excluded.transaction_id, amount = excluded.amount, used_at = excluded.used_at WHERE coupon_uses.status = 'reserved'`,
      rows: uses.map((u) => [u.useKey, u.couponId, u.serial, sale.kioskId, sale.transactionId, sale.transactionId, u.amount, now, now]),
    },
  ];
}

/**
 * The statements that count a member's coupon uses, in the sale's commit (one row per coupon and
 * sale), and drop the cart's holds (the sale's id is its cart's session id): the use replaces the
 * hold in the same transaction, so the count never has both or neither.
 */
export function memberUseSteps(couponIds: readonly string[], member: string, transactionId: string, now: number): Step[] {
  if (couponIds.length === 0) return [];
  return [
    { sql: 'INSERT OR IGNORE INTO coupon_member_uses (coupon_id, member, transaction_id, used_at) VALUES (?, ?, ?, ?)', rows: couponIds.map((id) => [id, member, transactionId, now]) },
    { sql: 'DELETE FROM coupon_member_holds WHERE session_id = ?', rows: [[transactionId]] },
  ];
}

/**
 * The statements that give a voided sale's coupons back, for the void's own commit: its
 * single-use serials are free again (their `used` rows go) and the member's per-coupon count goes
 * down by this sale. Keyed by the transaction id, so running them twice changes nothing more.
 */
export function releaseSaleSteps(transactionId: string): Step[] {
  return [
    { sql: "DELETE FROM coupon_uses WHERE transaction_id = ? AND status = 'used'", rows: [[transactionId]] },
    { sql: 'DELETE FROM coupon_member_uses WHERE transaction_id = ?', rows: [[transactionId]] },
  ];
}
