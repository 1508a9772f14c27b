/**
 * Loyalty points, the pure part: the signed `loyalty` feed's body (earn and spend rules, HQ's last
 * balance per member), the points a sale earns, how many points a basket may take, and a member's
 * offline balance. No clock, no I/O; integers only.
 *
 * Rounding, stated once: a sale earns floor(Σ line price × line multiplier × tier multiplier ×
 * pointsPerUnit / (perMinor × 10⁴ × 10⁴)) points, the floor taken once for the whole sale (not
 * per line, so splitting a line never loses a point), then capped. Points spent are worth
 * floor(points × valueMinor / valuePoints) minor units. The intermediate products are BigInt:
 * price × two multipliers in basis points can pass 2⁵³.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from '../protocol/schemas/common.js';

const Gtin = Type.String({ pattern: '^[0-9]{8,14}$' });
const MemberId = Type.String({ minLength: 1, maxLength: 64 });
/** A multiplier in basis points: 10000 = ×1, 20000 = ×2, 0 = earns nothing. */
const Bp = Type.Integer({ minimum: 0, maximum: 100_000 });
const Count = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });

export const EarnRules = Type.Object(
  {
    /** `pointsPerUnit` points for every `perMinor` minor units paid (1 per 100 = one point per euro). */
    pointsPerUnit: Type.Integer({ minimum: 0, maximum: 10_000 }),
    perMinor: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    /** Per item. */
    gtinMultipliers: Type.Optional(Type.Record(Type.String({ pattern: '^[0-9]{8,14}$' }), Bp)),
    /** A category is a named list of items, each with one multiplier (an item's own multiplier wins). */
    categories: Type.Optional(Type.Array(Type.Object({ id: Type.String({ minLength: 1, maxLength: 64 }), multiplierBp: Bp, gtins: Type.Array(Gtin, { maxItems: 100_000 }) }, { additionalProperties: false }), { maxItems: 1000 })),
    /** Per member tier (`silver`, `gold`, …); a tier not listed earns ×1. */
    tierMultipliers: Type.Optional(Type.Record(Type.String({ minLength: 1, maxLength: 32 }), Bp)),
    /** Items that never earn (tobacco, deposits, gift cards). */
    excluded: Type.Optional(Type.Array(Gtin, { maxItems: 100_000 })),
    /** Most points one sale may earn. */
    capPerTransaction: Type.Optional(Count),
  },
  { additionalProperties: false },
);

export const SpendRules = Type.Object(
  {
    /** `valuePoints` points are worth `valueMinor` minor units (100 and 100: a point is worth one cent). */
    valuePoints: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    valueMinor: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
    /** Fewer points than this cannot be redeemed. */
    minPoints: Count,
    /** The largest share of the basket payable with points, basis points (5000 = half). */
    maxShareBp: Type.Integer({ minimum: 0, maximum: 10_000 }),
    /**
     * How points spent count for VAT (pointsVat.ts): `discount` (default) lowers the lines' taxable
     * amount; `tender` pays like a voucher, VAT stays on the line prices and the receipt lists the
     * points as a payment.
     */
    as: Type.Optional(Type.Union([Type.Literal('discount'), Type.Literal('tender')])),
  },
  { additionalProperties: false },
);

export const LoyaltyBalance = Type.Object({ memberId: MemberId, points: Type.Integer({ minimum: -1_000_000_000, maximum: 1_000_000_000 }), asOf: Timestamp }, { additionalProperties: false });

/** `snapshot` replaces the rules and every balance; `delta` replaces the rules if given and upserts balances. */
export const LoyaltyBody = Type.Object(
  {
    mode: Type.Union([Type.Literal('snapshot'), Type.Literal('delta')]),
    baseVersion: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    program: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    earn: Type.Optional(EarnRules),
    spend: Type.Optional(SpendRules),
    balances: Type.Array(LoyaltyBalance, { maxItems: 1_000_000 }),
  },
  { additionalProperties: false },
);

export type EarnRulesT = Static<typeof EarnRules>;
export type SpendRulesT = Static<typeof SpendRules>;
export type LoyaltyBodyT = Static<typeof LoyaltyBody>;

export interface LoyaltyRules {
  program: string;
  earn: EarnRulesT | null;
  spend: SpendRulesT | null;
}

/** What a line needs for earning. */
export interface EarnLine {
  gtin: string;
  /** What the shopper pays for the line, minor units. */
  price: number;
}

const BP = 10_000n;

/** Multiplier of one item: its own, else its category's, else ×1; excluded items ×0. */
export function lineMultiplierBp(rules: EarnRulesT, gtin: string): number {
  if (rules.excluded?.includes(gtin)) return 0;
  const own = rules.gtinMultipliers?.[gtin];
  if (own !== undefined) return own;
  const cat = rules.categories?.find((c) => c.gtins.includes(gtin));
  return cat ? cat.multiplierBp : 10_000;
}

/**
 * Points a sale earns. `pointsDiscount`: the part of the basket paid with points, which earns
 * nothing; it is taken off the earning lines in proportion to their weighted amount.
 */
export function earnedPoints(rules: EarnRulesT | null, lines: readonly EarnLine[], tier: string | null, pointsDiscount = 0): number {
  if (!rules || rules.pointsPerUnit === 0) return 0;
  let weighted = 0n;
  let paid = 0n;
  for (const l of lines) {
    const price = BigInt(Math.max(0, Math.trunc(l.price)));
    paid += price;
    weighted += price * BigInt(lineMultiplierBp(rules, l.gtin));
  }
  if (paid === 0n) return 0;
  // Paid with points: the weighted amount shrinks by the same share as the money paid.
  const discount = BigInt(Math.min(Math.max(0, Math.trunc(pointsDiscount)), Number(paid)));
  weighted = (weighted * (paid - discount)) / paid;
  const tierBp = BigInt(tier !== null ? (rules.tierMultipliers?.[tier] ?? 10_000) : 10_000);
  const pts = (weighted * tierBp * BigInt(rules.pointsPerUnit)) / (BigInt(rules.perMinor) * BP * BP);
  const cap = rules.capPerTransaction;
  const n = Number(pts);
  return cap !== undefined ? Math.min(n, cap) : n;
}

/** Minor units `points` are worth (rounded down: a point never buys more than its value). */
export function pointsValue(rules: SpendRulesT, points: number): number {
  return Number((BigInt(Math.max(0, Math.trunc(points))) * BigInt(rules.valueMinor)) / BigInt(rules.valuePoints));
}

/** Most points a basket of `total` minor units may take: its payable share, in whole points. */
export function maxPointsFor(rules: SpendRulesT, total: number): number {
  const maxDiscount = (BigInt(Math.max(0, Math.trunc(total))) * BigInt(rules.maxShareBp)) / BP;
  return Number((maxDiscount * BigInt(rules.valuePoints)) / BigInt(rules.valueMinor));
}

/** Why a spend is refused; the kiosk page has a text for each. */
export type SpendRefusal = 'pointsNoMember' | 'pointsNotOffered' | 'pointsBelowMinimum' | 'pointsOverBalance' | 'pointsOverBasket';

/** A spend of `points` on a basket of `total`, with `available` points: the points and discount, or the refusal. */
export function checkSpend(rules: SpendRulesT | null, points: number, total: number, available: number): { ok: true; points: number; discount: number } | { ok: false; reason: SpendRefusal; max: number } {
  if (!rules) return { ok: false, reason: 'pointsNotOffered', max: 0 };
  const byBasket = maxPointsFor(rules, total);
  if (points === 0) return { ok: true, points: 0, discount: 0 };
  if (points < rules.minPoints) return { ok: false, reason: 'pointsBelowMinimum', max: rules.minPoints };
  if (points > Math.max(0, available)) return { ok: false, reason: 'pointsOverBalance', max: Math.max(0, available) };
  if (points > byBasket) return { ok: false, reason: 'pointsOverBasket', max: byBasket };
  return { ok: true, points, discount: pointsValue(rules, points) };
}

/** One points change already made in this store (the local ledger). */
export interface LocalChange {
  memberId: string;
  delta: number;
  /** When the sale was recorded (ms). */
  at: number;
}

/**
 * A member's balance while offline: HQ's last balance plus this store's changes made after HQ's
 * `asOf` (earlier ones HQ counted already), less what open carts elsewhere in the store hold.
 * Never below zero: a balance HQ let go negative offers nothing to spend.
 */
export function offlineBalance(hq: { points: number; asOfMs: number } | null, changes: readonly LocalChange[], memberId: string, reserved = 0): number {
  let b = hq?.points ?? 0;
  const since = hq?.asOfMs ?? -Infinity;
  for (const c of changes) if (c.memberId === memberId && c.at > since) b += c.delta;
  return Math.max(0, b - reserved);
}
