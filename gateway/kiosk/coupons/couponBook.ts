/**
 * Coupons at the kiosks, the I/O shell: the `coupons` feed's definitions held in memory (loaded
 * from kiosk.db at start and after each feed), a presented code verified and its single-use serial
 * reserved for the cart before the cart sees it, reservations let go when a cart drops them, and
 * the sale's uses made final in the sale's own commit (`saleSteps`, for the sales ledger).
 * Refusals are counted by reason and logged (rate-limited per kiosk and reason).
 */
import type { KeyObject } from 'node:crypto';
import { LogLimiter, type Logger } from '../../log.js';
import type { Step } from '../../db/owner.js';
import type { KioskTransactionRec } from '../../protocol/schemas/kiosk.js';
import type { Action, Session } from '../sessionTypes.js';
import { typedCouponOf } from './couponCode.js';
import type { CouponDefT } from '../../protocol/schemas/feeds/coupons.js';
import { verifyCoupon, useKeyOf, type CouponLookup, type CouponRefusal } from './couponVerify.js';
import { memberUseSteps, releaseSaleSteps, usedSteps, type CouponFeedRows, type CouponStore } from './couponStore.js';
import { heldUseKeys } from './couponSteps.js';
import { CouponFeed, type CouponFeedOptions } from './couponFeed.js';

export interface CouponBookDeps {
  store: CouponStore;
  keys: ReadonlyMap<string, KeyObject>;
  now: () => number;
  log: Logger;
  memberTier: (memberCode: string) => string | null;
  onRefused?: (reason: CouponRefusal) => void;
}

/** The feed's rows as lookups: a store's own definition of an id wins over the chain's. */
export function couponLookup(rows: CouponFeedRows): CouponLookup {
  const byId = new Map<string, CouponDefT>();
  for (const r of rows.defs) if (r.scope === 'all') byId.set(r.def.id, r.def);
  for (const r of rows.defs) if (r.scope === 'store') byId.set(r.def.id, r.def);
  const byCode = new Map<string, CouponDefT>();
  const byGs1 = new Map<string, CouponDefT>();
  const prefixes: CouponDefT[] = [];
  for (const d of byId.values()) {
    if (d.code !== undefined) byCode.set(d.code, d);
    if (d.gs1 !== undefined) byGs1.set(`${d.gs1.companyPrefix}/${d.gs1.offerCode}`, d);
    if (d.codePrefix !== undefined) prefixes.push(d);
  }
  prefixes.sort((a, b) => b.codePrefix!.length - a.codePrefix!.length || a.id.localeCompare(b.id));
  const revoked = new Map<string, string>();
  for (const r of rows.revoked) revoked.set(useKeyOf(r.couponId, r.serial), r.reason);
  return {
    byId: (id) => byId.get(id),
    byCode: (c) => byCode.get(c),
    byPrefix: (c) => prefixes.find((d) => c.startsWith(d.codePrefix!)),
    byGs1: (p, o) => byGs1.get(`${p}/${o}`),
    revoked: (id, serial) => revoked.get(useKeyOf(id, serial)),
  };
}

export class CouponBook {
  private lookup: CouponLookup = couponLookup({ defs: [], revoked: [] });
  private readonly log: Logger;
  private readonly logLimit: LogLimiter;
  /** HQ's `coupons` feed intake; null without `hq` (the definitions in kiosk.db still serve). */
  feed: CouponFeed | null = null;

  constructor(private readonly d: CouponBookDeps) {
    this.log = d.log.child({ module: 'coupons' });
    this.logLimit = new LogLimiter(d.now);
  }

  /** Reads the feed's rows from kiosk.db (at start and after each applied feed). */
  async reload(): Promise<void> {
    this.lookup = couponLookup(await this.d.store.feedRows());
  }

  /** Starts the `coupons` feed; `onReloaded` after each applied feed (the carts are checked for revocations). */
  async startFeed(o: Omit<CouponFeedOptions, 'store' | 'onApplied' | 'log' | 'now'>, onReloaded: () => Promise<void>): Promise<void> {
    this.feed = new CouponFeed({
      ...o,
      store: this.d.store,
      log: this.d.log,
      now: this.d.now,
      onApplied: async () => {
        await this.reload();
        await onReloaded();
      },
    });
    await this.feed.start();
  }

  async stop(): Promise<void> {
    await this.feed?.stop();
    this.feed = null;
  }

  /**
   * A code scanned or typed at a kiosk whose session is `s` (shopping): verified, its serial
   * reserved for this cart, durably; the action for the cart (the coupon, or the refusal by name).
   */
  async present(kioskId: string, s: Session, text: string): Promise<Action> {
    const code = typedCouponOf(text);
    const member = s.memberCode === null ? null : { id: s.memberCode, tier: this.d.memberTier(s.memberCode) };
    const r = code.ok ? verifyCoupon(code.code, { keys: this.d.keys, now: this.d.now(), member, coupons: this.lookup }) : code;
    if (!r.ok) return this.refuse(kioskId, r.reason, r.detail);
    const c = r.coupon;
    if ((s.coupons ?? []).some((x) => x.couponId === c.couponId && x.serial === c.serial)) return this.refuse(kioskId, 'alreadyOnCart', `coupon ${c.couponId}`);
    const max = c.def.maxPerMember;
    if (max !== undefined) {
      // Counted per member: the member must be known first (the coupon then applies at once).
      if (s.memberCode === null) return this.refuse(kioskId, 'memberFirst', `coupon ${c.couponId}: at most ${max} per member`);
      // Counted and held in one statement (couponStore.ts holdForMember): carts at two kiosks
      // cannot both take the member's last use.
      const h = await this.d.store.holdForMember({ couponId: c.couponId, member: s.memberCode, sessionId: s.sessionId, kioskId, max }, this.d.now());
      if (!h.held) return this.refuse(kioskId, 'maxUses', `coupon ${c.couponId}: ${h.taken} of ${max} uses by this member taken (sales and other carts)`);
    }
    if (c.useKey !== null) {
      const res = await this.d.store.reserve({ useKey: c.useKey, couponId: c.couponId, serial: c.serial, kioskId, sessionId: s.sessionId }, this.d.now());
      if (res === 'used' || res === 'elsewhere') {
        if (max !== undefined) await this.d.store.releaseHolds(s.sessionId, [c.couponId]);
        return this.refuse(kioskId, 'alreadyUsed', `coupon ${c.couponId} serial ${c.serial}: ${res === 'used' ? 'used in an earlier sale' : 'on another cart'}`);
      }
    }
    this.log.info({ deviceId: kioskId, couponId: c.couponId, serial: c.serial, single: c.useKey !== null, via: c.via }, 'coupon on the cart');
    return { type: 'couponAdd', coupon: c };
  }

  /** After a session change: the serials the cart no longer holds (removed, voided, cancelled, reset) are let go. */
  async sessionChanged(prev: Session, next: Session): Promise<void> {
    const same = next.sessionId === prev.sessionId && next.phase !== 'cancelled';
    // Member holds of coupons the cart dropped (a sold cart's holds went in the sale's commit). Every
    // dropped coupon is let go, not only those the feed now limits: a definition HQ changed or
    // removed meanwhile must not leave a hold behind.
    const limited = (s: Session) => (s.coupons ?? []).map((c) => c.couponId);
    const before = limited(prev);
    if (before.length > 0) {
      const after = new Set(same ? limited(next) : []);
      const dropped = before.filter((id) => !after.has(id));
      if (dropped.length > 0) await this.d.store.releaseHolds(prev.sessionId, dropped);
    }
    const held = heldUseKeys(prev);
    if (held.length === 0) return;
    const keep = same ? new Set(heldUseKeys(next)) : new Set<string>();
    const gone = held.filter((k) => !keep.has(k));
    // A sold cart's serials are `used` by now: release never touches those.
    if (gone.length > 0) await this.d.store.release(gone, prev.sessionId);
  }

  /** At start: reservations no live cart holds (a crash after the cart let go, before the release) are let go. */
  async recover(sessions: readonly Session[]): Promise<void> {
    const live = new Map<string, Set<string>>();
    for (const s of sessions) if (s.phase !== 'cancelled' && s.phase !== 'done') live.set(s.sessionId, new Set(heldUseKeys(s)));
    for (const u of await this.d.store.reserved()) {
      if (live.get(u.sessionId)?.has(u.useKey)) continue;
      await this.d.store.release([u.useKey], u.sessionId);
      this.log.warn({ deviceId: u.kioskId, couponId: u.couponId, serial: u.serial, sessionId: u.sessionId }, 'released a coupon reservation no cart holds (after a restart)');
    }
    for (const sessionId of await this.d.store.holdSessions()) {
      if (live.has(sessionId)) continue;
      const n = await this.d.store.releaseHolds(sessionId);
      this.log.warn({ sessionId, holds: n }, 'released per-member coupon holds no cart holds (after a restart)');
    }
  }

  /** HQ's revocations of coupons that sit on a cart now. */
  revokedOn(s: Session): Action[] {
    return (s.coupons ?? []).flatMap((c) => {
      const why = this.lookup.revoked(c.couponId, '') ?? (c.serial !== '' ? this.lookup.revoked(c.couponId, c.serial) : undefined);
      return why === undefined ? [] : [{ type: 'couponRevoked' as const, couponId: c.couponId, serial: c.serial, reason: why }];
    });
  }

  /** The statements that make a sale's single-use coupons used, for the sale's commit. */
  saleSteps(data: KioskTransactionRec): Step[] {
    const uses = (data.coupons ?? []).filter((c) => c.single).map((c) => ({ useKey: useKeyOf(c.couponId, c.serial), couponId: c.couponId, serial: c.serial, amount: c.amount }));
    const counted = data.memberCode !== undefined ? memberUseSteps((data.coupons ?? []).map((c) => c.couponId), data.memberCode, data.transactionId, this.d.now()) : [];
    return [...usedSteps(uses, { transactionId: data.transactionId, kioskId: data.kioskId }, this.d.now()), ...counted];
  }

  /**
   * A post-sale void gives the sale's coupons back in kiosk.db (releaseSaleSteps): single-use
   * serials usable again, per-member counts down. Returns how many rows it let go (0 when there was
   * nothing, or it ran already). The `couponReleased` records (saleRecords.ts
   * couponReleaseRecords) belong in the void's outbox commit; pass `releaseSaleSteps` to the
   * void's kiosk.db commit instead of calling this when the void has one.
   */
  async releaseCoupons(transactionId: string): Promise<number> {
    return this.d.store.releaseSale(transactionId);
  }

  private refuse(kioskId: string, reason: CouponRefusal, detail: string): Action {
    this.d.onRefused?.(reason);
    const suppressed = this.logLimit.take(`${kioskId}:${reason}`);
    if (suppressed >= 0) this.log.warn({ deviceId: kioskId, reason, detail, suppressed }, 'coupon refused');
    return { type: 'couponRefused', reason, detail };
  }
}
