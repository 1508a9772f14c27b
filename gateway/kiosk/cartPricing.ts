/**
 * Cart pricing, pure: every line is priced from the catalog quote (base, promotion, member tier)
 * at the gateway's clock; the kiosk page never prices anything. Integer minor units throughout;
 * a weighed line is rounded half-up to the minor unit once, per line.
 */
import type { PriceQuote } from '../prices/catalog.js';
import { shelfPriceOf } from '../prices/shelfTill.js';

export type Quote = (gtin: string, memberCode: string | null) => PriceQuote | null;

export interface Line {
  lineId: string;
  gtin: string;
  name: string;
  unit: 'each' | 'kg';
  qty: number;
  /** Weighed produce or a weight-embedded code: the line's net weight. */
  grams?: number;
  /** A price-embedded variable-measure code: the label's price, not the catalog's. */
  embeddedPrice?: number;
  /** RFID: the serials counted in this line (qty = serials.length). */
  serials?: string[];
  unitPrice: number;
  basePrice: number;
  price: number;
  source: PriceQuote['source'] | 'embedded';
  ageRestricted: boolean;
  /** Security scale: expected grams of the whole line, null when the catalog has none. */
  expectedG: number | null;
  toleranceG: number;
  /** VAT rate of the item (basis points), for the receipt's VAT lines. */
  vatRateBp?: number;
  /** The item's catalog category (a coupon may target it). */
  category?: string;
  /** Shelf = till: the catalog's feed versions at the last pricing of this line. */
  catalogVersions?: Readonly<Record<string, number>>;
  /** The price per unit (or kg) a shelf label must show for it: for everyone, before member benefits. */
  shelfPrice?: number;
  /** The coupons' part of the line, already taken off `price` (coupons/couponPricing.ts). */
  couponOff?: number;
}

export interface Totals {
  subtotal: number;
  discounts: number;
  total: number;
}

/** Price of `grams` of an item priced per kg, rounded half-up. */
export function weighedPrice(perKg: number, grams: number): number {
  return Math.floor((perKg * grams + 500) / 1000);
}

/** Re-prices one line from its quote; a line whose item left the catalog keeps its last prices. */
export function priceLine(line: Line, quote: Quote, memberCode: string | null): Line {
  const q = quote(line.gtin, memberCode);
  if (q?.vatRateBp !== undefined) line = { ...line, vatRateBp: q.vatRateBp };
  if (q?.category !== undefined) line = { ...line, category: q.category };
  if (q?.versions !== undefined) line = { ...line, catalogVersions: q.versions };
  if (line.embeddedPrice !== undefined) {
    return { ...line, unitPrice: line.embeddedPrice, basePrice: line.embeddedPrice, price: line.embeddedPrice, source: 'embedded' };
  }
  if (!q) return line;
  line = { ...line, shelfPrice: shelfPriceOf(q.base, q.promo?.price) };
  if (line.grams !== undefined) {
    return { ...line, name: q.name, unitPrice: q.price, basePrice: weighedPrice(q.base, line.grams), price: weighedPrice(q.price, line.grams), source: q.source };
  }
  return { ...line, name: q.name, unitPrice: q.price, basePrice: q.base * line.qty, price: q.price * line.qty, source: q.source };
}

export function totalsOf(lines: readonly Line[]): Totals {
  let subtotal = 0;
  let total = 0;
  for (const l of lines) {
    subtotal += l.basePrice;
    total += l.price;
  }
  return { subtotal, discounts: subtotal - total, total };
}

/** Expected bagging weight of `qty` units (or of the weighed grams) of a quoted item. */
export function expectedGrams(q: PriceQuote, qty: number, grams?: number): number | null {
  if (grams !== undefined) return grams;
  return q.expectedWeightG !== undefined ? q.expectedWeightG * qty : null;
}
