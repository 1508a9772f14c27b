/**
 * Bodies of the four HQ feeds the prices component applies, handed to
 * `createFeedVerifier({ bodySchemas })` so a malformed body is rejected before anything is applied.
 *
 * Every body is `{mode: "snapshot" | "delta", …}`: a snapshot replaces everything that feed holds
 * for its scope; a delta upserts its rows and deletes the keys listed in `remove`, and names the
 * version it applies on in `baseVersion` (a delta on any other version is refused: a gap).
 * Money is an integer in minor units (protocol/README.md §Feed envelope); times are ISO 8601.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Currency, MinorUnits, Timestamp } from '../common.js';

const Gtin = Type.String({ pattern: '^[0-9]{8,14}$' });
const LabelId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
const Tier = Type.String({ minLength: 1, maxLength: 32, pattern: '^[A-Za-z0-9_-]+$' });
const Mode = Type.Union([Type.Literal('snapshot'), Type.Literal('delta')]);
const MAX_ROWS = 500_000;
/** The version a delta applies to (the gateway's hq/feedPolicy.ts, deltaBaseError); a snapshot needs none. */
const BaseVersion = Type.Optional(Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }));

export const CatalogItem = Type.Object(
  {
    gtin: Gtin,
    name: Type.String({ minLength: 1, maxLength: 128 }),
    unit: Type.Union([Type.Literal('each'), Type.Literal('kg')], { default: 'each' }),
    /** Security scale: expected weight of one item and the tolerance (grams). */
    expectedWeightG: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    weightToleranceG: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000 })),
    /** Minimum age to buy it (alcohol 18, …); needs an attendant at the kiosk. */
    ageRestriction: Type.Optional(Type.Integer({ minimum: 0, maximum: 99 })),
    /** VAT rate in basis points (1900 = 19 %, 550 = 5.5 %); prices include it. For the receipt's VAT lines. */
    vatRateBp: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
    /** The chain's product category (`dairy`, `wine`): coupons may target it. */
    category: Type.Optional(Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._-]+$' })),
    /** Label template (Pricer "presentation") and its extra fields. */
    template: Type.Optional(Type.String({ maxLength: 32 })),
    fields: Type.Optional(Type.Record(Type.String({ maxLength: 32 }), Type.String({ maxLength: 128 }))),
    /**
     * The item's picture for the kiosk (PNG, JPEG or WebP): the gateway fetches it once and keeps it
     * (kiosk/imageCache.ts). `sha256` is signed with the feed, so a picture is taken only if its bytes
     * are exactly the ones HQ meant, whoever served them.
     */
    image: Type.Optional(
      Type.Object(
        { url: Type.String({ maxLength: 512, pattern: '^https?://[^\\s]+$' }), sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const PriceRow = Type.Object(
  {
    gtin: Gtin,
    price: MinorUnits,
    currency: Type.Optional(Currency),
    /** Member price by tier: `{ "gold": 199 }`. */
    memberPrices: Type.Optional(Type.Record(Tier, MinorUnits)),
  },
  { additionalProperties: false },
);

export const Promotion = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64 }),
    gtin: Gtin,
    price: MinorUnits,
    start: Timestamp,
    end: Timestamp,
    text: Type.Optional(Type.String({ maxLength: 64 })),
    /** Only for members of this tier (not shown as the label's promo). */
    tier: Type.Optional(Tier),
  },
  { additionalProperties: false },
);

export const CatalogBody = Type.Object(
  { mode: Mode, baseVersion: BaseVersion, items: Type.Array(CatalogItem, { maxItems: MAX_ROWS }), remove: Type.Optional(Type.Array(Gtin, { maxItems: MAX_ROWS })) },
  { additionalProperties: false },
);

export const PricesBody = Type.Object(
  {
    mode: Mode,
    baseVersion: BaseVersion,
    currency: Currency,
    prices: Type.Array(PriceRow, { maxItems: MAX_ROWS }),
    promotions: Type.Array(Promotion, { default: [], maxItems: MAX_ROWS }),
    remove: Type.Optional(Type.Array(Gtin, { maxItems: MAX_ROWS })),
    removePromotions: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: MAX_ROWS })),
  },
  { additionalProperties: false },
);

export const MembersBody = Type.Object(
  {
    mode: Mode,
    baseVersion: BaseVersion,
    members: Type.Array(
      Type.Object(
        {
          code: Type.String({ minLength: 1, maxLength: 64 }),
          tier: Tier,
          /** `suspended`: every member QR of this member is refused. */
          status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])),
          /** Member QR credential ids HQ withdrew (a lost phone, a re-issued credential). */
          revoked: Type.Optional(Type.Array(Type.String({ pattern: '^[0-9a-f]{16}$' }), { maxItems: 16 })),
        },
        { additionalProperties: false },
      ),
      { maxItems: MAX_ROWS },
    ),
    remove: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: MAX_ROWS })),
  },
  { additionalProperties: false },
);

export const LabelsBody = Type.Object(
  {
    mode: Mode,
    baseVersion: BaseVersion,
    /** Label id ↔ GTIN; `ap` is the access point the label was installed under (used until one hears it). */
    bindings: Type.Array(Type.Object({ labelId: LabelId, gtin: Gtin, ap: Type.Optional(Type.String({ maxLength: 64 })) }, { additionalProperties: false }), { maxItems: MAX_ROWS }),
    remove: Type.Optional(Type.Array(LabelId, { maxItems: MAX_ROWS })),
  },
  { additionalProperties: false },
);

export const PRICE_FEEDS = ['catalog', 'prices', 'members', 'labels'] as const;
export type PriceFeed = (typeof PRICE_FEEDS)[number];

export const FEED_BODY_SCHEMAS = { catalog: CatalogBody, prices: PricesBody, members: MembersBody, labels: LabelsBody };

export type CatalogItemT = Static<typeof CatalogItem>;
export type PriceRowT = Static<typeof PriceRow>;
export type PromotionT = Static<typeof Promotion>;
export type CatalogBodyT = Static<typeof CatalogBody>;
export type PricesBodyT = Static<typeof PricesBody>;
export type MembersBodyT = Static<typeof MembersBody>;
export type LabelsBodyT = Static<typeof LabelsBody>;
