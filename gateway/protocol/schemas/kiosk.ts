/**
 * Self-checkout: the exact records a kiosk session writes (`transaction`, `attendant`,
 * `pickup`, kind `kiosk`, deviceId = kiosk id) and the kiosk WebSocket messages. The kiosk page
 * imports this module type-only, so the bundle carries no server code; money is integer minor units.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Currency, MinorUnits, Timestamp } from './common.js';
import { CatalogVersions, SaleLineLabel } from './priceMismatch.js'; // shelf = till
import { SaleCoupon } from './coupon.js'; // coupons

const Id = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' });
const Gtin = Type.String({ pattern: '^[0-9]{8,14}$' });

export const AttendantKinds = ['age', 'override', 'void', 'security', 'removal'] as const;
export type AttendantKind = (typeof AttendantKinds)[number];

export const KioskAttendant = Type.Object(
  {
    ts: Timestamp,
    requestId: Id,
    kioskId: Id,
    kind: Type.Optional(Type.Union(AttendantKinds.map((k) => Type.Literal(k)))),
    decision: Type.Union([Type.Literal('approved'), Type.Literal('rejected')]),
    by: Type.String({ minLength: 1, maxLength: 64 }),
    at: Timestamp,
  },
  { additionalProperties: true },
);

export const TransactionLine = Type.Object(
  {
    gtin: Gtin,
    name: Type.String({ maxLength: 128 }),
    qty: Type.Integer({ minimum: 1, maximum: 10_000 }),
    unitPrice: MinorUnits,
    grams: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
    price: MinorUnits,
    /** What the shopper saved on the line against the base price (promotion, member price); absent when nothing. */
    saving: Type.Optional(MinorUnits),
    serials: Type.Optional(Type.Array(Type.String({ maxLength: 20 }), { maxItems: 10_000 })),
    vatRateBp: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
    // Shelf = till: the catalog the line was priced from, the price a label must show
    // (for everyone, before member benefits; absent for a price-embedded code), and its label then.
    catalogVersions: Type.Optional(CatalogVersions),
    shelfPrice: Type.Optional(MinorUnits),
    label: Type.Optional(SaleLineLabel),
    /** The line's part of the sale's coupons, already taken off `price` (the VAT is on what is left). */
    couponOff: Type.Optional(MinorUnits),
    /** The line's part of points spent as a discount (not taken off `price`; the VAT is on price − pointsOff). */
    pointsOff: Type.Optional(MinorUnits),
  },
  { additionalProperties: true },
);

/** One VAT rate of a receipt (prices include VAT): gross = net + vat, minor units; rateBp null = no rate in the catalog. */
export const VatLineSchema = Type.Object(
  { rateBp: Type.Union([Type.Integer({ minimum: 0, maximum: 10_000 }), Type.Null()]), gross: MinorUnits, net: MinorUnits, vat: MinorUnits },
  { additionalProperties: false },
);

const Points = Type.Integer({ minimum: 0, maximum: 1_000_000_000 });
export const SalePoints = Type.Object(
  {
    memberId: Type.String({ minLength: 1, maxLength: 64 }),
    program: Type.String({ maxLength: 64 }),
    earned: Points,
    spent: Points,
    discount: MinorUnits,
    /**
     * With points spent: `discount` — their value is split over the lines (`pointsOff`) and lowers
     * the VAT base; `tender` — a payment like a voucher, VAT on the full line prices. `total` is
     * what the card paid either way (the points' value is in `discounts`).
     */
    as: Type.Optional(Type.Union([Type.Literal('discount'), Type.Literal('tender')])),
  },
  { additionalProperties: false },
);

/**
 * One change of a member's points, an exact record per (transaction, kind): `entryId`
 * `<storeId>:<transactionId>:<kind>` is the key HQ applies it by, so a record sent twice changes
 * the balance once. `delta` is signed (spend < 0); never a new balance.
 */
export const PointsChange = Type.Object(
  {
    ts: Timestamp,
    entryId: Type.String({ minLength: 1, maxLength: 200 }),
    transactionId: Id,
    kioskId: Id,
    // earnReversal / spendReversal: a post-sale void gives the sale's points back (delta opposite).
    kind: Type.Union([Type.Literal('earn'), Type.Literal('spend'), Type.Literal('earnReversal'), Type.Literal('spendReversal')]),
    memberId: Type.String({ minLength: 1, maxLength: 64 }),
    delta: Type.Integer({ minimum: -1_000_000_000, maximum: 1_000_000_000 }),
    program: Type.String({ maxLength: 64 }),
  },
  { additionalProperties: false },
);

export const KioskTransaction = Type.Object(
  {
    ts: Timestamp,
    transactionId: Id,
    kioskId: Id,
    lines: Type.Array(TransactionLine, { minItems: 1, maxItems: 10_000 }),
    subtotal: MinorUnits,
    discounts: MinorUnits,
    total: MinorUnits,
    currency: Currency,
    /** VAT per rate, for the receipt and HQ's books (optional: records before this field have none). */
    vat: Type.Optional(Type.Array(VatLineSchema, { maxItems: 64 })),
    memberCode: Type.Optional(Type.String({ maxLength: 64 })),
    /** The member's tier at the sale (for the repeat rate by tier); absent without a member or tier. */
    memberTier: Type.Optional(Type.String({ maxLength: 32 })),
    /** Coupons applied (their discount is in `discounts` and taken off the lines' prices). */
    coupons: Type.Optional(Type.Array(SaleCoupon, { maxItems: 64 })),
    /**
     * The payment the sale rests on; the terminal's own references (optional: older terminals and
     * attendant overrides have none) let the store find it in the acquirer's settlement.
     */
    payment: Type.Object(
      {
        requestId: Id,
        authCode: Type.String({ maxLength: 32 }),
        amount: MinorUnits,
        receiptNo: Type.Optional(Type.String({ pattern: '^[0-9]{1,8}$' })),
        trace: Type.Optional(Type.String({ pattern: '^[0-9]{1,12}$' })),
        terminalId: Type.Optional(Type.String({ maxLength: 16 })),
        cardType: Type.Optional(Type.String({ maxLength: 40 })),
        maskedPan: Type.Optional(Type.String({ maxLength: 19, pattern: '^[*]*[0-9]{0,4}$' })),
      },
      { additionalProperties: true },
    ),
    attendant: Type.Array(Type.Object({ requestId: Id, kind: Type.String(), decision: Type.String(), by: Type.String(), at: Timestamp }, { additionalProperties: true }), { maxItems: 1000 }),
    /** Loyalty points of the sale: earned, and spent for `discount` minor units (part of `discounts`). */
    points: Type.Optional(SalePoints),
  },
  { additionalProperties: true },
);

/** Click & collect pickup: an online order handed over at a kiosk (gateway/kiosk/orders.ts). */
export const KioskPickup = Type.Object({ ts: Timestamp, kioskId: Id, orderId: Id }, { additionalProperties: true });

/**
 * Click & collect hand-over: a person marked the order collected at `kioskId` as handed
 * over. `by` is the logged-in ops user, `at` when they did (= `ts`), `collectedAt` when the pickup
 * was confirmed at the kiosk (gateway/kiosk/handovers.ts).
 */
export const KioskHandover = Type.Object(
  { ts: Timestamp, kioskId: Id, orderId: Id, by: Type.String({ minLength: 1, maxLength: 64 }), at: Timestamp, collectedAt: Timestamp },
  { additionalProperties: false },
);

export type KioskTransactionRec = Static<typeof KioskTransaction>;
export type KioskAttendantRec = Static<typeof KioskAttendant>;

// ---- WebSocket /ws/kiosk ---------------------------------------------------------------------

/** Client → gateway: a hello, then intents only; their TypeBox schemas are in api/kioskIntents.ts. */
export type { KioskHello, KioskIntent, KioskIntentType, KioskSessionIntent } from './api/kioskIntents.js';

/** Gateway → client: the cart, the welcome and errors; their TypeBox schemas are in api/kioskSocket.ts. */
export type { AttendantRequestView, CartLineView, CartView, KioskLanguage, KioskPaymentPrompt, KioskServerMsg, SessionPhase } from './api/kioskSocket.js';
