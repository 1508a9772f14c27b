/**
 * Points on the cart, pure: the hook sessionMachine.ts calls after every re-pricing, and the
 * `spendPoints` step. The gateway alone decides what a member earns and what their points take
 * off; the page only asks for a number of points.
 *
 * Points spent count in `discounts` on the cart (subtotal − discounts = total still holds and the
 * card is charged the total). For the VAT the feed's `spend.as` decides (pointsVat.ts): as a
 * discount their value is split over the lines and lowers each rate's taxable amount; as tender
 * the VAT stays on the line prices and the receipt lists them as a payment. A spend the cart no
 * longer allows (an item removed, the member changed) is dropped with a notice rather than
 * lowered in silence.
 */
import type { KioskTransactionRec } from '../protocol/schemas/kiosk.js';
import { totalsOf } from './cartPricing.js';
import { checkSpend, earnedPoints, maxPointsFor, type LoyaltyRules } from './pointsRules.js';
import type { Session } from './sessionTypes.js';
import { vatWithPoints, type PointsAs } from './pointsVat.js';

/** The VAT per rate of a cart as it would be sold: points spent as a discount lower the taxable amounts. */
export function saleVat(s: Pick<Session, 'lines' | 'points'>): ReturnType<typeof vatWithPoints> {
  return vatWithPoints(s.lines, s.points?.discount ?? 0, s.points?.as ?? 'discount');
}

/** The shell's view of loyalty (sessions.ts): the rules of the applied `loyalty` feed and the balances. */
export interface PointsCtx {
  rules: LoyaltyRules | null;
  /** Points `memberId` may spend at `kioskId` now (offline balance less other kiosks' open carts). */
  available(memberId: string, kioskId: string): number;
  /** The member's tier (members feed or QR credential), for tier multipliers. */
  tier(memberId: string): string | null;
}

/** The points state of a cart with a member on it. */
export interface SessionPoints {
  memberId: string;
  program: string;
  /** Points this sale earns as the cart stands. */
  earned: number;
  /** Points spent on it, and the minor units they take off. */
  spent: number;
  discount: number;
  /** How the points spent count for VAT (the feed's `spend.as`). */
  as: PointsAs;
  /** Points the member could spend here when the cart was last priced (before this spend). */
  available: number;
  /** The most points this cart takes now (balance, basket share; 0 under the minimum): what "Use points" offers. */
  spendable: number;
}

/** Sets `s.points` and takes a spend off `s.totals`; call after `s.totals = totalsOf(s.lines)`. */
export function pricePoints(s: Session, pc: PointsCtx | undefined): void {
  if (!pc?.rules || s.memberCode === null) {
    if (s.points !== undefined) delete s.points;
    if (s.pointsSpend !== undefined) delete s.pointsSpend;
    return;
  }
  const base = totalsOf(s.lines);
  const available = pc.available(s.memberCode, s.kioskId);
  let spent = 0;
  let discount = 0;
  const want = s.pointsSpend ?? 0;
  if (want > 0) {
    const c = checkSpend(pc.rules.spend, want, base.total, available);
    if (c.ok) ({ points: spent, discount } = c);
    else {
      delete s.pointsSpend;
      s.notice = { code: 'pointsDropped', detail: String(want) };
    }
  }
  const earned = earnedPoints(pc.rules.earn, s.lines, pc.tier(s.memberCode), discount);
  s.totals = { subtotal: base.subtotal, discounts: base.discounts + discount, total: base.total - discount };
  const sp = pc.rules.spend;
  const most = sp ? Math.min(available, maxPointsFor(sp, base.total)) : 0;
  const spendable = sp && most >= sp.minPoints ? most : 0;
  s.points = { memberId: s.memberCode, program: pc.rules.program, earned, spent, discount, as: sp?.as ?? 'discount', available, spendable };
}

/** `spendPoints`: the page asks to spend `points` (0 takes a spend back); refused by name, or applied. */
export function spendPointsStep(s: Session, points: number, pc: PointsCtx | undefined): void {
  if (s.memberCode === null) {
    s.notice = { code: 'pointsNoMember' };
    return;
  }
  const base = totalsOf(s.lines);
  const available = pc?.rules ? pc.available(s.memberCode, s.kioskId) : 0;
  const c = checkSpend(pc?.rules?.spend ?? null, points, base.total, available);
  if (!c.ok) {
    s.notice = { code: c.reason, detail: String(c.max) };
    return;
  }
  if (c.points === 0) delete s.pointsSpend;
  else s.pointsSpend = c.points;
  pricePoints(s, pc);
  s.notice = { code: c.points === 0 ? 'pointsReleased' : 'pointsApplied', detail: String(c.points) };
}

/** The sale record's `points` (absent without a member or a loyalty program). */
export function pointsOfSale(s: Session): Pick<KioskTransactionRec, 'points'> {
  const p = s.points;
  if (!p) return {};
  return { points: { memberId: p.memberId, program: p.program, earned: p.earned, spent: p.spent, discount: p.discount, ...(p.spent > 0 ? { as: p.as } : {}) } };
}

/** Points an open cart holds for its member (not yet a sale): the shell keeps other kiosks from spending them too. */
export function reservedBy(s: Session): { memberId: string; points: number } | null {
  if (!s.points || s.points.spent === 0 || s.receipt !== null) return null;
  if (s.phase === 'done' || s.phase === 'cancelled') return null;
  return { memberId: s.points.memberId, points: s.points.spent };
}
