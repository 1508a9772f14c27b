/**
 * The signed `loyalty` feed's body (hq/v1/store/{storeId}/loyalty and hq/v1/all/loyalty): the
 * points programme's earn and spend rules and HQ's last balance per member. Shared by the gateway,
 * which applies it, and HQ's signing tool, which checks a body before signing it.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Timestamp } from '../common.js';

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
     * How points spent count for VAT (gateway/kiosk/pointsVat.ts): `discount` (default) lowers the
     * lines' taxable amount; `tender` pays like a voucher, VAT stays on the line prices and the
     * receipt lists the points as a payment.
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
