/**
 * The coupon actions of a kiosk session, pure (sessionMachine.ts calls in): a coupon the shell
 * verified and reserved goes on the cart, a refused one becomes a named notice, and on every
 * pricing the cart's coupons are applied again (couponPricing.ts) so a coupon whose minimum spend
 * is no longer met shows as not applied, with its reason.
 */
import type { Action, Ctx, Session, StepResult } from '../sessionTypes.js';
import type { SaleCouponRec } from '../../protocol/schemas/coupon.js';
import { applyCoupons, type CartCoupon, type CouponOutcome } from './couponPricing.js';

/** A coupon on the cart with what it did at the last pricing. */
export type SessionCoupon = CartCoupon & Omit<CouponOutcome, 'couponId' | 'serial'>;

export type CouponAction = Extract<Action, { type: 'couponAdd' | 'couponRefused' | 'couponRemove' | 'couponRevoked' }>;

/** Applies the cart's coupons to its freshly priced lines (no coupon parts on them yet). */
export function priceCartCoupons(s: Session, ctx: Ctx): void {
  if (!s.coupons?.length) return;
  const member = s.memberCode === null ? null : { id: s.memberCode, tier: ctx.memberTier?.(s.memberCode) ?? null };
  const r = applyCoupons(s.lines, s.coupons, ctx.now, member);
  s.lines = r.lines;
  s.coupons = s.coupons.map((c, i) => {
    const o = r.outcomes[i]!;
    const { reason: _r, missing: _m, ...rest } = c;
    return { ...rest, amount: o.amount, applied: o.applied, ...(o.reason !== undefined ? { reason: o.reason } : {}), ...(o.missing !== undefined ? { missing: o.missing } : {}) };
  });
}

const same = (c: { couponId: string; serial: string }, id: string, serial: string) => c.couponId === id && c.serial === serial;

export function couponStep(s: Session, s0: Session, a: CouponAction, out: () => StepResult, reprice: () => void, shopping: boolean): StepResult {
  if (!shopping) return { session: s0, effects: [] };
  switch (a.type) {
    case 'couponAdd': {
      const c = a.coupon;
      // The shell reserved it for this cart; presented again, nothing changes.
      if ((s.coupons ?? []).some((x) => same(x, c.couponId, c.serial))) {
        s.notice = { code: 'coupon_alreadyOnCart', detail: c.def.label.en };
        return out();
      }
      s.coupons = [...(s.coupons ?? []), { ...c, amount: 0, applied: false }];
      reprice();
      const mine = s.coupons.find((x) => same(x, c.couponId, c.serial))!;
      s.notice = mine.applied ? { code: 'couponApplied', detail: c.couponId } : { code: `couponNotApplied_${mine.reason}`, detail: c.couponId };
      return out();
    }
    case 'couponRefused':
      s.notice = { code: `coupon_${a.reason}`, detail: a.detail };
      return out();
    case 'couponRemove':
    case 'couponRevoked': {
      if (!(s.coupons ?? []).some((x) => same(x, a.couponId, a.serial))) return { session: s0, effects: [] };
      s.coupons = (s.coupons ?? []).filter((x) => !same(x, a.couponId, a.serial));
      reprice();
      if (a.type === 'couponRevoked') s.notice = { code: 'coupon_revoked', detail: a.reason };
      return out();
    }
  }
}

/** The single-use serials a cart holds (reserved in kiosk.db). */
export function heldUseKeys(s: Session | undefined): string[] {
  return (s?.coupons ?? []).flatMap((c) => (c.useKey !== null ? [c.useKey] : []));
}

/** What a transaction record says of its coupons: the applied ones. */
export function saleCouponsOf(s: Session): SaleCouponRec[] {
  return (s.coupons ?? []).filter((c) => c.applied && c.amount > 0).map((c) => ({ couponId: c.couponId, serial: c.serial, amount: c.amount, via: c.via, single: c.useKey !== null }));
}
