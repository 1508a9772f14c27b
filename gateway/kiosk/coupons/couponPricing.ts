/**
 * Coupons on a priced cart, pure and deterministic: applied after promotions and member prices
 * (the lines come in priced by cartPricing.ts), in the order the shopper presented them.
 *
 * Each coupon, in turn: is it valid now, for this member, combinable with what is applied, and
 * does the basket reach its minimum spend (the basket's total after promotions and member prices,
 * before any coupon)? If so, its discount is taken from the amount its target lines still have:
 * an amount off at most that much, a percentage rounded half-up to the minor unit. A coupon that
 * does not apply stays on the cart as "not applied" with its reason, and is looked at again on
 * every change (a basket that grows may reach the minimum spend).
 *
 * The discount is split over the target lines in proportion to their remaining price, by the
 * largest-remainder method (each line gets the floor of its share, the minor units left go one
 * each to the largest fractional parts, ties to the earlier line), so the parts add up to the
 * discount exactly. A line's price then is its price less its coupon part, and the receipt's VAT
 * per rate (vat.ts) is taken from those reduced prices: the discount lowers each rate's gross by
 * the share of its lines, and the VAT of each rate is recomputed from that gross. This is the
 * usual treatment of a retailer's coupon as a price reduction at the time of sale (EU VAT
 * Directive 2006/112/EC art. 79(b): price discounts and rebates granted at the time of supply are
 * not part of the taxable amount).
 */
import type { CouponDefT } from '../../protocol/schemas/feeds/coupons.js';

export interface PricedLine {
  lineId: string;
  gtin: string;
  price: number;
  /** The catalog category of the line's item (a `category` target matches it). */
  category?: string;
  /** The coupon part taken off `price` (absent: none). */
  couponOff?: number;
}

/** A coupon on the cart: its definition as it was when presented, and what makes it one use. */
export interface CartCoupon {
  couponId: string;
  /** The serial of a serialised code; '' for a public code. */
  serial: string;
  /** The single-use key reserved for it (null: a multi-use coupon). */
  useKey: string | null;
  def: CouponDefT;
  /** Where it came from, for the record: `signed`, `gs1`, `plain`. */
  via: 'signed' | 'gs1' | 'plain';
}

export const NOT_APPLIED_REASONS = ['expired', 'notYetValid', 'memberOnly', 'notCombinable', 'minSpend', 'noItems'] as const;
export type NotAppliedReason = (typeof NOT_APPLIED_REASONS)[number];

export interface CouponOutcome {
  couponId: string;
  serial: string;
  /** Minor units taken off the cart (0 when not applied). */
  amount: number;
  applied: boolean;
  reason?: NotAppliedReason;
  /** With `minSpend`: how much more the basket needs. */
  missing?: number;
}

export interface CouponMember {
  id: string;
  tier: string | null;
}

/** A line with its coupon part put back: what cartPricing priced before any coupon. */
export function withoutCoupon<L extends PricedLine>(l: L): L {
  if (l.couponOff === undefined) return l;
  const { couponOff, ...rest } = l;
  return { ...rest, price: l.price + couponOff } as L;
}

/** Half-up `amount × bp / 10000` in integers. */
export function percentOf(amount: number, bp: number): number {
  return Math.floor((2 * amount * bp + 10_000) / 20_000);
}

/** Why a coupon is not valid at `now` for `member`, or null. */
export function validityReason(def: CouponDefT, now: number, member: CouponMember | null): NotAppliedReason | null {
  if (def.validFrom !== undefined && now < Date.parse(def.validFrom)) return 'notYetValid';
  if (def.validTo !== undefined && now > Date.parse(def.validTo)) return 'expired';
  if (def.memberOnly === true) {
    if (!member) return 'memberOnly';
    if (def.tiers !== undefined && (member.tier === null || !def.tiers.includes(member.tier))) return 'memberOnly';
  }
  return null;
}

/** Splits `amount` over `weights` (all ≥ 0, sum > 0) in proportion, by the largest remainder. */
export function allocate(amount: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum <= 0) return weights.map(() => 0);
  const parts = weights.map((w) => Math.floor((amount * w) / sum));
  let left = amount - parts.reduce((a, b) => a + b, 0);
  const order = weights.map((w, i) => ({ i, frac: (amount * w) % sum })).sort((a, b) => b.frac - a.frac || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    if (weights[i] === 0) continue;
    parts[i]++;
    left--;
  }
  return parts;
}

/**
 * The coupons on priced lines: the lines with their coupon parts taken off, and each coupon's
 * outcome, in the order given. Lines come in as cartPricing priced them (no coupon part).
 */
export function applyCoupons<L extends PricedLine>(lines0: readonly L[], coupons: readonly CartCoupon[], now: number, member: CouponMember | null): { lines: L[]; outcomes: CouponOutcome[] } {
  const lines = lines0.map((l) => withoutCoupon(l));
  const remaining = lines.map((l) => Math.max(0, l.price));
  const basket = remaining.reduce((a, b) => a + b, 0);
  const outcomes: CouponOutcome[] = [];
  let appliedAny = false;
  let exclusive = false;
  for (const c of coupons) {
    const d = c.def;
    const no = (reason: NotAppliedReason, extra: Partial<CouponOutcome> = {}) => outcomes.push({ couponId: c.couponId, serial: c.serial, amount: 0, applied: false, reason, ...extra });
    const invalid = validityReason(d, now, member);
    if (invalid) {
      no(invalid);
      continue;
    }
    if (exclusive || (d.stacking === 'exclusive' && appliedAny)) {
      no('notCombinable');
      continue;
    }
    if (d.minSpend !== undefined && basket < d.minSpend) {
      no('minSpend', { missing: d.minSpend - basket });
      continue;
    }
    const idx = lines.map((l, i) => (targets(d.target, l) ? i : -1)).filter((i) => i >= 0 && remaining[i] > 0);
    const base = idx.reduce((a, i) => a + remaining[i], 0);
    if (base <= 0) {
      no('noItems');
      continue;
    }
    const amount = Math.min(base, d.amountOff ?? percentOf(base, d.percentOffBp ?? 0));
    const parts = allocate(amount, idx.map((i) => remaining[i]));
    idx.forEach((i, k) => (remaining[i] -= parts[k]));
    outcomes.push({ couponId: c.couponId, serial: c.serial, amount, applied: true });
    appliedAny = true;
    if (d.stacking === 'exclusive') exclusive = true;
  }
  const out = lines.map((l, i) => {
    const off = Math.max(0, l.price) - remaining[i];
    return off > 0 ? { ...l, price: l.price - off, couponOff: off } : l;
  });
  return { lines: out, outcomes };
}

/** Whether a coupon's target takes in a line: the basket, its GTIN, or its item's category (exact, case-sensitive). */
function targets(t: CouponDefT['target'], l: PricedLine): boolean {
  if (t.kind === 'basket') return true;
  if (t.kind === 'items') return t.gtins.some((g) => sameGtin(g, l.gtin));
  return l.category !== undefined && t.categories.includes(l.category);
}

/** GTINs compare as GTIN-14 (a feed may list an EAN-13 where the catalog has the GTIN-14, or the reverse). */
function sameGtin(a: string, b: string): boolean {
  return a.padStart(14, '0') === b.padStart(14, '0');
}
