/**
 * What points spent do to a sale's VAT, pure. The loyalty feed's spend rule says which of two
 * treatments the chain uses (`spend.as`):
 *
 * - `discount` (the default): points are a price reduction granted at the time of sale, so they
 *   are not part of the taxable amount (EU VAT Directive 2006/112/EC art. 79(b)). Their value is
 *   split over the lines in proportion to each line's price after coupons, by the largest
 *   remainder (the same `allocate` as coupons: the parts add up to the value exactly, ties to the
 *   earlier line), and each rate's VAT is taken from its lines' prices less their points part.
 * - `tender`: points are a means of payment (the chain funds them like a voucher): the taxable
 *   amount is the full price, the VAT stays on the line prices, and the receipt lists the points
 *   as a payment beside the card.
 */
import { allocate } from './coupons/couponPricing.js';
import { vatBreakdown, type VatLine } from './vat.js';

export type PointsAs = 'discount' | 'tender';

/** Each line's part of a points discount of `value` minor units (all zero under `tender` or without points). */
export function pointsShares(lines: readonly { price: number }[], value: number, as: PointsAs): number[] {
  if (as !== 'discount' || value <= 0) return lines.map(() => 0);
  return allocate(value, lines.map((l) => Math.max(0, l.price)));
}

/** The sale's VAT per rate with its points treated as `as` says. */
export function vatWithPoints(lines: readonly { price: number; vatRateBp?: number }[], value: number, as: PointsAs): VatLine[] {
  const shares = pointsShares(lines, value, as);
  return vatBreakdown(lines.map((l, i) => ({ price: l.price - shares[i]!, ...(l.vatRateBp !== undefined ? { vatRateBp: l.vatRateBp } : {}) })));
}
