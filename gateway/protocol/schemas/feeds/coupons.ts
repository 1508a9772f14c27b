/**
 * The signed `coupons` feed body HQ pushes on hq/v1/store/{storeId}/coupons and hq/v1/all/coupons:
 * coupon definitions and revocations. No names or personal data: a definition says what a coupon
 * gives and to whom (a member tier at most), a revocation names a coupon or one serial of it.
 */
import { Type, type Static } from '@sinclair/typebox';

const Id = Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9._-]+$' });
const Gtin = Type.String({ pattern: '^[0-9]{8,14}$' });
const Tier = Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_-]+$' });
const Minor = Type.Integer({ minimum: 0, maximum: 100_000_000 });
const MAX_ROWS = 100_000;

export const CouponDef = Type.Object(
  {
    id: Id,
    label: Type.Object({ en: Type.String({ minLength: 1, maxLength: 64 }), zh: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })) }, { additionalProperties: false }),
    /** A plain code typed at the kiosk (`SPRING5`), or a prefix whose rest is the serial (`XMAS-` + serial). */
    code: Type.Optional(Type.String({ pattern: '^[A-Z0-9][A-Z0-9-]{2,31}$' })),
    codePrefix: Type.Optional(Type.String({ pattern: '^[A-Z0-9][A-Z0-9-]{1,15}$' })),
    /** A GS1 coupon (AI 8110/8112) maps here by its company prefix and offer code. */
    gs1: Type.Optional(Type.Object({ companyPrefix: Type.String({ pattern: '^[0-9]{6,12}$' }), offerCode: Type.String({ pattern: '^[0-9]{6}$' }) }, { additionalProperties: false })),
    /** What the discount applies to: the whole basket, the lines of these GTINs, or the lines whose catalog item is in one of these categories. */
    target: Type.Union([
      Type.Object({ kind: Type.Literal('basket') }, { additionalProperties: false }),
      Type.Object({ kind: Type.Literal('items'), gtins: Type.Array(Gtin, { minItems: 1, maxItems: 1000 }) }, { additionalProperties: false }),
      Type.Object({ kind: Type.Literal('category'), categories: Type.Array(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' }), { minItems: 1, maxItems: 100 }) }, { additionalProperties: false }),
    ]),
    /** Exactly one of them: minor units off, or basis points off (1000 = 10 %). */
    amountOff: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000_000 })),
    percentOffBp: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
    /** The basket's total after promotions and member prices must reach it (minor units). */
    minSpend: Type.Optional(Minor),
    validFrom: Type.Optional(Type.String({ format: 'date-time' })),
    validTo: Type.Optional(Type.String({ format: 'date-time' })),
    memberOnly: Type.Optional(Type.Boolean()),
    /** With memberOnly: only these tiers. */
    tiers: Type.Optional(Type.Array(Tier, { minItems: 1, maxItems: 16 })),
    /** `exclusive`: no other coupon in the same sale; `combinable`: with other combinable ones. */
    stacking: Type.Union([Type.Literal('exclusive'), Type.Literal('combinable')]),
    /** `single`: each serial is used once, in this store for sure (the gateway keeps every use). */
    use: Type.Union([Type.Literal('single'), Type.Literal('multi')]),
    /** At most this many sales per member in this store (the member must identify before presenting it). */
    maxPerMember: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  { additionalProperties: false },
);

export const CouponRevocation = Type.Object(
  {
    couponId: Id,
    /** One serial; absent: every code of the coupon. */
    serial: Type.Optional(Type.String({ minLength: 1, maxLength: 24 })),
    reason: Type.String({ minLength: 1, maxLength: 128 }),
  },
  { additionalProperties: false },
);

/** `snapshot` replaces the definitions and revocations; `delta` upserts definitions, adds revocations and removes ids. */
export const CouponsBody = Type.Object(
  {
    mode: Type.Union([Type.Literal('snapshot'), Type.Literal('delta')]),
    baseVersion: Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })),
    coupons: Type.Array(CouponDef, { maxItems: MAX_ROWS }),
    revoked: Type.Array(CouponRevocation, { default: [], maxItems: MAX_ROWS }),
    remove: Type.Optional(Type.Array(Id, { maxItems: MAX_ROWS })),
  },
  { additionalProperties: false },
);

export type CouponDefT = Static<typeof CouponDef>;
export type CouponRevocationT = Static<typeof CouponRevocation>;
export type CouponsBodyT = Static<typeof CouponsBody>;

/** What the schema cannot say: exactly one discount, and a member tier list only on a member coupon. */
export function couponDefError(d: CouponDefT): string | null {
  if ((d.amountOff === undefined) === (d.percentOffBp === undefined)) return `coupons[${d.id}]: exactly one of amountOff and percentOffBp`;
  if (d.tiers !== undefined && d.memberOnly !== true) return `coupons[${d.id}].tiers: only with memberOnly`;
  if (d.maxPerMember !== undefined && d.memberOnly !== true) return `coupons[${d.id}].maxPerMember: only with memberOnly (a use is counted per member)`;
  if (d.validFrom !== undefined && d.validTo !== undefined && Date.parse(d.validFrom) > Date.parse(d.validTo)) return `coupons[${d.id}].validTo: before validFrom`;
  return null;
}
